"""Sustained ingestion through the Alertmanager endpoint, over real HTTP, on this machine.

An alert storm: N deliveries (default 10,000) over 50 distinct firing alerts, sent by C concurrent
clients, against `runbooks dev` (what `make run` starts). Prints deliveries per second and checks
that nothing was lost or duplicated: exactly 50 executions, exactly N recorded deliveries.
Usage: python bench/ingest.py [--deliveries 10000] [--alerts 50] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from product import Api, running_product  # noqa: E402

STORM = """---
id: storm
match:
  alertname: StormAlert
---
# Storm

## Steps

1. **Wait for a person**
   Risk: yellow
   ```sh
   true
   ```
"""


async def storm(api: Api, deliveries: int, alerts: int, concurrency: int) -> None:
    starts = datetime.now(timezone.utc).isoformat()
    bodies = [{"version": "4", "status": "firing", "alerts": [{
        "status": "firing", "labels": {"alertname": "StormAlert", "instance": f"host-{n % alerts}"},
        "startsAt": starts, "fingerprint": f"storm-{n % alerts}"}]} for n in range(deliveries)]
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    failures: list[int] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=api, timeout=60, limits=limits, headers=api.headers) as http:
        async def client() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                resp = await http.post("/api/v1/alerts/alertmanager", json=body)
                if resp.status_code != 202:
                    failures.append(resp.status_code)

        t0 = time.perf_counter()
        await asyncio.gather(*[client() for _ in range(concurrency)])
        elapsed = time.perf_counter() - t0
        executions = (await http.get("/api/v1/executions", params={"runbook_id": "storm", "limit": 1000})).json()
        counts = (await http.get("/api/v1/alerts", params={"limit": 1})).json()["by_alertname"]
    recorded = next((c["count"] for c in counts if c["alertname"] == "StormAlert"), 0)
    print(f"{deliveries} deliveries over {alerts} alerts, {concurrency} concurrent clients: "
          f"{elapsed:.1f} s, {deliveries / elapsed:.0f} deliveries/s (target: >= 200/s)")
    print(f"  refused: {len(failures)}; executions: {len(executions)} (expected {alerts}); "
          f"recorded deliveries: {recorded} (expected {deliveries})")
    if failures or len(executions) != alerts or recorded != deliveries:
        raise SystemExit("LOST OR DUPLICATED")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with running_product({"storm.md": STORM}) as api:
        asyncio.run(storm(api, args.deliveries, args.alerts, args.concurrency))


if __name__ == "__main__":
    main()
