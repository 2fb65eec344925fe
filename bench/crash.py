"""Crash drill as a figure: a storm of distinct alerts, kill -9 of the whole `runbooks dev` tree in it,
restart on the same state folder, every alert re-sent (as Alertmanager does after a failed delivery).

Prints: alerts sent, executions (database), workflows (Temporal), lost, duplicated, yellow steps run
twice, green steps repeated, executions that did not succeed (a yellow step in flight when the
worker died is not retried, so its execution fails and rolls back), and the time from the restart
until every execution had finished.

    .venv/bin/python bench/crash.py [--alerts 200] [--clients 8] [--kill-after 74] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support import crash  # noqa: E402


def drill(alerts: int, clients: int, kill_after: int) -> crash.DrillReport:
    work = Path(tempfile.mkdtemp(prefix="lr-crash-"))
    env, out, log = crash.dev_env(work / "state"), work / "dev.log", work / "storm.log"
    api = f"http://127.0.0.1:{env['API_PORT']}"
    payloads = crash.storm_payloads(alerts, log, f"bench-{uuid.uuid4().hex[:6]}")
    dev = crash.start_dev(env, out)
    try:
        first = crash.send(api, payloads, clients=clients, kill_after=kill_after,
                           kill=lambda: crash.kill9_tree(dev.pid))
        dev.wait(10)
        print(f"  killed after {kill_after} answers; {first.count(None)} deliveries got no answer")
        dev = crash.start_dev(env, out)
        began = time.monotonic()
        codes = crash.resend_until_accepted(api, payloads)
        refused = [c for c in codes if c != 202]
        rows = crash.wait_finished(api, alerts, 300, crash.admin_headers(work / "state"))
        workflows = asyncio.run(crash.temporal_workflows(env["TEMPORAL_ADDRESS"]))
        report = crash.judge(payloads, rows, workflows, log, time.monotonic() - began)
        if refused:
            print(f"  {len(refused)} re-deliveries never accepted: {refused[:10]}")
        return report
    finally:
        crash.kill9_tree(dev.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kill-after", type=int, default=74)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"crash drill: {args.alerts} distinct alerts from {args.clients} clients, kill -9 of the "
          f"`runbooks dev` tree after {args.kill_after} answers, restart, re-send all")
    reports = []
    for n in range(args.rounds):
        print(f"round {n + 1}:")
        reports.append(drill(args.alerts, args.clients, args.kill_after))
        print("  " + reports[-1].line())
        for name in ("lost", "duplicated", "yellow_twice", "not_succeeded"):
            if getattr(reports[-1], name):
                print(f"  {name}: {getattr(reports[-1], name)[:5]}")
    bad = [r for r in reports if r.lost or r.duplicated or r.yellow_twice]
    print(f"rounds {len(reports)}: lost {sum(len(r.lost) for r in reports)}, duplicated "
          f"{sum(len(r.duplicated) for r in reports)}, yellow run twice {sum(len(r.yellow_twice) for r in reports)}, "
          f"worst recovery {max(r.recover_seconds for r in reports):.1f} s")
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
