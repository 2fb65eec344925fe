"""What the web cockpit costs: server time of each page, and how fast a decision shows on an open page.

1. Pages: the app database holds the 256 corpus runbooks (../shared/corpus, imported as a deploy
   does, one of them with a second version), 1,000 executions written in bulk (steps, approvals,
   a timeline and the alert of each; most finished, 50 open and waiting for a decision, some
   `running`) and unmatched alerts under 30 names (the coverage gaps). The product's app
   (`api.app.create_app`) is served by uvicorn over real HTTP on loopback; a signed-in admin
   browser (session cookie from the real POST /login) asks for each page in turn, `--requests`
   times after a warm-up. Two figures per page: the server time, taken by an ASGI wrapper around
   the app (from the request reaching the app to its last body chunk handed to uvicorn: routing,
   session lookup, database reads, rendering), and the client's wall time on loopback, which
   adds HTTP and the client. Target: server p95 under 50 ms. Full garbage collections of the
   process while measuring are counted (they pause the server: a cause of slow outliers).
2. Decision to display: a Temporal dev server and a real worker (in process); a runbook with a
   green step and a yellow one. For each of `--decisions` alerts: wait until the yellow step waits,
   open the execution page's SSE stream and the Now page's, as a browser does, then time from
   POST /api/v1/executions/{id}/steps/{step}/approve (a Bearer token, another user) to the first
   `event: execution` that shows the step "Approved by" that user, and to the first `event: now`
   in which the execution no longer waits. Target: under 1 s.

The client, the server and the worker share one process and event loop (the client is idle while
the server works: requests are sequential). Hardware: whatever runs it; say so with the figures.

    .venv/bin/python bench/cockpit.py [--requests 200] [--warmup 20] [--decisions 20]
                                      [--executions 1000] [--database-url URL | --postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from temporalio.testing import WorkflowEnvironment  # noqa: E402

from api.app import create_app  # noqa: E402
from cli.devserver import temporal_binary  # noqa: E402
from runbooks.authoring.importer import import_directory, import_text  # noqa: E402
from runbooks.model import Risk, Runbook  # noqa: E402
from runbooks.settings import LlmSettings  # noqa: E402
from runbooks.storage.engine import make_engine  # noqa: E402
from runbooks.storage.migrate import create_schema  # noqa: E402
from runbooks.storage.store import Store  # noqa: E402
from runbooks.storage.tables import AlertRow, ApprovalRow, EventRow, ExecutionRow, StepRow, utcnow  # noqa: E402
from services.launch import _safe  # noqa: E402
from support.alerts import alert_payload  # noqa: E402
from support.harness import (  # noqa: E402
    TEST_KEY_RING, Harness, admin_token, make_settings, throwaway_postgres,
)
from support.paths import corpus  # noqa: E402
from support.processes import free_port  # noqa: E402
from support.web import sign_in  # noqa: E402
from workers.main import build_worker  # noqa: E402
from workflows import search_attributes as sa  # noqa: E402
from workflows.client import data_converter  # noqa: E402
from workflows.codec import KeyRing  # noqa: E402

TARGET_PAGE_MS = 50.0
TARGET_DISPLAY_S = 1.0
LABEL = "x-bench-page"
APPROVER = "bench-approver"
USERS = ["alice", "bob", "carol", "dave", "erin"]
GAP_NAMES = [f"{s}{k}" for s in ("Checkout", "Payments", "Search", "Ledger", "Billing", "Inventory")
             for k in ("LatencyHigh", "ErrorBudgetBurn", "QueueBacklog", "DiskAlmostFull", "ReplicaLag")]
DECIDE_RUNBOOK = """---
id: bench-decide
title: Bench one decision
match:
  alertname: BenchDecide
---
# Bench one decision

## Steps

1. **Look before touching**
   Risk: green
   ```sh
   true
   ```
2. **Change the thing**
   Risk: yellow (reversible)
   ```sh
   true
   ```
   Rollback:
   ```sh
   true
   ```
"""


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


# -- data ----------------------------------------------------------------------------------------


@dataclass
class Seeded:
    loaded: int = 0
    failures: list[str] = field(default_factory=list)
    runbook_id: str = ""  # the page's runbook: most steps, two versions
    runbook_steps: int = 0
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    done_execution: str = ""
    done_detail: str = ""
    open_execution: str = ""
    open_detail: str = ""
    alert_id: int = 0
    preview_text: str = ""
    seconds_import: float = 0.0
    seconds_rows: float = 0.0


def _finished_steps(rb: Runbook, status: str, rng: random.Random) -> tuple[list[dict], int]:
    """Each step's fields for a finished execution; and how many steps ran."""
    steps = rb.steps
    stop = len(steps) if status == "succeeded" else rng.randrange(len(steps)) if steps else 0
    out = []
    for i, st in enumerate(steps):
        if i < stop:
            s = {"status": "succeeded", "exit_code": 0}
        elif i == stop and status == "failed":
            s = {"status": "failed", "exit_code": 1}
        elif i == stop and status == "rolled_back":
            green = st.risk is Risk.green  # a green step failed; a decision was refused
            s = {"status": "failed", "exit_code": 1} if green else {"status": "rejected", "exit_code": None}
        else:
            s = {"status": "skipped", "exit_code": None}
        if status == "rolled_back" and i < stop and st.rollback:
            s["rollback_status"] = "succeeded"
        out.append(s)
    return out, stop + (status in ("failed", "rolled_back"))


def seed(store: Store, root: Path, executions: int, open_count: int, unmatched: int, rng: random.Random) -> Seeded:
    got = Seeded()
    began = time.perf_counter()
    report = import_directory(store, root, "operator", LlmSettings())
    got.loaded, got.failures = len(report.results), report.failures
    books = sorted((rb for rb, _ in store.live_runbooks()), key=lambda rb: rb.id)  # the same data on every backend
    biggest = max(books, key=lambda rb: len(rb.steps))
    got.runbook_id, got.runbook_steps = biggest.id, len(biggest.steps)
    row = store.version_row(biggest.id, 1)
    assert row is not None
    got.preview_text = row.source
    changed = re.sub(r"^# (.+)$", r"# \1 (revised)", row.source, count=1, flags=re.M)  # a second version
    second = import_text(store, changed, path=biggest.source_path, default_id=biggest.id, author="operator",
                         source_kind="directory", llm=LlmSettings())
    assert second.version == 2 and second.created, second
    got.seconds_import = time.perf_counter() - began

    began = time.perf_counter()
    with_decision = [rb for rb in books if any(s.risk is not Risk.green for s in rb.steps)]
    # some runbooks run often, most rarely; the page's runbook is among the frequent ones
    weights = [8.0 if rb.id == biggest.id else 1.0 / (1 + i % 40) for i, rb in enumerate(books)]
    now = utcnow()
    recent = range(max(0, executions - 200), executions - 1)  # open ones are recent; the newest has ended
    opened = set(rng.sample(recent, min(open_count, len(recent))))
    widest = -1
    rows: list = []
    for n in range(executions):
        is_open = n in opened
        rb = rng.choice(with_decision) if is_open else rng.choices(books, weights)[0]
        if n == executions - 1:
            rb = biggest  # the newest finished execution runs all of the biggest runbook
        started = now - timedelta(minutes=10 * (executions - n)) - timedelta(seconds=rng.randrange(600))
        alertname = rb.id.rsplit("/", 1)[-1]
        fingerprint = f"{rng.getrandbits(64):016x}"
        eid = f"{_safe(rb.id)}.{_safe(alertname)}.{fingerprint}.{int(started.timestamp())}"
        if is_open:
            status = "running" if rng.random() < 0.15 else "waiting_approval"
        elif n == executions - 1:
            status = "succeeded"
        else:
            status = rng.choices(["succeeded", "failed", "rolled_back", "cancelled"], [80, 8, 7, 5])[0]
        got.statuses[status] += 1
        at = started
        events = [("started", None, f"started {rb.title!r} for alert {alertname}")]
        if is_open:
            wait_at = next(i for i, s in enumerate(rb.steps) if s.risk is not Risk.green)
            states = [{"status": "succeeded", "exit_code": 0} if i < wait_at else
                      {"status": "waiting_approval" if status == "waiting_approval" else "running", "exit_code": None}
                      if i == wait_at else {"status": "pending", "exit_code": None} for i in range(len(rb.steps))]
            ran = wait_at + 1
        else:
            states, ran = _finished_steps(rb, "rolled_back" if status == "cancelled" else status, rng)
        for i, (st, state) in enumerate(zip(rb.steps, states)):
            step_at = at + timedelta(seconds=1 + i * 20)
            waiting = state["status"] == "waiting_approval"
            decided = st.risk is not Risk.green and state["status"] in ("succeeded", "failed", "rejected")
            if st.risk is not Risk.green and (waiting or decided):
                events.append(("approval_requested", st.id, f"step {st.title!r} ({st.risk.value}) waits for approval"))
            if decided:
                approved = state["status"] != "rejected"
                actor = rng.choice(USERS)
                rows.append(ApprovalRow(execution_id=eid, step_id=st.id, approved=approved, actor=actor,
                                        comment="looks right" if approved else "not now: a deploy is running",
                                        decided_at=step_at + timedelta(seconds=5)))
                events.append(("decided", st.id, f"{actor} {'approved' if approved else 'rejected'} {st.title!r}"))
            ended = state["status"] in ("succeeded", "failed")
            if ended:
                events.append(("step_finished", st.id,
                               f"step {st.title!r} {state['status']} (exit {state['exit_code']})"))
            output = "" if not (ended or state["status"] == "running") else "\n".join(
                f"{alertname} check {k}: ok" for k in range(rng.randrange(2, 12)))
            rows.append(StepRow(
                execution_id=eid, step_id=st.id, position=st.position, title=st.title, risk=st.risk.value,
                risk_reason=st.risk_reason, target=st.target, command=st.command, status=state["status"],
                exit_code=state["exit_code"], output=output,
                started_at=step_at if i < ran else None, finished_at=step_at + timedelta(seconds=8) if ended else None,
                rollback_command=st.rollback, rollback_status=state.get("rollback_status"),
                rollback_exit_code=0 if state.get("rollback_status") else None,
                waiting_since=step_at if waiting else None))
        finished = None if is_open else started + timedelta(seconds=30 + 20 * len(rb.steps))
        if finished:
            events.append(("finished", None, f"execution {status}"))
        for k, (kind, step, message) in enumerate(events):
            rows.append(EventRow(execution_id=eid, kind=kind, step_id=step, message=message,
                                 at=started + timedelta(seconds=k * 3)))
        rows.append(ExecutionRow(id=eid, runbook_id=rb.id, runbook_version=1, mode="copilot", status=status,
                                 reason="" if status == "succeeded" or is_open else f"{status} at a step",
                                 alertname=alertname, alert_fingerprint=fingerprint, started_by="alert",
                                 started_at=started, finished_at=finished,
                                 resolved_at=finished if finished and rng.random() < 0.3 else None,
                                 updated_at=finished or started))
        labels = {"alertname": alertname, "severity": rng.choice(["warning", "critical"]),
                  "namespace": f"team-{n % 7}", "pod": f"{alertname.lower()}-{n:04d}"}
        rows.append(AlertRow(source="alertmanager", fingerprint=fingerprint, status="firing", alertname=alertname,
                             labels=labels, annotations={"summary": f"{alertname} on {labels['pod']}"},
                             starts_at=started, received_at=started, execution_id=eid, runbook_id=rb.id,
                             raw={"labels": labels}))
        if n == executions - 1:
            got.done_execution = eid
            got.done_detail = f"{status}, {len(rb.steps)} steps, {len(events)} events"
        if status == "waiting_approval" and len(rb.steps) > widest:  # the waiting one with most steps
            widest = len(rb.steps)
            got.open_execution, got.open_detail = eid, f"waiting_approval, {len(rb.steps)} steps, {len(events)} events"
    for n in range(unmatched):
        name = rng.choice(GAP_NAMES)
        labels = {"alertname": name, "severity": "warning", "service": name.lower()[:8], "instance": f"host-{n % 13}"}
        rows.append(AlertRow(source="alertmanager", fingerprint=f"gap-{n:05d}", status="firing", alertname=name,
                             labels=labels, annotations={"summary": f"{name} on host-{n % 13}"},
                             starts_at=now - timedelta(minutes=n), received_at=now - timedelta(minutes=n),
                             raw={"labels": labels}))
    for r in rows:
        got.rows[type(r).__tablename__] += 1
    with store.session() as s:
        s.add_all(rows)
        s.commit()
    found = store.alert_of_execution(got.done_execution)
    assert found is not None and found.id is not None
    got.alert_id = found.id
    got.seconds_rows = time.perf_counter() - began
    return got


# -- server time ---------------------------------------------------------------------------------


class Pauses:
    """The garbage collector's full (generation 2) collections: they stop the whole process, server included."""

    def __init__(self) -> None:
        self.spent: list[float] = []
        self._began = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] == 2:
            if phase == "start":
                self._began = time.perf_counter()
            else:
                self.spent.append((time.perf_counter() - self._began) * 1000)


class Timing:
    """ASGI wrapper: server time of every request the bench labels (header x-bench-page), and whether
    a full garbage collection ran during it."""

    def __init__(self, app):  # noqa: ANN001
        self.app = app
        self.pauses = Pauses()
        self.samples: dict[str, list[tuple[float, bool]]] = defaultdict(list)

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        label = None
        if scope["type"] == "http":
            label = next((v.decode() for k, v in scope["headers"] if k == LABEL.encode()), None)
        if label is None:
            await self.app(scope, receive, send)
            return
        began, collections = time.perf_counter(), len(self.pauses.spent)

        async def timed(message: dict) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.samples[label].append(((time.perf_counter() - began) * 1000,
                                            len(self.pauses.spent) != collections))

        await self.app(scope, receive, timed)


@contextlib.asynccontextmanager
async def serving(app, port: int):  # noqa: ANN001, ANN201
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise SystemExit("the API did not start")
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@dataclass
class Page:
    label: str
    method: str
    path: str
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


async def time_pages(http: httpx.AsyncClient, timing: Timing, pages: list[Page], cookie: dict[str, str],
                     requests: int, warmup: int) -> None:
    wall: dict[str, list[float]] = defaultdict(list)
    size: dict[str, int] = {}
    gc.callbacks.append(timing.pauses)
    try:
        for n in range(warmup + requests):
            if n == warmup:  # what the server saw so far was the warm-up
                timing.samples.clear()
                timing.pauses.spent.clear()
            for p in pages:  # round robin: noise spreads over every page alike
                headers = {**cookie, LABEL: p.label, **p.headers}
                began = time.perf_counter()
                resp = await http.request(p.method, p.path, headers=headers, data=p.form)
                spent = (time.perf_counter() - began) * 1000
                if resp.status_code != 200:
                    raise SystemExit(f"{p.method} {p.path}: {resp.status_code}\n{resp.text[:2000]}")
                size[p.label] = len(resp.content)
                wall[p.label].append(spent)
    finally:
        gc.callbacks.remove(timing.pauses)
    print(f"pages ({requests} requests each after {warmup} warm-up, round robin; ms):")
    print(f"  {'':<40} {'server':^22}  {'client':^14}  {'GC':>3}  {'server, no GC':^14}")
    print(f"  {'page':<40} {'median':>7} {'p95':>6} {'max':>7}  {'median':>7} {'p95':>6}  {'hit':>3}  "
          f"{'median':>7} {'p95':>6}  {'KiB':>4}")
    worst = worst_quiet = 0.0
    for p in pages:
        server = [ms for ms, _ in timing.samples[p.label]]
        quiet = [ms for ms, hit in timing.samples[p.label] if not hit] or [float("nan")]
        client = wall[p.label][warmup:]
        assert len(server) == requests, (p.label, len(server))
        worst, worst_quiet = max(worst, pct(server, 0.95)), max(worst_quiet, pct(quiet, 0.95))
        mark = "" if pct(server, 0.95) < TARGET_PAGE_MS else "  > target"
        print(f"  {p.label:<40} {statistics.median(server):>7.1f} {pct(server, 0.95):>6.1f} {max(server):>7.1f}  "
              f"{statistics.median(client):>7.1f} {pct(client, 0.95):>6.1f}  {len(server) - len(quiet):>3}  "
              f"{statistics.median(quiet):>7.1f} {pct(quiet, 0.95):>6.1f}  {size[p.label] / 1024:>4.0f}{mark}")
    spent = timing.pauses.spent
    if spent:
        print(f"  full garbage collections while measuring: {len(spent)}, median {statistics.median(spent):.0f} ms, "
              f"longest {max(spent):.0f} ms, {sum(spent) / 1000:.1f} s in all ('GC hit': requests they fell in)")
    print(f"  worst server p95 {worst:.1f} ms ({worst_quiet:.1f} ms without the requests a full collection fell "
          f"in); target p95 < {TARGET_PAGE_MS:.0f} ms: {'met' if worst < TARGET_PAGE_MS else 'NOT met'}")


# -- decision to display -------------------------------------------------------------------------


async def read_events(http: httpx.AsyncClient, url: str, headers: dict[str, str], out: asyncio.Queue,
                      connected: asyncio.Event) -> None:
    """A browser's EventSource: each event (name, data, arrival) goes to `out`."""
    async with http.stream("GET", url, headers=headers, timeout=httpx.Timeout(5, read=60)) as resp:
        assert resp.status_code == 200, (url, resp.status_code)
        name, data = None, []
        async for line in resp.aiter_lines():
            if line.startswith("retry:"):
                connected.set()
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line == "" and name is not None:
                out.put_nowait((name, "\n".join(data), time.perf_counter()))
                name, data = None, []


async def first(queue: asyncio.Queue, event: str, shows, timeout: float = 20.0) -> float:  # noqa: ANN001
    """When the first `event` whose data satisfies `shows` arrived."""
    deadline = time.perf_counter() + timeout
    while True:
        name, data, at = await asyncio.wait_for(queue.get(), max(0.01, deadline - time.perf_counter()))
        if name == event and shows(data):
            return at


def now_item(html: str, execution_id: str) -> str | None:
    return next((chunk for chunk in html.split('<li class="card exec">') if f"/executions/{execution_id}\"" in chunk),
                None)


async def wait_rest(http: httpx.AsyncClient, execution_id: str, done, timeout: float = 60) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        resp = await http.get(f"/api/v1/executions/{execution_id}")
        if resp.status_code == 200 and done(body := resp.json()):
            return body
        await asyncio.sleep(0.05)
    raise SystemExit(f"{execution_id} did not get there in {timeout:g} s: {body}")


def yellow_waits(body: dict) -> bool:
    return any(s["risk"] == "yellow" and s["status"] == "waiting_approval" for s in body["steps"])


async def one_decision(http: httpx.AsyncClient, streams: httpx.AsyncClient, cookie: dict[str, str],
                       approver: dict[str, str], log: Path) -> tuple[float, float, float]:
    resp = await http.post("/api/v1/alerts/alertmanager", json=alert_payload("BenchDecide", log))
    assert resp.status_code == 202, resp.text
    eid = resp.json()["executions"][0]["id"]
    body = await wait_rest(http, eid, yellow_waits)
    step = next(s["id"] for s in body["steps"] if s["status"] == "waiting_approval")
    urls = []
    for path in (f"/executions/{eid}", "/"):  # the pages as loaded, with their `shown` digests
        page = await http.get(path, headers=cookie)
        assert page.status_code == 200, page.status_code
        urls.append(re.search(r'sse-connect="([^"]+)"', page.text).group(1).replace("&amp;", "&"))
    queues = [asyncio.Queue(), asyncio.Queue()]
    connected = [asyncio.Event(), asyncio.Event()]
    readers = [asyncio.create_task(read_events(streams, u, cookie, q, c)) for u, q, c in zip(urls, queues, connected)]
    try:
        for c, r in zip(connected, readers):
            opened = asyncio.create_task(c.wait())
            await asyncio.wait({opened, r}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            opened.cancel()
            if r.done():
                r.result()
            assert c.is_set(), "an SSE stream did not open"
        for q in queues:
            while not q.empty():
                q.get_nowait()
        began = time.perf_counter()
        resp = await http.post(f"/api/v1/executions/{eid}/steps/{step}/approve", json={"comment": "bench"},
                               headers=approver)
        answered = time.perf_counter() - began
        assert resp.status_code == 202, resp.text
        shown, now_shown = await asyncio.gather(
            first(queues[0], "execution", lambda html: "Approved" in html and f"<strong>{APPROVER}</strong>" in html),
            first(queues[1], "now", lambda html: 'class="waiting"' not in (now_item(html, eid) or "")))
    finally:
        for r in readers:
            r.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    await wait_rest(http, eid, lambda b: b["status"] not in ("running", "waiting_approval"))
    return answered, shown - began, now_shown - began


async def time_decisions(h: Harness, cookie: dict[str, str], base: str, decisions: int, warmup: int,
                         work: Path) -> None:
    approver = h.auth(APPROVER, "approver")
    answered, page, now = [], [], []
    async with httpx.AsyncClient(base_url=base, trust_env=False) as streams:
        for n in range(warmup + decisions):
            a, p, w = await one_decision(h.http, streams, cookie, approver, work / "decide.log")
            if n >= warmup:
                answered.append(a * 1000)
                page.append(p * 1000)
                now.append(w * 1000)
    print(f"decision to display ({decisions} executions after {warmup} warm-up; real worker, "
          f"change feed polling every {h.services.live.interval:g} s; ms):")
    for label, values in (("POST approve answered (REST)", answered),
                          ("execution page shows 'Approved by'", page),
                          ("Now page no longer shows it waiting", now)):
        print(f"  {label:<38} median {statistics.median(values):>6.0f}  p95 {pct(values, 0.95):>6.0f}  "
              f"max {max(values):>6.0f}")
    worst = max(pct(page, 0.95), pct(now, 0.95)) / 1000
    print(f"  target < {TARGET_DISPLAY_S:g} s: {'met' if worst < TARGET_DISPLAY_S else 'NOT met'} "
          f"(worst p95 {worst:.2f} s)")


# -- the whole run -------------------------------------------------------------------------------


async def run(args: argparse.Namespace, database_url: str, work: Path) -> None:
    root = Path(args.corpus) if args.corpus else corpus()
    if root is None:
        raise SystemExit("the corpus is missing (../shared/corpus): --corpus PATH")
    books = work / "runbooks"
    books.mkdir()
    (books / "bench-decide.md").write_text(DECIDE_RUNBOOK)
    began = time.perf_counter()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), search_attributes=sa.ALL,
        data_converter=data_converter(KeyRing.parse(TEST_KEY_RING)), dev_server_log_level="error")
    try:
        address = env.client.service_client.config.target_host
        settings = make_settings(work, address, database_url).model_copy(
            update={"runbooks_dir": books, "llm": LlmSettings()})
        engine = make_engine(database_url)
        create_schema(engine)
        seeded = seed(Store(engine), root, args.executions, args.open, args.unmatched, random.Random(7))
        engine.dispose()
        backend = engine.url.get_backend_name()
        print(f"database: {backend} ({engine.url.render_as_string(hide_password=True)})")
        print(f"corpus {root}: {seeded.loaded} runbooks loaded, {len(seeded.failures)} rejected "
              f"({seeded.seconds_import:.1f} s); + bench-decide from RUNBOOKS_DIR")
        for failure in seeded.failures[:5]:
            print(f"  rejected: {failure}")
        print("rows written in one transaction (%.1f s): %s" % (
            seeded.seconds_rows, ", ".join(f"{k} {v:,}" for k, v in sorted(seeded.rows.items()))))
        print("executions by status: " + ", ".join(f"{k} {v}" for k, v in sorted(seeded.statuses.items())))

        app = create_app(settings, env.client)
        timing = Timing(app)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        async with serving(timing, port):
            svc = app.state.services
            # the app froze what start-up built (api/app.py): out of full collections from then on
            print(f"gc.freeze() at start-up: {gc.get_freeze_count():,} objects left out of collections")
            print(f"product up {time.perf_counter() - began:.1f} s after the start of the run "
                  f"({len(svc.store.list_runbooks())} runbooks in the database)")
            headers = {"Authorization": f"Bearer {admin_token(settings)}"}
            async with httpx.AsyncClient(base_url=base, headers=headers, trust_env=False, timeout=30) as http:
                h = Harness(http=http, settings=settings, store=svc.store, client=env.client, workdir=work,
                            services=svc)
                browser = await sign_in(h, "bench-admin", "admin")
                cookie = browser.headers  # the session cookie, no Authorization
                rb = seeded.runbook_id
                preview = {"text": seeded.preview_text, "csrf": browser.csrf}
                pages = [
                    Page("GET / (Now)", "GET", "/"),
                    Page("GET /executions/{id} (finished)", "GET", f"/executions/{seeded.done_execution}"),
                    Page("GET /executions/{id} (waiting)", "GET", f"/executions/{seeded.open_execution}"),
                    Page("GET /runbooks", "GET", "/runbooks"),
                    Page("GET /runbooks/{id}", "GET", f"/runbooks/{rb}"),
                    Page("GET /runbooks/{id}/diff?from=1&to=2", "GET", f"/runbooks/{rb}/diff?from=1&to=2"),
                    Page("GET /import", "GET", "/import"),
                    Page("POST /import/preview (form)", "POST", "/import/preview", preview),
                    Page("POST /import/preview (htmx fragment)", "POST", "/import/preview", preview,
                         {"HX-Request": "true", "X-CSRF-Token": browser.csrf}),
                    Page("GET /alerts", "GET", "/alerts"),
                    Page("GET /alerts/{id}", "GET", f"/alerts/{seeded.alert_id}"),
                ]
                print(f"  runbook page and diff: {rb} ({seeded.runbook_steps} steps, 2 versions); preview: its text "
                      f"({len(seeded.preview_text):,} chars)")
                print(f"  finished execution: {seeded.done_detail}; waiting execution: {seeded.open_detail}")
                print(f"  unmatched alerts: {args.unmatched} under {len(GAP_NAMES)} names")
                await time_pages(http, timing, pages, cookie, args.requests, args.warmup)
                if args.decisions:
                    with ThreadPoolExecutor(max_workers=32) as executor:
                        async with build_worker(env.client, settings, svc.store, executor):
                            await time_decisions(h, cookie, base, args.decisions, 2, work)
    finally:
        await env.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="per page, after the warm-up")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=20, help="0: pages only")
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--open", type=int, default=50, help="of the executions, open ones waiting for a decision")
    parser.add_argument("--unmatched", type=int, default=300, help="alerts no runbook answered")
    parser.add_argument("--corpus", help="default: ../shared/corpus")
    db = parser.add_mutually_exclusive_group()
    db.add_argument("--database-url", help="an empty database (default: a SQLite file in a temporary folder)")
    db.add_argument("--postgres", action="store_true",
                    help="a throwaway PostgreSQL database (TEST_POSTGRES_URL's server), dropped at the end")
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), os.uname().machine) if Path("/proc/cpuinfo").exists() else ""
    print(f"cockpit bench on {len(os.sched_getaffinity(0))} cores ({cpu}), Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lr-cockpit-") as tmp:
        work = Path(tmp)
        with contextlib.ExitStack() as stack:
            url = args.database_url or (stack.enter_context(throwaway_postgres("lr_bench")) if args.postgres
                                        else f"sqlite:///{work / 'app.db'}")
            asyncio.run(run(args, url, work))
    print(f"run time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
