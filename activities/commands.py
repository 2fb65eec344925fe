"""The run_command activity: run a rendered step (or rollback) command on its target.

The target's kind picks the executor (activities/targets/). A command that ran and exited non-zero
is a *result*, not an exception, so Temporal never retries it; only infrastructure failures (a lost
worker) surface as errors, and the workflow's retry policy decides whether those may be retried
(read-only steps) or not.

While a step runs, its output so far is written to the step's row (masked, like the final output)
so that people can watch it; that is best effort and never changes the step's course.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from collections.abc import Callable
from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.targets import EXECUTORS, Executor
from activities.targets.agent import AgentExecutor
from runbooks.contract import Activity, AgentOutput, CommandRequest, CommandResult
from runbooks.masking import mask
from runbooks.settings import Settings
from runbooks.targets import TargetError, parse_target
from runbooks.telemetry.metrics import STEP_DURATION

if TYPE_CHECKING:  # an agent has no database: it never imports the storage layer
    from runbooks.storage.store import Store

log = logging.getLogger("runbooks.activities")


class CommandActivities:
    def __init__(self, settings: Settings, store: Store | None = None, agent: str | None = None):
        """`store`: where a running step's output so far goes; without one, only the final output is kept.

        `agent`: this process is `runbooks agent --name <agent>`: it runs that agent's steps and
        nothing else (no local step of the main worker's host, no SSH from inside the network).
        """
        self.executors: dict[str, Executor] = (
            {"agent": AgentExecutor(settings, agent)} if agent is not None
            else {kind: make(settings) for kind, make in EXECUTORS.items()})
        self.store = store

    @activity.defn(name=Activity.RUN_COMMAND)
    def run_command(self, req: CommandRequest) -> CommandResult:
        kind = "rollback" if req.rollback else "step"
        began, outcome = time.perf_counter(), "error"  # an exception (bad target, lost SSH) is an error
        try:
            result = self._run(req, kind)
            outcome = _outcome(result)
            return result
        finally:
            if not req.drill:  # a drill on a sandbox is a rehearsal, not the fleet's figures
                STEP_DURATION.labels(risk=req.risk, outcome=outcome, kind=kind).observe(
                    time.perf_counter() - began)

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
        if self.store is not None and req.mark_running and not req.rollback:
            try:
                self.store.mark_step_running(req.execution_id, req.step_id, datetime.now(timezone.utc))
            except Exception:  # the step runs anyway; the workflow saves how it ended
                log.warning("could not mark the step running", exc_info=True,
                            extra={"execution_id": req.execution_id, "step_id": req.step_id})
        live = _LiveOutput(self.store, req) if self.store is not None and not req.rollback else None
        # An HTTP step's `Expect:` judges its response; a rollback request is judged by its status (2xx).
        expect = {"expect": list(req.expect)} if target.kind == "http" and not req.rollback else {}
        beat: Callable[[], None] = activity.heartbeat
        if activity.info().is_local:  # a fast green step has no heartbeat: the workflow task is its lease
            beat = lambda: None  # noqa: E731
        elif live is None and not req.rollback:  # an agent (no database): the heartbeat carries the output
            live = beat = _HeartbeatOutput(req.step_id)
        try:
            result = executor.run(target, req.command, req.timeout_seconds, beat, progress=live,
                                  **expect)
        finally:
            if live is not None:
                live.close()
        # Masked before it leaves the worker: the result goes into Temporal's history, the database and chat.
        result = result.model_copy(update={"output": mask(result.output), "error": mask(result.error)})
        log.info("%s %s exited %s in %.2fs", kind, req.step_id, result.exit_code, result.duration_seconds,
                 extra={"execution_id": req.execution_id, "step_id": req.step_id})
        return result


class _HeartbeatOutput:
    """An agent's step output so far, in its heartbeats: an agent has no database, and Temporal keeps
    the newest heartbeat of a running activity, which the API reads back (services/agents.py).

    Both the executor's heartbeat and its progress reports go through here, so a bare heartbeat never
    replaces the output with nothing. The text is masked before it leaves the agent, cut to its tail.
    """

    TAIL = 16 * 1024

    def __init__(self, step_id: str) -> None:
        self.step_id, self.text = step_id, ""

    def __call__(self, text: str | None = None) -> None:
        if text is not None:
            self.text = mask(text[-self.TAIL:]) or ""
        activity.heartbeat(AgentOutput(step_id=self.step_id, output=self.text))

    def close(self) -> None:
        pass


class _LiveOutput:
    """The `progress` callback of one step: keeps the newest output and writes it from its own thread.

    The executor's loop (heartbeats, the timeout) never waits on the database: a slow or locked
    database (SQLite waits up to 30 s, as long as the heartbeat timeout) only skips intermediate
    texts, and a failed write is logged, never raised. Rollbacks are not shown live (their row is
    not `running`).
    """

    def __init__(self, store: Store, req: CommandRequest) -> None:
        self._store, self._execution_id, self._step_id = store, req.execution_id, req.step_id
        self._where = {"execution_id": req.execution_id, "step_id": req.step_id}
        self._cond = threading.Condition()
        self._pending: str | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def __call__(self, text: str) -> None:
        with self._cond:
            if self._closed:
                return
            self._pending = text
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="live-output", daemon=True)
                self._thread.start()
            self._cond.notify()

    def close(self) -> None:
        """Drop what was not written yet: the final output is the workflow's to save."""
        with self._cond:
            self._closed, self._pending = True, None
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                text, self._pending = self._pending, None
            try:
                self._store.save_partial_output(self._execution_id, self._step_id, mask(text) or "")
            except Exception:  # the step goes on; its final output is saved by the workflow
                log.warning("could not save the output so far", exc_info=True, extra=self._where)


def _outcome(result: CommandResult) -> str:
    if result.ok:
        return "ok"
    if result.timed_out:
        return "timeout"
    if result.error is not None:
        return "error"  # could not be started at all
    return "failed"  # ran and exited non-zero
