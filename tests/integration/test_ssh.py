"""Running a step's command on a remote host over SSH, against a real OpenSSH server on loopback."""

from __future__ import annotations

import shlex
import subprocess
import time

import pytest

from activities.targets.output import omitted_marker
from activities.targets.ssh import run_ssh
from runbooks.contract import CommandResult, RenderedCommand
from runbooks.targets import SshTarget, parse_ssh_target
from support.sshd import Sshd, free_port, keygen


def run(server: Sshd, script: str, timeout: float = 10, known_hosts: str | None = None, **kw) -> CommandResult:
    return run_ssh(
        SshTarget(server.host, server.port),
        RenderedCommand(script=script),
        timeout=timeout,
        known_hosts=known_hosts or server.known_hosts,
        key_file=server.key_file,
        default_user=server.user,
        **kw,
    )


def remote_processes(pattern: str) -> str:
    """The server is on loopback, so its processes are ours to look at."""
    return subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True).stdout


# -- targets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("ssh://db1", SshTarget("db1")),
        ("ssh://deploy@db1.prod.example.com", SshTarget("db1.prod.example.com", 22, "deploy")),
        ("ssh://10.0.0.7:2222", SshTarget("10.0.0.7", 2222)),
        ("ssh://ops@[::1]:2200", SshTarget("::1", 2200, "ops")),
    ],
)
def test_parses_ssh_targets(spec, expected):
    assert parse_ssh_target(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "db1",  # no scheme
        "http://db1",
        "ssh://",
        "ssh://-oProxyCommand=touch_x",  # would be an option to the ssh binary
        "ssh://db1;reboot",
        "ssh://db 1",
        "ssh://$(reboot)",
        "ssh://db1/path",
        "ssh://db1:0",
        "ssh://db1:70000",
        "ssh://db1:",
        "ssh://-root@db1",
        "ssh://a b@db1",
        "ssh://[not-ipv6]",
        "ssh://999.1.1.1",
        "ssh://db1\n",
    ],
)
def test_rejects_anything_else(spec):
    with pytest.raises(ValueError, match="invalid SSH target"):
        parse_ssh_target(spec)


# -- running commands ----------------------------------------------------------------------


def test_runs_a_command_and_captures_output_and_exit_code(sshd):
    result = run(sshd, "echo hello; echo oops >&2; whoami")
    assert result.ok
    assert result.exit_code == 0
    assert result.output == f"hello\noops\n{sshd.user}\n"
    assert result.error is None and not result.timed_out and not result.truncated


def test_non_zero_exit_is_reported_not_raised(sshd):
    result = run(sshd, "echo failing; exit 7")
    assert result.exit_code == 7
    assert result.output == "failing\n"
    assert not result.ok and result.error is None


def test_quoted_value_with_shell_metacharacters_arrives_as_literal_text(sshd, tmp_path):
    marker = tmp_path / "pwned-XYZ"
    value = f"$(touch {marker}); echo hi `touch {marker}` && touch {marker}"
    result = run(sshd, "printf '%s\\n' " + shlex.quote(value))
    assert result.exit_code == 0
    assert result.output == value + "\n"
    assert not marker.exists()


def test_output_is_bounded(sshd):
    result = run(sshd, "echo FIRST; head -c 1000000 /dev/zero | tr '\\0' x; echo; echo LAST", max_output=8192)
    assert result.exit_code == 0
    assert result.truncated
    assert result.output.startswith("FIRST\n") and result.output.endswith("LAST\n")
    assert len(result.output.encode()) <= 8192 + len(omitted_marker(1000000))


def test_stdin_is_closed(sshd):
    result = run(sshd, "cat; echo done", timeout=5)
    assert result.exit_code == 0 and result.output == "done\n"


def test_timeout_kills_the_remote_command(sshd):
    started = time.monotonic()
    result = run(sshd, "echo started; sleep 31.4159 & wait", timeout=1)
    assert time.monotonic() - started < 5
    assert result.timed_out and result.exit_code is None and not result.ok
    assert result.output == "started\n"
    deadline = time.monotonic() + 1
    while remote_processes("^sleep 31.4159") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert remote_processes("^sleep 31.4159") == ""


def test_heartbeats_while_the_remote_command_runs(sshd):
    beats: list[float] = []
    result = run(sshd, "sleep 4.5", heartbeat=lambda: beats.append(time.monotonic()))
    assert result.exit_code == 0
    assert len(beats) >= 2


def test_reports_the_output_so_far_while_the_remote_command_runs(sshd):
    reports: list[str] = []
    result = run(sshd, "echo first; sleep 1.5; echo second; sleep 1", progress=reports.append)
    assert result.exit_code == 0 and result.output == "first\nsecond\n"
    assert reports[0] == "first\n", "seen before the command goes on"
    assert reports == ["first\n", "first\nsecond\n"], "each change once, unchanged output not again"


# -- refusing to connect -------------------------------------------------------------------


def test_unknown_host_key_is_refused_and_nothing_runs(sshd, tmp_path):
    marker = tmp_path / "ran"
    empty = sshd.write_known_hosts("known_hosts.empty", "")
    result = run(sshd, f"touch {shlex.quote(str(marker))}", known_hosts=empty)
    assert result.exit_code is None and not result.ok
    assert result.error == f"host key for 127.0.0.1:{sshd.port} not in known_hosts {empty}"
    assert not marker.exists()


def test_changed_host_key_is_refused_and_nothing_runs(sshd, tmp_path):
    marker = tmp_path / "ran"
    keygen(tmp_path / "impostor")
    wrong = sshd.write_known_hosts(
        "known_hosts.wrong", f"[127.0.0.1]:{sshd.port} {(tmp_path / 'impostor.pub').read_text()}"
    )
    result = run(sshd, f"touch {shlex.quote(str(marker))}", known_hosts=wrong)
    assert result.exit_code is None
    assert result.error is not None and "does not match known_hosts" in result.error
    assert not marker.exists()


def test_key_for_the_default_port_does_not_vouch_for_another_port(sshd, tmp_path):
    line = sshd.host_key_line.split(" ", 1)[1]
    unported = sshd.write_known_hosts("known_hosts.noport", f"127.0.0.1 {line}")
    result = run(sshd, "true", known_hosts=unported)
    assert result.error is not None and "not in known_hosts" in result.error


def test_missing_known_hosts_file_is_an_error(sshd, tmp_path):
    result = run(sshd, "true", known_hosts=str(tmp_path / "absent"))
    assert result.exit_code is None and "cannot read known_hosts" in (result.error or "")


def test_wrong_client_key_is_an_authentication_error(sshd, tmp_path):
    stranger = keygen(tmp_path / "stranger")
    result = run_ssh(
        SshTarget(sshd.host, sshd.port),
        RenderedCommand(script="true"),
        timeout=10,
        known_hosts=sshd.known_hosts,
        key_file=str(stranger),
        default_user=sshd.user,
    )
    assert result.exit_code is None
    assert result.error is not None and result.error.startswith("authentication failed for")


def test_connection_refused_is_an_error(sshd):
    port = free_port()
    result = run_ssh(
        SshTarget("127.0.0.1", port),
        RenderedCommand(script="true"),
        timeout=10,
        known_hosts=sshd.known_hosts,
        key_file=sshd.key_file,
        default_user=sshd.user,
    )
    assert result.exit_code is None
    assert result.error is not None and result.error.startswith(f"cannot connect to 127.0.0.1:{port}")
