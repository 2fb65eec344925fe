"""Deduplication under storms: re-sends and retries never start a second execution, nothing is lost."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone

from sqlmodel import func, select

from runbooks.storage.tables import AlertRow, ExecutionRow
from support.harness import Harness

STARTS = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc).isoformat()


def delivery(alertname: str, n: int, **labels: str) -> dict:
    return {"version": "4", "status": "firing", "alerts": [{
        "status": "firing", "labels": {"alertname": alertname, "instance": f"host-{n}", **labels},
        "startsAt": STARTS, "fingerprint": f"{alertname}-{n}"}]}


def count(h: Harness, model, *where) -> int:  # noqa: ANN001
    with h.store.session() as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


async def test_a_storm_of_10000_deliveries_over_50_alerts_starts_exactly_50_executions(harness: Harness) -> None:
    deliveries = [delivery("StormAlert", n % 50) for n in range(10_000)]
    random.Random(1).shuffle(deliveries)
    sem = asyncio.Semaphore(32)

    async def send(body: dict) -> int:
        async with sem:
            return (await harness.http.post("/api/v1/alerts/alertmanager", json=body)).status_code

    statuses = await asyncio.gather(*[send(d) for d in deliveries])
    assert set(statuses) == {202}
    assert count(harness, ExecutionRow, ExecutionRow.runbook_id == "storm") == 50
    assert count(harness, AlertRow, AlertRow.alertname == "StormAlert") == 10_000
    runs = [w async for w in harness.client.list_workflows('RunbookId = "storm"')]
    assert len({w.id for w in runs}) == 50 and len(runs) == 50


async def test_group_by_gives_one_execution_per_node_while_it_runs(harness: Harness) -> None:
    bodies = [delivery("PodEvictedOnNode", n, node=f"node-{n % 3}") for n in range(12)]
    results = await asyncio.gather(*[harness.http.post("/api/v1/alerts/alertmanager", json=b) for b in bodies])
    ids = {r.json()["executions"][0]["id"] for r in results}
    assert len(ids) == 3, "12 pods on 3 nodes: one execution per node"

    one = sorted(ids)[0]
    await harness.wait_for(one, "waiting_approval")
    assert (await harness.http.post(f"/api/v1/executions/{one}/cancel")).status_code == 202
    await harness.wait_for(one, "cancelled")
    node = next(r.json() for r in results if r.json()["executions"][0]["id"] == one)
    again = await harness.http.post("/api/v1/alerts/alertmanager", json=next(
        b for b, r in zip(bodies, results) if r.json() == node))
    assert again.json()["executions"][0]["id"] not in ids, "after the group's execution ended, a new one starts"
