"""The run_command activity: run a rendered step (or rollback) command on its target.

The target's kind picks the executor (activities/targets/). A command that ran and exited non-zero
is a *result*, not an exception, so Temporal never retries it; only infrastructure failures (a lost
worker) surface as errors, and the workflow's retry policy decides whether those may be retried
(read-only steps) or not.
"""

from __future__ import annotations

import logging
import time

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.targets import EXECUTORS
from runbooks.contract import Activity, CommandRequest, CommandResult
from runbooks.masking import mask
from runbooks.settings import Settings
from runbooks.targets import TargetError, parse_target
from runbooks.telemetry.metrics import STEP_DURATION

log = logging.getLogger("runbooks.activities")


class CommandActivities:
    def __init__(self, settings: Settings):
        self.executors = {kind: make(settings) for kind, make in EXECUTORS.items()}

    @activity.defn(name=Activity.RUN_COMMAND)
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
        log.info("running %s %s on %s: %s", kind, req.step_id, req.target, mask(req.command.display),
                 extra={"execution_id": req.execution_id, "step_id": req.step_id})
        try:
            target = parse_target(req.target)  # the rules the runbook was loaded with, on the rendered spec
        except TargetError as exc:
            raise ApplicationError(str(exc), type="CommandError", non_retryable=True) from None
        executor = self.executors.get(target.kind)
        if executor is None:
            raise ApplicationError(f"no executor for target {req.target!r} (kind {target.kind}) on this worker",
                                   type="CommandError", non_retryable=True)
        result = executor.run(target, req.command, req.timeout_seconds, activity.heartbeat)
        # Masked before it leaves the worker: the result goes into Temporal's history, the database and chat.
        result = result.model_copy(update={"output": mask(result.output), "error": mask(result.error)})
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
