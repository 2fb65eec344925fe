"""Verify steps against a real Prometheus: check again until the query returns nothing, fail and roll
back when it never does, and wait for the alert itself to resolve."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.alerts import alert_payload
from support.harness import Harness, require
from support.prometheus import Exporter, Prometheus, prometheus_available

FIXED = """---
id: errors-fixed
---
# Errors fixed

## Steps

1. **Restart the app**
   Risk: yellow
   ```sh
   echo restarted >> {{ params.log }}
   ```
   Rollback:
   ```sh
   echo rolled-back >> {{ params.log }}
   ```
2. **The errors are gone**
   Verify: within {{WITHIN}} every 1s
   ```promql
   app_errors{job="{{ labels.job }}"} > 0
   ```
"""

RESOLVED = """---
id: wait-for-resolution
match:
  alertname: VerifyResolves
---
# Wait for the alert to resolve

## Steps

1. **Look**
   ```sh
   echo looked
   ```
2. **The alert is gone**
   Verify: alert resolved within {{WITHIN}}
"""


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    served = Exporter()
    yield served
    served.close()


@pytest.fixture(scope="module")
def prometheus(exporter: Exporter, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    require(prometheus_available(), "Prometheus not installed (apt-get install prometheus)")
    server = Prometheus(tmp_path_factory.mktemp("prometheus"), exporter)
    yield server
    server.stop()


@pytest.fixture
def product_settings(prometheus: Prometheus) -> dict:
    return {"prometheus_url": prometheus.url}


async def _until_scraped(prometheus: Prometheus, promql: str, present: bool) -> None:
    for _ in range(100):
        if bool(prometheus.query(promql)) == present:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{promql} never {'appeared' if present else 'went away'}")


async def test_a_verify_step_checks_again_until_the_query_returns_nothing(
        product: Harness, prometheus: Prometheus, exporter: Exporter, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    exporter.set("app_errors", 3)
    await _until_scraped(prometheus, 'app_errors{job="app"} > 0', present=True)
    await product.load(FIXED.replace("{{WITHIN}}", "60s"))
    execution_id = await product.start("errors-fixed", log=str(log), job="app")
    await product.wait_for(execution_id, "running", step="the-errors-are-gone")
    await asyncio.sleep(2.5)
    exporter.set("app_errors", 0)  # the restart worked, a little later
    done = await product.wait_for(execution_id, "succeeded", timeout=40)
    step = next(s for s in done["steps"] if s["id"] == "the-errors-are-gone")
    assert step["target"] == "prometheus" and step["attempts"] >= 2
    assert step["output"] == "the query returns nothing: verified\n"
    assert step["command"] == 'app_errors{job="app"} > 0'
    assert log.read_text().split() == ["restarted"]


async def test_a_check_that_never_passes_fails_the_execution_and_rolls_back(
        product: Harness, prometheus: Prometheus, exporter: Exporter, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    exporter.set("app_errors", 7)
    await _until_scraped(prometheus, 'app_errors{job="app"} > 0', present=True)
    await product.load(FIXED.replace("{{WITHIN}}", "4s"))
    done = await product.wait_for(await product.start("errors-fixed", log=str(log), job="app"), "rolled_back",
                                  timeout=40)
    assert "not verified within 4s: exit code 1" in done["reason"]
    step = next(s for s in done["steps"] if s["id"] == "the-errors-are-gone")
    assert 'still 1 series:\napp_errors{instance="127.0.0.1:' in step["output"] and "} 7" in step["output"]
    assert log.read_text().split() == ["restarted", "rolled-back"]


async def test_a_value_cannot_leave_the_quoted_label_value(
        product: Harness, prometheus: Prometheus, exporter: Exporter, tmp_path: Path) -> None:
    exporter.set("app_errors", 5)
    await _until_scraped(prometheus, 'app_errors{job="app"} > 0', present=True)
    await product.load(FIXED.replace("{{WITHIN}}", "3s"))
    sneaky = 'nope"} or vector(0) > 1 or app_errors{job="x'  # would make the query return nothing
    done = await product.wait_for(
        await product.start("errors-fixed", log=str(tmp_path / "a.log"), job=sneaky), "succeeded", timeout=30)
    step = next(s for s in done["steps"] if s["id"] == "the-errors-are-gone")
    assert step["command"].startswith('app_errors{job="nope\\"} or vector(0)'), step["command"]


async def test_verify_alert_resolved_waits_for_the_alert_itself(product: Harness, tmp_path: Path) -> None:
    await product.load(RESOLVED.replace("{{WITHIN}}", "30s"))
    payload = alert_payload("VerifyResolves", tmp_path / "x.log", fingerprint="fp-verify-resolves")
    execution_id = (await product.http.post("/api/v1/alerts/alertmanager", json=payload)).json()["executions"][0]["id"]
    waiting = await product.wait_for(execution_id, "running", step="the-alert-is-gone")
    assert next(s for s in waiting["steps"] if s["id"] == "the-alert-is-gone")["waiting_for"] == "the alert to resolve"
    payload["status"] = payload["alerts"][0]["status"] = "resolved"
    payload["alerts"][0]["endsAt"] = "2026-11-25T10:05:00+00:00"
    assert (await product.http.post("/api/v1/alerts/alertmanager", json=payload)).status_code == 202
    done = await product.wait_for(execution_id, "succeeded", timeout=20)
    assert next(s for s in done["steps"] if s["id"] == "the-alert-is-gone")["output"].startswith("the alert resolved")


async def test_an_alert_that_stays_firing_fails_the_verification(product: Harness, tmp_path: Path) -> None:
    await product.load(RESOLVED.replace("{{WITHIN}}", "2s"))
    payload = alert_payload("VerifyResolves", tmp_path / "x.log", fingerprint="fp-verify-stays")
    execution_id = (await product.http.post("/api/v1/alerts/alertmanager", json=payload)).json()["executions"][0]["id"]
    done = await product.wait_for(execution_id, "failed", timeout=20)
    assert done["reason"] == "step 'The alert is gone' failed: the alert did not resolve within 2s"


async def test_a_placeholder_outside_a_quoted_value_is_refused_with_its_line(product: Harness) -> None:
    text = FIXED.replace("{{WITHIN}}", "1m").replace('job="{{ labels.job }}"', "job={{ labels.job }}")
    resp = await product.http.post("/api/v1/runbooks", json={"text": text})
    assert resp.status_code == 422 and resp.json()["line"] == 19  # its code block, like every template error
    assert "not inside a quoted string" in resp.json()["detail"]
