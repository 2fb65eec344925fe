"""Encrypted history on a real Temporal dev server: its database holds ciphertext only.

One execution runs through the whole product (API, a real worker, `cli.devserver` starting the dev
server on a SQLite file with the Web UI pointed at the API's /codec): an alert whose `token` label is
a unique marker, a step that prints another one (the token in rot13), a rejection by an actor whose
name is a third. Then neither the dev server's database file nor the history fetched raw by a client
without the codec contains any of them, while a workflow started by a plaintext client is found in
both (the scan sees plaintext when there is some). The API's /codec/decode turns payloads of that
history back into the markers; a client with the wrong key ring gets the codec's clear error.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowFailureError

from cli.devserver import codec_endpoint, start_dev_server, stop_dev_server
from support.alerts import alert_payload
from support.harness import Harness, make_settings, running_product
from support.processes import free_port
from workflows.client import connect, data_converter
from runbooks.contract import Query
from workflows.codec import KeyRing, PayloadDecryptionError

pytestmark = pytest.mark.timeout(120)


@dataclass
class Run:
    h: Harness
    state: Path
    address: str
    ui_port: int
    execution_id: str
    token: str  # the alert's label
    printed: str  # what the step printed: the token in rot13
    actor: str  # who rejected (the failure's message)
    control: str  # the input of a workflow started by a client without the codec


@pytest.fixture(scope="module")
async def run(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Run]:
    tmp = tmp_path_factory.mktemp("encryption")
    address, ui_port = f"127.0.0.1:{free_port()}", free_port()
    settings = make_settings(tmp, address, temporal_ui_port=ui_port, api_port=free_port())
    state = settings.data_dir
    server = start_dev_server(state, address, ui_port, "default", codec_endpoint=codec_endpoint(settings))
    try:
        client = await connect(settings)  # the product's own path: the converter from the settings' key ring
        async with running_product(client, settings, tmp) as h:
            marker = uuid.uuid4().hex[:16]
            token, actor = f"tok{marker}", f"actor{marker}"
            payload = alert_payload("E2EEncrypted", tmp / "unused.log")
            payload["alerts"][0]["labels"]["token"] = token
            resp = await h.http.post("/api/v1/alerts/alertmanager", json=payload)
            assert resp.status_code == 202, resp.text
            ex = resp.json()["executions"][0]["id"]
            body = await h.wait_for(ex, "waiting_approval", step="change-something")
            printed = codecs.encode(token, "rot13")
            assert printed in body["steps"][0]["output"], body["steps"][0]  # the step ran and printed it
            resp = await h.http.post(f"/api/v1/executions/{ex}/steps/change-something/reject",
                                     json={"comment": "not now"}, headers=h.auth(actor, "responder"))
            assert resp.status_code == 202, resp.text
            body = await h.wait_for(ex, "failed", "rolled_back")
            assert actor in body["reason"]

            plain = await Client.connect(address)
            control = f"control{marker}"
            handle = await plain.start_workflow("NobodyRunsThis", control, id=f"control-{marker}",
                                                task_queue=f"nobody-{marker}")
            await asyncio.sleep(0.5)  # let the server write what it was given
            yield Run(h, state, address, ui_port, ex, token, printed, actor, control)
            await handle.terminate()
    finally:
        stop_dev_server(server)


def database_bytes(state: Path) -> bytes:
    files = sorted(state.glob("temporal.db*"))  # the file and any journal or WAL beside it
    assert files, f"no Temporal database in {state}"
    return b"".join(p.read_bytes() for p in files)


async def raw_history(address: str, workflow_id: str) -> History:
    """The history as stored, through a client that has no codec."""
    plain = await Client.connect(address)
    return History(events=(await plain.get_workflow_handle(workflow_id).fetch_history()).events)


def encodings(text: str) -> list[bytes]:
    """The marker as it could sit in stored bytes: UTF-8, or base64 at any of the three alignments."""
    raw = text.encode()
    return [raw, *(base64.b64encode(b"\0" * pad + raw)[4:-4] for pad in range(3))]


async def test_no_marker_is_readable_in_the_dev_servers_database(run: Run) -> None:
    stored = database_bytes(run.state)
    assert run.control.encode() in stored, "a plaintext payload is found: the scan can see one"
    for marker in (run.token, run.printed, run.actor):
        for form in encodings(marker):
            assert form not in stored, f"{marker!r} readable in temporal.db"
    assert run.execution_id.encode() in stored, "the execution itself is there (ids are not payloads)"


async def test_no_marker_is_readable_in_the_history_fetched_without_the_codec(run: Run) -> None:
    control = (await raw_history(run.address, f"control-{run.control.removeprefix('control')}")).SerializeToString()
    assert run.control.encode() in control
    history = await raw_history(run.address, run.execution_id)
    stored = history.SerializeToString()
    for marker in (run.token, run.printed, run.actor):
        for form in encodings(marker):
            assert form not in stored, f"{marker!r} readable in the raw history"
    failed = history.events[-1]
    assert failed.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    assert failed.workflow_execution_failed_event_attributes.failure.message == "Encoded failure"


def as_json(p: Payload) -> dict:
    return {"metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
            "data": base64.b64encode(p.data).decode()}


async def test_the_codec_endpoint_decodes_the_history_back_to_the_markers(run: Run) -> None:
    events = (await raw_history(run.address, run.execution_id)).events
    started = events[0].workflow_execution_started_event_attributes.input.payloads[0]
    results = [p for e in events if e.HasField("activity_task_completed_event_attributes")
               for p in e.activity_task_completed_event_attributes.result.payloads]
    results += [p for e in events if e.HasField("marker_recorded_event_attributes")  # local activities' results
                and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
                for p in e.marker_recorded_event_attributes.details["result"].payloads]
    failure = events[-1].workflow_execution_failed_event_attributes.failure.encoded_attributes
    sealed = [started, *results, failure]
    assert all(p.metadata["encoding"] == b"binary/encrypted" and p.metadata["encryption-key-id"] == b"test-k1"
               for p in sealed)

    ui = f"http://127.0.0.1:{run.ui_port}"
    resp = await run.h.http.post("/codec/decode", json={"payloads": [as_json(p) for p in sealed]},
                                 headers={"Origin": ui, "X-Namespace": "default"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["access-control-allow-origin"] == ui
    opened = [base64.b64decode(p["data"]) for p in resp.json()["payloads"]]
    assert run.token.encode() in opened[0], "the workflow input carries the alert's label"
    assert any(run.printed.encode() in data for data in opened[1:-1]), "a step result carries its output"
    assert run.actor.encode() in opened[-1], "the failure's message"


async def test_the_dev_web_ui_is_pointed_at_the_codec_endpoint(run: Run) -> None:
    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        for _ in range(50):
            try:
                settings = (await http.get(f"http://127.0.0.1:{run.ui_port}/api/v1/settings")).json()
                break
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    assert settings["Codec"]["Endpoint"] == f"http://127.0.0.1:{run.h.settings.api_port}/codec"


@pytest.mark.parametrize(("ring", "error"), [
    ("test-k1:" + base64.b64encode(b"w" * 32).decode(),
     "payload encrypted with key 'test-k1' failed authentication: wrong key or tampered payload"),
    ("other:" + base64.b64encode(b"w" * 32).decode(),
     "payload encrypted with key 'test-k1', which this key ring does not have"),
])
async def test_a_client_with_the_wrong_key_gets_a_clear_error(run: Run, ring: str, error: str) -> None:
    wrong = await Client.connect(run.address, data_converter=data_converter(KeyRing.parse(ring)))
    with pytest.raises(PayloadDecryptionError, match=error):
        await wrong.get_workflow_handle(run.execution_id).result()
    with pytest.raises(PayloadDecryptionError, match=error):
        await wrong.get_workflow_handle(run.execution_id).query(Query.PROGRESS)

    right = run.h.client
    with pytest.raises(WorkflowFailureError) as failed:
        await right.get_workflow_handle(run.execution_id).result()
    assert run.actor in str(failed.value.cause), "with the key: the failure reads as it was raised"
    resp = await run.h.http.post("/codec/decode", json={"payloads": [
        {"metadata": {"encoding": base64.b64encode(b"binary/encrypted").decode(),
                      "encryption-key-id": base64.b64encode(b"test-k1").decode()},
         "data": base64.b64encode(b"\0" * 40).decode()}]})
    assert resp.status_code == 400 and "failed authentication" in resp.json()["detail"]
