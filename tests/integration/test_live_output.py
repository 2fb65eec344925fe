"""A running step's output can be watched through the API while it runs, masked like the final one."""

from __future__ import annotations

import asyncio

from support.harness import Harness

SLOW_PRINTER = """---
id: slow-printer
title: A step that prints, waits, prints again
---
# A step that prints, waits, prints again

## Steps

1. **Print slowly**
   Risk: green
   ```sh
   echo first line; echo password=hunter2-secret; sleep 2; echo second line
   ```
"""


async def test_a_running_steps_output_so_far_is_shown_and_masked(harness: Harness) -> None:
    http = harness.http
    created = await http.post("/api/v1/runbooks", content=SLOW_PRINTER, headers={"content-type": "text/markdown"})
    assert created.status_code == 201 and created.json()["state"] == "live", created.text
    started = await http.post("/api/v1/runbooks/slow-printer/executions", json={})
    assert started.status_code == 202, started.text
    ex = started.json()["id"]

    await harness.wait_for(ex, "running", step="print-slowly")
    live = None
    for _ in range(100):  # the first line is shown about half a second after it was printed
        step = (await http.get(f"/api/v1/executions/{ex}")).json()["steps"][0]
        if step["status"] == "running" and "first line" in step["output"]:
            live = step
            break
        await asyncio.sleep(0.05)
    assert live is not None, f"the output so far was never shown while the step ran: {step}"
    assert "second line" not in live["output"]
    assert "password=[masked]" in live["output"] and "hunter2" not in live["output"]

    body = await harness.wait_for(ex, "succeeded", "failed")
    done = body["steps"][0]
    assert body["status"] == "succeeded" and done["status"] == "succeeded"
    assert done["output"] == "first line\npassword=[masked]\nsecond line\n"
