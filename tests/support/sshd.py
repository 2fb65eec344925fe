"""A throwaway OpenSSH server on 127.0.0.1 for tests: real sshd, real host key checks, key auth.

    with Sshd() as server:
        run_ssh(SshTarget(server.host, server.port), cmd, 5, server.known_hosts, server.key_file, server.user)
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def sshd_available() -> bool:
    return os.access(SSHD, os.X_OK) and shutil.which("ssh-keygen") is not None


def keygen(path: Path) -> Path:
    """Create an ed25519 key pair at `path` (and `path`.pub); return the private key path."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(path)], check=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    host = "127.0.0.1"

    def __init__(self, startup_timeout: float = 10.0) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="test-sshd-"))
        self.user = getpass.getuser()
        self.port = free_port()
        self.host_key = keygen(self.dir / "host_ed25519")
        self.key_file = str(keygen(self.dir / "client_ed25519"))
        (self.dir / "authorized_keys").write_text(Path(self.key_file + ".pub").read_text())
        self.known_hosts = str(self.dir / "known_hosts")
        self.host_key_line = f"[{self.host}]:{self.port} {(self.dir / 'host_ed25519.pub').read_text().strip()}\n"
        Path(self.known_hosts).write_text(self.host_key_line)
        self.config = self.dir / "sshd_config"
        self.config.write_text(
            f"""\
Port {self.port}
ListenAddress {self.host}
HostKey {self.host_key}
PidFile {self.dir / "sshd.pid"}
AuthorizedKeysFile {self.dir / "authorized_keys"}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
LogLevel ERROR
"""
        )
        try:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation directory
        except OSError:
            pass  # not root: sshd then runs without privilege separation
        self.log = self.dir / "sshd.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)], stdout=log, stderr=log)
        self._wait_ready(startup_timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        log = self.log.read_text(errors="replace")
        self.stop()
        raise RuntimeError(f"sshd did not start on {self.host}:{self.port}:\n{log}")

    def write_known_hosts(self, name: str, content: str) -> str:
        """Write an alternative known_hosts file in the server's directory; return its path."""
        path = self.dir / name
        path.write_text(content)
        return str(path)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Sshd:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
