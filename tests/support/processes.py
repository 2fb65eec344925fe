"""The product as real processes for tests: `runbooks api` and `runbooks worker` subprocesses.

Each process gets the environment a deployment would give it (TEMPORAL_ADDRESS, TASK_QUEUE,
DATABASE_URL, ...) from a Settings object, its own log file and, for the API, a free port. A start
returns once the process is ready: the API answers GET /healthz, the worker logged "worker
polling". A process stops like in production (SIGTERM: graceful, in-flight steps finish) or dies
(kill -9).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from runbooks.settings import Settings
from support.paths import REPO

ROOT = REPO
WORKER_READY = "worker polling"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def product_env(settings: Settings, **extra: str) -> dict[str, str]:
    """What a deployment sets for `runbooks api` / `runbooks worker`, read from `settings`."""
    return {**os.environ,
            "TEMPORAL_ADDRESS": settings.temporal_address, "TEMPORAL_NAMESPACE": settings.temporal_namespace,
            "TASK_QUEUE": settings.task_queue, "DATABASE_URL": settings.resolved_database_url,
            "DATA_DIR": str(settings.data_dir), "RUNBOOKS_DIR": str(settings.runbooks_dir),
            "HEARTBEAT_TIMEOUT_SECONDS": f"{settings.heartbeat_timeout_seconds:g}", "LOG_LEVEL": "INFO",
            # several workers on one host: no fixed metrics port to fight over
            "WORKER_METRICS_PORT": "0",
            # the same key ring as the test's in-process clients ("" unsets what this shell may have)
            "RUNBOOKS_ENCRYPTION": "on" if settings.runbooks_encryption else "off",
            "RUNBOOKS_ENCRYPTION_KEYS": keys.get_secret_value() if (keys := settings.runbooks_encryption_keys) else "",
            "RUNBOOKS_ENCRYPTION_KEY_FILE": str(settings.runbooks_encryption_key_file or ""),
            # one audit key for every process of the deployment (the test's own appends included)
            "AUDIT_KEY": key.get_secret_value() if (key := settings.audit_key) else "",
            **extra}


@dataclass
class Process:
    """One `runbooks <role>` subprocess and its log (the part of the log file it wrote)."""

    role: str
    popen: subprocess.Popen[bytes]
    log: Path
    log_offset: int
    url: str | None = None  # the API's base URL
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        with open(self.log, "rb") as fh:
            fh.seek(self.log_offset)
            return fh.read().decode(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> Process:
        deadline = time.monotonic() + timeout
        while not self._ready():
            if not self.alive:
                raise AssertionError(f"{self.role} exited with {self.popen.returncode}:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                self.kill9()
                raise AssertionError(f"{self.role} not ready within {timeout:g} s:\n{self.output()[-4000:]}")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        if self.url is None:
            return WORKER_READY in self.output()
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def terminate(self, timeout: float = 40.0) -> int:
        """SIGTERM (what `docker stop` / Kubernetes send) and wait for the exit; returns the exit code."""
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"{self.role} {self.pid} ignored SIGTERM for {timeout:g} s") from None

    def kill9(self) -> None:
        if self.alive:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()


def spawn(role: str, settings: Settings, log: Path, **env: str) -> Process:
    """Start `runbooks api|worker` without waiting; `wait_ready()` then waits for it."""
    url = None
    if role == "api":
        port = free_port()
        env = {"API_HOST": "127.0.0.1", "API_PORT": str(port), **env}
        url = f"http://127.0.0.1:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    offset = log.stat().st_size if log.exists() else 0
    with open(log, "ab") as out:
        popen = subprocess.Popen([sys.executable, "-m", "cli.main", role], cwd=ROOT, env=product_env(settings, **env),
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    return Process(role=role, popen=popen, log=log, log_offset=offset, url=url)


def start_worker(settings: Settings, log: Path, timeout: float = 30.0, **env: str) -> Process:
    return spawn("worker", settings, log, **env).wait_ready(timeout)


def start_agent(settings: Settings, name: str, log: Path, timeout: float = 30.0) -> Process:
    """`runbooks agent --name NAME` as an agent host runs it: Temporal's address, the key ring and
    nothing about any database (DATABASE_URL unset, DATA_DIR a folder that must stay unmade)."""
    env = {key: value for key, value in product_env(settings).items() if key != "DATABASE_URL"}
    env["DATA_DIR"] = str(log.parent / f"agent-{name}-data-must-not-exist")
    log.parent.mkdir(parents=True, exist_ok=True)
    offset = log.stat().st_size if log.exists() else 0
    with open(log, "ab") as out:
        popen = subprocess.Popen([sys.executable, "-m", "cli.main", "agent", "--name", name], cwd=ROOT, env=env,
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    return Process(role=f"agent {name}", popen=popen, log=log, log_offset=offset).wait_ready(timeout)


def start_api(settings: Settings, log: Path, timeout: float = 60.0, **env: str) -> Process:
    return spawn("api", settings, log, **env).wait_ready(timeout)


class Fleet:
    """Processes started for one test; whatever is still running at the end is killed."""

    def __init__(self, settings: Settings, workdir: Path):
        self.settings, self.workdir = settings, workdir
        self.processes: list[Process] = []

    def start(self, *roles: str, timeout: float = 60.0) -> list[Process]:
        """Start several processes at once (as a deployment rolls out) and wait until all are ready.

        Each API gets its own DATA_DIR (its search index is per process, like a pod's disk); they
        share the database, the Temporal server and the task queue.
        """
        procs = []
        for role in roles:
            n = sum(p.role == role for p in self.processes)
            env = {"DATA_DIR": str(self.workdir / f"{role}-{n}")} if role == "api" else {}
            procs.append(spawn(role, self.settings, self.workdir / f"{role}-{n}.log", **env))
            self.processes.append(procs[-1])
        for p in procs:
            p.wait_ready(timeout)
        return procs

    def api(self) -> Process:
        return self.start("api")[0]

    def worker(self) -> Process:
        return self.start("worker")[0]

    def close(self) -> None:
        for p in self.processes:
            p.kill9()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
