"""HTTP steps (`Target: http`): the request block is parsed strictly at load, every alert value is one
datum where it stands, secrets stay placeholders until the executor fills them, the method decides
the risk, the guard keeps requests off link-local and metadata addresses, and `Expect:` judges the
response. The executor tests use a loopback server in a thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr
from temporalio.testing import ActivityEnvironment

from activities.commands import CommandActivities
from activities.targets.http import run_http
from activities.targets.http_guard import GuardError, checked_address
from runbooks import masking
from runbooks.authoring.reader import parse_markdown, parse_yaml
from runbooks.contract import CommandRequest, RenderedCommand
from runbooks.errors import MissingValueError, RunbookParseError, TemplateError
from runbooks.expectations import ExpectationError, evaluate, parse_line
from runbooks.model import Risk
from runbooks.rendering.http_placement import check_request, render_request
from runbooks.rendering.http_request import HttpRequestError, fill_secrets, parse_request
from runbooks.rendering.planning import build_context, plan_steps
from runbooks.risk import classify
from runbooks.settings import Settings


def runbook(block: str, directives: str = "", fence: str = "http") -> str:
    body = "\n".join(f"   {line}" if line else "" for line in block.splitlines())
    extra = "".join(f"   {d}\n" for d in directives.splitlines())
    return f"# CDN\n\n## Steps\n\n1. **Call the API**\n{extra}   ```{fence}\n{body}\n   ```\n"


def render(template: str, **labels: str) -> str:
    return render_request(template, build_context(labels)).script


# --- loading ---------------------------------------------------------------------------------------------
def test_an_http_block_is_an_http_step_with_its_expectations() -> None:
    rb = parse_markdown(runbook('POST https://cdn.example.com/v1/purge\nContent-Type: application/json\n\n'
                                '{"service": "{{ labels.service }}"}',
                                'Expect: status 200, 204, body ~ "purged, done"\nExpect: json $.result[0].ok == true'))
    step = rb.steps[0]
    assert (step.target, step.language, step.variables) == ("http", "http", ["labels.service"])
    assert step.expect == ["status 200, 204", 'body ~ "purged, done"', "json $.result[0].ok == true"]
    planned = plan_steps(rb, build_context({"service": "web"}))[0]
    assert not planned.manual and planned.expect == step.expect and planned.command is not None


@pytest.mark.parametrize("text, line, says", [
    (runbook("uptime", "Target: http", fence="sh"), 6, "this step has none"),
    ("# X\n\n## Steps\n\n1. **Do it**\n   Target: http\n", 6, "this step has none"),
    (runbook("GET https://a.example/", "Target: local"), 7, "its step's Target is http"),
    (runbook("uptime", "Expect: status 200", fence="sh"), 6, "Expect: is for HTTP steps"),
    (runbook("GET https://a.example/", "Expect: status 2"), 6, "expected codes such as"),
    (runbook("GET https://a.example/", 'Expect: body ~ "(unclosed"'), 6, "invalid pattern"),
    (runbook("FETCH https://a.example/"), 7, "method 'FETCH'"),
    (runbook("GET ftp://a.example/"), 7, "only http:// and https://"),
    (runbook("GET https://user:pw@a.example/"), 7, "holds credentials"),
    (runbook("GET https://a.example/\nX-Ok: 1\nnot a header"), 9, "is not a header line"),
    (runbook("POST https://a.example/\nContent-Type: application/json\n\n{\"a\": }"), 10, "not valid JSON"),
    (runbook("POST https://a.example/\n\n{\"n\": {{ labels.n }}}"), 9, "inside a string literal"),
    (runbook("GET https://a.example/?token={{ secrets.t }}"), 7, "may not stand in the URL"),
    (runbook("GET https://a.example/\n{{ labels.h }}: 1"), 8, "header name"),
    (runbook("{{ labels.m }} https://a.example/"), 7, "method is written by the author"),
    (runbook("GET http{{ labels.s }}://a.example/"), 7, "scheme"),
    (runbook("GET https://a.example/\nHost: b.example"), 8, "set from the URL"),
])
def test_a_bad_http_step_is_refused_with_its_line(text: str, line: int, says: str) -> None:
    with pytest.raises(RunbookParseError) as caught:
        parse_markdown(text)
    assert caught.value.line == line and says in caught.value.message, caught.value


def test_a_rollback_of_an_http_step_is_a_request_too() -> None:
    step = runbook("POST https://a.example/on")
    good = step + "   Rollback:\n   ```http\n   POST https://a.example/off\n   ```\n"
    assert parse_markdown(good).steps[0].rollback == "POST https://a.example/off"
    bad = step + "   Rollback:\n   ```sh\n   echo off\n   ```\n"
    with pytest.raises(RunbookParseError, match="rollback of an HTTP step"):
        parse_markdown(bad)


def test_a_yaml_step_with_target_http_is_a_request() -> None:
    rb = parse_yaml("id: y\nsteps:\n  - title: Ping\n    target: http\n    expect: status 204\n"
                    "    command: HEAD https://a.example/ping\n")
    assert (rb.steps[0].target, rb.steps[0].language, rb.steps[0].expect) == ("http", "http", ["status 204"])


def test_a_runbook_without_expectations_keeps_its_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    """`expect` came later: at its default it is not hashed, so existing runbooks keep their versions."""
    import runbooks.model as model

    hashed: list[object] = []
    dumps = model.json.dumps
    monkeypatch.setattr(model.json, "dumps", lambda obj, **kw: hashed.append(obj) or dumps(obj, **kw))
    parse_markdown(runbook("uptime", fence="sh")).fingerprint()
    assert "expect" not in hashed[-1]["steps"][0]  # type: ignore[index]
    with_expect = parse_markdown(runbook("GET https://a.example/", "Expect: status 200"))
    without = parse_markdown(runbook("GET https://a.example/"))
    assert with_expect.fingerprint() != without.fingerprint()


# --- values are data ---------------------------------------------------------------------------------------
def test_a_value_in_the_path_stays_one_encoded_segment() -> None:
    text = render("GET https://api.example.com/v1/services/{{ labels.svc }}/status?env={{ labels.env }}",
                  svc="x/../../admin?drop=1", env="prod&admin=1#x")
    assert text == ("GET https://api.example.com/v1/services/x%2F..%2F..%2Fadmin%3Fdrop%3D1/status"
                    "?env=prod%26admin%3D1%23x")
    with pytest.raises(TemplateError, match="path segment"):
        render("GET https://api.example.com/v1/{{ labels.svc }}/x", svc="..")


@pytest.mark.parametrize("host", ["evil.example/x", "evil.example?", "user@evil.example", "evil.example:80", "a b"])
def test_a_value_in_the_host_is_a_host_name_and_nothing_else(host: str) -> None:
    assert render("GET https://{{ labels.host }}/health", host="db-1.internal") == "GET https://db-1.internal/health"
    with pytest.raises(TemplateError):
        render("GET https://{{ labels.host }}/health", host=host)


def test_a_header_value_cannot_start_another_header() -> None:
    template = "GET https://a.example/\nX-Service: {{ labels.service }}"
    assert render(template, service="web-1").endswith("X-Service: web-1")
    with pytest.raises(TemplateError, match="line break"):
        render(template, service="web\r\nX-Evil: 1")
    rb = parse_markdown(runbook(template))
    planned = plan_steps(rb, build_context({"service": "web\r\nX-Evil: 1"}))[0]
    assert planned.command is None and "line break" in (planned.render_error or "")


def test_a_json_value_stays_one_string() -> None:
    text = render('POST https://a.example/purge\n\n{"service": "{{ labels.service }}", "all": false}',
                  service='", "all": true, "x": "')
    request = parse_request(text)
    assert request.header("content-type") == "application/json"  # a JSON body is sent as JSON
    assert json.loads(request.body) == {"service": '", "all": true, "x": "', "all": False}


def test_a_value_never_asks_for_a_secret() -> None:
    """Only the author writes `{{ secrets.NAME }}`: in a value it is escaped, encoded or refused."""
    sneaky = "{{ secrets.cdn_token }}"
    json_text = render('POST https://a.example/\n\n{"note": "{{ labels.note }}"}', note=sneaky)
    form = "POST https://a.example/\nContent-Type: application/x-www-form-urlencoded\n\nnote={{ labels.note }}"
    form_text = render(form, note=sneaky + "&all=1")
    for text in (json_text, form_text):
        filled = fill_secrets(parse_request(text), {"cdn_token": "TOP-SECRET"})
        assert "TOP-SECRET" not in filled.body
    assert json.loads(parse_request(json_text).body) == {"note": sneaky}
    assert form_text.endswith("note=%7B%7B+secrets.cdn_token+%7D%7D%26all%3D1")
    for template in ("GET https://a.example/\nX-Note: {{ labels.note }}",
                     "POST https://a.example/\n\nnote {{ labels.note }}"):
        with pytest.raises(TemplateError, match="placeholder"):
            render(template, note=sneaky)
    with pytest.raises(TemplateError, match="would read as"):  # nor half of one, the rest from the text beside it
        render("POST https://a.example/\n\nnote {{ labels.note }}{ secrets.cdn_token }}", note="{")


def test_secrets_stay_placeholders_until_the_executor_fills_them() -> None:
    template = ('POST https://a.example/\nAuthorization: Bearer {{ secrets.cdn_token }}\n\n'
                '{"token": "{{secrets.cdn_token}}", "service": "{{ labels.service }}"}')
    assert check_request(template) == ["labels.service"]
    text = render(template, service="web")
    assert "Bearer {{ secrets.cdn_token }}" in text and '"token": "{{ secrets.cdn_token }}"' in text
    filled = fill_secrets(parse_request(text), {"cdn_token": 'a"b'})
    assert filled.header("authorization") == 'Bearer a"b' and json.loads(filled.body)["token"] == 'a"b'
    with pytest.raises(HttpRequestError, match="unknown secret cdn_token"):
        fill_secrets(parse_request(text), {"other": "x"})
    with pytest.raises(HttpRequestError, match="line break"):
        fill_secrets(parse_request(text), {"cdn_token": "a\r\nX-Evil: 1"})


def test_a_missing_value_is_asked_for_not_an_error() -> None:
    with pytest.raises(MissingValueError) as caught:
        render("GET https://a.example/{{ labels.pod }}?ns={{ labels.ns }}")
    assert caught.value.names == ["labels.pod", "labels.ns"]


# --- risk from the method ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method, risk", [("GET", Risk.green), ("HEAD", Risk.green), ("OPTIONS", Risk.green),
                                          ("POST", Risk.yellow), ("PUT", Risk.yellow), ("PATCH", Risk.yellow),
                                          ("DELETE", Risk.red)])
def test_the_method_decides_the_risk(method: str, risk: Risk) -> None:
    verdict = classify(f"{method} https://{{{{ labels.host }}}}:8443/v1/things?all=1 HTTP/1.1\nAccept: */*", "http")
    assert verdict.risk is risk and verdict.reason.startswith(f"HTTP {method} to {{{{ labels.host }}}}:8443")


def test_a_get_that_looks_destructive_as_shell_is_still_a_read() -> None:
    """The block is a request, not a shell line: neither the shell tables nor the learned opinion judge it."""
    assert classify("GET https://a.example/api/rm -rf /drop-database", "http").risk is Risk.green
    assert classify("get https://a.example/", "http").risk is Risk.yellow  # not a method the parser takes


# --- the guard ---------------------------------------------------------------------------------------------
def resolver(*addresses: str):  # noqa: ANN201
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return list(addresses)
    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize("host, addresses", [
    ("169.254.169.254", ()), ("fd00:ec2::254", ()), ("169.254.10.20", ()), ("fe80::1", ()),
    ("::ffff:169.254.169.254", ()), ("metadata.google.internal", ()), ("METADATA.goog.", ()),
    ("sneaky.example", ("169.254.169.254",)), ("sneaky.example", ("10.0.0.5", "fe80::2")),
])
def test_link_local_and_metadata_addresses_are_refused(host: str, addresses: tuple[str, ...]) -> None:
    with pytest.raises(GuardError, match="refused"):
        checked_address(host, 80, frozenset(), resolver(*addresses))


def test_private_and_loopback_addresses_are_allowed_and_the_checked_one_is_used() -> None:
    assert checked_address("api.internal", 80, frozenset(), resolver("10.1.2.3", "10.1.2.4")) == "10.1.2.3"
    assert checked_address("127.0.0.1", 80, frozenset(), resolver()) == "127.0.0.1"
    assert checked_address("::1", 80, frozenset(), resolver()) == "::1"


def test_an_allowed_host_passes_the_guard() -> None:
    assert checked_address("metadata.google.internal", 80, {"metadata.google.internal"},
                           resolver("169.254.169.254")) == "169.254.169.254"


# --- expectations ------------------------------------------------------------------------------------------
def test_expectations_judge_status_body_and_json() -> None:
    body = json.dumps({"result": {"status": "ok", "items": [{"n": 1}]}, "flag": 1})
    checks = parse_line('status 200-204, body ~ "stat.s", json $.result.items[0].n == 1, json $.result.status exists')
    assert [why for _, why in evaluate(checks, 204, body)] == [None, None, None, None]
    failures = dict(evaluate(parse_line('status 2xx, json $.flag == true, json $.nope exists, body ~ "x{3}"'),
                             302, body))
    assert failures == {"status 2xx": "got 302", "json $.flag == true": "got 1",
                        "json $.nope exists": "not in the body", 'body ~ "x{3}"': "no match in the body"}
    assert evaluate([], 500, "") == [("status 2xx", "got 500")]
    assert evaluate(["json $.a == 1"], 200, "<html>") == [("json $.a == 1", "the body is not JSON")]


def test_a_body_pattern_is_matched_in_linear_time() -> None:
    assert evaluate(['body ~ "(a+)+$"'], 200, "a" * 100_000 + "!") == [('body ~ "(a+)+$"', "no match in the body")]
    with pytest.raises(ExpectationError, match="invalid pattern"):
        parse_line(r'body ~ "(a)\1"')  # a backreference: RE2 refuses what it cannot match in linear time


# --- settings ----------------------------------------------------------------------------------------------
def test_http_secrets_are_read_by_name_and_registered_for_masking() -> None:
    settings = Settings(http_secrets=SecretStr('{"cdn_token": "tok-1234567"}'), http_allow_hosts=" A.example., b ")
    assert settings.http_secrets_by_name == {"cdn_token": "tok-1234567"}
    assert "tok-1234567" in settings.secret_values() and settings.http_allowed_hosts == {"a.example", "b"}
    with pytest.raises(ValueError) as caught:
        Settings(http_secrets=SecretStr('{"cdn_token": 12345678}')).secret_values()
    assert "12345678" not in str(caught.value)


# --- the executor ------------------------------------------------------------------------------------------
@pytest.fixture
def server() -> Iterator[tuple[str, list[dict]]]:
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append({"path": self.path, "headers": dict(self.headers), "body": body.decode()})
            out = json.dumps({"result": {"status": "ok"}, "auth": self.headers.get("Authorization")}).encode()
            self.send_response(200 if self.path != "/moved" else 302)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def request(script: str, expect: list[str] | None = None, rollback: bool = False) -> CommandRequest:
    return CommandRequest(execution_id="ex", step_id="s", target="http", command=RenderedCommand(script=script),
                          timeout_seconds=5, expect=expect or [], rollback=rollback)


def test_the_executor_sends_the_secret_and_masks_it_in_the_output(server: tuple[str, list[dict]]) -> None:
    url, seen = server
    settings = Settings(http_secrets=SecretStr('{"cdn_token": "tok-s3cr3t-value"}'))
    masking.register_secrets(settings.secret_values())
    script = f"POST {url}/v1/purge\nAuthorization: Bearer {{{{ secrets.cdn_token }}}}\n\n{{\"all\": true}}"
    result = ActivityEnvironment().run(CommandActivities(settings).run_command,
                                       request(script, ['json $.result.status == "ok"', 'body ~ "missing"']))
    assert seen[0]["headers"]["Authorization"] == "Bearer tok-s3cr3t-value" and seen[0]["body"] == '{"all": true}'
    assert result.exit_code == 1 and result.output.startswith("HTTP/1.0 200 OK\n")
    assert "tok-s3cr3t-value" not in result.output and "[masked]" in result.output
    assert result.output.endswith('[expect] json $.result.status == "ok": ok\n'
                                  '[expect] body ~ "missing": FAILED (no match in the body)\n')
    # a rollback is judged by its status alone
    again = ActivityEnvironment().run(CommandActivities(settings).run_command,
                                      request(script, ['body ~ "missing"'], rollback=True))
    assert again.ok and again.output.endswith("[expect] status 2xx: ok\n")


def test_a_redirect_is_the_response_not_followed(server: tuple[str, list[dict]]) -> None:
    url, seen = server
    result = run_http(f"POST {url}/moved", 5, {}, expect=["status 302"])
    assert result.ok and len(seen) == 1


def test_a_refused_or_broken_request_is_an_error_and_nothing_is_sent(server: tuple[str, list[dict]]) -> None:
    url, seen = server
    beats: list[int] = []
    metadata = run_http("GET http://169.254.169.254/latest/meta-data/", 5, {}, heartbeat=lambda: beats.append(1))
    assert metadata.exit_code is None and "cloud metadata address" in (metadata.error or "")
    unknown = run_http(f"POST {url}/x\nX-Key: {{{{ secrets.nope }}}}", 5, {"cdn_token": "x"})
    assert "unknown secret nope" in (unknown.error or "") and not seen
    down = run_http("POST http://127.0.0.1:1/x", 5, {})
    assert down.exit_code is None and "failed" in (down.error or "")
