"""The API fuzzed over its own OpenAPI: no server error, no answer outside the schema, every status documented.

schemathesis generates requests from the live /openapi.json of a real `runbooks api` process
(about 100 s, a fixed seed) and checks every answer. The product under fuzz runs without a worker,
so nothing a fuzzed request starts can run a command (an imported runbook could hold anything),
and loads only a harmless runbook; the one route that needs a worker (the live query) is checked
by hand to answer 503 with the reason instead. Also here:
a 50 MB webhook is refused with 413 at once and the API's memory stays flat.
"""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from support.harness import grant, make_settings
from support.paths import DATA
from support.processes import Fleet

FUZZ_SECONDS = 100
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_schemathesis_finds_no_server_error_no_schema_violation_and_no_undocumented_status(
        temporal_address: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address).model_copy(
        update={"runbooks_dir": DATA / "fuzz-runbooks"})
    with Fleet(settings, tmp_path) as fleet:
        api = fleet.api()
        # an admin, so that every route is fuzzed past its door (the matrix test checks the doors themselves)
        admin = grant(fleet.settings, "fuzzer", "admin")
        with httpx.Client(base_url=api.url, timeout=30, headers=admin) as http:  # before the fuzzer changes `harmless`
            started = http.post("/api/v1/runbooks/harmless/executions", json={"params": {"word": "hi", "instance": "web-1"}})
            assert started.status_code == 202, started.text
            live = http.get(f"/api/v1/executions/{started.json()['id']}/live")
        assert live.status_code == 503 and "worker" in live.json()["detail"], live.text
        run = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", f"{api.url}/openapi.json",
             "--max-time", str(FUZZ_SECONDS), "-c", CHECKS, "--seed", "7", "--no-color",
             "-H", f"Authorization: {admin['Authorization']}",
             # the live query needs a worker to run the workflow code; without one it is (rightly) a 503
             "--exclude-path-regex", "/live$"],
            capture_output=True, text=True, timeout=FUZZ_SECONDS + 120, cwd=tmp_path)
        assert api.alive, api.output()[-4000:]
    summary = run.stdout[run.stdout.find("SUMMARY"):] if "SUMMARY" in run.stdout else run.stdout[-6000:]
    print(summary)
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-2000:]
    assert "generated" in summary and " passed" in summary, summary


def _post_chunked(url: str, path: str, total: int) -> tuple[int, int]:
    """Send `total` bytes chunked (no Content-Length) until the server answers; (status, bytes sent)."""
    host, port = url.removeprefix("http://").split(":")
    chunk = b"x" * 65536
    sent, answer = 0, b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        while sent < total and not answer:
            readable, writable, _ = select.select([sock], [sock], [], 5)
            if readable:
                answer = sock.recv(65536)
                break
            if writable:
                try:
                    sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                except OSError:  # the server answered and closed
                    break
                sent += len(chunk)
        while b"\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    return int(answer.split(b" ", 2)[1]), sent


class PeakRss:
    """The highest resident memory of a process while the block runs, sampled every 5 ms."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, _rss_kib(pid), threading.Event()

    def __enter__(self) -> PeakRss:
        self._thread = threading.Thread(target=self._sample)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_kib(self.pid))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_a_50_mb_webhook_is_refused_with_413_and_memory_stays_bounded(temporal_address: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address).model_copy(
        update={"runbooks_dir": DATA / "fuzz-runbooks"})
    fifty = 50 * 1024 * 1024
    with Fleet(settings, tmp_path) as fleet:
        api = fleet.api()
        before = _rss_kib(api.pid)
        with PeakRss(api.pid) as declared_rss, httpx.Client(base_url=api.url, timeout=30) as http:
            # Content-Length says 50 MB: refused before a byte of the body is read
            declared = http.post("/api/v1/alerts/alertmanager", headers={"content-type": "application/json"},
                                 content=b"x" * fifty)
        with PeakRss(api.pid) as streamed_rss:
            streamed, sent = _post_chunked(api.url, "/api/v1/alerts/alertmanager", fifty)
        still = httpx.get(f"{api.url}/healthz").status_code
    assert declared.status_code == 413 and declared.headers["content-type"] == "application/problem+json"
    assert "larger than" in declared.json()["detail"]
    assert streamed == 413 and sent < fifty, (streamed, sent)
    assert still == 200
    grew_declared = (declared_rss.peak - before) / 1024
    grew_streamed = (streamed_rss.peak - before) / 1024
    print(f"API RSS {before / 1024:.1f} MiB; peak +{grew_declared:.1f} MiB for a declared 50 MB body, "
          f"+{grew_streamed:.1f} MiB for a chunked one (refused after {sent / 2**20:.0f} MiB sent)")
    assert grew_declared < 5, "a declared oversize body is never read"
    assert grew_streamed < 40, "a chunked body is held only up to the webhook limit (16 MiB), not its 50 MB"
