"""The run_command activity: run a rendered step (or rollback) command on its target.

A command that ran and exited non-zero is a *result*, not an exception, so Temporal never retries
it; only infrastructure failures (a lost worker) surface as errors, and the workflow's retry
policy decides whether those may be retried (read-only steps) or not.
"""

from __future__ import annotations

import logging
import os
import time

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.local import run_local
from activities.ssh import parse_ssh_target, run_ssh
from api.metrics import STEP_DURATION
from runbooks.execution import CommandRequest, CommandResult
from runbooks.settings import Settings

log = logging.getLogger("runbooks.activities")


class CommandActivities:
    def __init__(self, settings: Settings):
        self.settings = settings

    @activity.defn(name="run_command")
    def run_command(self, req: CommandRequest) -> CommandResult:
        kind = "rollback" if req.rollback else "step"
        began, outcome = time.perf_counter(), "error"  # an exception (bad target, lost SSH) is an error
        try:
            result = self._run(req, kind)
            outcome = _outcome(result)
            return result
        finally:
            STEP_DURATION.labels(risk=req.risk, outcome=outcome, kind=kind).observe(time.perf_counter() - began)

    def _run(self, req: CommandRequest, kind: str) -> CommandResult:
        log.info("running %s %s on %s: %s", kind, req.step_id, req.target, req.command.display,
                 extra={"execution_id": req.execution_id, "step_id": req.step_id})
        if req.target == "local":
            result = run_local(req.command, req.timeout_seconds, self.settings.max_output_bytes, activity.heartbeat)
        elif req.target.startswith("ssh://"):
            try:
                target = parse_ssh_target(req.target)
            except ValueError as exc:
                raise ApplicationError(str(exc), type="CommandError", non_retryable=True) from None
            result = run_ssh(target, req.command, req.timeout_seconds,
                             known_hosts=os.path.expanduser(self.settings.ssh_known_hosts),
                             key_file=self.settings.ssh_key_file, default_user=self.settings.ssh_user,
                             max_output=self.settings.max_output_bytes, heartbeat=activity.heartbeat)
        else:
            raise ApplicationError(f"unknown target {req.target!r}", type="CommandError", non_retryable=True)
        log.info("%s %s exited %s in %.2fs", kind, req.step_id, result.exit_code, result.duration_seconds,
                 extra={"execution_id": req.execution_id, "step_id": req.step_id})
        return result


def _outcome(result: CommandResult) -> str:
    if result.ok:
        return "ok"
    if result.timed_out:
        return "timeout"
    if result.error is not None:
        return "error"  # could not be started at all
    return "failed"  # ran and exited non-zero
