"""Run the real product for a benchmark: processes on free ports, a throwaway state folder."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli.devserver import start_dev_server, stop_dev_server  # noqa: E402
from workflows.codec import new_key  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api(str):
    """The API's base URL, with the headers that act as the admin its first start made."""

    headers: dict[str, str]
    temporal_address: str
    env: dict[str, str]  # what the product's processes got (an agent started beside them needs the same)


@contextlib.contextmanager
def running_product(runbooks: dict[str, str], topology: str = "dev") -> Iterator[Api]:
    """Yield the API's base URL. `dev`: `runbooks dev` (what `make run` starts); `split`: separate
    `runbooks api` and `runbooks worker` processes beside a Temporal dev server."""
    work = Path(tempfile.mkdtemp(prefix="lr-bench-"))
    books = work / "runbooks"
    books.mkdir()
    for name, text in runbooks.items():
        (books / name).write_text(text)
    api_port = free_port()
    env = {**os.environ, "DATA_DIR": str(work / "data"), "RUNBOOKS_DIR": str(books),
           "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}", "API_PORT": str(api_port), "LOG_LEVEL": "WARNING",
           "TASK_QUEUE": "bench", "TEMPORAL_UI_PORT": str(free_port()),
           "RUNBOOKS_ENCRYPTION_KEYS": f"bench:{new_key()}",  # encrypted, as in production
           "ALLOW_SELF_REVIEW": "true", "WORKER_METRICS_PORT": "0"}  # one admin reviews its own bench runbooks
    temporal = start_dev_server(work / "data", env["TEMPORAL_ADDRESS"], free_port(), "default") \
        if topology == "split" else None
    logs = open(work / "processes.log", "ab")
    exe = str(Path(sys.executable).parent / "runbooks")
    procs = [subprocess.Popen([exe, role], env=env, cwd=ROOT, stdout=logs, stderr=subprocess.STDOUT)
             for role in (("worker", "api") if topology == "split" else ("dev",))]
    api = Api(f"http://127.0.0.1:{api_port}")
    api.temporal_address, api.env = env["TEMPORAL_ADDRESS"], env
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{api}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"the product did not come up; see {work / 'processes.log'}")
            time.sleep(0.2)
        api.headers = {"Authorization": f"Bearer {(work / 'data' / 'admin-token').read_text().strip()}"}
        yield api
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        if temporal is not None:
            stop_dev_server(temporal)
