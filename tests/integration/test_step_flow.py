"""A step's course, on the real engine: `If:` skips a step whose condition does not hold, `Retries:`
runs an idempotent step again, `On failure: continue` goes on, and breakpoints (written in the
runbook or set on a running execution) pause before a step until someone resumes or steps over.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

import httpx

from support.harness import Harness
from support.web import sign_in



def _steps(body: dict) -> dict[str, dict]:
    return {s["id"]: s for s in body["steps"]}


CONDITIONS = """---
id: oom-or-not
---
# OOM or not

## Steps

1. **Why did it stop**
   ```sh
   echo "Last State: Terminated, Reason: {{ params.reason }}"
   ```
2. **Raise the memory limit**
   If: steps.why-did-it-stop.output =~ "Reason: OOMKilled" and params.env in ["prod", "staging"]
   ```sh
   echo raising
   ```
3. **Look for a crash loop instead**
   If: not (steps.1.output =~ "OOMKilled") or steps.2.status == "skipped"
   ```sh
   echo looking
   ```
"""


async def test_if_runs_a_step_only_when_earlier_output_and_values_say_so(product: Harness) -> None:
    await product.load(CONDITIONS)
    oom = await product.wait_for(await product.start("oom-or-not", reason="OOMKilled", env="prod"), "succeeded")
    assert [s["status"] for s in oom["steps"]] == ["succeeded", "succeeded", "skipped"]
    assert _steps(oom)["look-for-a-crash-loop-instead"]["output"].startswith("skipped: If: not (steps.1.output")

    # An alert value that looks like syntax is only data: it never changes how the condition reads.
    other = await product.wait_for(
        await product.start("oom-or-not", reason='Error") or true or ("', env="prod"), "succeeded")
    assert [s["status"] for s in other["steps"]] == ["succeeded", "skipped", "succeeded"]


async def test_a_condition_on_a_later_step_is_refused_with_its_line(product: Harness) -> None:
    resp = await product.http.post("/api/v1/runbooks", json={"text": CONDITIONS.replace(
        'If: steps.why-did-it-stop.output', 'If: steps.look-for-a-crash-loop-instead.output')})
    assert resp.status_code == 422 and resp.json()["line"] == 13
    assert "is not a step that runs before this one" in resp.json()["detail"]


RETRIES = """---
id: flaky
---
# Flaky

## Steps

1. **Warm the cache**
   Retries: 3 every 1s
   Idempotent: yes
   ```sh
   echo try >> {{ params.log }}; awk 'END { exit NR < 2 }' {{ params.log }}
   ```
2. **Best effort cleanup**
   On failure: continue
   ```sh
   exit 3
   ```
3. **Report**
   ```sh
   echo reported
   ```
"""


async def test_an_idempotent_step_is_retried_and_a_best_effort_failure_goes_on(product: Harness, tmp_path: Path) -> None:
    log = tmp_path / "tries.log"
    await product.load(RETRIES)
    done = await product.wait_for(await product.start("flaky", log=str(log)), "succeeded", timeout=30)
    steps = _steps(done)
    assert log.read_text().split() == ["try", "try"], "failed once, passed on the second attempt"
    assert steps["warm-the-cache"]["status"] == "succeeded" and steps["warm-the-cache"]["attempts"] == 2
    assert steps["best-effort-cleanup"]["status"] == "failed" and steps["best-effort-cleanup"]["exit_code"] == 3
    assert steps["report"]["status"] == "succeeded"
    assert done["reason"] == "finished; failed and went on (On failure: continue): Best effort cleanup"


async def test_retries_on_a_step_that_is_not_safe_twice_are_refused(product: Harness) -> None:
    resp = await product.http.post("/api/v1/runbooks", json={"text": RETRIES.replace("   Idempotent: yes\n", "")})
    assert resp.status_code == 422 and resp.json()["line"] == 9 and "Idempotent: yes" in resp.json()["detail"]


BREAKPOINTS = """---
id: paused
---
# Paused

## Steps

1. **Drain the node**
   Risk: yellow
   ```sh
   echo drained >> {{ params.log }}
   ```
2. **Look before the restart**
   Breakpoint: yes
   ```sh
   echo looked >> {{ params.log }}
   ```
3. **Restart the service**
   Risk: yellow
   ```sh
   echo restarted >> {{ params.log }}
   ```
4. **Tell the channel**
   ```sh
   echo told >> {{ params.log }}
   ```
"""


async def test_breakpoints_pause_in_any_mode_until_someone_resumes_or_steps_over(
        product: Harness, tmp_path: Path) -> None:
    log, base = tmp_path / "steps.log", "/api/v1/executions"
    await product.load(BREAKPOINTS)
    execution_id = await product.start("paused", mode="copilot", log=str(log))
    await product.wait_for(execution_id, "waiting_approval", step="drain-the-node")
    bob = product.auth("bob", "approver")

    # Set on the running execution, before the step is reached, and checked by the execution first.
    set_ = await product.http.post(f"{base}/{execution_id}/steps/tell-the-channel/breakpoint", headers=bob)
    assert set_.status_code == 200 and set_.json()["result"] == "set"
    late = await product.http.post(f"{base}/{execution_id}/steps/no-such-step/breakpoint", headers=bob)
    assert late.status_code == 409 and "no step 'no-such-step'" in late.json()["detail"]
    early = await product.http.post(f"{base}/{execution_id}/steps/look-before-the-restart/resume", json={}, headers=bob)
    assert early.status_code == 409 and "not paused at a breakpoint" in early.json()["detail"]

    await product.http.post(f"{base}/{execution_id}/steps/drain-the-node/approve", json={}, headers=bob)
    paused = await product.wait_waiting(execution_id, "look-before-the-restart")
    assert paused["waiting_for"] == "a breakpoint: resume or step over" and log.read_text().split() == ["drained"]
    resumed = await product.http.post(f"{base}/{execution_id}/steps/look-before-the-restart/resume", json={},
                                      headers=bob)
    assert resumed.status_code == 200 and resumed.json()["result"] == "resumed"

    # A step that changes things still asks for its approval after its breakpoint; then the live one pauses.
    for step in ("look-before-the-restart", "restart-the-service"):
        await product.wait_for(execution_id, "waiting_approval", step=step)
        await product.http.post(f"{base}/{execution_id}/steps/{step}/approve", json={}, headers=bob)
    await product.wait_waiting(execution_id, "tell-the-channel")
    over = await product.http.post(f"{base}/{execution_id}/steps/tell-the-channel/resume", json={"step_over": True},
                                   headers=bob)
    assert over.json()["result"] == "stepped over"

    done = await product.wait_for(execution_id, "succeeded")
    assert log.read_text().split() == ["drained", "looked", "restarted"]
    told = _steps(done)["tell-the-channel"]
    assert told["status"] == "skipped" and told["output"] == "stepped over at a breakpoint by bob"
    audit = (await product.http.get("/api/v1/audit?limit=50")).json()
    acts = [(e["actor"], e["action"]) for e in (audit["entries"] if isinstance(audit, dict) else audit)]
    assert ("bob", "execution.breakpoint") in acts and ("bob", "execution.resume") in acts
    ended = await product.http.post(f"{base}/{execution_id}/steps/tell-the-channel/breakpoint", headers=bob)
    assert ended.status_code == 409 and "already ended" in ended.json()["detail"]



PARALLEL = """---
id: fan-out
---
# Fan out

## Steps

1. **Take a snapshot**
   Risk: yellow
   ```sh
   echo snapshot >> {{ params.log }}
   ```
   Rollback:
   ```sh
   echo drop-snapshot >> {{ params.log }}
   ```
2. **Restart web-1**
   Parallel: web ({{ params.mode }})
   ```sh
   echo start-1 >> {{ params.log }}; sleep 1; echo end-1 >> {{ params.log }}
   ```
3. **Restart web-2**
   Parallel: web ({{ params.mode }})
   ```sh
   echo start-2 >> {{ params.log }}; sleep 0.3; exit {{ params.code }}
   ```
4. **Restart web-3**
   Parallel: web ({{ params.mode }})
   Risk: red
   ```sh
   echo start-3 >> {{ params.log }}
   ```
   Rollback:
   ```sh
   echo undo-3 >> {{ params.log }}
   ```
5. **After the group**
   ```sh
   echo after >> {{ params.log }}
   ```
"""


def _fan_out(mode: str) -> str:
    """The runbook with its group's mode written in (a directive is not a template)."""
    return PARALLEL.replace("{{ params.mode }}", mode).replace("id: fan-out", f"id: fan-out-{mode.replace(' ', '-')}")


async def test_a_parallel_group_runs_at_once_and_fail_fast_skips_what_has_not_started(
        product: Harness, tmp_path: Path) -> None:
    log, base = tmp_path / "fan.log", "/api/v1/executions"
    await product.load(_fan_out("fail fast"))
    bob = product.auth("bob", "approver")  # the red member needs someone other than its starter
    execution_id = await product.start("fan-out-fail-fast", log=str(log), code="0")
    await product.wait_for(execution_id, "waiting_approval", step="restart-web-3")
    await product.http.post(f"{base}/{execution_id}/steps/restart-web-3/approve", json={}, headers=bob)
    await product.wait_for(execution_id, "succeeded", timeout=30)
    lines = log.read_text().split()
    assert lines[0] == "snapshot" and lines[-1] == "after"
    assert lines.index("start-2") < lines.index("end-1"), "web-2 started while web-1 was still running"

    # web-2 fails while web-1 runs and web-3 waits for its approval: web-1 finishes, web-3 never runs.
    log.unlink()
    failing = await product.start("fan-out-fail-fast", log=str(log), code="7")
    done = await product.wait_for(failing, "rolled_back", timeout=30)
    steps = _steps(done)
    assert steps["restart-web-2"]["status"] == "failed" and steps["restart-web-1"]["status"] == "succeeded"
    assert steps["restart-web-3"]["status"] == "skipped"
    assert steps["restart-web-3"]["output"].startswith("not run: step 'Restart web-2' failed: exit code 7")
    assert steps["after-the-group"]["status"] == "skipped"
    assert log.read_text().split()[-1] == "drop-snapshot" and "start-3" not in log.read_text()


async def test_wait_all_lets_every_member_finish_then_rolls_back_newest_first(product: Harness, tmp_path: Path) -> None:
    log, base = tmp_path / "fan.log", "/api/v1/executions"
    await product.load(_fan_out("wait all"))
    bob = product.auth("bob", "approver")
    execution_id = await product.start("fan-out-wait-all", log=str(log), code="7")
    await product.wait_for(execution_id, "failed", step="restart-web-2", timeout=30)
    await product.wait_for(execution_id, "waiting_approval", step="restart-web-3")
    await product.http.post(f"{base}/{execution_id}/steps/restart-web-3/approve", json={}, headers=bob)
    done = await product.wait_for(execution_id, "rolled_back", timeout=30)
    assert _steps(done)["restart-web-3"]["status"] == "succeeded"
    lines = log.read_text().split()
    assert "start-3" in lines and "end-1" in lines and lines[-2:] == ["undo-3", "drop-snapshot"]


async def test_the_steps_of_a_group_must_follow_each_other(product: Harness) -> None:
    split = _fan_out("wait all").replace("5. **After the group**", "5. **After the group**\n   Parallel: web")
    split = split.replace("4. **Restart web-3**\n   Parallel: web (wait all)", "4. **Restart web-3**")
    resp = await product.http.post("/api/v1/runbooks", json={"text": split})
    assert resp.status_code == 422 and "must follow each other" in resp.json()["detail"]


async def test_the_cockpit_pauses_before_a_step_and_resumes_from_it(product: Harness, tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    await product.load(BREAKPOINTS)
    execution_id = await product.start("paused", mode="copilot", log=str(log))
    await product.wait_for(execution_id, "waiting_approval", step="drain-the-node")
    browser = await sign_in(product, "carla", "approver")
    page = f"/executions/{execution_id}"
    assert (await product.http.get(page, headers=browser.headers)).text.count("Pause before this step") == 3

    def steer(step: str, action: str) -> Awaitable[httpx.Response]:
        return product.http.post(f"{page}/steps/{step}/steer", data={"csrf": browser.csrf, "action": action},
                                 headers=browser.headers)

    assert (await steer("restart-the-service", "pause")).status_code == 303
    refused = await steer("drain-the-node", "pause")  # it is waiting for its approval already
    assert refused.status_code == 409 and "a breakpoint goes before a step that has not started" in refused.text
    bob = product.auth("bob", "approver")
    await product.http.post(f"/api/v1/executions/{execution_id}/steps/drain-the-node/approve", json={}, headers=bob)
    await product.wait_waiting(execution_id, "look-before-the-restart")
    shown = (await product.http.get(page, headers=browser.headers)).text
    assert "Paused at a breakpoint" in shown and 'value="step_over"' in shown
    assert (await steer("look-before-the-restart", "step_over")).status_code == 303
    await product.wait_waiting(execution_id, "restart-the-service")
    assert (await steer("restart-the-service", "step_over")).status_code == 303
    await product.wait_for(execution_id, "waiting_approval", step="tell-the-channel")
    await product.http.post(f"/api/v1/executions/{execution_id}/steps/tell-the-channel/approve", json={}, headers=bob)
    await product.wait_for(execution_id, "succeeded")
    assert log.read_text().split() == ["drained", "told"]
