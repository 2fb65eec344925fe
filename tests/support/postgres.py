"""A private PostgreSQL cluster a test may stop and start (the shared one on :5432 must stay up).

initdb/pg_ctl from the Debian package, run as the `postgres` user when we are root (PostgreSQL
refuses to run as root), on a free port with its socket in the cluster's own folder.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from support.harness import require
from support.processes import free_port


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PrivateCluster:
    def __init__(self) -> None:
        initdb, self.pg_ctl = _bin("initdb"), _bin("pg_ctl")
        require(bool(initdb and self.pg_ctl), "PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        # Under /tmp, not pytest's root-only tmp_path: the postgres user must reach its folder.
        self.folder, self.port = Path(tempfile.mkdtemp(prefix="lr-pg-")), free_port()
        self.data = self.folder / "pgdata"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *cmd], capture_output=True, cwd=self.folder, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr or done.stdout}")

    def start(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.folder / "postgres.log"), "-w", "start",
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off")

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, new ones refused, as when the database host goes away."""
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        try:
            self.stop()
        except RuntimeError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)
