"""A value the alert does not carry is asked for, never left as a hole in the command."""

from __future__ import annotations

from pathlib import Path

from support.alerts import fire, lines
from support.harness import Harness


async def test_a_missing_label_is_asked_for_and_the_answer_fills_exactly_one_argument(
        harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await fire(harness, "NeedsValue", log)
    body = await harness.wait_for(ex, "waiting_approval", step="note-the-pod")
    assert body["steps"][0]["needs"] == ["labels.pod"]
    assert not log.exists(), "nothing ran with a hole in it"

    url = f"/api/v1/executions/{ex}/steps/note-the-pod/approve"
    no_value = await harness.http.post(url, json={}, headers=harness.auth("alice"))
    assert no_value.status_code == 422 and "labels.pod" in no_value.text

    ok = await harness.http.post(url, json={"values": {"labels.pod": "web 7; rm -rf /"}}, headers=harness.auth("alice"))
    assert ok.status_code == 202, ok.text
    body = await harness.wait_for(ex, "succeeded")
    assert log.read_text() == "web 7; rm -rf /\n", "the supplied value is data, one argument"
    assert body["steps"][0]["approval"]["values"] == {"labels.pod": "web 7; rm -rf /"}


async def test_a_supplied_value_that_could_become_an_option_is_refused(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await fire(harness, "NeedsValue", log)
    await harness.wait_for(ex, "waiting_approval", step="note-the-pod")
    resp = await harness.http.post(f"/api/v1/executions/{ex}/steps/note-the-pod/approve",
                                   json={"values": {"labels.pod": "--all"}}, headers=harness.auth("alice"))
    assert resp.status_code == 202
    body = await harness.wait_for(ex, "failed")
    assert "starts with '-'" in body["reason"]
    assert not log.exists()


async def test_a_manual_start_fills_label_placeholders_from_params(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    resp = await harness.http.post("/api/v1/runbooks/needs-value/executions",
                                   json={"params": {"pod": "web-3", "log": str(log)}, "mode": "autopilot"})
    assert resp.status_code == 202, resp.text
    await harness.wait_for(resp.json()["id"], "succeeded")
    assert lines(log) == ["web-3"]
    missing = await harness.http.post("/api/v1/runbooks/needs-value/executions", json={"params": {"log": str(log)}})
    assert missing.status_code == 422 and "labels.pod" in missing.text
