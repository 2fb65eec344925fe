"""A real Prometheus Alertmanager posts its webhook to the API over real HTTP.

Alerts go into Alertmanager's v2 API the way Prometheus sends them; Alertmanager groups them and
calls our webhook on its own schedule. The API is served by uvicorn on a loopback port in the test's
event loop, with an in-process worker on the session's Temporal dev server. The test runbook
e2e-change appends "check" to the file named by the alert's `log` label, then waits for approval.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import uvicorn
from support.alertmanager import Alertmanager, alertmanager_available, rfc3339
from support.harness import Harness, admin_token, make_settings, require
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from runbooks.settings import Settings
from workers.main import build_worker

WEBHOOK = "/api/v1/alerts/alertmanager"
T = TypeVar("T")


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: Ctrl-C belongs to pytest, not to the server under test."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def served_product(client: Client, settings: Settings, workdir: Path) -> AsyncIterator[tuple[Harness, str]]:
    """The API over real HTTP on 127.0.0.1 (uvicorn in this event loop) plus an in-process worker.

    The listening socket is bound before uvicorn starts, so no other process can take the port.
    """
    app = create_app(settings, client)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                    timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while not server.started:
            if task.done() or asyncio.get_running_loop().time() > deadline:
                if task.done() and task.exception():
                    raise task.exception()
                raise RuntimeError("the API did not start (see the log above)")
            await asyncio.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {admin_token(settings)}"}
        async with httpx.AsyncClient(base_url=url, timeout=10, trust_env=False, headers=headers) as http:
            h = Harness(http=http, settings=settings, store=app.state.services.store, client=client, workdir=workdir,
                        services=app.state.services)
            with ThreadPoolExecutor(max_workers=32) as executor:
                async with build_worker(client, settings, h.store, executor):
                    yield h, url
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        sock.close()


@pytest.fixture
def alertmanager_installed() -> None:
    require(alertmanager_available(), "Prometheus Alertmanager not installed (apt-get install prometheus-alertmanager)")


@pytest.fixture
async def product(alertmanager_installed: None, temporal: WorkflowEnvironment, temporal_address: str,
                  tmp_path: Path) -> AsyncIterator[tuple[Harness, str]]:
    """The API on a real port (the URL is the second item) with a worker; skipped without Alertmanager."""
    settings = make_settings(tmp_path, temporal_address)
    async with served_product(temporal.client, settings, tmp_path) as served:
        yield served


@pytest.fixture
def harness(product: tuple[Harness, str]) -> Harness:
    return product[0]


@pytest.fixture
async def alertmanager(product: tuple[Harness, str], request: pytest.FixtureRequest) -> AsyncIterator[Alertmanager]:
    """A real Alertmanager whose only receiver is our webhook (options via indirect parametrize)."""
    options = getattr(request, "param", {})
    am = await asyncio.to_thread(Alertmanager, product[1] + WEBHOOK, **options)
    yield am
    await asyncio.to_thread(am.stop)


def e2e_alert(log: Path, starts_at: datetime, ends_at: datetime | None = None) -> dict:
    """The alert as Prometheus posts it to Alertmanager (`endsAt` in the past: it resolved)."""
    alert = {
        "labels": {"alertname": "E2EChange", "instance": "web-1", "severity": "critical", "log": str(log)},
        "annotations": {"summary": "web-1 needs the change", "description": "posted by the Alertmanager e2e test"},
        "startsAt": rfc3339(starts_at),
        "generatorURL": "http://prometheus.test/graph?g0.expr=up",
    }
    if ends_at is not None:
        alert["endsAt"] = rfc3339(ends_at)
    return alert


def lines(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


async def diagnostics(am: Alertmanager) -> str:
    sent, failed = await am.notifications()
    return f"Alertmanager sent {sent} webhook notifications ({failed} failed); its log:\n{am.log_text()[-3000:]}"


async def eventually(check: Callable[[], Awaitable[T]], what: str, am: Alertmanager, timeout: float = 10.0) -> T:
    """Poll `check` until it returns something truthy. Alertmanager works on its own timers, so every
    expectation is waited for (with a deadline), and a miss says what Alertmanager did and logged."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s (last: {result!r}). {await diagnostics(am)}")
        await asyncio.sleep(0.05)


async def executions(h: Harness) -> list[dict]:
    resp = await h.http.get("/api/v1/executions", params={"runbook_id": "e2e-change"})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def execution(h: Harness, execution_id: str) -> dict:
    return (await h.http.get(f"/api/v1/executions/{execution_id}")).json()


async def deliveries(h: Harness, fingerprint: str, status: str = "firing") -> list:
    """The alerts of every webhook delivery the API recorded for this alert."""
    rows = await asyncio.to_thread(h.store.list_alerts, None, "alertmanager")
    return [a for a in rows if a.fingerprint == fingerprint and a.status == status]


async def fire_and_wait_for_approval(h: Harness, am: Alertmanager, alert: dict) -> dict:
    """Post the alert to Alertmanager; return the one execution, once its first risky step waits."""
    await am.post_alerts([alert])
    found = await eventually(lambda: executions(h), "an execution of e2e-change", am)
    assert len(found) == 1, found
    await h.wait_for(found[0]["id"], "waiting_approval", step="change-a", timeout=10)
    return await execution(h, found[0]["id"])


async def test_a_firing_alert_in_alertmanager_starts_the_matching_runbook(
        harness: Harness, alertmanager: Alertmanager, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await fire_and_wait_for_approval(
        harness, alertmanager, e2e_alert(log, starts_at=datetime.now(UTC) - timedelta(minutes=1)))

    in_alertmanager = await alertmanager.alerts()
    assert [a["status"]["state"] for a in in_alertmanager] == ["active"]
    assert ex["alertname"] == "E2EChange"
    assert ex["alert_fingerprint"] == in_alertmanager[0]["fingerprint"], "Alertmanager's fingerprint is kept"
    assert lines(log) == ["check"], "the green step ran by itself"
    assert {s["id"]: s["status"] for s in ex["steps"]} == {
        "look-before-touching": "succeeded", "change-a": "waiting_approval", "change-b": "pending",
        "risky-change": "pending"}
    assert len(await deliveries(harness, ex["alert_fingerprint"])) == 1

    async def notified() -> bool:
        return (await alertmanager.notifications())[0] >= 1

    await eventually(notified, "Alertmanager counted its notification", alertmanager)
    assert await alertmanager.notifications() == (1, 0), "one webhook call, accepted"


@pytest.mark.parametrize("alertmanager", [{"repeat_interval": "1s"}], indirect=True, ids=["repeat-every-1s"])
async def test_alertmanager_resending_the_group_never_starts_a_second_execution(
        harness: Harness, alertmanager: Alertmanager, tmp_path: Path) -> None:
    # With repeat_interval 1h Alertmanager does not send an unchanged group again (posting the alert
    # again changes nothing), so this one repeats it: 1s, checked on each 1s group_interval tick,
    # is a real re-delivery every ~2 s.
    log = tmp_path / "run.log"
    alert = e2e_alert(log, starts_at=datetime.now(UTC) - timedelta(minutes=1))
    ex = await fire_and_wait_for_approval(harness, alertmanager, alert)
    await alertmanager.post_alerts([alert])  # as Prometheus does on every evaluation while it fires

    async def resent() -> list:
        delivered = await deliveries(harness, ex["alert_fingerprint"])
        return delivered if len(delivered) >= 3 else []

    delivered = await eventually(resent, "Alertmanager re-sent the group twice", alertmanager, timeout=12)
    assert {a.execution_id for a in delivered} == {ex["id"]}, "every delivery maps to the one execution"
    assert [e["id"] for e in await executions(harness)] == [ex["id"]]
    assert lines(log) == ["check"], "the green step ran once"
    assert (await execution(harness, ex["id"]))["status"] == "waiting_approval"
    assert (await alertmanager.notifications())[1] == 0, "no webhook call failed"


async def test_resolving_the_alert_in_alertmanager_is_recorded_on_the_execution(
        harness: Harness, alertmanager: Alertmanager, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    starts_at = datetime.now(UTC) - timedelta(minutes=1)
    ex = await fire_and_wait_for_approval(harness, alertmanager, e2e_alert(log, starts_at=starts_at))
    assert ex["resolved_at"] is None

    await alertmanager.post_alerts([e2e_alert(log, starts_at=starts_at, ends_at=datetime.now(UTC) - timedelta(seconds=1))])

    async def resolved() -> dict | None:
        body = await execution(harness, ex["id"])
        return body if body["resolved_at"] else None

    body = await eventually(resolved, "the execution recorded the resolution", alertmanager)
    assert [e["kind"] for e in body["events"]].count("resolved") == 1
    delivered = await eventually(lambda: deliveries(harness, ex["alert_fingerprint"], "resolved"),
                                 "the API recorded the resolved alert", alertmanager)
    assert [a.execution_id for a in delivered] == [ex["id"]]
    assert body["status"] == "waiting_approval", "resolving neither finishes nor cancels the execution"
    assert lines(log) == ["check"], "resolving runs nothing by itself"
