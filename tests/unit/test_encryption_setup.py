"""Encryption on by default: `runbooks dev` makes its own key, production refuses to start without one.

`runbooks dev` (what `make run` starts) writes a key ring into the state folder on its first start,
readable by its owner only, and reads the same one on every later start (a new key would make the
executions already in temporal.db unreadable). `runbooks api` and `runbooks worker` never invent a
key: with encryption on and none configured they exit with what to set.
"""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr

from cli.devserver import DEV_KEY_FILE, codec_endpoint, dev_key_ring, dev_server_command
from runbooks.settings import Settings
from support.paths import REPO
from workflows.codec import key_ring

K1 = base64.b64encode(b"k1" * 16).decode()


def test_dev_generates_a_private_key_ring_once_and_reuses_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "state")
    first = dev_key_ring(settings)
    path = tmp_path / "state" / DEV_KEY_FILE
    assert first.runbooks_encryption_key_file == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = key_ring(first)
    assert ring is not None and len(ring.ids) == 1

    text = path.read_text()
    second = dev_key_ring(Settings(data_dir=tmp_path / "state"))
    assert path.read_text() == text, "the next start reads the same key"
    assert key_ring(second) == ring


def test_dev_leaves_configured_keys_and_plaintext_alone(tmp_path: Path) -> None:
    explicit = Settings(data_dir=tmp_path, runbooks_encryption_keys=SecretStr(f"k1:{K1}"))
    assert dev_key_ring(explicit) is explicit
    off = Settings(data_dir=tmp_path, runbooks_encryption=False)
    assert dev_key_ring(off) is off
    assert not (tmp_path / DEV_KEY_FILE).exists()


def test_the_dev_web_ui_is_pointed_at_the_apis_codec_when_encryption_is_on(tmp_path: Path) -> None:
    on = Settings(api_host="0.0.0.0", api_port=8010)
    assert codec_endpoint(on) == "http://127.0.0.1:8010/codec"
    cmd = dev_server_command(tmp_path, "127.0.0.1:7233", 8233, "default", codec_endpoint(on))
    assert cmd[cmd.index("--ui-codec-endpoint") + 1] == "http://127.0.0.1:8010/codec"

    assert codec_endpoint(Settings(runbooks_encryption=False)) is None
    assert "--ui-codec-endpoint" not in dev_server_command(tmp_path, "127.0.0.1:7233", 8233, "default", None)


def test_production_processes_refuse_to_start_without_a_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNBOOKS_ENCRYPTION")}
    env.update(DATA_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
               TEMPORAL_ADDRESS="127.0.0.1:1", COLUMNS="400")
    for role in ("api", "worker"):
        done = subprocess.run([sys.executable, "-m", "cli.main", role], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=60)
        said = " ".join(done.stderr.split())
        assert done.returncode == 1, done.stderr
        assert "refusing to start: encryption is on but no key is configured" in said, said
        assert "RUNBOOKS_ENCRYPTION_KEYS" in said and "RUNBOOKS_ENCRYPTION=off" in said
    assert not list(tmp_path.iterdir()), "nothing was created: the check comes before anything starts"
