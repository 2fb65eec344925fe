"""A step's course beyond "run it once": its `If:` and breakpoint, retries, verification, the wait
for the alert to resolve, and the wait for an agent. Part of RunbookExecution (a mixin, so that the
execution's own module stays about walking the steps); deterministic workflow code like it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType

with workflow.unsafe.imports_passed_through():
    from runbooks.conditions import Condition, ConditionContext, StepOutcome
    from runbooks.contract import (
        BREAKPOINT_WAIT, Activity, CommandRequest, CommandResult, EventKind, ExecutionInput,
        ExecutionState, ExecutionStatus, PlannedStep, ResumeRequest, StepState, StepStatus,
    )
    from runbooks.model import EscalationAction, Risk
    from runbooks.targets import AgentTarget, TargetError, parse_target

RECORD_TIMEOUT = timedelta(seconds=30)
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=10)


def command_retry(step: PlannedStep) -> RetryPolicy:
    """A command that ran and failed is never retried; only a read-only step survives a lost worker."""
    return RetryPolicy(maximum_attempts=3 if step.risk is Risk.green else 1,
                       non_retryable_error_types=["CommandError"])


def shown_output(result: CommandResult) -> str:
    """The output a person reads: what the command printed, and why it did not finish if it didn't."""
    notes = [f"[{result.error}]"] if result.error else []
    if result.timed_out:
        notes.append(f"[timed out after {result.duration_seconds:.0f}s and was killed]")
    return "\n".join([result.output, *notes]) if notes else result.output


def agent_of(target: str) -> AgentTarget | None:
    """The agent a rendered target names, if it names one (a bad spec fails in the activity, as before)."""
    try:
        parsed = parse_target(target)
    except TargetError:
        return None
    return parsed if isinstance(parsed, AgentTarget) else None


def lost_result(exc: ActivityError) -> CommandResult:
    """An activity that failed as infrastructure (a lost worker or agent), as the step's result."""
    cause = exc.cause.message if exc.cause is not None and hasattr(exc.cause, "message") else str(exc)
    return CommandResult(exit_code=None, error=f"activity failed, not retried to avoid a second run: {cause}")


def failure_of(result: CommandResult) -> str:
    if result.error:
        return result.error
    if result.timed_out:
        return f"timed out after {result.duration_seconds:.0f}s"
    return f"exit code {result.exit_code}"


class StepCourse:
    """The parts of RunbookExecution that decide a step's course; the rest of it provides these."""

    _inp: ExecutionInput | None
    _state: ExecutionState | None
    _breakpoints: set[str]
    _resumes: dict[str, ResumeRequest]

    async def _before(self, step: PlannedStep, st: StepState) -> bool:
        """A step's `If:` and breakpoint: False when it is skipped (the condition does not hold, or a
        person stepped over it). The condition is read first: a step that would not run never pauses."""
        if step.flow.when and not Condition(step.flow.when).evaluate(self._condition_context()):
            st.status, st.output = StepStatus.skipped, f"skipped: If: {step.flow.when} did not hold"
            await self._save()
            return False
        if not (step.flow.breakpoint or step.id in self._breakpoints):
            return True
        st.waiting_for, st.waiting_since = BREAKPOINT_WAIT, workflow.now()
        if step.flow.choice:  # a prose condition: the person says whether it holds
            st.output = f"a choice: does this hold? “{step.flow.choice}”. Resume runs the step, step over skips it."
        await self._save()
        await self._notify(EventKind.paused, f"paused before step '{step.title}' ({step.risk.value}): "
                                             "resume or step over", step.id)
        await workflow.wait_condition(lambda: step.id in self._resumes)
        req = self._resumes[step.id]
        st.waiting_for, st.waiting_since = None, None
        verdict = "stepped over" if req.step_over else "resumed"
        await self._event(EventKind.decided, f"{req.actor} {verdict} step '{step.title}' at its breakpoint")
        if req.step_over:
            st.status, st.output = StepStatus.skipped, f"stepped over at a breakpoint by {req.actor}"
        await self._save()
        return not req.step_over

    def _condition_context(self) -> ConditionContext:
        """What an `If:` reads: every step as it stands (by id and by position), the alert, the params."""
        assert self._inp is not None and self._state is not None
        steps: dict[str, StepOutcome] = {}
        for s in self._state.steps:
            steps[s.id] = steps[str(s.position)] = StepOutcome(exit_code=s.exit_code, output=s.output,
                                                                status=s.status.value)
        alert = self._inp.alert
        return ConditionContext(steps=steps, labels=dict(alert.labels) if alert else {},
                                annotations=dict(alert.annotations) if alert else {}, params=dict(self._inp.params))

    async def _retry(self, step: PlannedStep, st: StepState, result: CommandResult) -> CommandResult:
        """`Retries: N every D`: run a failed idempotent step again, waiting D, 2D, 4D... in between."""
        tries = step.flow.retries + 1
        while not result.ok and st.attempts < tries:
            delay = step.flow.retry_backoff_seconds * 2 ** (st.attempts - 1)
            st.exit_code, st.output = result.exit_code, (
                f"{shown_output(result)}\n[attempt {st.attempts} of {tries} failed: {failure_of(result)}; again in {delay:g}s]")
            await self._save()
            await workflow.sleep(timedelta(seconds=delay), summary=f"retry '{step.title}' in {delay:g}s")
            result = await self._command(step, step.command, rollback=False)
            st.attempts += 1
        return result

    async def _verify(self, step: PlannedStep, st: StepState, result: CommandResult) -> CommandResult:
        """`Verify: within D every E`: check again every E seconds until it passes or D has gone by."""
        within, every = step.flow.verify_within or 0.0, step.flow.verify_every
        started = st.started_at or workflow.now()
        while not result.ok:
            if (workflow.now() - started).total_seconds() + every > within:
                return result.model_copy(update={"error": f"not verified within {within:g}s: {failure_of(result)}"})
            st.output = f"{shown_output(result)}\n[check {st.attempts}: not yet; again in {every:g}s]"
            await self._save()
            await workflow.sleep(timedelta(seconds=every), summary=f"check '{step.title}' again in {every:g}s")
            result = await self._command(step, step.command, rollback=False)
            st.attempts += 1
        return result

    async def _until_resolved(self, step: PlannedStep, st: StepState) -> tuple[ExecutionStatus, str] | None:
        """`Verify: alert resolved within D`: the step succeeds when the alert resolves, fails after D."""
        assert self._inp is not None and self._state is not None
        if self._inp.alert is None:
            st.status, st.output = StepStatus.skipped, "skipped: started by hand, there is no alert to wait for"
            return None
        within = step.flow.verify_within or 0.0
        st.status, st.started_at, st.waiting_for = StepStatus.running, workflow.now(), "the alert to resolve"
        await self._save()
        try:
            await workflow.wait_condition(lambda: self._state is not None and self._state.resolved_at is not None,
                                          timeout=within, timeout_summary=f"the alert resolves within {within:g}s")
        except asyncio.TimeoutError:
            st.status, st.waiting_for, st.finished_at = StepStatus.failed, None, workflow.now()
            st.output = f"the alert was still firing after {within:g}s"
            return ExecutionStatus.failed, f"step '{step.title}' failed: the alert did not resolve within {within:g}s"
        st.status, st.waiting_for, st.finished_at = StepStatus.succeeded, None, workflow.now()
        st.output = f"the alert resolved at {self._state.resolved_at:%Y-%m-%d %H:%M:%S} UTC"
        await self._save()
        return None

    async def _on_agent(self, step: PlannedStep, req: CommandRequest, agent: AgentTarget) -> CommandResult:
        """Send the command to the agent's queue; while nobody takes it, say so and escalate like an approval.

        Each wait is a schedule-to-start timeout: the first after `agent_offline_after_seconds` marks
        the step as waiting for the agent, the next ones follow the runbook's escalation chain
        (counted from when the step was sent), and a `reject` level fails the step.
        """
        assert self._inp is not None and self._state is not None
        st = self._state.step(step.id)
        assert st is not None
        sent, offline = workflow.now(), f"agent {agent.name} is offline"
        levels = list(self._inp.escalation)
        deadline: float | None = min([self._inp.agent_offline_after_seconds, *(lv.after_seconds for lv in levels[:1])])
        while True:
            elapsed = (workflow.now() - sent).total_seconds()
            try:
                result = await self._schedule(step, req, agent.task_queue,
                                              None if deadline is None else max(deadline - elapsed, 1.0))
            except ActivityError as exc:
                if not (isinstance(exc.cause, TimeoutError) and exc.cause.type is TimeoutType.SCHEDULE_TO_START):
                    return lost_result(exc)
                if st.waiting_for is None:
                    st.waiting_for = offline
                    await self._save()
                    await self._notify(EventKind.escalation, f"step '{step.title}' waits: {offline}", step.id)
                elapsed = (workflow.now() - sent).total_seconds()
                while levels and levels[0].after_seconds <= elapsed + 0.5:
                    level = levels.pop(0)
                    if level.action is EscalationAction.reject:
                        st.waiting_for = None
                        return CommandResult(exit_code=None, error=f"{offline}: nobody took the step within "
                                                                   f"{level.after_seconds:g}s")
                    st.escalations += 1
                    notice = self._notice(step, level.target, st.escalations, offline)
                    await workflow.execute_activity(
                        Activity.ESCALATE, notice, start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RECORD_RETRY,
                        summary=f"escalate '{step.title}' to {level.target or 'on-call'}: {offline}")
                    await self._notify(EventKind.escalation, notice.message, step.id, level.target)
                deadline = levels[0].after_seconds if levels else None
                continue
            if st.waiting_for is not None:
                st.waiting_for = None
                await self._save()
            return result
