"""A running step's output can be watched: executors report the output so far while it changes,
and the run_command activity writes it (masked) to the step's row, never failing the step for it."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from temporalio.testing import ActivityEnvironment

from activities.commands import CommandActivities
from activities.targets.local import run_local
from activities.targets.output import omitted_marker
from runbooks.contract import CommandRequest, RenderedCommand
from runbooks.settings import Settings


def sh(script: str) -> RenderedCommand:
    return RenderedCommand(script=script)


# -- the local executor ------------------------------------------------------------------------


def test_the_output_so_far_is_reported_while_the_command_runs() -> None:
    reports: list[tuple[float, str]] = []
    started = time.monotonic()
    result = run_local(sh("echo first; sleep 1.5; echo second"), timeout=10,
                       progress=lambda text: reports.append((time.monotonic() - started, text)))
    assert result.exit_code == 0 and result.output == "first\nsecond\n"
    at, text = reports[0]
    assert text == "first\n", "the first line is seen before the command goes on"
    assert at < 1.2, "about half a second after it was printed, not at the end"


def test_unchanged_output_is_not_reported_again() -> None:
    reports: list[str] = []
    run_local(sh("echo once; sleep 2"), timeout=10, progress=reports.append)
    assert reports == ["once\n"]


def test_a_silent_command_reports_nothing() -> None:
    reports: list[str] = []
    run_local(sh("sleep 1.2"), timeout=10, progress=reports.append)
    assert reports == []


def test_reports_are_bounded_like_the_result() -> None:
    reports: list[str] = []
    result = run_local(sh("head -c 200000 /dev/zero | tr '\\0' x; sleep 0.8"), timeout=10, max_output=4096,
                       progress=reports.append)
    assert reports and result.truncated
    assert all(len(text) <= 4096 + len(omitted_marker(200000)) for text in reports)


def test_heartbeats_keep_their_pace_while_output_is_reported() -> None:
    beats: list[float] = []
    reports: list[str] = []
    run_local(sh("for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18; do echo $i; sleep 0.25; done"),
              timeout=20, heartbeat=lambda: beats.append(time.monotonic()), progress=reports.append)
    assert len(beats) >= 2 and all(b - a < 2.5 for a, b in zip(beats, beats[1:]))
    assert len(reports) >= 6, "about every half second while the output grows"
    assert all(a != b and b.startswith(a) for a, b in zip(reports, reports[1:]))


# -- the run_command activity ------------------------------------------------------------------


class FakeStore:
    """Records what save_partial_output was given, or fails like a database that is down."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.saved: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()

    def save_partial_output(self, execution_id: str, step_id: str, output: str) -> bool:
        if self.fail:
            raise RuntimeError("database is down")
        with self.lock:
            self.saved.append((execution_id, step_id, output))
        return True


def request(script: str, rollback: bool = False) -> CommandRequest:
    return CommandRequest(execution_id="ex-1", step_id="look", target="local", command=sh(script),
                          timeout_seconds=10, rollback=rollback)


SCRIPT = "echo password=hunter2-secret; sleep 1.2; echo done"


def test_a_running_step_writes_its_output_so_far_masked() -> None:
    store = FakeStore()
    result = ActivityEnvironment().run(CommandActivities(Settings(), store).run_command,  # type: ignore[arg-type]
                                       request(SCRIPT))
    assert result.exit_code == 0
    assert store.saved and store.saved[0] == ("ex-1", "look", "password=[masked]\n")
    assert not any("hunter2" in output for _, _, output in store.saved)


def test_a_rollback_writes_nothing_while_it_runs() -> None:
    store = FakeStore()
    ActivityEnvironment().run(CommandActivities(Settings(), store).run_command,  # type: ignore[arg-type]
                              request(SCRIPT, rollback=True))
    assert store.saved == []


def test_a_database_error_while_writing_progress_is_logged_and_the_step_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="runbooks.activities"):
        result = ActivityEnvironment().run(CommandActivities(Settings(), FakeStore(fail=True)).run_command,  # type: ignore[arg-type]
                                           request(SCRIPT))
    assert result.exit_code == 0 and result.output == "password=[masked]\ndone\n"
    assert any("could not save the output so far" in r.getMessage() and r.exc_info for r in caplog.records)
