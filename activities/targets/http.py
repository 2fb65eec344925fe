"""The `http` target kind: send an HTTP step's request and judge the response by its `Expect:`.

The rendered request (runbooks/rendering/http_request.py) is parsed again with the rules it loaded
with; its `{{ secrets.NAME }}` are filled from HTTP_SECRETS only here, so no secret reaches the
history or the database (and the output is masked like every step's). The host passes the guard
(http_guard.py) and the request goes to the very address that was checked. Redirects are not
followed: a 3xx is the response, for the expectations to judge. The exchange runs in a thread so
that the activity heartbeats every 2 s and the step's timeout holds however slow the server is.

Output: the status line, the response headers, a blank line, the body (bounded like every step's
output) and one line per expectation. Exit code 0 when every expectation holds, 1 otherwise; a
request that could not be sent is `error`, one that ran out of time `timed_out`.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Collection, Mapping

import httpx

from activities.targets.http_guard import GuardError, Resolver, checked_address, resolve
from activities.targets.output import DEFAULT_MAX_OUTPUT, OutputCollector, Pacer
from runbooks.contract import CommandResult, RenderedCommand
from runbooks.expectations import DEFAULT, Expectation, ExpectationError, parse
from runbooks.rendering.http_request import HttpRequest, HttpRequestError, fill_secrets, parse_request
from runbooks.settings import Settings
from runbooks.targets import HttpTarget

BODY_LIMIT = 8 * 1024 * 1024  # what expectations read of a body; the output keeps max_output_bytes of it


class _Exchange:
    """One request and its response, in a thread of its own; the caller waits, heartbeats and gives up."""

    def __init__(self, request: HttpRequest, timeout: float, allowed: Collection[str], resolver: Resolver,
                 collector: OutputCollector) -> None:
        self.request, self.timeout, self.allowed, self.resolver = request, timeout, allowed, resolver
        self.collector = collector
        self.stop = threading.Event()
        self.status: int | None = None
        self.body = bytearray()
        self.encoding = "utf-8"
        self.error: str | None = None
        self.timed_out = False

    def run(self) -> None:
        where = f"{self.request.method} {self.request.host}"
        try:
            self._send(httpx.URL(self.request.url))
        except GuardError as exc:
            self.error = str(exc)
        except httpx.TimeoutException:
            self.timed_out = True
        except httpx.HTTPError as exc:
            self.error = f"{where} failed: {str(exc) or type(exc).__name__}"
        except Exception as exc:  # the step fails with the reason, the worker goes on
            self.error = f"{where}: {type(exc).__name__}: {exc}"

    def _send(self, url: httpx.URL) -> None:
        port = url.port or (443 if url.scheme == "https" else 80)
        address = checked_address(url.host, port, self.allowed, self.resolver)
        headers = [*self.request.headers, ("Host", url.netloc.decode("ascii"))]
        extensions = {} if url.scheme != "https" or _is_address(url.host) else {"sni_hostname": url.host}
        body = self.request.body.encode() if self.request.body else None
        # trust_env off: no proxy from the environment, which would send the request past the guard's address
        with httpx.Client(timeout=httpx.Timeout(self.timeout), follow_redirects=False, trust_env=False) as client:
            sent = client.build_request(self.request.method, url.copy_with(host=address), headers=headers,
                                        content=body, extensions=extensions)
            response = client.send(sent, stream=True)
            try:
                self.status, self.encoding = response.status_code, response.encoding or "utf-8"
                head = [f"{response.http_version} {response.status_code} {response.reason_phrase}".rstrip()]
                head += [f"{name.decode('latin-1')}: {value.decode('latin-1')}" for name, value in response.headers.raw]
                self.collector.feed(("\n".join(head) + "\n\n").encode())
                for chunk in response.iter_bytes():
                    self.collector.feed(chunk)
                    self.body += chunk[: max(0, BODY_LIMIT - len(self.body))]
                    if self.stop.is_set():
                        return
            finally:
                response.close()

    @property
    def text(self) -> str:
        return self.body.decode(self.encoding, errors="replace")


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def run_http(
    script: str,
    timeout: float,
    secrets: Mapping[str, str],
    allowed: Collection[str] = frozenset(),
    expect: list[str] | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
    heartbeat: Callable[[], None] | None = None,
    progress: Callable[[str], None] | None = None,
    resolver: Resolver = resolve,
) -> CommandResult:
    """Send the request `script` writes and judge its response; never raises for a request that failed."""
    started = time.monotonic()
    try:
        request = fill_secrets(parse_request(script), secrets)
        checks = [parse(item) for item in expect or DEFAULT]
    except (HttpRequestError, ExpectationError) as exc:
        return CommandResult(exit_code=None, error=str(exc), duration_seconds=time.monotonic() - started)
    collector = OutputCollector(max_output)
    exchange = _Exchange(request, timeout, allowed, resolver, collector)
    thread = threading.Thread(target=exchange.run, name="http-step", daemon=True)
    pacer = Pacer(collector, heartbeat, progress, deadline=started + timeout, first_beat=started)
    thread.start()
    try:
        while thread.is_alive():
            if pacer.tick():
                exchange.timed_out = True
                break
            thread.join(pacer.wait())
    finally:
        exchange.stop.set()  # a timeout or a cancelled activity: stop reading the body
    if exchange.error is not None:
        return CommandResult(exit_code=None, error=exchange.error, duration_seconds=time.monotonic() - started)
    if exchange.timed_out or exchange.status is None:
        return CommandResult(exit_code=None, output=collector.text(), truncated=collector.truncated,
                             duration_seconds=time.monotonic() - started, timed_out=True)
    failed = _judge(checks, exchange.status, exchange.text, collector)
    return CommandResult(exit_code=1 if failed else 0, output=collector.text(), truncated=collector.truncated,
                         duration_seconds=time.monotonic() - started)


def _judge(checks: list[Expectation], status: int, body: str, collector: OutputCollector) -> bool:
    """Append one line per expectation to the output; whether any failed."""
    verdicts = [(check.text, check.failure(status, body)) for check in checks]
    lines = [f"[expect] {text}: " + ("ok" if why is None else f"FAILED ({why})") for text, why in verdicts]
    collector.feed(("\n" + "\n".join(lines) + "\n").encode())
    return any(why is not None for _, why in verdicts)


class HttpExecutor:
    """`http`: the request block of the step; secrets from HTTP_SECRETS, hosts past the guard."""

    def __init__(self, settings: Settings, resolver: Resolver = resolve) -> None:
        self.max_output = settings.max_output_bytes
        self.secrets = settings.http_secrets_by_name
        self.allowed = settings.http_allowed_hosts
        self.resolver = resolver

    def run(self, target: HttpTarget, command: RenderedCommand, timeout: float, heartbeat: Callable[[], None],
            progress: Callable[[str], None] | None = None, expect: list[str] | None = None) -> CommandResult:
        return run_http(command.script, timeout, self.secrets, self.allowed, expect, self.max_output, heartbeat,
                        progress, self.resolver)
