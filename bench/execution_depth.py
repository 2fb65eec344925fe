"""Execution depth, measured on the real product (`runbooks dev` and its Temporal dev server):

1. Temporal's own floor in the same run: start a one-activity workflow -> its activity starts
   (a bare worker of this process, no product code), median and p99.
2. Alert POST -> first step started (an Alertmanager webhook matched to a one-step runbook).
3. Orchestration overhead per step of a 50-step runbook over the same commands in one shell:
   green local steps, the same steps as regular activities (yellow, autopilot), and agent steps
   (`Target: agent:bench`, a `runbooks agent` process beside the product).
4. A storm of 50 alerts on a runbook with `concurrency: 5` whose step sleeps 1 s: peak concurrent
   executions (from the steps' start and end times) and the total time.

Usage: python bench/execution_depth.py [--alerts 40] [--steps 50] [--storm 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

sys.path.insert(0, str(Path(__file__).resolve().parent))

from latency import FIRST_STEP, first_step_latency, overhead, pct, wait_status  # noqa: E402
from product import Api, running_product  # noqa: E402


def steps_runbook(runbook_id: str, n: int, extra: str = "", header: str = "") -> str:
    def item(i: int) -> str:
        pad = " " * (len(str(i)) + 2)
        lines = [f"{i}. **Step {i}**", *(f"{pad}{line}" for line in extra.splitlines() if line), f"{pad}```sh",
                 f"{pad}true", f"{pad}```"]
        return "\n".join(lines)
    items = "\n".join(item(i) for i in range(1, n + 1))
    return f"---\nid: {runbook_id}\nmode: autopilot\n{header}---\n# {runbook_id}\n\n## Steps\n\n{items}\n"


STORM = """---
id: bench-storm
mode: autopilot
concurrency: 5
match:
  alertname: BenchStorm
---
# Bench: storm

## Steps

1. **Work on one node**
   Risk: green
   ```sh
   sleep 1
   ```
"""


@activity.defn(name="bench_now")
async def bench_now() -> float:
    return time.time()


@workflow.defn(name="BenchFloor")
class BenchFloor:
    @workflow.run
    async def run(self) -> float:
        return await workflow.execute_activity("bench_now", start_to_close_timeout=timedelta(seconds=10),
                                               result_type=float)


async def temporal_floor(address: str, runs: int) -> float:
    client = await Client.connect(address)
    queue = f"bench-floor-{uuid.uuid4().hex[:6]}"
    latencies = []
    async with Worker(client, task_queue=queue, workflows=[BenchFloor], activities=[bench_now],
                      workflow_runner=UnsandboxedWorkflowRunner()):  # the floor: no sandbox cost either
        for n in range(runs + 5):
            t0 = time.time()
            started = await client.execute_workflow(BenchFloor.run, id=f"floor-{queue}-{n}", task_queue=queue)
            if n >= 5:  # warm-up
                latencies.append((started - t0) * 1000)
    median = statistics.median(latencies)
    print(f"Temporal's own floor, start workflow -> its activity starts ({runs} runs): median {median:.1f} ms   "
          f"p99 {pct(latencies, 0.99):.1f} ms")
    return median


async def storm(http: httpx.AsyncClient, alerts: int) -> None:
    t0 = time.time()
    ids = []
    for n in range(alerts):
        resp = await http.post("/api/v1/alerts/alertmanager", json={"version": "4", "status": "firing", "alerts": [{
            "status": "firing", "labels": {"alertname": "BenchStorm", "instance": f"node-{n}"},
            "startsAt": datetime.now(timezone.utc).isoformat(), "fingerprint": f"storm-{uuid.uuid4().hex}"}]})
        resp.raise_for_status()
        ids.append(resp.json()["executions"][0]["id"])
    intervals = []
    for execution_id in ids:
        body = await wait_status(http, execution_id, timeout=600)
        assert body["status"] == "succeeded", body["reason"]
        step = body["steps"][0]
        intervals.append((datetime.fromisoformat(step["started_at"]).timestamp(),
                          datetime.fromisoformat(step["finished_at"]).timestamp()))
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    total = max(b for _, b in intervals) - t0
    print(f"storm of {alerts} alerts, concurrency: 5, a 1 s step each: peak {peak} executions at once, "
          f"all done in {total:.1f} s (ideal {alerts / 5:.0f} s), none lost: {len(intervals)}/{alerts}")


def start_agent(api: Api) -> subprocess.Popen:
    env = {k: v for k, v in api.env.items() if k != "DATABASE_URL"}
    exe = str(Path(sys.executable).parent / "runbooks")
    return subprocess.Popen([exe, "agent", "--name", "bench"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


async def measure(api: Api, alerts: int, steps: int, storm_size: int) -> None:
    floor = await temporal_floor(api.temporal_address, alerts)
    async with httpx.AsyncClient(base_url=api, timeout=30, headers=api.headers) as http:
        await first_step_latency(http, 5, 5.0, 900_000)  # warm-up
        await first_step_latency(http, alerts, 5.0, 0)
        await overhead(http, "bench-green", steps, "green local steps")
        await overhead(http, "bench-yellow", steps, "yellow local steps (regular activities)")
        agent = start_agent(api)
        try:
            await asyncio.sleep(3)
            await overhead(http, "bench-agent", steps, "agent steps (Target: agent:bench)")
        finally:
            agent.terminate()
            agent.wait(30)
        await storm(http, storm_size)
    print(f"(Temporal floor median {floor:.1f} ms; the target is alert -> first step median <= "
          f"{1.5 * floor:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=40)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--storm", type=int, default=50)
    args = parser.parse_args()
    books = {"bench-first-step.md": FIRST_STEP, "bench-storm.md": STORM,
             "bench-green.md": steps_runbook("bench-green", args.steps, "Risk: green"),
             "bench-yellow.md": steps_runbook("bench-yellow", args.steps, "Risk: yellow"),
             "bench-agent.md": steps_runbook("bench-agent", args.steps, "Risk: green\nTarget: agent:bench")}
    with running_product(books) as api:
        asyncio.run(measure(api, args.alerts, args.steps, args.storm))


if __name__ == "__main__":
    main()
