"""RunbookExecution: walks a pinned runbook version step by step.

Deterministic orchestration only: activities run commands and write records. Safe steps run,
risky steps wait for an approval signal while an escalation timer chain runs, and a failure,
rejection or cancellation runs the compensation stack newest-first in a shielded scope.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from runbooks.conditions import ConditionError
    from runbooks.contract import (
        BREAKPOINT_WAIT, TIMER_ACTOR, WORKFLOW, Activity, BreakpointRequest, CommandRequest, CommandResult, Decision,
        EventKind, ExecutionEvent, ExecutionInput, ExecutionState, ExecutionStatus, GateAnswer, GateRelease,
        GateRequest, PlannedStep, Query, RenderRequest, ResolvedNotice, ResumeRequest, Signal, StepState, StepStatus,
        Update, gate_id,
    )
    from runbooks.masking import mask
    from runbooks.model import EscalationAction, Mode, Risk
    from runbooks.policy import RefusalKind, StepAction, StepFacts, decision_refusal, step_action
    from runbooks.rendering.planning import build_context, with_values
    from workflows import search_attributes as sa

from workflows.step_course import (  # workflow code too: imported in the sandbox, not passed through
    RECORD_RETRY, RECORD_TIMEOUT, StepCourse, agent_of, command_retry, failure_of, lost_result, shown_output,
)

NOTIFY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)  # chat must not stall steps
# Decisions the shared rule refuses for who decides (a red step approved by its starter) or for what
# is missing (values), which doors never send but a signal sent straight to Temporal could: ignored
# from this change on; executions started before it replay as they ran.
DECISION_RULES_PATCH = "decision-rules-in-workflow"
# Fire drills: a step that would run is rehearsed (shown, not executed) or sent to the drill's
# sandbox target. Only drills take the branch; executions before it replay as they ran.
DRILL_PATCH = "fire-drills"
# Agent targets: a step (and its rollback) whose target is `agent:<name>` goes to task queue
# `agent-<name>`; nobody polling it makes the step wait and escalate instead of failing.
AGENT_PATCH = "agent-targets"
# A step's course (runbooks/authoring/flow.py): `If:` skips it, `Retries:` runs it again, `On failure:
# continue` goes on, a breakpoint (in the runbook or set on the running execution) pauses before it.
# Only steps that have one take the branch; executions before it replay as they ran.
FLOW_PATCH = "step-flow"
# Rate control: an execution of a runbook with `concurrency:` waits for a slot from the runbook's gate
# (workflows/runbook_gate.py) before its first step, and gives it back when it ends.
RATE_PATCH = "rate-control"
# Green steps on the worker's host run as local activities: no task queue round trip per step (a
# read-only step may run again after a lost worker, as before).
FAST_PATCH = "fast-green-steps"
# Earned trust (runbooks/earned_trust.py): a yellow step with `Runs by itself: yes` runs unasked in
# copilot (the launcher plans a demoted one without it).
TRUST_PATCH = "earned-trust"
# Verify steps: `Verify: within D every E` checks again until it passes (else the step fails and what
# ran rolls back); `Verify: alert resolved within D` waits for the alert's own resolution.
VERIFY_PATCH = "verify-steps"


@workflow.defn(name=WORKFLOW)
class RunbookExecution(StepCourse):
    @workflow.init
    def __init__(self, inp: ExecutionInput) -> None:
        """The state exists before `run`: a signal or update that arrives with the start finds its steps."""
        self._inp: ExecutionInput | None = inp
        self._state: ExecutionState | None = ExecutionState(
            execution_id=inp.execution_id, runbook_id=inp.runbook_id, runbook_version=inp.runbook_version,
            mode=inp.mode, started_at=workflow.now(), started_by=inp.started_by, params=inp.params,
            alertname=inp.alert.alertname if inp.alert else None,
            alert_fingerprint=inp.alert.fingerprint if inp.alert else None, drill=inp.drill,
            steps=[StepState(id=s.id, title=s.title, position=s.position, risk=s.risk, risk_reason=s.risk_reason,
                             target=s.target, command=mask(s.command.display) if s.command else s.instructions,
                             rollback_command=mask(s.rollback.display) if s.rollback else None, needs=s.needs)
                   for s in inp.steps])
        self._decisions: dict[str, Decision] = {}
        self._compensations: list[PlannedStep] = []
        self._breakpoints: set[str] = set()  # set on the running execution (Update.BREAKPOINT)
        self._resumes: dict[str, ResumeRequest] = {}
        self._went_on: list[str] = []  # steps that failed under `On failure: continue`
        self._gate_asked = False  # a slot was asked of the runbook's gate (`concurrency:`)
        self._rows_written = False  # the state was saved once: the steps' rows exist in the database
        self._gate: GateAnswer | None = None

    # -- signals and queries --------------------------------------------------------------------

    @workflow.signal(name=Signal.APPROVE)
    def approve(self, decision: Decision) -> None:
        self._decide(decision, approved=True)

    @workflow.signal(name=Signal.REJECT)
    def reject(self, decision: Decision) -> None:
        self._decide(decision, approved=False)

    def _decide(self, decision: Decision, approved: bool) -> None:
        """The doors' rule (runbooks.policy), held again here: a double click or a late answer is a no-op.

        Not tied to the step being awaited right now (`early`): after a worker crash the signal can
        be replayed before the workflow code reaches that wait again, and it must not be lost.
        """
        if self._state is None or self._inp is None:
            workflow.logger.info("ignored decision for %s", decision.step_id)
            return
        st = self._state.step(decision.step_id)
        facts = None if st is None else StepFacts(
            step_id=st.id, title=st.title, status=st.status.value, risk=st.risk, needs=st.needs,
            decided=st.id in self._decisions)
        refusal = decision_refusal(self._state.execution_id, facts, requested_id=decision.step_id, approved=approved,
                                   actor=decision.actor, started_by=self._inp.started_by, values=decision.values,
                                   early=True)
        if refusal is not None and (refusal.kind in (RefusalKind.not_found, RefusalKind.conflict)
                                    or workflow.patched(DECISION_RULES_PATCH)):
            workflow.logger.info("ignored decision for %s: %s", decision.step_id, refusal.reason)
            return
        self._decisions[decision.step_id] = decision.model_copy(
            update={"approved": approved, "decided_at": workflow.now()})

    @workflow.signal(name=Signal.GATE_ANSWER)
    def gate_answer(self, answer: GateAnswer) -> None:
        self._gate = answer

    @workflow.signal(name=Signal.ALERT_RESOLVED)
    async def alert_resolved(self, notice: ResolvedNotice) -> None:
        assert self._state is not None
        if self._state.resolved_at is None:
            self._state.resolved_at = notice.resolved_at or workflow.now()
            await self._event(EventKind.resolved, "the alert resolved")
            await self._save()

    @workflow.update(name=Update.BREAKPOINT)
    async def breakpoint(self, req: BreakpointRequest) -> str:
        (self._breakpoints.discard if req.clear else self._breakpoints.add)(req.step_id)
        await self._event(EventKind.decided, f"{req.actor} {'cleared the' if req.clear else 'set a'} breakpoint "
                                             f"before step '{self._title(req.step_id)}'")
        return "cleared" if req.clear else "set"

    @breakpoint.validator
    def _breakpoint_allowed(self, req: BreakpointRequest) -> None:
        st = self._state.step(req.step_id) if self._state is not None else None
        if st is None:
            raise ValueError(f"no step {req.step_id!r} in this execution")
        if self._state is not None and self._state.status.terminal:
            raise ValueError(f"the execution has ended ({self._state.status.value})")
        if st.status is not StepStatus.pending:
            raise ValueError(f"step '{st.title}' is {st.status.value}: a breakpoint goes before a step that has not "
                             "started")

    @workflow.update(name=Update.RESUME)
    async def resume(self, req: ResumeRequest) -> str:
        self._resumes[req.step_id] = req
        return "stepped over" if req.step_over else "resumed"

    @resume.validator
    def _resume_allowed(self, req: ResumeRequest) -> None:
        st = self._state.step(req.step_id) if self._state is not None else None
        if st is None:
            raise ValueError(f"no step {req.step_id!r} in this execution")
        if st.waiting_for != BREAKPOINT_WAIT or req.step_id in self._resumes:
            raise ValueError(f"step '{st.title}' is not paused at a breakpoint")

    def _title(self, step_id: str) -> str:
        st = self._state.step(step_id) if self._state is not None else None
        return st.title if st is not None else step_id

    @workflow.query(name=Query.PROGRESS)
    def progress(self) -> ExecutionState:
        assert self._state is not None
        return self._state

    # -- the run --------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: ExecutionInput) -> ExecutionState:
        try:
            outcome = await self._walk(inp)
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.ensure_future(self._compensate()))
            await asyncio.shield(asyncio.ensure_future(
                self._finish(ExecutionStatus.cancelled, "cancelled on request")))
            raise
        status, reason = outcome
        if status is not ExecutionStatus.succeeded and self._compensations:
            all_ok = await self._compensate()
            status = ExecutionStatus.rolled_back if all_ok else ExecutionStatus.failed
            reason += "; rolled back" if all_ok else "; ROLLBACK FAILED, see the steps"
        await self._finish(status, reason)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if status is not ExecutionStatus.succeeded:
            raise ApplicationError(reason, type="RunbookFailed", non_retryable=True)
        return self._state

    async def _walk(self, inp: ExecutionInput) -> tuple[ExecutionStatus, str]:
        assert self._state is not None
        broken = [s for s in inp.steps if s.render_error]
        if broken:
            return ExecutionStatus.failed, "; ".join(f"step '{s.title}': {s.render_error}" for s in broken)
        if inp.concurrency and not inp.drill and workflow.patched(RATE_PATCH):
            refused = await self._enter_gate(inp, inp.concurrency)
            if refused:
                return ExecutionStatus.cancelled, refused
        drill = inp.drill and workflow.patched(DRILL_PATCH)
        await self._notify(EventKind.started, f"{'DRILL: ' if drill else ''}{inp.runbook_title} started "
                                              f"({inp.mode.value}) by {inp.started_by}")
        steps, i = list(inp.steps), 0
        while i < len(steps):
            group = steps[i].flow.parallel
            if group and workflow.patched(FLOW_PATCH):
                end = i
                while end < len(steps) and steps[end].flow.parallel == group:
                    end += 1
                stop, i = await self._group(steps[i:end], drill), end
            else:
                stop, i = await self._one(steps[i], drill), i + 1
            if stop is not None:
                return stop
        done = ("dry run: nothing was executed" if inp.mode is Mode.dry_run
                else "drill: every step was rehearsed, nothing was executed" if drill and inp.drill_target is None
                else "all steps succeeded")
        if self._went_on:
            done = f"finished; failed and went on (On failure: continue): {', '.join(self._went_on)}"
        return ExecutionStatus.succeeded, done

    async def _enter_gate(self, inp: ExecutionInput, concurrency: int) -> str | None:
        """Wait, visibly queued, for a slot of the runbook's `concurrency:`; the reason when none is given."""
        assert self._state is not None
        self._state.status = ExecutionStatus.queued
        self._state.reason = f"queued: waits for a free slot (concurrency: {concurrency})"
        await self._save()
        self._gate_asked = True
        await workflow.execute_activity(
            Activity.ENTER_GATE, GateRequest(runbook_id=inp.runbook_id, execution_id=inp.execution_id,
                                             concurrency=concurrency, max_errors=inp.max_errors),
            start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RECORD_RETRY, summary="ask for a slot")
        await workflow.wait_condition(lambda: self._gate is not None)
        assert self._gate is not None
        self._state.status, self._state.reason = ExecutionStatus.running, ""
        if not self._gate.granted:
            return self._gate.reason
        await self._save()
        return None

    async def _leave_gate(self, status: ExecutionStatus) -> None:
        """Give the slot back (or the place in the queue): a failure counts towards `max_errors:`."""
        assert self._inp is not None
        failed = self._gate is not None and self._gate.granted and status in (
            ExecutionStatus.failed, ExecutionStatus.rolled_back)
        try:
            await workflow.get_external_workflow_handle(gate_id(self._inp.runbook_id)).signal(
                Signal.GATE_LEAVE, GateRelease(execution_id=self._inp.execution_id, failed=failed))
        except FailureError as exc:  # no gate (it ended): nothing holds a slot for this execution
            workflow.logger.info("could not leave the gate: %s", exc)

    async def _one(self, step: PlannedStep, drill: bool, running: set[str] | None = None
                   ) -> tuple[ExecutionStatus, str] | None:
        """One step from its condition to its result: None to go on, else how the execution ends.

        `running`: in a parallel group, the ids of the members whose command runs right now (a
        failing member never cancels those: a command is not killed halfway).
        """
        assert self._inp is not None and self._state is not None
        inp = self._inp
        st = self._state.step(step.id)
        assert st is not None
        action = step_action(inp.mode, step.risk, step.manual or bool(step.needs))
        if action is StepAction.report:
            st.status = StepStatus.dry_run
            return None
        if step.flow.verify_alert and workflow.patched(VERIFY_PATCH):
            return await self._until_resolved(step, st)
        if (action is StepAction.ask and step.flow.auto and step.risk is Risk.yellow and not step.manual
                and not step.needs and workflow.patched(TRUST_PATCH)):
            action = StepAction.run
        if (step.flow.when or step.flow.breakpoint or step.id in self._breakpoints) and workflow.patched(FLOW_PATCH):
            try:
                go = await self._before(step, st)
            except ConditionError as exc:
                return ExecutionStatus.failed, f"step '{step.title}': If: {exc}"
            if not go:
                return None
        if action is StepAction.ask:
            decision = await self._wait_for_decision(step, st)
            if not decision.approved:
                st.status = StepStatus.rejected
                why = f": {decision.comment}" if decision.comment else ""
                return ExecutionStatus.failed, f"step '{step.title}' rejected by {decision.actor}{why}"
            if step.needs:
                step = await self._render_with(step, st, decision.values)
                if step.needs or step.render_error:
                    st.status = StepStatus.failed
                    problem = step.render_error or f"still missing {', '.join(step.needs)}"
                    return ExecutionStatus.failed, f"step '{step.title}': {problem}"
        if step.manual:
            st.status, st.finished_at = StepStatus.succeeded, workflow.now()
            return None
        if drill:
            if inp.drill_target is None or step.target == "http":  # rehearsed: the decision was the drill
                # (a request is never sent to a shell sandbox)
                st.status, st.finished_at = StepStatus.dry_run, workflow.now()
                return None
            step, st.target = step.model_copy(update={"target": inp.drill_target}), inp.drill_target
        if step.rollback is not None:
            self._compensations.append(step)  # pushed first: a half-done step is undone too
        if running is not None:
            running.add(step.id)
        result = await self._run_step(step, st)
        if running is not None:
            running.discard(step.id)
        if not result.ok:
            if step.flow.on_failure == "continue" and workflow.patched(FLOW_PATCH):
                self._went_on.append(step.title)
                return None
            return ExecutionStatus.failed, f"step '{step.title}' failed: {failure_of(result)}"
        return None

    async def _group(self, members: list[PlannedStep], drill: bool) -> tuple[ExecutionStatus, str] | None:
        """`Parallel:` steps at once. Fail fast (default): the first failure stops the members that have
        not started their command (they are skipped); wait all: every member runs to its end. Either
        way a failure ends the execution once the group is done, and what ran is rolled back."""
        fail_fast = members[0].flow.parallel_mode == "fail_fast"
        running: set[str] = set()
        tasks: dict[str, asyncio.Task] = {}
        stopped: list[str] = []

        async def member(step: PlannedStep) -> tuple[ExecutionStatus, str] | None:
            try:
                outcome = await self._one(step, drill, running)
            except asyncio.CancelledError:
                if not stopped:  # the execution itself is being cancelled
                    raise
                st = self._state.step(step.id) if self._state else None
                if st is not None:
                    st.status, st.waiting_for, st.output = StepStatus.skipped, None, f"not run: {stopped[0]}"
                return None
            if outcome is not None and fail_fast and not stopped:
                stopped.append(outcome[1])
                for other, task in tasks.items():
                    if other != step.id and other not in running and not task.done():
                        task.cancel()
            return outcome

        for step in members:
            tasks[step.id] = asyncio.create_task(member(step))
        outcomes = [o for o in await asyncio.gather(*tasks.values()) if o is not None]
        await self._save()
        if not outcomes:
            return None
        return outcomes[0][0], "; ".join(reason for _, reason in outcomes)

    async def _render_with(self, step: PlannedStep, st: StepState, values: dict[str, str]) -> PlannedStep:
        """Render a step again with the values a person supplied when approving it."""
        assert self._inp is not None
        alert = self._inp.alert
        context = build_context(alert.labels if alert else {}, alert.annotations if alert else {}, self._inp.params)
        rendered = await workflow.execute_local_activity(
            Activity.RENDER_STEP, RenderRequest(step=step, context=with_values(context, values)), result_type=PlannedStep,
            start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RECORD_RETRY)
        st.target = rendered.target
        st.command = mask(rendered.command.display) if rendered.command else st.command
        st.rollback_command = mask(rendered.rollback.display) if rendered.rollback else st.rollback_command
        return rendered

    async def _wait_for_decision(self, step: PlannedStep, st: StepState) -> Decision:
        """Wait for a person, escalating along the runbook's timer chain while nobody answers."""
        assert self._inp is not None and self._state is not None
        st.status, self._state.status = StepStatus.waiting_approval, ExecutionStatus.waiting_approval
        st.waiting_since = workflow.now()
        await self._save()
        await self._notify(EventKind.approval_requested, f"step '{step.title}' ({step.risk.value}) waits for approval",
                           step.id)
        started = workflow.now()
        for level in self._inp.escalation:
            elapsed = (workflow.now() - started).total_seconds()
            try:
                await workflow.wait_condition(
                    lambda: step.id in self._decisions, timeout=max(level.after_seconds - elapsed, 0.001),
                    timeout_summary=f"escalate '{step.title}' after {level.after_seconds:g}s: {level.action.value}")
                break
            except asyncio.TimeoutError:
                if level.action is EscalationAction.reject:
                    self._decisions[step.id] = Decision(
                        step_id=step.id, approved=False, actor=TIMER_ACTOR, decided_at=workflow.now(),
                        comment=f"no decision within {level.after_seconds:g}s")
                    break
                st.escalations += 1
                notice = self._notice(step, level.target, st.escalations)
                await workflow.execute_activity(
                    Activity.ESCALATE, notice, start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RECORD_RETRY,
                    summary=f"escalate '{step.title}' to {level.target or 'on-call'}")
                await self._notify(EventKind.escalation, notice.message, step.id, level.target)
        await workflow.wait_condition(lambda: step.id in self._decisions)
        decision = self._decisions[step.id]
        st.decision = decision
        waiting = any(s.status is StepStatus.waiting_approval and s.id != step.id for s in self._state.steps)
        self._state.status = ExecutionStatus.waiting_approval if waiting else ExecutionStatus.running
        await self._save()
        verdict = "approved" if decision.approved else "rejected"
        await self._notify(EventKind.decided, f"step '{step.title}' {verdict} by {decision.actor}", step.id)
        return decision

    def _notice(self, step: PlannedStep, target: str | None, count: int, why: str = "") -> ExecutionEvent:
        assert self._inp is not None
        waits = f"waits: {why}" if why else "still waits for approval"
        return ExecutionEvent(
            execution_id=self._inp.execution_id, kind=EventKind.escalation, step_id=step.id, target=target,
            at=workflow.now(), message=f"escalation {count}: step '{step.title}' ({step.risk.value}) {waits}")

    def _fast(self, step: PlannedStep) -> bool:
        """A green step on the worker's host: a local activity, and no save before it (it marks its row)."""
        return step.risk is Risk.green and step.target == "local" and workflow.patched(FAST_PATCH)

    async def _run_step(self, step: PlannedStep, st: StepState) -> CommandResult:
        st.status, st.started_at = StepStatus.running, workflow.now()
        if not self._fast(step) or not self._rows_written:  # a fast step marks its own row, once it exists
            await self._save()
        result = await self._command(step, step.command, rollback=False)
        st.attempts = 1
        if step.flow.retries and not result.ok and workflow.patched(FLOW_PATCH):
            result = await self._retry(step, st, result)
        if step.flow.verify_within and not result.ok and workflow.patched(VERIFY_PATCH):
            result = await self._verify(step, st, result)
        st.exit_code, st.output, st.finished_at = result.exit_code, shown_output(result), workflow.now()
        st.status = StepStatus.succeeded if result.ok else StepStatus.failed
        await self._save()
        await self._notify(EventKind.step_finished, f"step '{step.title}' {st.status.value}"
                           + ("" if result.ok else f": {failure_of(result)}"), step.id)
        return result

    async def _command(self, step: PlannedStep, command, rollback: bool) -> CommandResult:
        assert self._inp is not None and command is not None
        req = CommandRequest(execution_id=self._inp.execution_id, step_id=step.id, target=step.target,
                             command=command, timeout_seconds=step.timeout_seconds, rollback=rollback,
                             drill=self._inp.drill, risk=step.risk.value, expect=step.expect)
        agent = agent_of(step.target)
        if agent is not None and workflow.patched(AGENT_PATCH):
            return await self._on_agent(step, req, agent)
        if not rollback and self._fast(step):
            try:
                return await workflow.execute_local_activity(
                    Activity.RUN_COMMAND, req.model_copy(update={"mark_running": True}), result_type=CommandResult,
                    retry_policy=command_retry(step),
                    start_to_close_timeout=timedelta(seconds=step.timeout_seconds + 30),
                    summary=f"{step.position}. {step.title}")
            except ActivityError as exc:
                return lost_result(exc)
        try:
            return await self._schedule(step, req)
        except ActivityError as exc:
            return lost_result(exc)

    async def _schedule(self, step: PlannedStep, req: CommandRequest, task_queue: str | None = None,
                        offline_after: float | None = None) -> CommandResult:
        return await workflow.execute_activity(
            Activity.RUN_COMMAND, req, result_type=CommandResult, task_queue=task_queue,
            schedule_to_start_timeout=None if offline_after is None else timedelta(seconds=offline_after),
            start_to_close_timeout=timedelta(seconds=step.timeout_seconds + 30),
            heartbeat_timeout=timedelta(seconds=self._inp.heartbeat_timeout_seconds if self._inp else 30),
            retry_policy=RetryPolicy(maximum_attempts=3) if req.rollback else command_retry(step),
            summary=f"{'rollback of ' if req.rollback else ''}{step.position}. {step.title}")

    async def _compensate(self) -> bool:
        """Undo what was done, newest first; keep going if one rollback fails, and report it."""
        assert self._state is not None
        all_ok = True
        while self._compensations:
            step = self._compensations.pop()
            st = self._state.step(step.id)
            assert st is not None
            st.rollback_status = StepStatus.running
            await self._save()
            result = await self._command(step, step.rollback, rollback=True)
            st.rollback_exit_code, st.rollback_output = result.exit_code, shown_output(result)
            st.rollback_status = StepStatus.succeeded if result.ok else StepStatus.failed
            all_ok = all_ok and result.ok
        await self._save()
        return all_ok

    async def _finish(self, status: ExecutionStatus, reason: str) -> None:
        assert self._state is not None
        for st in self._state.steps:
            if st.status in (StepStatus.pending, StepStatus.waiting_approval):
                st.status = StepStatus.skipped
        self._state.status, self._state.reason, self._state.finished_at = status, reason, workflow.now()
        await self._save()
        if self._gate_asked:
            await self._leave_gate(status)
        await self._event(EventKind.finished, f"{status.value}: {reason}")
        await self._notify(EventKind.finished, f"{status.value}: {reason}")

    async def _save(self) -> None:
        assert self._state is not None
        status = self._state.status.value
        registered = workflow.info().typed_search_attributes.get(sa.RUNBOOK_ID)  # set by the starter: registered
        if registered and workflow.info().typed_search_attributes.get(sa.EXECUTION_STATUS) != status:
            workflow.upsert_search_attributes([sa.EXECUTION_STATUS.value_set(status)])  # visibility writes: on change
        await workflow.execute_local_activity(
            Activity.SAVE_STATE, self._state, start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RECORD_RETRY)
        self._rows_written = True

    async def _notify(self, kind: EventKind, message: str, step_id: str | None = None, target: str | None = None) -> None:
        """Tell people in chat; a chat outage never changes the execution's course."""
        assert self._inp is not None
        if not self._inp.notify:
            return
        event = ExecutionEvent(execution_id=self._inp.execution_id, kind=kind, message=message, step_id=step_id,
                               target=target, at=workflow.now())
        try:
            await workflow.execute_activity(Activity.NOTIFY, event, start_to_close_timeout=timedelta(seconds=15),
                                            retry_policy=NOTIFY_RETRY, summary=f"notify: {kind.value}")
        except ActivityError as exc:
            workflow.logger.warning("could not notify %s: %s", kind.value, exc)

    async def _event(self, kind: EventKind, message: str) -> None:
        assert self._inp is not None
        await workflow.execute_local_activity(
            Activity.RECORD_EVENT, ExecutionEvent(execution_id=self._inp.execution_id, kind=kind, message=message,
                                           at=workflow.now()),
            start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RECORD_RETRY)
