"""What an agent host needs: Temporal over TLS or mTLS, a valid name, and no database layer at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from runbooks.settings import Settings
from support.paths import REPO
from workflows.client import tls_config


def test_temporal_is_plain_by_default_and_tls_with_the_systems_cas_when_asked() -> None:
    assert tls_config(Settings()) is False
    assert tls_config(Settings(temporal_tls=True)) is True


def test_mtls_reads_the_ca_and_the_client_certificate_and_key(tmp_path: Path) -> None:
    for name in ("ca.pem", "agent.pem", "agent.key"):
        (tmp_path / name).write_bytes(f"-----{name}-----".encode())
    config = tls_config(Settings(temporal_tls_ca_file=tmp_path / "ca.pem", temporal_tls_cert_file=tmp_path / "agent.pem",
                                 temporal_tls_key_file=tmp_path / "agent.key", temporal_tls_server_name="temporal.corp"))
    assert isinstance(config, TLSConfig)
    assert (config.server_root_ca_cert, config.client_cert, config.client_private_key, config.domain) == (
        b"-----ca.pem-----", b"-----agent.pem-----", b"-----agent.key-----", "temporal.corp")


def test_a_client_certificate_without_its_key_is_refused_before_connecting(tmp_path: Path) -> None:
    (tmp_path / "agent.pem").write_text("cert")
    with pytest.raises(ValueError, match="go together"):
        tls_config(Settings(temporal_tls_cert_file=tmp_path / "agent.pem"))


def test_the_agent_process_never_loads_the_storage_layer() -> None:
    probe = ("import sys, workers.agent; "
             "print(sorted(m for m in sys.modules if m.startswith(('runbooks.storage', 'sqlalchemy', 'sqlmodel', "
             "'psycopg', 'alembic'))))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_an_agent_name_a_target_could_not_write_is_refused_in_one_line() -> None:
    out = subprocess.run([sys.executable, "-m", "cli.main", "agent", "--name", "DMZ_1"], cwd=REPO,
                         capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "RUNBOOKS_ENCRYPTION": "off", "LOG_FORMAT": "text"})
    assert out.returncode == 1
    assert "agent name 'DMZ_1': lower-case letters, digits and inner dashes" in out.stderr
    assert "Traceback" not in out.stderr
