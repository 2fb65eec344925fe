"""Secrets never shown: what a step prints, its command, and what an alert carries reach people masked.

One execution of tests/runbooks/prints-secrets.md (a step prints a bearer header, an env password,
a connection string and a private key; another prints a GitHub token and fails), fired by an alert
whose annotation carries a password and the value of a setting marked secret. Every place a person
or a store sees it is checked: the REST API, the live query (Temporal's state), the alerts list,
Slack, the logs, and the decoded Temporal history.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from runbooks.settings import SourceSettings
from runbooks.telemetry.logs import JsonFormatter
from support.alerts import alert_payload
from support.fake_slack import TOKEN, FakeSlack
from support.harness import make_settings, running_product
from support.slack_calls import CHANNEL

WEBHOOK_TOKEN = "plain-setting-value-7731"  # no secret shape: masked because the setting is secret
SECRETS = ["tok_live_9f8e7d6c5b4a39281706", "Sup3r-S3cret-Pw", "Xk29-pass-word",
           "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
           "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngPurp0s3s00", "Annot-Pa55w0rd-x", WEBHOOK_TOKEN, TOKEN]
READABLE = ["Authorization: Bearer", "DB_PASSWORD=", "postgres://app:", "@db.internal:5432/app",
            "BEGIN OPENSSH PRIVATE KEY", "replicas=3", "web@sha256:4f1c9e0b2d6a8e7f3c5b1a9d0e2f4c6b8a0d2e4f6a8c0e2d4f6a8b0c2d4e6f80",
            "retrying with token="]


def _leaks(where: str, text: str) -> list[str]:
    return [f"{where}: {s}" for s in SECRETS if s in text]


async def test_secrets_in_output_commands_and_alerts_are_masked_everywhere_they_are_shown(
        temporal: WorkflowEnvironment, temporal_address: str, tmp_path: Path, fake: FakeSlack,
        caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(tmp_path, temporal_address, slack_bot_token=TOKEN, slack_channel=CHANNEL,
                             slack_api_base_url=fake.base_url,
                             sources=SourceSettings(alertmanager_token=SecretStr(WEBHOOK_TOKEN)))
    payload = alert_payload("PrintsSecrets", tmp_path / "unused.log")
    payload["alerts"][0]["annotations"] = {
        "summary": "admin API refuses us", "description": f"try password=Annot-Pa55w0rd-x or {WEBHOOK_TOKEN}",
        "note": f"bot {TOKEN}"}
    caplog.set_level(logging.INFO)
    async with running_product(temporal.client, settings, tmp_path) as h:
        resp = await h.http.post("/api/v1/alerts/alertmanager", json=payload,
                                 headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
        assert resp.status_code == 202, resp.text
        ex = resp.json()["executions"][0]["id"]
        body = await h.wait_for(ex, "failed", "rolled_back", timeout=30)
        live = (await h.http.get(f"/api/v1/executions/{ex}/live")).json()
        alerts = (await h.http.get("/api/v1/alerts")).json()
        history = await h.client.get_workflow_handle(ex).fetch_history()
        results = []
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                results += await h.client.data_converter.decode(
                    event.activity_task_completed_event_attributes.result.payloads)
    api_text = json.dumps(body)
    formatter = JsonFormatter()
    logs = "\n".join(formatter.format(r) for r in caplog.records)
    slack = json.dumps([c.args for c in fake.calls])

    leaks = (_leaks("api", api_text) + _leaks("live", json.dumps(live)) + _leaks("alerts", json.dumps(alerts))
             + _leaks("slack", slack) + _leaks("logs", logs) + _leaks("history", json.dumps(results, default=str)))
    assert not leaks, leaks
    for part in READABLE:
        assert part in api_text, f"{part!r} should stay readable: {body['steps']}"
    assert "[masked]" in body["steps"][1]["command"], "the command as shown is masked too"
    assert "retrying with token=[masked]" in slack or "exit code 3" in slack, "the failure reached Slack"
