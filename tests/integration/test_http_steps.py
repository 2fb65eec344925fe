"""HTTP steps on the real engine, against a real HTTP server on loopback: a GET check is green and runs
in copilot by itself, a POST carries a secret from HTTP_SECRETS that no stored output or command
shows, a response that misses its expectation fails the step and rolls back what came before, and a
request for the cloud metadata address is refused before anything connects.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from support.harness import Harness

SECRET = "cdn-tok-8c1f0e2d9a"


class Api:
    """A small API: records every request, echoes the Authorization header; /v1/purge answers as
    `purge_answer` says."""

    def __init__(self) -> None:
        self.seen: list[dict] = []
        self.purge_answer: tuple[int, dict] = (200, {"result": {"status": "ok"}, "purged": True})
        self.health_answers: list[dict] = []  # answered first, one per request; then {"healthy": True}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                api.seen.append({"method": self.command, "path": self.path, "auth": self.headers.get("Authorization"),
                                 "body": body})
                health = api.health_answers.pop(0) if api.health_answers else {"healthy": True}
                status, payload = api.purge_answer if self.path.startswith("/v1/purge") else (200, health)
                out = json.dumps({**payload, "echo": self.headers.get("Authorization")}).encode()  # a leaky API
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_DELETE = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def paths(self) -> list[str]:
        return [f"{r['method']} {r['path']}" for r in self.seen]


@pytest.fixture
def api() -> Iterator[Api]:
    server = Api()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def product_settings() -> dict:
    return {"http_secrets": SecretStr(json.dumps({"cdn_token": SECRET}))}


def _steps(body: dict) -> dict[str, dict]:
    return {s["id"]: s for s in body["steps"]}


def check(url: str) -> str:
    return f"""---
id: cdn-health
---
# CDN health

## Steps

1. **Is the CDN healthy**
   Expect: status 200, json $.healthy == true
   ```http
   GET {url}/v1/health?service={{{{ params.service }}}}
   ```
"""


def purge(url: str) -> str:
    return f"""---
id: cdn-purge
---
# Flush the CDN

## Steps

1. **Put the CDN in maintenance**
   ```http
   POST {url}/v1/maintenance
   ```
   Rollback:
   ```http
   DELETE {url}/v1/maintenance
   ```
2. **Flush the CDN cache**
   Target: http
   Expect: status 200, body ~ "purged", json $.result.status == "ok"
   ```http
   POST {url}/v1/purge
   Authorization: Bearer {{{{ secrets.cdn_token }}}}
   Content-Type: application/json

   {{"service": "{{{{ params.service }}}}", "all": true}}
   ```
"""


def verify_health(url: str, within: str) -> str:
    return f"""---
id: cdn-recovered
---
# CDN recovered

## Steps

1. **Wait until the CDN says it is healthy**
   Expect: status 200, json $.healthy == true
   Verify: within {within} every 1s
   ```http
   GET {url}/v1/health?service={{{{ params.service }}}}
   ```
"""


async def test_a_verify_over_http_asks_again_until_its_expectation_holds(product: Harness, api: Api) -> None:
    api.health_answers = [{"healthy": False}, {"healthy": False}]  # still recovering twice, then healthy
    await product.load(verify_health(api.url, "30s"))
    done = await product.wait_for(await product.start("cdn-recovered", mode="copilot", service="web"),
                                  "succeeded", "failed", timeout=40)
    assert done["status"] == "succeeded", done
    assert api.paths() == ["GET /v1/health?service=web"] * 3


async def test_a_verify_over_http_that_never_holds_fails_the_execution(product: Harness, api: Api) -> None:
    api.health_answers = [{"healthy": False}] * 100
    await product.load(verify_health(api.url, "3s"))
    done = await product.wait_for(await product.start("cdn-recovered", mode="copilot", service="web"),
                                  "succeeded", "failed", timeout=40)
    assert done["status"] == "failed", done
    assert 2 <= len(api.paths()) <= 5  # asked every second for 3 s, then gave up
    step = _steps(done)["wait-until-the-cdn-says-it-is-healthy"]
    assert step["status"] == "failed"


async def test_a_get_check_is_green_and_runs_in_copilot_by_itself(product: Harness, api: Api) -> None:
    await product.load(check(api.url))
    done = await product.wait_for(await product.start("cdn-health", mode="copilot", service="web/../admin"),
                                  "succeeded")
    step = _steps(done)["is-the-cdn-healthy"]
    assert step["risk"] == "green" and step["risk_reason"].startswith("HTTP GET to 127.0.0.1:")
    assert api.paths() == ["GET /v1/health?service=web%2F..%2Fadmin"]
    assert step["exit_code"] == 0 and step["output"].startswith("HTTP/1.0 200 OK\n")
    assert "[expect] json $.healthy == true: ok" in step["output"]


async def test_a_post_carries_its_secret_which_nothing_stored_shows(product: Harness, api: Api) -> None:
    await product.load(purge(api.url))
    execution_id = await product.start("cdn-purge", service='web", "all": false, "x": "')
    done = await product.wait_for(execution_id, "succeeded")
    sent = api.seen[-1]
    assert api.paths() == ["POST /v1/maintenance", "POST /v1/purge"]
    assert sent["auth"] == f"Bearer {SECRET}"
    assert json.loads(sent["body"]) == {"service": 'web", "all": false, "x": "', "all": True}
    step = _steps(done)["flush-the-cdn-cache"]
    assert step["risk"] == "yellow" and "{{ secrets.cdn_token }}" in step["command"]
    assert "[masked]" in step["output"]  # the server echoed the header back: masked in the output
    rows = product.store.get_execution(execution_id)
    assert rows is not None
    stored = json.dumps([row.model_dump() for group in ([rows[0]], *rows[1:]) for row in group], default=str)
    assert SECRET not in stored and SECRET not in (await product.http.get(f"/api/v1/executions/{execution_id}")).text


async def test_a_response_that_misses_its_expectation_fails_and_rolls_back(product: Harness, api: Api) -> None:
    api.purge_answer = (200, {"result": {"status": "queued"}, "purged": False})
    await product.load(purge(api.url))
    done = await product.wait_for(await product.start("cdn-purge", service="web"), "rolled_back")
    steps = _steps(done)
    purge_step = steps["flush-the-cdn-cache"]
    assert purge_step["status"] == "failed" and purge_step["exit_code"] == 1
    assert '[expect] json $.result.status == "ok": FAILED (got "queued")' in purge_step["output"]
    assert steps["put-the-cdn-in-maintenance"]["rollback"]["status"] == "succeeded"
    assert api.paths() == ["POST /v1/maintenance", "POST /v1/purge", "DELETE /v1/maintenance"]


async def test_a_failed_status_fails_the_step_without_any_expect(product: Harness, api: Api) -> None:
    api.purge_answer = (503, {"error": "busy"})
    await product.load(purge(api.url).replace('   Expect: status 200, body ~ "purged", json $.result.status == "ok"\n',
                                              ""))
    done = await product.wait_for(await product.start("cdn-purge", service="web"), "rolled_back")
    assert "[expect] status 2xx: FAILED (got 503)" in _steps(done)["flush-the-cdn-cache"]["output"]
    assert api.paths()[-1] == "DELETE /v1/maintenance"


async def test_the_cloud_metadata_address_is_refused_before_anything_connects(product: Harness) -> None:
    await product.load(check("http://169.254.169.254").replace("/v1/health", "/latest/meta-data/iam"))
    done = await product.wait_for(await product.start("cdn-health", mode="copilot", service="x"), "failed")
    step = _steps(done)["is-the-cdn-healthy"]
    assert step["status"] == "failed" and step["exit_code"] is None
    assert "refused: 169.254.169.254 is a cloud metadata address" in step["output"]
