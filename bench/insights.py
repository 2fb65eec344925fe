"""What insights cost: `GET /api/v1/runbooks/{id}/insights` for a runbook with 10,000 executions.

A throwaway PostgreSQL database (or SQLite with --sqlite) gets one runbook and `--executions`
executions of it, written in bulk as the workflow would have left them: 8 steps each (a green
check, yellow changes, a red step people reject half of the time, a step that keeps failing the
same way, a step skipped in most runs), the approvals with their waits, a resolved alert for most,
and alerts of the same name that no execution handled (PostgreSQL is then ANALYZEd, as autovacuum
keeps a live database). Then the service call the route makes
(`services.insights.runbook_insights`: the aggregate queries and the rules) is timed `--repeat`
times after a warm-up, and its answer is printed in short. Target: median and p95 under 200 ms.

    .venv/bin/python bench/insights.py [--executions 10000] [--repeat 50] [--sqlite]
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

import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from runbooks.authoring.reader import parse_text  # noqa: E402
from runbooks.storage.engine import make_engine  # noqa: E402
from runbooks.storage.migrate import create_schema  # noqa: E402
from runbooks.storage.store import Store  # noqa: E402
from runbooks.storage.tables import AlertRow, ApprovalRow, ExecutionRow, StepRow  # noqa: E402
from services.insights import _FACTS, runbook_insights  # noqa: E402
from support.harness import throwaway_postgres  # noqa: E402

RUNBOOK = """---
id: bench-insights
title: Bench insights
match:
  alertname: BenchInsights
---
# Bench insights

## Steps

1. **Look**
   ```sh
   uptime
   ```
"""
STEPS = [("look", "green"), ("drain", "yellow"), ("restart", "yellow"), ("purge", "red"), ("probe", "green"),
         ("notify", "yellow"), ("legacy", "green"), ("verify", "green")]


def seed(store: Store, executions: int) -> None:
    runbook = parse_text(RUNBOOK)
    store.save_runbook(runbook, RUNBOOK, author="bench")
    base = datetime.now(timezone.utc) - timedelta(days=30)
    rows: list = []
    for n in range(executions):
        eid = f"bench-insights.{n}"
        started = base + timedelta(seconds=n * 200)
        rejected = n % 2 == 0
        status = "rolled_back" if rejected else ("failed" if n % 7 == 0 else "succeeded")
        rows.append(ExecutionRow(id=eid, runbook_id="bench-insights", runbook_version=1, mode="copilot",
                                 status=status, alertname="BenchInsights", alert_fingerprint=f"fp{n}",
                                 started_by="alert", started_at=started, finished_at=started + timedelta(seconds=90),
                                 resolved_at=started + timedelta(seconds=300) if n % 3 else None,
                                 updated_at=started + timedelta(seconds=90)))
        for position, (step_id, risk) in enumerate(STEPS, start=1):
            at = started + timedelta(seconds=position * 5)
            state = "succeeded"
            if step_id == "purge":
                state = "rejected" if rejected else "succeeded"
            elif step_id == "probe" and n % 7 == 0 and not rejected:
                state = "failed"
            elif step_id == "legacy":
                state = "skipped" if n % 10 else "succeeded"
            elif position > 4 and rejected:
                state = "skipped"
            rows.append(StepRow(execution_id=eid, step_id=step_id, position=position, title=step_id.title(),
                                risk=risk, status=state, exit_code=127 if state == "failed" else 0,
                                output="sh: 1: probe-tool: not found\n" if state == "failed" else "ok\n" * 20,
                                started_at=at, finished_at=at + timedelta(seconds=2),
                                waiting_since=at - timedelta(seconds=40) if risk != "green" else None))
            if risk != "green" and state != "skipped":
                rows.append(ApprovalRow(execution_id=eid, step_id=step_id, approved=state != "rejected",
                                        actor="alice", decided_at=at - timedelta(seconds=1)))
        rows.append(AlertRow(source="alertmanager", fingerprint=f"fp{n}", status="firing", alertname="BenchInsights",
                             starts_at=started, received_at=started, execution_id=eid, runbook_id="bench-insights"))
    for n in range(executions // 10):  # the same alert, handled by nobody
        at = base + timedelta(seconds=n * 500)
        rows.append(AlertRow(source="alertmanager", fingerprint=f"alone{n}", status="resolved",
                             alertname="BenchInsights", starts_at=at, received_at=at + timedelta(minutes=45)))
    with store.session() as s:
        s.bulk_save_objects(rows)  # no identity map: ten times faster than add_all for a seed
        s.commit()


def measure(url: str, executions: int, repeat: int) -> None:
    engine = make_engine(url)
    create_schema(engine, auto_migrate=True)
    store = Store(engine)
    began = time.perf_counter()
    seed(store, executions)
    if engine.dialect.name == "postgresql":  # the statistics a live database has (autovacuum keeps them)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("ANALYZE"))
    print(f"  seeded {executions:,} executions ({executions * len(STEPS):,} step records) in "
          f"{time.perf_counter() - began:.1f} s")
    svc = SimpleNamespace(store=store)

    async def once(cold: bool) -> float:
        if cold:  # the facts are computed again, as after any new run of the runbook
            _FACTS.clear()
        t0 = time.perf_counter()
        await runbook_insights(svc, "bench-insights")  # type: ignore[arg-type]
        return (time.perf_counter() - t0) * 1000

    async def run(cold: bool) -> list[float]:
        for _ in range(3):
            await once(cold)
        return [await once(cold) for _ in range(repeat)]

    for cold in (True, False):
        times = asyncio.run(run(cold))
        p95 = statistics.quantiles(times, n=20)[-1]
        what = "after a change (facts computed)" if cold else "unchanged since (facts kept)"
        print(f"  insights {what}, {repeat} calls: median {statistics.median(times):.1f} ms  p95 {p95:.1f} ms  "
              f"max {max(times):.1f} ms  (target < 200 ms: {'met' if p95 < 200 else 'NOT met'})")
    answer = asyncio.run(runbook_insights(svc, "bench-insights"))  # type: ignore[arg-type]
    print(f"  answer: {answer.executions:,} executions, success rate {answer.success_rate}, "
          f"resolve median {answer.median_time_to_resolve_seconds}s (without it {answer.median_time_to_resolve_without_seconds}s), "
          f"first approval median {answer.median_time_to_first_approval_seconds}s")
    for flag in answer.flags:
        print(f"    flag {flag.kind}: {flag.message}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    args = parser.parse_args()
    if args.sqlite:
        with tempfile.TemporaryDirectory() as work:
            print("insights (sqlite, 2 cores):")
            measure(f"sqlite:///{work}/app.db", args.executions, args.repeat)
        return
    with throwaway_postgres("lr_bench_insights") as url:
        print("insights (postgresql, 2 cores):")
        measure(url, args.executions, args.repeat)


if __name__ == "__main__":
    main()
