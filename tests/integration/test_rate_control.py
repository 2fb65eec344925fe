"""Rate control: `concurrency: K` runs at most K executions of a runbook at once, the rest queue and
none is lost; `max_errors: E` starts no more after E failures and says so."""

from __future__ import annotations

import asyncio
from pathlib import Path


from support.harness import Harness

THROTTLED = """---
id: throttled
concurrency: 2
---
# Throttled

## Steps

1. **Restart one node**
   ```sh
   echo "start {{ params.n }}" >> {{ params.log }}; sleep 0.6; echo "end {{ params.n }}" >> {{ params.log }}
   ```
"""

FAILING = """---
id: failing-fast
concurrency: 1
max_errors: 2
---
# Failing fast

## Steps

1. **Break**
   ```sh
   echo "ran {{ params.n }}" >> {{ params.log }}; exit 1
   ```
"""



def _peak(lines: list[str]) -> int:
    running = peak = 0
    for line in lines:
        running += 1 if line.startswith("start") else -1
        peak = max(peak, running)
    return peak


async def test_a_storm_runs_at_most_k_at_once_and_every_execution_runs(product: Harness, tmp_path: Path) -> None:
    log = tmp_path / "nodes.log"
    await product.load(THROTTLED)
    ids = [await product.start("throttled", log=str(log), n=str(n)) for n in range(8)]

    seen_queued = False
    for _ in range(200):
        statuses = [(await product.http.get(f"/api/v1/executions/{i}")).json().get("status") for i in ids]
        seen_queued = seen_queued or "queued" in statuses
        if all(s == "succeeded" for s in statuses):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"not all succeeded: {statuses}")
    lines = log.read_text().splitlines()
    assert sorted(lines) == sorted([f"start {n}" for n in range(8)] + [f"end {n}" for n in range(8)])
    assert _peak(lines) == 2, lines
    assert seen_queued, "the executions beyond the limit showed as queued"
    queued = (await product.http.get(f"/api/v1/executions/{ids[-1]}")).json()
    assert queued["reason"] == "all steps succeeded"


async def test_max_errors_stops_starting_more_and_says_why(product: Harness, tmp_path: Path) -> None:
    log = tmp_path / "fail.log"
    await product.load(FAILING)
    ids = [await product.start("failing-fast", log=str(log), n=str(n)) for n in range(4)]
    ended = [await product.wait_for(i, "failed", "cancelled", timeout=30) for i in ids]
    assert sorted(e["status"] for e in ended) == ["cancelled", "cancelled", "failed", "failed"]
    assert len(log.read_text().splitlines()) == 2, "only two ever ran"
    refused = next(e for e in ended if e["status"] == "cancelled")
    assert refused["reason"] == "not started: 2 executions of this runbook failed (max_errors: 2)"
    assert all(s["status"] == "skipped" for s in refused["steps"])


async def test_limits_that_are_not_whole_numbers_are_refused_with_their_line(product: Harness) -> None:
    resp = await product.http.post("/api/v1/runbooks", json={"text": THROTTLED.replace("concurrency: 2",
                                                                                        "concurrency: lots")})
    assert resp.status_code == 422 and resp.json()["line"] == 3
    assert "concurrency: must be a whole number" in resp.json()["detail"]
