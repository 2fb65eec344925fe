"""A throwaway Prometheus Alertmanager on 127.0.0.1 for tests: the real binary, one webhook receiver.

    with Alertmanager(webhook_url="http://127.0.0.1:8000/api/v1/alerts/alertmanager") as am:
        am.post_alerts([{"labels": {"alertname": "X", "instance": "web-1"}}])

Alerts go in through Alertmanager's own v2 API, exactly as Prometheus sends them; Alertmanager then
groups them and calls the webhook on its own schedule (group_wait, group_interval, repeat_interval).
No clustering (no gossip port), its state lives in a temporary directory that `stop` removes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from support.sshd import free_port

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


def alertmanager_available() -> bool:
    return os.access(ALERTMANAGER, os.X_OK)


def alertmanager_version() -> str:
    out = subprocess.run([ALERTMANAGER, "--version"], capture_output=True, text=True, timeout=10, check=False)
    match = re.search(r"version (\S+)", out.stdout + out.stderr)
    return match.group(1) if match else "unknown"


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Alertmanager:
    host = "127.0.0.1"

    def __init__(self, webhook_url: str, *, group_by: tuple[str, ...] = ("alertname", "instance"),
                 group_wait: str = "0s", group_interval: str = "1s", repeat_interval: str = "1h",
                 startup_timeout: float = 15.0, attempts: int = 3) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="test-alertmanager-"))
        self.config = self.dir / "alertmanager.yml"
        self.log = self.dir / "alertmanager.log"
        self.config.write_text(
            f"""\
route:
  receiver: living-runbooks
  group_by: [{", ".join(f"'{g}'" for g in group_by)}]
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: {repeat_interval}
receivers:
  - name: living-runbooks
    webhook_configs:
      - url: '{webhook_url}'
        send_resolved: true
"""
        )
        self.proc: subprocess.Popen | None = None
        try:
            # A free port can be taken by someone else before Alertmanager binds it: then try another.
            for _ in range(attempts):
                self.port = free_port()
                self.url = f"http://{self.host}:{self.port}"
                if self._start(startup_timeout):
                    return
            raise RuntimeError(f"Alertmanager exited at start ({attempts} tries); its log:\n{self.log_text()}")
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> bool:
        """Start the process and wait for /-/ready; False when it exited (e.g. the port was taken)."""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [ALERTMANAGER, f"--config.file={self.config}", f"--storage.path={self.dir / 'data'}",
                 f"--web.listen-address={self.host}:{self.port}", "--cluster.listen-address=",
                 f"--web.external-url={self.url}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir)
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=1.0, trust_env=False) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                try:
                    if http.get("/-/ready").status_code == 200 and self.proc.poll() is None:
                        return True
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"Alertmanager not ready after {timeout}s on {self.url}:\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    # -- talking to it (async, for tests that run on an event loop) -------------------------------

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=5.0, trust_env=False)

    async def post_alerts(self, alerts: list[dict]) -> None:
        """POST /api/v2/alerts: what Prometheus does on every evaluation while a rule fires."""
        async with self.client() as http:
            resp = await http.post("/api/v2/alerts", json=alerts)
        if resp.status_code != 200:
            raise AssertionError(f"Alertmanager refused the alerts ({resp.status_code}): {resp.text}")

    async def alerts(self) -> list[dict]:
        async with self.client() as http:
            resp = await http.get("/api/v2/alerts")
        resp.raise_for_status()
        return resp.json()

    async def notifications(self, integration: str = "webhook") -> tuple[int, int]:
        """(sent, failed) notification counts from Alertmanager's own metrics."""
        async with self.client() as http:
            text = (await http.get("/metrics")).text

        def metric(name: str) -> int:
            m = re.search(rf'^{name}\{{[^}}]*integration="{integration}"[^}}]*\}} (\S+)$', text, re.MULTILINE)
            return int(float(m.group(1))) if m else 0

        return metric("alertmanager_notifications_total"), metric("alertmanager_notifications_failed_total")

    # -- lifecycle --------------------------------------------------------------------------------

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Alertmanager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
