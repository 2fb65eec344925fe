"""Latency of the engine on the Temporal dev server, measured end to end over real HTTP.

1. alert POST -> first step started: 200 Alertmanager webhooks at an incident's pace (5/s), then
   200 more in a burst (30/s), each matched to a one-step runbook whose command prints its own
   start time; median and p99.
2. orchestration overhead per step: a 50-step runbook of trivial commands, against the same 50
   commands run in one shell.

Everything runs on this machine over real HTTP. `--topology dev` (default) measures what `make run`
starts: `runbooks dev`, one process with the API and the worker, beside its Temporal dev server.
`--topology split` runs `runbooks api` and `runbooks worker` as separate processes.
Usage: python bench/latency.py [--alerts 200] [--steps 50] [--topology dev|split]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from product import Api, running_product  # noqa: E402

FIRST_STEP = """---
id: bench-first-step
match:
  alertname: BenchFirstStep
---
# Bench: first step

## Steps

1. **Print the start time**
   Risk: green
   ```sh
   date +%s.%N
   ```
"""


def many_steps(n: int) -> str:
    def item(i: int) -> str:
        pad = " " * (len(str(i)) + 2)  # CommonMark: item content is indented past its marker ("10. ")
        return f"{i}. **Step {i}**\n{pad}Risk: green\n{pad}```sh\n{pad}true\n{pad}```"
    items = "\n".join(item(i) for i in range(1, n + 1))
    return f"---\nid: bench-many-steps\nmode: autopilot\n---\n# Bench: {n} steps\n\n## Steps\n\n{items}\n"


def payload(n: int) -> dict:
    return {"version": "4", "status": "firing", "alerts": [{
        "status": "firing", "labels": {"alertname": "BenchFirstStep", "instance": f"host-{n}"},
        "startsAt": datetime.now(timezone.utc).isoformat(), "fingerprint": f"bench-{n:06d}"}]}


async def wait_status(http: httpx.AsyncClient, execution_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = (await http.get(f"/api/v1/executions/{execution_id}")).json()
        if body.get("status") in ("succeeded", "failed", "rolled_back", "cancelled"):
            return body
        await asyncio.sleep(0.05)
    raise TimeoutError(execution_id)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def first_step_latency(http: httpx.AsyncClient, alerts: int, rate: float, offset: int) -> None:
    """Post `alerts` webhooks at `rate` per second; each command prints when it started."""
    sent: dict[str, float] = {}
    for n in range(offset, offset + alerts):
        t0 = time.time()
        resp = await http.post("/api/v1/alerts/alertmanager", json=payload(n))
        resp.raise_for_status()
        sent[resp.json()["executions"][0]["id"]] = t0
        await asyncio.sleep(max(0.0, 1 / rate - (time.time() - t0)))
    latencies, to_workflow = [], []
    for execution_id, t0 in sent.items():
        body = await wait_status(http, execution_id)
        started = float(body["steps"][0]["output"].strip())
        latencies.append((started - t0) * 1000)
        step_at = datetime.fromisoformat(body["steps"][0]["started_at"]).replace(tzinfo=timezone.utc).timestamp()
        to_workflow.append((step_at - t0) * 1000)
    print(f"alert POST -> first step started, {len(latencies)} alerts at {rate:g}/s:")
    print(f"  median {statistics.median(latencies):.1f} ms   p99 {pct(latencies, 0.99):.1f} ms   "
          f"min {min(latencies):.1f} ms   max {max(latencies):.1f} ms")
    print(f"  of which POST -> workflow reaches the step: median {statistics.median(to_workflow):.1f} ms")


async def overhead(http: httpx.AsyncClient, runbook_id: str, steps: int, label: str) -> float:
    """Best of 3 runs of a runbook of `steps` steps of `true`, against the same commands in one shell:
    the orchestration overhead per step (ms)."""
    shell = " ; ".join(["true"] * steps)
    t0 = time.perf_counter()
    subprocess.run(["/bin/sh", "-c", shell], check=True)
    shell_ms = (time.perf_counter() - t0) * 1000
    runs = []
    for _ in range(3):
        resp = await http.post(f"/api/v1/runbooks/{runbook_id}/executions", json={"mode": "autopilot"})
        resp.raise_for_status()
        body = await wait_status(http, resp.json()["id"])
        assert body["status"] == "succeeded", body["reason"]
        begin = datetime.fromisoformat(body["steps"][0]["started_at"])
        end = datetime.fromisoformat(body["steps"][-1]["finished_at"])
        runs.append((end - begin).total_seconds() * 1000)
    per_step = (min(runs) - shell_ms) / steps
    print(f"{label}: {steps} steps in {min(runs):.0f} ms (best of 3: {', '.join(f'{r:.0f}' for r in runs)}), "
          f"one shell {shell_ms:.1f} ms: {per_step:.1f} ms of orchestration per step")
    return per_step


async def measure(api: Api, alerts: int, rate: float, burst_rate: float, steps: int) -> None:
    async with httpx.AsyncClient(base_url=api, timeout=30, headers=api.headers) as http:
        for n in range(10):  # warm-up: connections, caches, first workflow tasks
            await http.post("/api/v1/alerts/alertmanager", json=payload(900_000 + n))
        await asyncio.sleep(1)
        await first_step_latency(http, alerts, rate, 0)
        await first_step_latency(http, alerts, burst_rate, 100_000)
        await overhead(http, "bench-many-steps", steps, f"{steps}-step runbook of `true`")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--topology", choices=("dev", "split"), default="dev")
    parser.add_argument("--rate", type=float, default=5.0, help="alerts per second (an incident's pace)")
    parser.add_argument("--burst-rate", type=float, default=30.0, help="alerts per second of the burst run")
    args = parser.parse_args()
    books = {"bench-first-step.md": FIRST_STEP, "bench-many-steps.md": many_steps(args.steps)}
    with running_product(books, args.topology) as api:
        print(f"topology {args.topology}: " + ("API and worker in one process (make run)" if args.topology == "dev"
                                                else "API and worker in separate processes"))
        asyncio.run(measure(api, args.alerts, args.rate, args.burst_rate, args.steps))


if __name__ == "__main__":
    main()
