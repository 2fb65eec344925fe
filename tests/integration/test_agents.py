"""Agents inside the target network: `Target: agent:<name>` sends a step (and its rollback) to the
agent of that name, a real `runbooks agent` process with no database; a step nobody takes waits
visibly and escalates; an agent killed mid-step loses nothing.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import pytest

from support.harness import Harness
from support.processes import start_agent
from support.web import sign_in

TWO_ZONES = """---
id: two-zones
mode: autopilot
---
# Two zones

## Steps

1. **East**
   Target: agent:{east}
   ```sh
   echo "east step ran by $PPID"
   ```
2. **West**
   Target: agent:{west}
   ```sh
   echo "west step ran by $PPID"
   ```
3. **Home**
   ```sh
   echo "home step ran by $PPID"
   ```
"""

LONG_STEP = """---
id: long-step
mode: autopilot
---
# Long step

## Steps

1. **Slow change**
   Target: agent:{east}
   Risk: yellow
   ```sh
   echo step >> {log}; sleep 60
   ```
   Rollback:
   ```sh
   echo rollback >> {log}
   ```
"""


@pytest.fixture
def product_settings() -> dict:
    return {"agent_offline_after_seconds": 2.0}


def _names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:6]
    return f"east-{tag}", f"west-{tag}"


async def test_each_step_runs_on_the_agent_its_target_names_and_the_rest_at_home(
        product: Harness, tmp_path: Path) -> None:
    east, west = _names()
    agents = {name: start_agent(product.settings, name, tmp_path / f"{name}.log") for name in (east, west)}
    try:
        await product.load(TWO_ZONES.format(east=east, west=west))
        listed = {a["name"]: a for a in (await product.http.get("/api/v1/agents")).json()}
        assert listed[east]["online"] and listed[east]["runbooks"] == ["two-zones"]
        assert listed[east]["pollers"][0]["identity"].startswith(f"agent {east} (")

        done = await product.wait_for(await product.start("two-zones"), "succeeded", timeout=60)
        ran_by = {s["id"]: int(re.search(r"ran by (\d+)", s["output"]).group(1)) for s in done["steps"]}
        assert ran_by["east"] == agents[east].pid
        assert ran_by["west"] == agents[west].pid
        assert ran_by["home"] not in (agents[east].pid, agents[west].pid)
        assert [s["target"] for s in done["steps"]] == [f"agent:{east}", f"agent:{west}", "local"]
        for name, agent in agents.items():
            assert "worker polling" in agent.output()
            assert not (tmp_path / f"agent-{name}-data-must-not-exist").exists(), "an agent writes no state"
    finally:
        for agent in agents.values():
            assert agent.terminate() == 0, agent.output()[-2000:]


async def test_a_step_for_an_agent_nobody_runs_waits_visibly_and_runs_when_it_comes(
        product: Harness, tmp_path: Path) -> None:
    east, west = _names()
    await product.load(TWO_ZONES.format(east=east, west=west))
    listed = {a["name"]: a for a in (await product.http.get("/api/v1/agents")).json()}
    assert listed[east]["online"] is False and listed[east]["pollers"] == []

    execution_id = await product.start("two-zones")
    waiting = await product.wait_waiting(execution_id, "east")
    assert waiting["status"] == "running" and waiting["waiting_for"] == f"agent {east} is offline"
    browser = await sign_in(product, "olga", "viewer")
    page = (await product.http.get(f"/executions/{execution_id}", headers=browser.headers)).text
    assert f"Waits: agent {east} is offline" in page
    agents_page = (await product.http.get("/agents", headers=browser.headers)).text
    assert f"agent:{east}" in agents_page and "offline" in agents_page and "never seen" in agents_page
    events = (await product.http.get(f"/api/v1/executions/{execution_id}")).json()["events"]
    assert not any(e["kind"] == "finished" for e in events), "an offline agent does not fail the step at once"

    agents = [start_agent(product.settings, name, tmp_path / f"{name}.log") for name in (east, west)]
    try:
        done = await product.wait_for(execution_id, "succeeded", timeout=60)
        assert all(s["waiting_for"] is None for s in done["steps"])
    finally:
        for agent in agents:
            agent.terminate()


async def test_an_agent_killed_mid_step_fails_the_step_once_and_rolls_it_back_when_an_agent_returns(
        product: Harness, tmp_path: Path) -> None:
    east, _west = _names()
    log = tmp_path / "commands.log"
    await product.load(LONG_STEP.format(east=east, log=log))
    agent = start_agent(product.settings, east, tmp_path / "east.log")
    execution_id = await product.start("long-step")
    await product.wait_for(execution_id, "running", step="slow-change", timeout=30)
    for _ in range(200):
        if log.exists() and log.read_text().strip() == "step":
            break
        await asyncio.sleep(0.05)
    agent.kill9()

    # Lost after the heartbeat timeout (5 s here); a yellow step is never run twice; its rollback
    # waits for an agent, visibly, and runs on the one that comes back.
    failed = await product.wait_for(execution_id, "failed", step="slow-change", timeout=30)
    assert "not retried" in failed["steps"][0]["output"]
    await product.wait_waiting(execution_id, "slow-change")
    back = start_agent(product.settings, east, tmp_path / "east-again.log")
    try:
        done = await product.wait_for(execution_id, "rolled_back", timeout=60)
        assert done["steps"][0]["rollback"]["status"] == "succeeded"
        assert log.read_text().split() == ["step", "rollback"]
    finally:
        back.terminate()



OFFLINE_ESCALATES = """---
id: offline-agent
mode: autopilot
escalation:
  - after: 4s
    notify: primary
  - after: 8s
    action: reject
---
# Offline agent

## Steps

1. **Mark**
   Risk: yellow
   ```sh
   echo mark >> {log}
   ```
   Rollback:
   ```sh
   echo unmark >> {log}
   ```
2. **In the DMZ**
   Target: agent:{name}
   ```sh
   echo dmz >> {log}
   ```
"""


async def test_an_agent_that_stays_offline_escalates_like_an_approval_then_fails_the_step_and_rolls_back(
        product: Harness, tmp_path: Path) -> None:
    log, name = tmp_path / "commands.log", f"nobody-{uuid.uuid4().hex[:6]}"
    await product.load(OFFLINE_ESCALATES.format(log=log, name=name))
    done = await product.wait_for(await product.start("offline-agent"), "rolled_back", timeout=40)

    assert f"agent {name} is offline: nobody took the step within 8s" in done["reason"]
    assert log.read_text().split() == ["mark", "unmark"]
    escalations = [e for e in done["events"] if e["kind"] == "escalation"]
    assert [e["target"] for e in escalations] == ["primary"]
    assert f"waits: agent {name} is offline" in escalations[0]["message"]
    dmz = next(s for s in done["steps"] if s["id"] == "in-the-dmz")
    assert dmz["status"] == "failed" and dmz["waiting_for"] is None


WATCHED = """---
id: watched
mode: autopilot
---
# Watched

## Steps

1. **Slow look**
   Target: agent:{east}
   ```sh
   echo "first line from the agent"; sleep 6; echo "last line"
   ```
"""


async def test_a_step_on_an_agent_shows_its_output_while_it_runs(product: Harness, tmp_path: Path) -> None:
    east, _west = _names()
    await product.load(WATCHED.format(east=east))
    agent = start_agent(product.settings, east, tmp_path / "east.log")
    try:
        execution_id = await product.start("watched")
        seen: dict = {}
        for _ in range(100):  # the agent has no database: its heartbeats carry the output so far
            steps = (await product.http.get(f"/api/v1/executions/{execution_id}")).json()["steps"]
            seen = steps[0] if steps else {}
            if "first line" in (seen.get("output") or ""):
                break
            await asyncio.sleep(0.1)
        assert seen["status"] == "running" and "first line from the agent" in seen["output"], seen
        assert "last line" not in seen["output"]
        browser = await sign_in(product, "olga", "viewer")
        page = (await product.http.get(f"/executions/{execution_id}", headers=browser.headers)).text
        assert "first line from the agent" in page
        done = await product.wait_for(execution_id, "succeeded", timeout=30)
        assert "last line" in done["steps"][0]["output"]
    finally:
        agent.terminate()
