"""One sync of one connection: every page it finds becomes a runbook version, or says why not.

Shared by the API (a sync on demand, a push webhook) and the worker (the schedule), so the rules are
the same whoever asks:
- a page seen before keeps its runbook, even renamed (the page's own id is the key);
- unchanged content is no new version; changed content is, with the page URL and version on it;
- a page the reader refuses (too large, a line that does not parse) is reported with the reason and
  the line, and its runbook, if any, keeps its last good version;
- a page that is gone is flagged on its runbook, never deleted;
- versions go through the same review rules as a paste (`gate`), except from a protected branch.
The whole connection failing (a bad token) is one line in the report, not an exception.
"""

from __future__ import annotations

import time
from dataclasses import replace
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from pydantic import BaseModel, Field

from runbooks.authoring.importer import Gate, import_text
from runbooks.connections import registry
from runbooks.connections.git_push import changes
from runbooks.connections.base import ConnectionFailed, ConnectionSpec, SourcePage
from runbooks.errors import RunbookParseError
from runbooks.keyring import KeyRing, KeyRingError, unseal
from runbooks.review import review_reasons
from runbooks.settings import LlmSettings
from runbooks.storage.connections import ConnectionStore
from runbooks.storage.store import Origin, Store
from runbooks.storage.tables import ConnectionRow, utcnow


class PageResult(BaseModel):
    key: str
    title: str
    url: str | None = None
    version: str | None = None
    outcome: str  # imported | unchanged | refused | flagged
    runbook_id: str | None = None
    runbook_version: int | None = None
    state: str | None = None  # live | pending_review (imported)
    reason: str | None = None  # refused / flagged / unreadable: why
    line: int | None = None  # refused: the line that is wrong


class ImportReport(BaseModel):
    """What one sync did, page by page; counts first, for a person skimming it."""

    connection_id: int
    kind: str
    trigger: str
    by: str
    found: int = 0
    imported: int = 0
    unchanged: int = 0
    refused: int = 0
    flagged: int = 0
    error: str | None = None  # the connection could not be read at all: one line
    commit: str | None = None  # a push: the commit imported
    seconds: float = 0.0
    pages: list[PageResult] = Field(default_factory=list)

    def add(self, result: PageResult) -> None:
        self.pages.append(result)
        setattr(self, result.outcome, getattr(self, result.outcome) + 1)


def spec_of(row: ConnectionRow, ring: KeyRing | None, tokens: Mapping[str, str]) -> ConnectionSpec:
    """The connection with its token: from CONNECTION_TOKENS when it names one, else unsealed."""
    config = dict(row.config)
    named = config.pop("token_setting", None)
    if named is not None:
        if named not in tokens:
            raise ConnectionFailed(f"CONNECTION_TOKENS has no token named {named!r} on this process")
        token = tokens[named]
    elif ring is None:
        raise ConnectionFailed("this connection's token is sealed and RUNBOOKS_ENCRYPTION is off here")
    else:
        token = unseal(ring, row.token_sealed, f"connection:{row.id}:token")
    return ConnectionSpec(kind=row.kind, base_url=row.base_url, token=token, **config)  # type: ignore[arg-type]


def review_gate(store: Store) -> Gate:
    """The paste rules (runbooks/review.py): what could make something more dangerous waits."""
    def gate(new):  # type: ignore[no-untyped-def]
        live = store.live_runbook(new.id)
        return review_reasons(live[0] if live else None, new)
    return gate


def import_pages(store: Store, cstore: ConnectionStore, row: ConnectionRow, pages: Iterable[SourcePage], *,
                 report: ImportReport, gate: Gate | None, deployed: bool = False, removed: Iterable[str] = (),
                 full: bool = False, llm: LlmSettings | None = None, commit: str | None = None) -> ImportReport:
    """Import `pages`; flag `removed` keys, and with `full` every known page not found this time."""
    assert row.id is not None
    seen: set[str] = set()
    for page in pages:
        seen.add(page.key)
        report.found += 1
        report.add(_one(store, cstore, row.id, row.kind, page, gate, deployed, llm, commit))
    known = {p.key: p for p in cstore.pages(row.id)}
    gone = set(removed) | ({k for k, p in known.items() if p.state != "gone"} - seen if full else set())
    for key in sorted(gone):
        page_row = known.get(key)
        if page_row is None or page_row.state == "gone":
            continue
        reason = (f"{'deleted by commit ' + commit[:12] if commit else 'no longer found'} in the {row.kind} "
                  f"connection; the runbook keeps its versions and stays as it was")
        cstore.put_page(row.id, key, state="gone", note=reason)
        report.add(PageResult(key=key, title=page_row.title, url=page_row.url, version=page_row.version,
                              outcome="flagged", runbook_id=page_row.runbook_id, reason=reason))
    return report


def _one(store: Store, cstore: ConnectionStore, connection_id: int, kind: str, page: SourcePage,
         gate: Gate | None, deployed: bool, llm: LlmSettings | None, commit: str | None) -> PageResult:
    base = dict(key=page.key, title=page.title, url=page.url, version=page.version)
    if page.refused:
        cstore.put_page(connection_id, page.key, title=page.title[:500], url=page.url, state="refused",
                        note=page.refused)
        return PageResult(**base, outcome="refused", reason=page.refused)
    known = cstore.page(connection_id, page.key)
    runbook_id = known.runbook_id if known is not None and known.runbook_id else \
        cstore.free_runbook_id(connection_id, page.key, page.runbook_id)  # a renamed page keeps its runbook
    try:
        result = import_text(store, page.text, path=page.url, default_id=runbook_id, author=page.author or kind,
                             source_kind=kind, commit=commit, llm=llm, gate=gate,
                             origin=Origin(url=page.url, version=page.version[:64], deployed=deployed))
    except RunbookParseError as exc:
        cstore.put_page(connection_id, page.key, title=page.title[:500], url=page.url, state="refused",
                        note=str(exc))
        return PageResult(**base, outcome="refused", reason=exc.message, line=exc.line)
    cstore.put_page(connection_id, page.key, title=page.title[:500], url=page.url, version=page.version[:64],
                    runbook_id=result.id, state="present", note=page.unreadable)
    return PageResult(**base, outcome="imported" if result.created else "unchanged", runbook_id=result.id,
                      runbook_version=result.version, state=result.state, reason=page.unreadable)


def sync_connection(store: Store, cstore: ConnectionStore, ring: KeyRing | None, connection_id: int, *,
                    trigger: str, by: str, tokens: Mapping[str, str] | None = None, llm: LlmSettings | None = None,
                    read: Callable[[ConnectionSpec], Iterable[SourcePage]] = registry.pages) -> ImportReport:
    """A full sync: every page the connection finds, and flags for the ones it no longer does."""
    row = cstore.get(connection_id)
    if row is None:
        raise LookupError(f"no connection {connection_id}")
    started, clock = utcnow(), time.perf_counter()
    report = ImportReport(connection_id=connection_id, kind=row.kind, trigger=trigger, by=by)
    try:
        spec = spec_of(row, ring, tokens or {})
        deployed = row.kind in registry.GIT_HOSTS and registry.reader(row.kind).protected(spec, spec.branch)
        import_pages(store, cstore, row, read(spec), report=report, gate=None if deployed else review_gate(store),
                     deployed=deployed, full=True, llm=llm)
    except (ConnectionFailed, KeyRingError) as exc:  # a key ring that lost the token's key says so too
        report.error = str(exc).splitlines()[0] if str(exc) else "the connection could not be read"
    return finish(cstore, report, started, clock)


def finish(cstore: ConnectionStore, report: ImportReport, started: datetime, clock: float) -> ImportReport:
    report.seconds = round(time.perf_counter() - clock, 3)
    cstore.record_sync(report.connection_id, report.trigger, report.by, started, report.model_dump(mode="json"))
    return report


class WebhookRefused(Exception):
    """The delivery is not from the host we share a secret with (or names another connection)."""


def push_sync(store: Store, cstore: ConnectionStore, ring: KeyRing, row: ConnectionRow,
              headers: dict[str, str], body: bytes, payload: dict, tokens: Mapping[str, str] | None = None,
              llm: LlmSettings | None = None) -> ImportReport | None:
    """A GitHub or GitLab push: re-import the runbooks it changed on the configured branch, flag the
    ones it deleted. None when the delivery is not a push to that branch (a ping, a tag, another
    branch). The commit id and its author are on each version; a protected branch counts as reviewed.
    """
    assert row.id is not None
    host = registry.reader(row.kind)
    try:
        secret = unseal(ring, row.webhook_secret_sealed or "", f"connection:{row.id}:webhook")
    except KeyRingError:
        raise WebhookRefused(f"connection {row.id}'s webhook secret cannot be read with this key ring") from None
    if not host.verify(headers, body, secret):
        raise WebhookRefused(f"the delivery's signature does not match connection {row.id}'s webhook secret")
    push = host.parse_push(headers, payload)
    if push is None or push.branch != row.config.get("branch", "main") or push.deleted:
        return None
    started, clock = utcnow(), time.perf_counter()
    report = ImportReport(connection_id=row.id, kind=row.kind, trigger="push", by=push.author or row.kind,
                          commit=push.commit)
    try:
        spec = spec_of(row, ring, tokens or {})
        deployed = bool(host.protected(spec, push.branch))
        if push.resync:  # a new or force-pushed branch, or a list cut short: read the whole commit
            pages, removed = host.pages(spec, ref=push.commit), []
        else:
            changed, removed = changes(spec, push)
            pages = (p for p in (host.page(spec, path, push.commit) for path in changed) if p is not None)
        authored = (_authored(p, push.author) for p in pages)
        import_pages(store, cstore, row, authored, report=report, gate=None if deployed else review_gate(store),
                     deployed=deployed, removed=removed, full=push.resync, llm=llm, commit=push.commit)
    except (ConnectionFailed, KeyRingError) as exc:
        report.error = str(exc).splitlines()[0] if str(exc) else "the repository could not be read"
    return finish(cstore, report, started, clock)


def _authored(page: SourcePage, author: str | None) -> SourcePage:
    return replace(page, author=author or page.author)
