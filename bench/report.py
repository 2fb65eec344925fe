"""What an incident report costs: `GET /api/v1/executions/{id}/report` for an execution of 50 steps.

A SQLite file (or a throwaway PostgreSQL database with --postgres) gets one runbook, the execution
to report, written as the workflow would have left it (50 steps: green checks, yellow changes with
rollbacks, red steps; 4 KiB of output each and 64 KiB for every tenth; approvals with comments, one
rejection, the rollbacks, the alert that started it and its resolution), and `--history` earlier
executions of the same runbook, because the report's recommendations read the runbook's insights,
whose queries grow with its history. Then the service call the route makes
(`services.reports.execution_report`: the reads, the timeline, the insights and the writing) is
timed `--repeat` times after a warm-up, twice: as the first report since the runbook's runs changed
(its insight facts read again) and again with them unchanged (services/insights.py keeps them).
Target: p95 under 100 ms.

    .venv/bin/python bench/report.py [--steps 50] [--history 100] [--repeat 200] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from runbooks.authoring.reader import parse_text  # noqa: E402
from runbooks.storage.engine import make_engine  # noqa: E402
from runbooks.storage.migrate import create_schema  # noqa: E402
from runbooks.storage.store import Store  # noqa: E402
from runbooks.storage.tables import AlertRow, ApprovalRow, EventRow, ExecutionRow, StepRow  # noqa: E402
from services.insights import _FACTS  # noqa: E402
from services.reports import execution_report  # noqa: E402
from support.harness import throwaway_postgres  # noqa: E402

RUNBOOK = """---
id: bench-report
title: Bench report
match:
  alertname: BenchReport
---
# Bench report

## Steps

1. **Look**
   ```sh
   uptime
   ```
"""
REPORTED = "bench-report.reported"
LINE = "2026-11-25T10:00:00Z worker-7 processed batch 1234 of 5000: 512 rows, 0 errors, 12 ms\n"  # 80 chars


def _execution(eid: str, started: datetime, steps: int, *, reported: bool) -> list:
    """One execution's rows; the reported one is rejected at its last red step and rolls back."""
    rows: list = [ExecutionRow(
        id=eid, runbook_id="bench-report", runbook_version=1, mode="copilot",
        status="rolled_back" if reported else "succeeded",
        reason="step 'Step 48' rejected by bob: not during the sale; rolled back" if reported else "",
        alertname="BenchReport", alert_fingerprint=f"fp-{eid}", started_by="alert", started_at=started,
        finished_at=started + timedelta(seconds=steps * 12), resolved_at=started + timedelta(seconds=steps * 8),
        updated_at=started + timedelta(seconds=steps * 12))]
    events = [EventRow(execution_id=eid, kind="started", message="started", at=started)]
    rejected_at = steps - 2
    for position in range(1, steps + 1):
        risk = ("green", "yellow", "yellow", "red")[position % 4]
        at = started + timedelta(seconds=position * 10)
        status = "succeeded" if position < rejected_at else "rejected" if position == rejected_at else "skipped"
        if not reported:
            status = "succeeded"
        output = LINE * (800 if position % 10 == 0 else 50) if status == "succeeded" else ""
        rollback = risk == "yellow" and status == "succeeded"
        rows.append(StepRow(
            execution_id=eid, step_id=f"step-{position}", position=position, title=f"Step {position}", risk=risk,
            risk_reason="set by the runbook author", status=status, command=f"kubectl -n shop rollout restart "
            f"deployment/svc-{position} && kubectl -n shop rollout status deployment/svc-{position}",
            exit_code=0 if status == "succeeded" else None, output=output,
            started_at=at if status == "succeeded" else None, finished_at=at + timedelta(seconds=4)
            if status == "succeeded" else None, waiting_since=at - timedelta(seconds=5) if risk != "green" else None,
            rollback_command=f"kubectl -n shop rollout undo deployment/svc-{position}" if rollback else None,
            rollback_status="succeeded" if rollback and reported else None,
            rollback_exit_code=0 if rollback and reported else None,
            rollback_output="deployment.apps/svc rolled back\n" if rollback and reported else ""))
        if risk != "green" and status in ("succeeded", "rejected"):
            rows.append(ApprovalRow(execution_id=eid, step_id=f"step-{position}", approved=status == "succeeded",
                                    actor="bob" if status == "rejected" else "alice",
                                    comment="not during the sale" if status == "rejected" else "go ahead",
                                    decided_at=at - timedelta(seconds=1)))
        if status == "succeeded" and position % 4 == 0:
            events.append(EventRow(execution_id=eid, kind="escalation", step_id=f"step-{position}", target="on-call",
                                   message="still waiting", at=at - timedelta(seconds=2)))
    events.append(EventRow(execution_id=eid, kind="finished", message="done", at=started + timedelta(seconds=steps * 12)))
    rows += events
    rows.append(AlertRow(source="alertmanager", fingerprint=f"fp-{eid}", status="firing", alertname="BenchReport",
                         labels={"alertname": "BenchReport", "instance": "web-1:9100", "severity": "critical",
                                 "service": "shop", "namespace": "prod", "job": "node"},
                         annotations={"summary": "Checkout latency above 2 s", "description": "p99 over 5 min"},
                         starts_at=started, received_at=started, execution_id=eid, runbook_id="bench-report"))
    return rows


def seed(store: Store, steps: int, history: int) -> None:
    store.save_runbook(parse_text(RUNBOOK), RUNBOOK, author="bench")
    base = datetime.now(timezone.utc) - timedelta(days=10)
    rows: list = []
    for n in range(history):
        rows += _execution(f"bench-report.{n}", base + timedelta(hours=n), steps, reported=False)
    rows += _execution(REPORTED, base + timedelta(hours=history + 1), steps, reported=True)
    with store.session() as s:
        s.bulk_save_objects(rows)
        s.commit()


def measure(url: str, steps: int, history: int, repeat: int) -> None:
    engine = make_engine(url)
    create_schema(engine, auto_migrate=True)
    store = Store(engine)
    began = time.perf_counter()
    seed(store, steps, history)
    print(f"  seeded the execution ({steps} steps) and {history} earlier ones in {time.perf_counter() - began:.1f} s")
    svc = SimpleNamespace(store=store)

    async def once(cold: bool) -> float:
        if cold:  # as if the runbook's runs had just changed: its insight facts are read again
            _FACTS.clear()
        t0 = time.perf_counter()
        await execution_report(svc, REPORTED)  # type: ignore[arg-type]
        return (time.perf_counter() - t0) * 1000

    async def run(cold: bool) -> list[float]:
        for _ in range(5):
            await once(cold)
        return [await once(cold) for _ in range(repeat)]

    for cold, what in ((True, "first report since the runs changed"), (False, "again, runs unchanged")):
        times = asyncio.run(run(cold))
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"  report ({what}), {repeat} calls: median {statistics.median(times):.1f} ms  p95 {p95:.1f} ms  "
              f"max {max(times):.1f} ms  (target < 100 ms: {'met' if p95 < 100 else 'NOT met'})")
    report = asyncio.run(execution_report(svc, REPORTED))  # type: ignore[arg-type]
    print(f"  the report: {len(report):,} characters, {report.count(chr(10)):,} lines, "
          f"{report.count(chr(10) + '### ')} step and rollback headings")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--history", type=int, default=100, help="earlier executions of the same runbook")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database instead of SQLite")
    args = parser.parse_args()
    if args.postgres:
        with throwaway_postgres("lr_bench_report") as url:
            print(f"report (postgresql, {args.history} earlier executions):")
            measure(url, args.steps, args.history, args.repeat)
        return
    with tempfile.TemporaryDirectory() as work:
        print(f"report (sqlite, {args.history} earlier executions):")
        measure(f"sqlite:///{work}/app.db", args.steps, args.history, args.repeat)


if __name__ == "__main__":
    main()
