"""Executors: one module per target kind, each running a rendered command where its target says.

`run_command` parses the step's target (runbooks/targets.py) and hands it to the executor that
`EXECUTORS` lists for its kind. `manual` has none: the workflow never sends a manual step here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from activities.targets.http import HttpExecutor
from activities.targets.local import LocalExecutor
from activities.targets.prometheus import PrometheusExecutor
from activities.targets.ssh import SshExecutor
from runbooks.contract import CommandResult, RenderedCommand
from runbooks.settings import Settings
from runbooks.targets import Target


class Executor(Protocol):
    def run(self, target: Target, command: RenderedCommand, timeout: float,
            heartbeat: Callable[[], None], progress: Callable[[str], None] | None = None) -> CommandResult:
        """Run `command` on `target` within `timeout` seconds, calling `heartbeat` every few seconds.

        `progress`, when given, gets the output collected so far (bounded, as in the result) about
        every half second while it changes (activities/targets/output.py OutputProgress), so that a
        running step can be watched; it is never called with unchanged output.

        A command that ran and failed, timed out or could not start is a CommandResult (with
        `exit_code`, `timed_out` or `error`), never an exception: only a lost worker is.
        """
        ...


EXECUTORS: dict[str, Callable[[Settings], Executor]] = {
    "local": LocalExecutor,
    "ssh": SshExecutor,
    "http": HttpExecutor,  # also takes `expect` (the step's `Expect:`), which run_command passes to it alone
    "prometheus": PrometheusExecutor,  # a verify step's PromQL query
}
