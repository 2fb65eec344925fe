"""The runbook catalogue: import (paste, upload), versions and their review, diff, revert, and starting by hand.

Who imports, reviews or starts is the token's identity (services/versions.py, services/starts.py).
"""

from __future__ import annotations

import asyncio
import difflib

from fastapi import APIRouter, Depends, File, HTTPException, Path, Query, Request, Response, UploadFile

from api.auth import needs
from api.deps import services
from api.problems import responses
from api.schemas import (
    MAX_VERSION, DismissBody, RevertRequest, ReviewBody, RunbookDetail, RunbookSummary, RunbookText, StartExecution, StepChanges,
    StepSummary, VersionDiff, VersionInfo,
)
from runbooks.access import DEFAULT_TEAM, Permission, Principal
from runbooks.authoring.importer import ImportResult
from runbooks.authoring.lint import lint
from runbooks.insights import RunbookInsights
from runbooks.earned_trust import StepTrust
from runbooks.suggestions import Suggestion
from runbooks.model import Runbook
from runbooks.storage.tables import RunbookVersionRow
from services.context import Services
from services import suggestions
from services.insights import runbook_insights
from services.launch import ExecutionRef
from services.starts import start_by_hand
from runbooks.storage.connections import ConnectionStore
from services.versions import add_text, review, revert_to

router = APIRouter(prefix="/api/v1/runbooks", tags=["runbooks"], responses=responses(400, 401, 403, 404, 409, 415))
MAX_TEXT = 1_000_000
_TEXT_TYPES = ("text/markdown", "text/x-markdown", "text/plain", "application/yaml", "application/x-yaml",
               "text/yaml")


@router.get("", response_model=list[RunbookSummary], dependencies=[Depends(needs(Permission.read))])
async def list_runbooks(svc: Services = Depends(services)) -> list[RunbookSummary]:
    rows = await asyncio.to_thread(svc.store.list_runbooks)
    teams = {rb.id: rb.owning_team for rb, _ in await asyncio.to_thread(svc.store.live_runbooks)}
    return [RunbookSummary(id=r.id, title=r.title, service=r.service, latest_version=r.latest_version,
                           live_version=r.live_version, team=teams.get(r.id) or DEFAULT_TEAM,
                           source_path=r.source_path) for r in rows]


async def _store_text(svc: Services, who: Principal, response: Response, text: str, *, path: str | None,
                      default_id: str | None, kind: str) -> ImportResult:
    result = await add_text(svc, who, text, path=path, default_id=default_id, kind=kind)
    response.status_code = 201 if result.created else 200
    return result


UNCHANGED = {200: {"model": ImportResult, "description": "the text is unchanged: no new version"}}


@router.post("", response_model=ImportResult, status_code=201, responses=UNCHANGED, openapi_extra={"requestBody": {"content": {
    "text/markdown": {"schema": {"type": "string"}},
    "application/json": {"schema": RunbookText.model_json_schema()}}}})
async def import_runbook(request: Request, response: Response, id: str | None = None,
                         svc: Services = Depends(services),
                         who: Principal = Depends(needs(Permission.edit))) -> ImportResult:
    """Paste a runbook: Markdown (structured or prose) or YAML as text/markdown, or JSON `{"text": ...}`.

    201 with the new version, or 200 when the text is unchanged (no new version). A runbook that
    cannot be parsed is refused with 422 and the line that is wrong. `state` says whether the
    version is live at once or waits for review (`review_reasons` say why).
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if len(raw) > MAX_TEXT:
        raise HTTPException(413, detail=f"runbook larger than {MAX_TEXT} bytes")
    if content_type == "application/json":
        try:
            body = RunbookText.model_validate_json(raw)
        except ValueError as exc:
            raise HTTPException(422, detail=f"invalid JSON body: {exc}") from None
        text, path, default_id = body.text, body.path, body.id or id
    elif content_type in _TEXT_TYPES or not content_type:
        text, path, default_id = raw.decode("utf-8", errors="replace"), None, id
    else:
        raise HTTPException(415, detail=f"send text/markdown or application/json, not {content_type!r}")
    if not text.strip():
        raise HTTPException(422, detail="empty runbook")
    return await _store_text(svc, who, response, text, path=path, default_id=default_id, kind="paste")


@router.post("/upload", response_model=ImportResult, status_code=201, responses=UNCHANGED)
async def upload_runbook(response: Response, file: UploadFile = File(...), svc: Services = Depends(services),
                         who: Principal = Depends(needs(Permission.edit))) -> ImportResult:
    """Upload a runbook file (.md or .yaml); without an `id:` its id is the file name without the suffix."""
    raw = await file.read(MAX_TEXT + 1)
    if len(raw) > MAX_TEXT:
        raise HTTPException(413, detail=f"runbook larger than {MAX_TEXT} bytes")
    name = (file.filename or "runbook.md").rsplit("/", 1)[-1]
    if not name.endswith((".md", ".markdown", ".yaml", ".yml", ".txt")):
        raise HTTPException(415, detail=f"{name}: upload a .md or .yaml runbook")
    return await _store_text(svc, who, response, raw.decode("utf-8", errors="replace"), path=name,
                             default_id=name.rsplit(".", 1)[0], kind="upload")


async def _versioned(svc: Services, runbook_id: str, version: int | None = None) -> tuple[Runbook, int]:
    found = await asyncio.to_thread(svc.store.get_runbook, runbook_id, version)
    if found is None:
        raise HTTPException(404, detail=f"no runbook {runbook_id!r}" + (f" version {version}" if version else ""))
    return found


def _version_info(r: RunbookVersionRow, live: int | None) -> VersionInfo:
    return VersionInfo(version=r.version, author=r.author, created_at=r.created_at, source_kind=r.source_kind,
                       commit=r.commit, source_url=r.source_url, source_version=r.source_version,
                       content_hash=r.content_hash, state=r.state, live=r.version == live,
                       review_reasons=r.review_reasons, reviewed_by=r.reviewed_by, reviewed_at=r.reviewed_at,
                       review_comment=r.review_comment)


@router.get("/{runbook_id:path}/versions", response_model=list[VersionInfo], dependencies=[Depends(needs(Permission.read))])
async def list_versions(runbook_id: str, svc: Services = Depends(services)) -> list[VersionInfo]:
    """Every version, oldest first, with its review state: live, pending_review or rejected, and who reviewed."""
    await _versioned(svc, runbook_id)
    row = await asyncio.to_thread(svc.store.runbook_row, runbook_id)
    rows = await asyncio.to_thread(svc.store.versions, runbook_id)
    return [_version_info(r, row.live_version if row else None) for r in rows]


@router.post("/{runbook_id:path}/versions/{version}/review", response_model=VersionInfo)
async def review_version(runbook_id: str, version: int = Path(ge=1, le=MAX_VERSION), *, body: ReviewBody,
                         svc: Services = Depends(services),
                         who: Principal = Depends(needs(Permission.review))) -> VersionInfo:
    """Approve (the version goes live) or reject a version waiting for review. The reviewer is an
    author or admin of the runbook's team other than the one who made the change."""
    done = await review(svc, who, runbook_id, version, approve=body.approve, comment=body.comment)
    row = await asyncio.to_thread(svc.store.runbook_row, runbook_id)
    return _version_info(done, row.live_version if row else None)


@router.get("/{runbook_id:path}/diff", response_model=VersionDiff, dependencies=[Depends(needs(Permission.read))])
async def diff_versions(runbook_id: str, from_version: int = Query(alias="from", ge=1, le=MAX_VERSION),
                        to_version: int = Query(alias="to", ge=1, le=MAX_VERSION), svc: Services = Depends(services)) -> VersionDiff:
    """What changed between two versions: the text as a unified diff, and the steps by id."""
    rows = [await asyncio.to_thread(svc.store.version_row, runbook_id, v) for v in (from_version, to_version)]
    for v, row in zip((from_version, to_version), rows):
        if row is None:
            raise HTTPException(404, detail=f"no runbook {runbook_id!r} version {v}")
    old, new = rows
    text = "".join(difflib.unified_diff(old.source.splitlines(keepends=True), new.source.splitlines(keepends=True),
                                        f"{runbook_id}@v{from_version}", f"{runbook_id}@v{to_version}"))
    before = {s.id: s for s in Runbook.model_validate(old.model).steps}
    after = {s.id: s for s in Runbook.model_validate(new.model).steps}
    changed = [sid for sid in before.keys() & after.keys()
               if before[sid].model_dump(exclude={"position", "line"}) != after[sid].model_dump(exclude={"position", "line"})]
    return VersionDiff(runbook_id=runbook_id, from_version=from_version, to_version=to_version, diff=text,
                       steps=StepChanges(added=[s for s in after if s not in before],
                                         removed=[s for s in before if s not in after],
                                         changed=sorted(changed, key=lambda sid: after[sid].position)))


@router.get("/{runbook_id:path}/insights", response_model=RunbookInsights,
            dependencies=[Depends(needs(Permission.read))])
async def get_insights(runbook_id: str, svc: Services = Depends(services)) -> RunbookInsights:
    """What its executions say (dry runs aside): success rate, time to resolve (and without it), time
    to first approval, per step ran / rejected / skipped / failed, and flags: dead steps (rejected or
    skipped in every one of 3+ runs), broken steps (failing the same way), a stale runbook."""
    return await runbook_insights(svc, runbook_id)


@router.get("/{runbook_id:path}/trust", response_model=list[StepTrust], dependencies=[Depends(needs(Permission.read))])
async def get_trust(runbook_id: str, svc: Services = Depends(services)) -> list[StepTrust]:
    """Earned trust, per step of the live version: whether it runs by itself (and whether a failure
    demoted it), its streak of approved successes without a rollback (5 earn a proposal), its latest runs."""
    return await suggestions.step_trust(svc, runbook_id)


@router.get("/{runbook_id:path}/suggestions", response_model=list[Suggestion],
            dependencies=[Depends(needs(Permission.read))])
async def list_suggestions(runbook_id: str, explain: bool = Query(False, description="phrase each one with the "
                                                                  "LLM, grounded in its evidence (ANTHROPIC_API_KEY)"),
                           svc: Services = Depends(services)) -> list[Suggestion]:
    """Proposed next versions, each with its evidence and a diff against the live version: remove a
    dead step; fill a value people keep typing by hand from the alert label it always equals; let a
    yellow step that was approved and succeeded 5 runs in a row run by itself, or ask again once it failed."""
    return await suggestions.suggestions(svc, runbook_id, explain)


@router.post("/{runbook_id:path}/suggestions/{suggestion_id}/accept", response_model=ImportResult, status_code=201,
             responses=UNCHANGED)
async def accept_suggestion(runbook_id: str, suggestion_id: str, response: Response,
                            svc: Services = Depends(services),
                            who: Principal = Depends(needs(Permission.edit))) -> ImportResult:
    """Save the proposal as a new version by you: live at once, or waiting for review like any edit."""
    result = await suggestions.accept(svc, who, runbook_id, suggestion_id)
    response.status_code = 201 if result.created else 200
    return result


@router.post("/{runbook_id:path}/suggestions/{suggestion_id}/dismiss", response_model=Suggestion)
async def dismiss_suggestion(runbook_id: str, suggestion_id: str, body: DismissBody,
                             svc: Services = Depends(services),
                             who: Principal = Depends(needs(Permission.edit))) -> Suggestion:
    """Hide a proposal, with the reason (kept, and in the audit trail)."""
    return await suggestions.dismiss(svc, who, runbook_id, suggestion_id, body.reason)


@router.post("/{runbook_id:path}/revert", response_model=ImportResult, status_code=201, responses=UNCHANGED)
async def revert_runbook(runbook_id: str, body: RevertRequest, response: Response,
                         svc: Services = Depends(services),
                         who: Principal = Depends(needs(Permission.edit))) -> ImportResult:
    """Make an old version current again, as a new version (history is never rewritten); reviewed
    like any change that could make something more dangerous."""
    result = await revert_to(svc, who, runbook_id, body.version)
    response.status_code = 201 if result.created else 200
    return result


@router.get("/{runbook_id:path}", response_model=RunbookDetail, dependencies=[Depends(needs(Permission.read))])
async def get_runbook(runbook_id: str, version: int | None = Query(None, ge=1, le=MAX_VERSION),
                      svc: Services = Depends(services)) -> RunbookDetail:
    """A version of a runbook: the live one by default (the latest while none is live), `?version=` for another."""
    rb, ver = await _versioned(svc, runbook_id, version)
    row = await asyncio.to_thread(svc.store.runbook_row, runbook_id)
    stored = await asyncio.to_thread(svc.store.version_row, runbook_id, ver)
    page = await asyncio.to_thread(ConnectionStore(svc.store.engine).page_for_runbook, runbook_id)
    assert row is not None and stored is not None
    return RunbookDetail(
        source_url=stored.source_url, flagged=page.note if page is not None and page.state == "gone" else None,
        id=rb.id, title=rb.title, service=rb.service, latest_version=row.latest_version, live_version=row.live_version,
        team=rb.owning_team, state=stored.state, approvals=rb.approvals, source_path=rb.source_path,
        version=ver, description=rb.description, mode=rb.mode.value, format=rb.format,
        match=rb.match, escalation=[e.model_dump(mode="json") for e in rb.escalation],
        prerequisites=rb.prerequisites, quality=lint(rb),
        steps=[StepSummary(id=s.id, title=s.title, position=s.position, risk=s.risk.value, risk_reason=s.risk_reason,
                           target=s.target, command=s.command, rollback=s.rollback, manual=s.manual,
                           language=s.language, section=s.section, condition=s.condition,
                           rollback_hint=s.rollback_hint, variables=s.variables, line=s.line, source=s.source)
               for s in rb.steps])


@router.post("/{runbook_id:path}/executions", status_code=202, response_model=ExecutionRef)
async def start_execution(runbook_id: str, body: StartExecution, svc: Services = Depends(services),
                          who: Principal = Depends(needs(Permission.start))) -> ExecutionRef:
    """Run the live version of a runbook by hand, as yourself; `params` fill `{{ params.x }}`
    placeholders, each as one argument. Autopilot needs the `approver` role."""
    ref, _, _ = await start_by_hand(svc, who, runbook_id, body.mode, body.params)
    return ref
