"""POST /codec/decode and /codec/encode speak Temporal's remote codec protocol to its Web UI.

The routes are mounted on a bare FastAPI app whose services hold only what they read (the settings
and a client's data converter), so no Temporal server is needed; tests/integration/test_encryption.py
decodes a payload from a real history through the whole product.
"""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api import auth
from api.app import create_app
from runbooks.access import Principal, Role
from api.routes import codec as codec_routes
from runbooks.settings import Settings
from workflows.client import data_converter
from workflows.codec import KeyRing

K1 = base64.b64encode(b"k1" * 16).decode()
K2 = base64.b64encode(b"k2" * 16).decode()
UI = "http://127.0.0.1:8233"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def api(keys: str | None = f"k1:{K1}", **settings) -> TestClient:
    app = FastAPI()
    app.include_router(codec_routes.router)
    converter = data_converter(KeyRing.parse(keys) if keys else None)
    app.state.services = SimpleNamespace(settings=Settings(temporal_ui_port=8233, **settings),
                                         client=SimpleNamespace(data_converter=converter))
    # who may call it is the matrix test's subject (tests/integration/test_access_matrix.py): here, a viewer
    app.dependency_overrides[auth.principal] = lambda: Principal(name="vera", roles=frozenset({Role.viewer}))
    return TestClient(app)


PLAIN = {"metadata": {"encoding": b64(b"json/plain")}, "data": b64(json.dumps({"token": "marker-7c1e"}).encode())}


def test_encode_then_decode_gives_back_the_payload_with_cors_for_the_web_ui() -> None:
    http = api()
    sealed = http.post("/codec/encode", json={"payloads": [PLAIN]}, headers={"X-Namespace": "default"})
    assert sealed.status_code == 200, sealed.text
    [payload] = sealed.json()["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"binary/encrypted"
    assert base64.b64decode(payload["metadata"]["encryption-key-id"]) == b"k1"
    assert b"marker-7c1e" not in base64.b64decode(payload["data"])

    opened = http.post("/codec/decode", json={"payloads": [payload]},
                       headers={"Origin": UI, "X-Namespace": "default"})
    assert opened.status_code == 200, opened.text
    assert opened.json() == {"payloads": [PLAIN]}
    assert opened.headers["access-control-allow-origin"] == UI


def test_rotated_ring_decodes_old_payloads() -> None:
    [old] = api(f"k1:{K1}").post("/codec/encode", json={"payloads": [PLAIN]}).json()["payloads"]
    assert api(f"k2:{K2},k1:{K1}").post("/codec/decode", json={"payloads": [old]}).json() == {"payloads": [PLAIN]}


def test_payloads_that_are_not_encrypted_come_back_as_sent() -> None:
    assert api().post("/codec/decode", json={"payloads": [PLAIN]}).json() == {"payloads": [PLAIN]}


def test_encryption_off_is_the_identity() -> None:
    http = api(keys=None, runbooks_encryption=False)
    assert http.post("/codec/encode", json={"payloads": [PLAIN]}).json() == {"payloads": [PLAIN]}


@pytest.mark.parametrize(("keys", "reason"), [
    (f"k2:{K2}", "payload encrypted with key 'k1', which this key ring does not have"),
    (f"k1:{K2}", "payload encrypted with key 'k1' failed authentication: wrong key or tampered payload"),
])
def test_a_payload_this_ring_cannot_open_is_a_400_with_the_reason(keys: str, reason: str) -> None:
    [sealed] = api().post("/codec/encode", json={"payloads": [PLAIN]}).json()["payloads"]
    resp = api(keys).post("/codec/decode", json={"payloads": [sealed]}, headers={"Origin": UI})
    assert resp.status_code == 400
    assert reason in resp.json()["detail"]
    assert resp.headers["access-control-allow-origin"] == UI, "the UI can read why"


@pytest.mark.parametrize(("body", "status", "reason"), [
    ({"payloads": [{"metadata": {"encoding": "***"}, "data": ""}]}, 400, "payloads[0].metadata.encoding is not base64"),
    ({"payloads": [{"data": "%%%"}]}, 400, "payloads[0].data is not base64"),
    ({"payloads": [{"metadata": {"encoding": b64(b"binary/encrypted"), "encryption-key-id": b64(b"k1")},
                    "data": b64(b"too short")}]}, 400, "failed authentication"),
    ({"payloads": "nope"}, 422, None),
    ({}, 422, None),
])
def test_bad_input_is_a_4xx_with_a_reason_never_a_500(body: dict, status: int, reason: str | None) -> None:
    resp = api().post("/codec/decode", json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["detail"]
    if reason:
        assert reason in resp.json()["detail"]


def test_a_metadata_name_that_is_not_utf8_is_a_400() -> None:
    body = b'{"payloads": [{"metadata": {"\\ud800": "eA=="}, "data": ""}]}'
    resp = api().post("/codec/decode", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and "valid UTF-8" in resp.json()["detail"]


def test_a_body_that_is_not_json_is_a_422() -> None:
    resp = api().post("/codec/decode", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 422 and resp.json()["detail"]


def test_unpadded_and_url_safe_base64_are_read_like_proto_json() -> None:
    data = b"\xfb\xff" + b"x"  # '+/' in standard base64
    body = {"payloads": [{"metadata": {"encoding": "YmluYXJ5L3BsYWlu"},  # binary/plain, no padding needed
                          "data": base64.urlsafe_b64encode(data).decode().rstrip("=")}]}
    [back] = api().post("/codec/decode", json=body).json()["payloads"]
    assert base64.b64decode(back["data"]) == data


def test_the_preflight_allows_the_web_ui_origin_and_its_headers() -> None:
    http = api()
    for path in ("/codec/decode", "/codec/encode"):
        resp = http.options(path, headers={"Origin": "http://localhost:8233", "Access-Control-Request-Method": "POST",
                                           "Access-Control-Request-Headers": "content-type,x-namespace"})
        assert resp.status_code == 204, resp.text
        assert resp.headers["access-control-allow-origin"] == "http://localhost:8233"
        assert "POST" in resp.headers["access-control-allow-methods"]
        allowed = {h.strip().lower() for h in resp.headers["access-control-allow-headers"].split(",")}
        assert {"content-type", "x-namespace"} <= allowed


def test_other_origins_get_no_cors_grant() -> None:
    http = api(codec_cors_origins="https://temporal.example.com")
    refused = http.options("/codec/decode", headers={"Origin": UI, "Access-Control-Request-Method": "POST"})
    assert refused.status_code == 403 and "CODEC_CORS_ORIGINS" in refused.json()["detail"]
    assert "access-control-allow-origin" not in refused.headers
    posted = http.post("/codec/decode", json={"payloads": [PLAIN]}, headers={"Origin": UI})
    assert "access-control-allow-origin" not in posted.headers, "the browser keeps the answer from that page"
    ok = http.options("/codec/decode", headers={"Origin": "https://temporal.example.com"})
    assert ok.headers["access-control-allow-origin"] == "https://temporal.example.com"


def test_the_codec_routes_are_in_the_product_and_its_openapi() -> None:
    schema = create_app(Settings(runbooks_encryption_keys=SecretStr(f"k1:{K1}"))).openapi()
    for path in ("/codec/decode", "/codec/encode"):
        operation = schema["paths"][path]["post"]
        assert {"200", "400", "422"} <= set(operation["responses"])
        assert "options" not in schema["paths"][path]
