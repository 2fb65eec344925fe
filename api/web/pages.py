"""The cockpit's pages: Now, an execution as a checklist, the runbook catalogue, import, alerts.

Each route reads through services/cockpit.py (what to show, and who may press what) or acts
through the same services as REST and Slack (decide, cancel, start, import, review). A refusal is
shown next to the form that caused it, with what was typed kept; a decision from a stale page is
told who decided first.
"""

from __future__ import annotations

import asyncio
import difflib

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError

from api.deps import services
from api.web.live import digest, execution_fragment, now_fragment
from api.web.render import domid, markdown, render
from api.web.session import Viewer, page
from runbooks.access import DEFAULT_TEAM, Permission
from runbooks.drills import parse_labels
from runbooks.model import Mode, Runbook
from services import agents, cockpit, connections, control, drafts, drills, incidents, notes, pairings, suggestions
from services.context import Services
from services.decisions import decide
from services.errors import Invalid, NotFound, ServiceError
from services.insights import runbook_insights
from services.reports import execution_replay, execution_report, incident_report
from services.starts import start_by_hand
from services.versions import add_text, review

router = APIRouter(include_in_schema=False)
MAX_TEXT = 1_000_000


def _values(form: dict[str, str], prefix: str) -> dict[str, str]:
    return {k[len(prefix):]: v.strip() for k, v in form.items() if k.startswith(prefix) and v.strip()}


def _mode(form: dict[str, str]) -> Mode:
    try:
        return Mode(form.get("mode", "copilot"))
    except ValueError:
        raise Invalid(f"unknown mode {form.get('mode')!r}: dry_run, copilot or autopilot") from None


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


# -- Now ---------------------------------------------------------------------------------------


@router.get("/")
async def now_page(request: Request, viewer: Viewer = Depends(page(Permission.read)),
                   svc: Services = Depends(services)) -> Response:
    html = await now_fragment(svc, viewer)
    return render(request, "now.html", viewer=viewer, live_html=Markup(html), shown=digest(html), nav="now")


# -- an execution ------------------------------------------------------------------------------


async def _execution(request: Request, svc: Services, viewer: Viewer, execution_id: str, *, status_code: int = 200,
                     error: dict | None = None) -> Response:
    shown = await cockpit.execution_page(svc, viewer.principal, execution_id)
    html = plain = execution_fragment(viewer, shown)
    if error:  # shown beside its form; the live stream compares against the page without it
        html = execution_fragment(viewer, shown, error)
    drill = (await asyncio.to_thread(svc.store.drill_of_execution, execution_id)) if shown.execution.drill else None
    return render(request, "execution.html", status_code=status_code, viewer=viewer, page=shown,
                  live_html=Markup(html), shown=digest(plain), drill=drill, nav="now")


@router.get("/executions/{execution_id}")
async def execution_page(request: Request, execution_id: str, viewer: Viewer = Depends(page(Permission.read)),
                         svc: Services = Depends(services)) -> Response:
    return await _execution(request, svc, viewer, execution_id)


@router.get("/executions/{execution_id}/report")
async def report_page(request: Request, execution_id: str, viewer: Viewer = Depends(page(Permission.read)),
                      svc: Services = Depends(services)) -> Response:
    text = await execution_report(svc, execution_id)
    return render(request, "report.html", viewer=viewer, back=f"/executions/{execution_id}", what="execution",
                  api=f"/api/v1/executions/{execution_id}/report", report=markdown(text), source=text, nav="now")


@router.get("/executions/{execution_id}/replay")
async def replay_page(request: Request, execution_id: str, step: int = Query(1, ge=1, le=10_000),
                      viewer: Viewer = Depends(page(Permission.read)), svc: Services = Depends(services)) -> Response:
    """A past execution one step at a time, for training: the question first, then what was done."""
    shown = await execution_replay(svc, execution_id)
    last = len(shown.frames) + 1  # the frames, then how it ended
    current = min(step, last)
    frame = shown.frames[current - 1] if current <= len(shown.frames) else None
    return render(request, "replay.html", viewer=viewer, replay=shown, frame=frame, current=current, last=last,
                  nav="now")


async def _decided(request: Request, svc: Services, viewer: Viewer, execution_id: str, step_id: str, *,
                   approved: bool) -> Response:
    form = await _form(request)
    try:
        if approved:
            steps = await asyncio.to_thread(svc.store.steps_of, [execution_id])
            step = next((s for s in steps if s.step_id == step_id), None)
            if step is not None and step.risk == "red" and form.get("confirm") != "yes":
                raise Invalid("this step is red (destructive): tick the box to confirm you mean to run it")
        elif not form.get("reason", "").strip():
            raise Invalid("say why you reject this step: the reason is recorded and shown to the team")
        await decide(svc, viewer.principal, execution_id, step_id, approved=approved,
                     comment=(form.get("comment") if approved else form.get("reason", "")) or "",
                     values=_values(form, "value:") if approved else None)
    except ServiceError as exc:
        if isinstance(exc, NotFound) and "no execution" in exc.reason:
            raise
        return await _execution(request, svc, viewer, execution_id, status_code=exc.status,
                                error={"step": step_id, "action": "approve" if approved else "reject",
                                       "message": exc.reason, "form": form})
    return RedirectResponse(f"/executions/{execution_id}#step-{domid(step_id)}", status_code=303)


@router.post("/executions/{execution_id}/steps/{step_id}/approve")
async def approve(request: Request, execution_id: str, step_id: str,
                  viewer: Viewer = Depends(page(Permission.decide)), svc: Services = Depends(services)) -> Response:
    return await _decided(request, svc, viewer, execution_id, step_id, approved=True)


@router.post("/executions/{execution_id}/steps/{step_id}/reject")
async def reject(request: Request, execution_id: str, step_id: str,
                 viewer: Viewer = Depends(page(Permission.decide)), svc: Services = Depends(services)) -> Response:
    return await _decided(request, svc, viewer, execution_id, step_id, approved=False)


@router.post("/executions/{execution_id}/steps/{step_id}/steer")
async def steer(request: Request, execution_id: str, step_id: str, viewer: Viewer = Depends(page(Permission.decide)),
                svc: Services = Depends(services)) -> Response:
    """The breakpoint buttons: pause before a step, resume from a breakpoint, or step over it."""
    form = await _form(request)
    action = form.get("action", "")
    try:
        if action == "pause":
            await control.set_breakpoint(svc, viewer.principal, execution_id, step_id)
        elif action in ("resume", "step_over"):
            await control.resume(svc, viewer.principal, execution_id, step_id, step_over=action == "step_over")
        else:
            raise Invalid("choose pause, resume or step over")
    except ServiceError as exc:
        if isinstance(exc, NotFound) and "no execution" in exc.reason:
            raise
        return await _execution(request, svc, viewer, execution_id, status_code=exc.status,
                                error={"step": step_id, "action": action, "message": exc.reason, "form": form})
    return RedirectResponse(f"/executions/{execution_id}#step-{domid(step_id)}", status_code=303)


@router.post("/executions/{execution_id}/notes")
async def add_note(request: Request, execution_id: str, viewer: Viewer = Depends(page(Permission.decide)),
                   svc: Services = Depends(services)) -> Response:
    form = await _form(request)
    try:
        await notes.add_note(svc, viewer.principal, execution_id, form.get("text", ""))
    except ServiceError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _execution(request, svc, viewer, execution_id, status_code=exc.status,
                                error={"action": "note", "message": exc.reason, "form": form})
    return RedirectResponse(f"/executions/{execution_id}#notes", status_code=303)


@router.post("/executions/{execution_id}/cancel")
async def cancel(request: Request, execution_id: str, viewer: Viewer = Depends(page(Permission.cancel)),
                 svc: Services = Depends(services)) -> Response:
    try:
        await control.cancel(svc, viewer.principal, execution_id)
    except ServiceError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _execution(request, svc, viewer, execution_id, status_code=exc.status,
                                error={"action": "cancel", "message": exc.reason, "form": {}})
    return RedirectResponse(f"/executions/{execution_id}", status_code=303)


# -- runbooks ----------------------------------------------------------------------------------


@router.get("/runbooks")
async def runbooks_page(request: Request, q: str = Query("", max_length=200), team: str | None = Query(None, max_length=64),
                        viewer: Viewer = Depends(page(Permission.read)), svc: Services = Depends(services)) -> Response:
    entries = await cockpit.catalogue(svc, q, team or None)
    teams = sorted({e.team for e in entries}) if not q and not team else None  # unfiltered: every team
    return render(request, "runbooks.html", viewer=viewer, entries=entries, q=q, team=team or "", teams=teams,
                  nav="runbooks")


def _start_fields(rb: Runbook) -> list[str]:
    """The values a start by hand can give: every label, annotation or param the steps use, by name."""
    names: list[str] = []
    for step in rb.steps:
        for var in step.variables:
            name = var.split(".", 1)[-1]
            if name not in names:
                names.append(name)
    return names


async def _runbook(request: Request, svc: Services, viewer: Viewer, runbook_id: str, version: int | None = None, *,
                   status_code: int = 200, error: dict | None = None) -> Response:
    found = await asyncio.to_thread(svc.store.get_runbook, runbook_id, version)
    if found is None:
        raise NotFound(f"no runbook {runbook_id!r}" + (f" version {version}" if version else ""))
    rb, shown = found
    row, versions = await asyncio.to_thread(lambda: (svc.store.runbook_row(runbook_id), svc.store.versions(runbook_id)))
    runs = await asyncio.to_thread(svc.store.list_executions, None, runbook_id, 10)
    learned = await runbook_insights(svc, runbook_id)
    try:
        history = await asyncio.to_thread(svc.store.step_history, runbook_id)  # read once for both
        proposals = await suggestions.suggestions(svc, runbook_id, history=history)
        trust = {t.step_id: t for t in await suggestions.step_trust(svc, runbook_id, history)}
    except ServiceError:  # nothing live yet: nothing to propose against, no trust earned
        proposals, trust = [], {}
    team = rb.owning_team or DEFAULT_TEAM
    past_drills = await drills.list_drills(svc, runbook_id, 5)
    return render(request, "runbook.html", status_code=status_code, viewer=viewer, rb=rb, version=shown, row=row,
                  versions=list(reversed(versions)), quality=cockpit.quality_of(svc, rb, shown), runs=runs,
                  insights=learned, suggestions=proposals, trust=trust, drills=past_drills, fields=_start_fields(rb),
                  may_start=viewer.may(Permission.start, team),
                  may_review=viewer.may(Permission.review, team), error=error or {}, nav="runbooks")


@router.get("/runbooks/{runbook_id:path}/diff")
async def diff_page(request: Request, runbook_id: str, from_version: int = Query(alias="from", ge=1, le=2**31 - 1),
                    to_version: int = Query(alias="to", ge=1, le=2**31 - 1),
                    viewer: Viewer = Depends(page(Permission.read)), svc: Services = Depends(services)) -> Response:
    rows = [await asyncio.to_thread(svc.store.version_row, runbook_id, v) for v in (from_version, to_version)]
    for v, row in zip((from_version, to_version), rows):
        if row is None:
            raise NotFound(f"no runbook {runbook_id!r} version {v}")
    old, new = rows
    assert old is not None and new is not None
    lines = list(difflib.unified_diff(old.source.splitlines(), new.source.splitlines(), f"v{from_version}",
                                      f"v{to_version}", lineterm=""))
    return render(request, "diff.html", viewer=viewer, runbook_id=runbook_id, old=old, new=new, lines=lines,
                  nav="runbooks")


@router.post("/runbooks/{runbook_id:path}/start")
async def start(request: Request, runbook_id: str, viewer: Viewer = Depends(page(Permission.start)),
                svc: Services = Depends(services)) -> Response:
    form = await _form(request)
    try:
        ref, _, _ = await start_by_hand(svc, viewer.principal, runbook_id, _mode(form), _values(form, "param:"))
    except ServiceError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _runbook(request, svc, viewer, runbook_id, status_code=exc.status,
                              error={"action": "start", "message": exc.reason, "form": form,
                                     "steps": exc.detail.get("steps", {}) if isinstance(exc.detail, dict) else {}})
    return RedirectResponse(f"/executions/{ref.id}", status_code=303)


@router.post("/runbooks/{runbook_id:path}/drill")
async def start_drill(request: Request, runbook_id: str, viewer: Viewer = Depends(page(Permission.start)),
                      svc: Services = Depends(services)) -> Response:
    form = await _form(request)
    try:
        try:
            labels = parse_labels(form.get("labels", "").splitlines())
        except ValueError as exc:
            raise Invalid(f"{exc} (one per line)") from None
        started = await drills.start_drill(svc, viewer.principal, drills.DrillRequest(
            runbook_id=runbook_id, labels=labels, target=form.get("target", "").strip() or None))
    except ServiceError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _runbook(request, svc, viewer, runbook_id, status_code=exc.status,
                              error={"action": "drill", "message": exc.reason, "form": form})
    return RedirectResponse(f"/executions/{started.execution_id}", status_code=303)


@router.get("/drills/{drill_id}")
async def drill_page(request: Request, drill_id: str, viewer: Viewer = Depends(page(Permission.read)),
                     svc: Services = Depends(services)) -> Response:
    found = await drills.drill(svc, drill_id)
    return render(request, "drill.html", viewer=viewer, drill=found, nav="runbooks")


@router.post("/runbooks/{runbook_id:path}/versions/{version}/review")
async def review_page(request: Request, runbook_id: str, version: int,
                      viewer: Viewer = Depends(page(Permission.review)), svc: Services = Depends(services)) -> Response:
    form = await _form(request)
    try:
        await review(svc, viewer.principal, runbook_id, version, approve=form.get("decision") == "approve",
                     comment=form.get("comment", ""))
    except ServiceError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _runbook(request, svc, viewer, runbook_id, status_code=exc.status,
                              error={"action": "review", "version": version, "message": exc.reason, "form": form})
    return RedirectResponse(f"/runbooks/{runbook_id}", status_code=303)


@router.post("/runbooks/{runbook_id:path}/suggestions/{suggestion_id}/{verdict}")
async def decide_suggestion(request: Request, runbook_id: str, suggestion_id: str, verdict: str,
                            viewer: Viewer = Depends(page(Permission.edit)),
                            svc: Services = Depends(services)) -> Response:
    """Accept a proposed version (it goes through the review rule) or dismiss it with a reason."""
    form = await _form(request)
    try:
        if verdict == "accept":
            result = await suggestions.accept(svc, viewer.principal, runbook_id, suggestion_id)
            return RedirectResponse(f"/runbooks/{runbook_id}?version={result.version}", status_code=303)
        if verdict != "dismiss":
            raise NotFound(f"no such action on a suggestion: {verdict!r} (accept or dismiss)")
        await suggestions.dismiss(svc, viewer.principal, runbook_id, suggestion_id, form.get("reason", ""))
    except ServiceError as exc:
        if isinstance(exc, NotFound) and exc.reason.startswith("no runbook"):
            raise
        return await _runbook(request, svc, viewer, runbook_id, status_code=exc.status,
                              error={"action": "suggestion", "id": suggestion_id, "message": exc.reason, "form": form})
    return RedirectResponse(f"/runbooks/{runbook_id}#suggestions", status_code=303)


@router.get("/runbooks/{runbook_id:path}")
async def runbook_page(request: Request, runbook_id: str, version: int | None = Query(None, ge=1, le=2**31 - 1),
                       viewer: Viewer = Depends(page(Permission.read)), svc: Services = Depends(services)) -> Response:
    return await _runbook(request, svc, viewer, runbook_id, version)


# -- import ------------------------------------------------------------------------------------


@router.get("/import")
async def import_page(request: Request, viewer: Viewer = Depends(page(Permission.edit))) -> Response:
    return render(request, "import.html", viewer=viewer, text="", preview=None, error=None, nav="import")


@router.post("/import/preview")
async def import_preview(request: Request, viewer: Viewer = Depends(page(Permission.edit)),
                         svc: Services = Depends(services)) -> Response:
    text = (await _form(request)).get("text", "")[:MAX_TEXT]
    try:
        shown = await cockpit.preview(svc, text)
    except ServiceError as exc:
        return render(request, "import.html", status_code=exc.status, viewer=viewer, text=text, preview=None,
                      error=exc.reason, nav="import")
    template = "_preview.html" if "hx-request" in request.headers else "import.html"
    return render(request, template, status_code=422 if shown.error else 200, viewer=viewer, text=text,
                  preview=shown, error=None, nav="import")


@router.post("/import")
async def import_save(request: Request, viewer: Viewer = Depends(page(Permission.edit)),
                      svc: Services = Depends(services)) -> Response:
    text = (await _form(request)).get("text", "")[:MAX_TEXT]
    try:
        if not text.strip():
            raise Invalid("paste a runbook: Markdown (with or without front matter) or YAML")
        result = await add_text(svc, viewer.principal, text, path=None, default_id=None, kind="paste")
    except ServiceError as exc:
        shown = await cockpit.preview(svc, text) if text.strip() else None
        error = None if shown is not None and shown.error is not None else exc.reason  # the line says it
        return render(request, "import.html", status_code=exc.status, viewer=viewer, text=text, preview=shown,
                      error=error, nav="import")
    return RedirectResponse(f"/runbooks/{result.id}?version={result.version}", status_code=303)


@router.post("/drafts")
async def draft_save(request: Request, viewer: Viewer = Depends(page(Permission.edit)),
                     svc: Services = Depends(services)) -> Response:
    form = await _form(request)
    kind, text = form.get("kind", "shell"), form.get("text", "")[:MAX_TEXT]
    try:
        body = drafts.DraftIn(kind=kind, text=text)  # type: ignore[arg-type]
    except ValidationError as exc:
        return render(request, "import.html", status_code=422, viewer=viewer, text="", preview=None, error=None,
                      draft_kind=kind, draft_text=text, draft_error="; ".join(e["msg"] for e in exc.errors()),
                      nav="import")
    try:
        result = await drafts.create(svc, viewer.principal, body)
    except ServiceError as exc:
        return render(request, "import.html", status_code=exc.status, viewer=viewer, text="", preview=None,
                      error=None, draft_kind=kind, draft_text=text, draft_error=exc.reason, nav="import")
    return RedirectResponse(f"/runbooks/{result.id}?version={result.version}", status_code=303)


# -- incidents ---------------------------------------------------------------------------------


@router.get("/agents")
async def agents_page(request: Request, viewer: Viewer = Depends(page(Permission.read)),
                      svc: Services = Depends(services)) -> Response:
    return render(request, "agents.html", viewer=viewer, agents=await agents.list_agents(svc), nav="agents")


@router.get("/connections")
async def connections_page(request: Request, viewer: Viewer = Depends(page(Permission.admin)),
                           svc: Services = Depends(services)) -> Response:
    return render(request, "connections.html", viewer=viewer, nav="connections",
                  connections=await connections.listed(svc, viewer.principal))


@router.post("/connections/{connection_id}/sync")
async def sync_connection_page(request: Request, connection_id: int,
                               viewer: Viewer = Depends(page(Permission.admin)),
                               svc: Services = Depends(services)) -> Response:
    await connections.sync(svc, viewer.principal, connection_id)
    return RedirectResponse(f"/connections#connection-{connection_id}", status_code=303)


@router.get("/incidents")
async def incidents_page(request: Request, viewer: Viewer = Depends(page(Permission.read)),
                         svc: Services = Depends(services)) -> Response:
    return render(request, "incidents.html", viewer=viewer, incidents=await incidents.list_incidents(svc),
                  nav="incidents")


@router.get("/incidents/{incident_id}")
async def incident_page(request: Request, incident_id: str, viewer: Viewer = Depends(page(Permission.read)),
                        svc: Services = Depends(services)) -> Response:
    return render(request, "incident.html", viewer=viewer, incident=await incidents.incident(svc, incident_id),
                  nav="incidents")


@router.get("/incidents/{incident_id}/report")
async def incident_report_page(request: Request, incident_id: str, viewer: Viewer = Depends(page(Permission.read)),
                               svc: Services = Depends(services)) -> Response:
    text = await incident_report(svc, incident_id)
    return render(request, "report.html", viewer=viewer, back=f"/incidents/{incident_id}", what="incident",
                  api=f"/api/v1/incidents/{incident_id}/report", report=markdown(text), source=text, nav="incidents")


# -- alerts ------------------------------------------------------------------------------------


@router.get("/alerts")
async def alerts_page(request: Request, viewer: Viewer = Depends(page(Permission.read)),
                      svc: Services = Depends(services)) -> Response:
    received = await asyncio.to_thread(svc.store.list_alerts, None, None, 100)
    return render(request, "alerts.html", viewer=viewer, alerts=received, gaps=await cockpit.gaps(svc),
                  unsure=await cockpit.unsure(svc), pairings=list(svc.catalog.pairings.values()), nav="alerts")


async def _alert(request: Request, svc: Services, viewer: Viewer, alert_id: int, *, status_code: int = 200,
                 error: dict | None = None) -> Response:
    alert, outcome = await cockpit.why_matched(svc, alert_id)
    first = [c.runbook_id for c in outcome.candidates]  # the closest first, then every live runbook
    choices = first + sorted(rid for rid in svc.catalog.runbooks if rid not in first)
    return render(request, "alert.html", status_code=status_code, viewer=viewer, alert=alert, outcome=outcome,
                  choices=choices, may_start=viewer.may(Permission.start), error=error or {}, nav="alerts")


@router.get("/alerts/{alert_id}")
async def alert_page(request: Request, alert_id: int = 0, viewer: Viewer = Depends(page(Permission.read)),
                     svc: Services = Depends(services)) -> Response:
    return await _alert(request, svc, viewer, alert_id)


@router.post("/alerts/{alert_id}/start")
async def start_for_alert(request: Request, alert_id: int = 0, viewer: Viewer = Depends(page(Permission.start)),
                          svc: Services = Depends(services)) -> Response:
    """Run the runbook a person chose for this alert; the alert name remembers the choice."""
    form = await _form(request)
    try:
        ref, _ = await pairings.start_for_alert(svc, viewer.principal, alert_id, form.get("runbook_id", ""),
                                                _mode(form))
    except ServiceError as exc:
        if isinstance(exc, NotFound) and exc.reason.startswith("no alert"):
            raise
        return await _alert(request, svc, viewer, alert_id, status_code=exc.status,
                            error={"message": exc.reason, "form": form})
    return RedirectResponse(f"/executions/{ref.id}", status_code=303)


@router.post("/pairings/remove")
async def remove_pairing(request: Request, viewer: Viewer = Depends(page(Permission.edit)),
                         svc: Services = Depends(services)) -> Response:
    await pairings.remove(svc, viewer.principal, (await _form(request)).get("alertname", ""))
    return RedirectResponse("/alerts#pairings", status_code=303)
