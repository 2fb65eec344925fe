"""The `local` target kind: run a rendered command on the worker host.

The command runs in its own process group so that a timeout (or a cancelled activity) kills
everything it started, not just the shell. Output is drained by a thread so that a quiet or a
very chatty command never delays the heartbeats that keep the activity alive, nor the reports of
the output so far (`progress`) that let people watch a step while it runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from typing import IO, Callable

from activities.targets.output import DEFAULT_MAX_OUTPUT, OutputCollector, Pacer
from runbooks.contract import CommandResult, RenderedCommand
from runbooks.settings import Settings
from runbooks.targets import LocalTarget

KILL_GRACE = 2.0


def run_local(
    command: RenderedCommand,
    timeout: float,
    max_output: int = DEFAULT_MAX_OUTPUT,
    heartbeat: Callable[[], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CommandResult:
    """Run `command` (exec form if it has argv, else `/bin/sh -c script`) and report its result.

    Never raises for command failures: a non-zero exit, a timeout or a missing binary are all
    reported in the CommandResult. A timeout is reached when the process has not exited, or when
    something it left behind still holds its output open, `timeout` seconds after the start.
    `progress` gets the output so far while it changes (OutputProgress); the result has the rest.
    """
    args = list(command.argv) if command.argv else ["/bin/sh", "-c", command.script]
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError:
        return _failed(f"command not found: {args[0]}", started)
    except PermissionError:
        return _failed(f"permission denied: {args[0]}", started)
    except OSError as exc:
        return _failed(f"cannot start {args[0]}: {exc.strerror or exc}", started)

    collector = OutputCollector(max_output)
    reader = threading.Thread(target=_drain, args=(proc.stdout, collector), daemon=True)
    reader.start()
    pacer = Pacer(collector, heartbeat, progress, deadline=started + timeout, first_beat=started)
    timed_out = False
    try:
        while True:
            if pacer.tick():
                timed_out = True
                break
            wait = pacer.wait()
            if reader.is_alive():  # output still open: wait for EOF first
                reader.join(wait)
                continue
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
    finally:
        if timed_out or proc.poll() is None or reader.is_alive():
            # Timeout, or an exception (e.g. activity cancellation) raised while waiting.
            _kill_group(proc)
    reader.join(1.0)  # EOF arrives once the group is gone; don't wait on escaped processes
    return CommandResult(
        exit_code=None if timed_out else proc.returncode,
        output=collector.text(),
        truncated=collector.truncated,
        duration_seconds=time.monotonic() - started,
        timed_out=timed_out,
    )


def _failed(error: str, started: float) -> CommandResult:
    return CommandResult(exit_code=None, error=error, duration_seconds=time.monotonic() - started)


def _drain(stream: IO[bytes], collector: OutputCollector) -> None:
    with stream:
        while chunk := stream.read1(65536):  # type: ignore[attr-defined]
            collector.feed(chunk)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left after a grace period."""
    pgid = proc.pid  # start_new_session: the leader's pid is the group id
    if not _signal_group(pgid, signal.SIGTERM):
        proc.wait()
        return
    grace_end = time.monotonic() + KILL_GRACE
    while time.monotonic() < grace_end:
        proc.poll()  # reap the leader so that it doesn't count as a live member
        if not _group_alive(pgid):
            break
        time.sleep(0.05)
    else:
        _signal_group(pgid, signal.SIGKILL)
    proc.wait()


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def _group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process remains in the group."""
    if not _signal_group(pgid, 0):
        return False
    if not os.path.isdir("/proc"):
        return True
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


class LocalExecutor:
    """`local`: the worker's own host, as the worker's user."""

    def __init__(self, settings: Settings):
        self.max_output = settings.max_output_bytes

    def run(self, target: LocalTarget, command: RenderedCommand, timeout: float,
            heartbeat: Callable[[], None], progress: Callable[[str], None] | None = None) -> CommandResult:
        return run_local(command, timeout, self.max_output, heartbeat, progress)
