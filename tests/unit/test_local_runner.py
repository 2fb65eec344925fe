"""Running a step's command on the worker host: what a runbook author can rely on."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from activities.targets.local import run_local
from activities.targets.output import OutputCollector, omitted_marker
from runbooks.contract import RenderedCommand


def sh(script: str) -> RenderedCommand:
    return RenderedCommand(script=script)


def exec_form(*argv: str) -> RenderedCommand:
    return RenderedCommand(script=shlex.join(argv), argv=list(argv))


def process_gone(pid: int) -> bool:
    """Gone or a zombie waiting for a reaper (dead either way)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_captures_output_and_exit_code():
    result = run_local(sh("echo hello; echo oops >&2; exit 0"), timeout=10)
    assert result.ok
    assert result.exit_code == 0
    assert result.output == "hello\noops\n"  # stderr merged in arrival order
    assert not result.truncated and not result.timed_out and result.error is None
    assert result.duration_seconds > 0


def test_non_zero_exit_is_reported_not_raised():
    result = run_local(sh("echo failing; exit 3"), timeout=10)
    assert result.exit_code == 3
    assert not result.ok
    assert result.output == "failing\n"
    assert result.error is None


def test_exec_form_passes_each_value_as_one_argument():
    value = "a b; rm -rf / $(touch pwned)"
    result = run_local(exec_form("printf", "[%s]\n", value, "second"), timeout=10)
    assert result.exit_code == 0
    assert result.output == f"[{value}]\n[second]\n"


def test_quoted_value_in_shell_script_is_literal_text(tmp_path):
    marker = tmp_path / "pwned"
    value = f"$(touch {marker}); echo hi `touch {marker}` | cat > {marker}"
    result = run_local(sh("echo " + shlex.quote(value)), timeout=10)
    assert result.output == value + "\n"
    assert not marker.exists()


def test_stdin_is_closed():
    result = run_local(sh("cat; echo done"), timeout=5)
    assert result.exit_code == 0 and result.output == "done\n"


def test_missing_binary_is_an_error_not_an_exception():
    result = run_local(exec_form("no-such-binary-xyz", "--help"), timeout=10)
    assert result.exit_code is None
    assert result.error == "command not found: no-such-binary-xyz"
    assert not result.ok


def test_output_is_bounded_to_head_and_tail():
    script = "echo FIRST; head -c 1048576 /dev/zero | tr '\\0' x; echo; echo LAST"
    result = run_local(sh(script), timeout=30, max_output=4096)
    assert result.exit_code == 0
    assert result.truncated
    assert result.output.startswith("FIRST\n")
    assert result.output.endswith("LAST\n")
    assert "bytes omitted] ..." in result.output
    assert len(result.output.encode()) <= 4096 + len(omitted_marker(1048576 + 12))


def test_timeout_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "child.pid"
    # The shell waits on a background child: killing only the shell would leave `sleep` behind.
    script = f"sleep 30 & echo $! > {shlex.quote(str(pidfile))}; echo started; wait"
    started = time.monotonic()
    result = run_local(sh(script), timeout=1)
    assert time.monotonic() - started < 5
    assert result.timed_out
    assert result.exit_code is None
    assert not result.ok
    assert result.output == "started\n"
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while not process_gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process_gone(child)


def test_timeout_escalates_to_sigkill_when_sigterm_is_ignored():
    started = time.monotonic()
    result = run_local(sh("trap '' TERM; echo stubborn; while :; do sleep 0.1; done"), timeout=1)
    assert result.timed_out
    assert result.output == "stubborn\n"
    assert time.monotonic() - started < 6


def test_heartbeats_while_a_silent_command_runs():
    beats: list[float] = []
    result = run_local(sh("sleep 4.5"), timeout=10, heartbeat=lambda: beats.append(time.monotonic()))
    assert result.exit_code == 0
    assert len(beats) >= 2
    assert all(b - a < 3 for a, b in zip(beats, beats[1:]))


def test_cancellation_raised_by_heartbeat_kills_the_command(tmp_path):
    pidfile = tmp_path / "pid"

    class Cancelled(Exception):
        pass

    calls = 0

    def heartbeat():
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Cancelled()

    try:
        run_local(sh(f"echo $$ > {shlex.quote(str(pidfile))}; exec sleep 30"), timeout=60, heartbeat=heartbeat)
    except Cancelled:
        pass
    else:
        raise AssertionError("the heartbeat's exception should propagate")
    assert process_gone(int(pidfile.read_text()))


def test_collector_keeps_everything_under_the_limit():
    c = OutputCollector(10)
    for chunk in (b"abc", b"defg", b"hij"):
        c.feed(chunk)
    assert c.text() == "abcdefghij" and not c.truncated


def test_collector_keeps_head_and_tail_and_counts_what_it_dropped():
    c = OutputCollector(10)
    for i in range(100):
        c.feed(bytes([ord("a") + i % 26]) * 3)
    assert c.truncated
    text = c.text()
    assert text.startswith("aaabb") and text.endswith("uuvvv")
    assert "[290 bytes omitted]" in text


def test_collector_replaces_invalid_utf8():
    c = OutputCollector(100)
    c.feed("é".encode() + b"\xff")
    assert c.text() == "é\ufffd"

