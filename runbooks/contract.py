"""The contract between the services, the workflow and the activities: what an execution is made of.

Everything here is plain data so that it can cross the Temporal boundary and be stored as-is, plus
the names the two sides call each other by (activity, signal and query names, event kinds): they
are recorded in every execution's history, so they never change.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, Field

from runbooks.model import EscalationLevel, Mode, Risk, StepFlow


WORKFLOW = "RunbookExecution"
REPORT_WORKFLOW = "IncidentReport"  # posts an ended incident's report to its executions' Slack threads
TIMER_ACTOR = "escalation-timer"  # who rejects a step nobody answered in time


class Activity:
    """Activity names: the workflow schedules them, the worker registers them under them."""

    RUN_COMMAND = "run_command"
    RENDER_STEP = "render_step"  # local: render a step again with values a person supplied
    SAVE_STATE = "save_state"  # local: mirror the live state to the database
    RECORD_EVENT = "record_event"  # local: a line in the execution's timeline
    ESCALATE = "escalate"
    ENTER_GATE = "enter_gate"  # signal-with-start the runbook's gate (`concurrency:`)
    NOTIFY = "notify"  # chat (Slack)
    POST_REPORT = "post_incident_report"  # chat (Slack): an ended incident's report in its threads
    SYNC_CONNECTION = "sync_connection"  # read a Confluence/Notion/git connection and import its pages


class Signal:
    """Signals the doors send to a running execution, and the gate's (workflows/runbook_gate.py)."""

    APPROVE = "approve"
    REJECT = "reject"
    ALERT_RESOLVED = "alert_resolved"
    GATE_ENTER = "gate_enter"  # an execution asks its runbook's gate for a slot
    GATE_LEAVE = "gate_leave"  # ... and gives it back when it ends
    GATE_ANSWER = "gate_answer"  # the gate to the execution: go, or not at all (max_errors)


GATE_WORKFLOW = "RunbookGate"  # workflows/runbook_gate.py


class AgentOutput(BaseModel):
    """What an agent's running step heartbeats: its output so far (masked, the tail), read by the API."""

    step_id: str
    output: str = ""


CONNECTION_SYNC_WORKFLOW = "ConnectionSync"  # workflows/connection_sync.py, started by a schedule


def connection_schedule_id(connection_id: int) -> str:
    """The Temporal schedule that re-syncs one connection."""
    return f"connection-sync:{connection_id}"


def gate_id(runbook_id: str) -> str:
    """The workflow id of a runbook's gate: one per runbook, so its slots are shared by every execution."""
    return f"gate:{runbook_id}"


class GateRequest(BaseModel):
    runbook_id: str
    execution_id: str
    concurrency: int
    max_errors: int | None = None


class GateRelease(BaseModel):
    execution_id: str
    failed: bool = False


class GateAnswer(BaseModel):
    granted: bool
    reason: str = ""


class Query:
    PROGRESS = "progress"


class Update:
    """Workflow updates: validated by the execution before they are accepted (a refusal says why)."""

    BREAKPOINT = "breakpoint"  # pause before a step that has not started (or clear that pause)
    RESUME = "resume"  # a step paused at a breakpoint: run it, or step over it


BREAKPOINT_WAIT = "a breakpoint: resume or step over"


class BreakpointRequest(BaseModel):
    step_id: str
    actor: str
    clear: bool = False


class ResumeRequest(BaseModel):
    step_id: str
    actor: str
    step_over: bool = False


class EventKind(str, Enum):
    """What happened in an execution: its timeline (database) and its chat thread (Slack)."""

    started = "started"
    approval_requested = "approval_requested"
    escalation = "escalation"
    decided = "decided"
    step_finished = "step_finished"
    resolved = "resolved"
    finished = "finished"
    paused = "paused"  # at a breakpoint: resume or step over


class ExecutionStatus(str, Enum):
    queued = "queued"  # `concurrency:` slots are all taken: it starts in arrival order
    running = "running"
    waiting_approval = "waiting_approval"
    succeeded = "succeeded"
    failed = "failed"
    rolled_back = "rolled_back"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self not in LIVE


LIVE = (ExecutionStatus.queued, ExecutionStatus.running, ExecutionStatus.waiting_approval)
LIVE_STATUSES = tuple(s.value for s in LIVE)  # not ended: what the database asks for "open"


class StepStatus(str, Enum):
    pending = "pending"
    waiting_approval = "waiting_approval"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    rejected = "rejected"
    skipped = "skipped"  # never reached because the execution stopped earlier
    dry_run = "dry_run"  # rendered and reported only


class RenderedCommand(BaseModel):
    """A command with its values filled in, in two equivalent safe forms.

    `argv` is set when the command needs no shell: each value is exactly one argument.
    `script` is always set: a POSIX shell string in which every value is single-quoted, for
    commands that need a shell (pipes, redirections) and for remote execution over SSH.
    """

    script: str
    argv: list[str] | None = None

    @property
    def display(self) -> str:
        return self.script


class CommandResult(BaseModel):
    exit_code: int | None
    output: str = ""
    truncated: bool = False
    duration_seconds: float = 0.0
    timed_out: bool = False
    error: str | None = None  # the command could not be started at all (bad host key, no such binary)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.error is None


class StepTemplates(BaseModel):
    """The step as written, kept so it can be rendered again once a person supplies missing values."""

    command: str | None = None
    rollback: str | None = None
    target: str = "local"


class PlannedStep(BaseModel):
    """A step of the pinned runbook version, rendered against this execution's values.

    `needs` lists values neither the alert nor the start request had (e.g. `labels.pod`): the step
    then asks a person for them instead of running with a hole in its command.
    """

    id: str
    title: str
    position: int
    risk: Risk
    risk_reason: str
    target: str = "local"
    command: RenderedCommand | None = None
    rollback: RenderedCommand | None = None
    timeout_seconds: float = 300.0
    manual: bool = False
    render_error: str | None = None
    needs: list[str] = Field(default_factory=list)
    instructions: str | None = None  # what a person runs by hand (a PromQL query, SQL, YAML)
    templates: StepTemplates = Field(default_factory=StepTemplates)
    flow: StepFlow = Field(default_factory=StepFlow)  # If:, Retries:, On failure:, Breakpoint:, Parallel:
    expect: list[str] = Field(default_factory=list)  # an HTTP step's `Expect:` (runbooks/expectations.py)


class RenderRequest(BaseModel):
    step: PlannedStep
    context: dict[str, dict[str, str]]


class AlertRef(BaseModel):
    source: str = "manual"
    fingerprint: str | None = None
    alertname: str | None = None
    severity: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class ExecutionInput(BaseModel):
    execution_id: str
    runbook_id: str
    runbook_version: int
    runbook_title: str
    service: str | None = None
    mode: Mode
    steps: list[PlannedStep]
    escalation: list[EscalationLevel]
    alert: AlertRef | None = None
    params: dict[str, str] = Field(default_factory=dict)
    started_by: str = "alert"
    heartbeat_timeout_seconds: float = 30.0
    agent_offline_after_seconds: float = 15.0  # a step nobody took this long: "agent <name> is offline"
    notify: bool = False  # tell people in chat (Slack) as the execution goes
    # A fire drill: the whole path (approval requests, escalations) with nothing executed, or with
    # every command sent to `drill_target` (a sandbox) instead of the runbook's targets.
    drill: bool = False
    drill_target: str | None = None
    concurrency: int | None = None  # the runbook's `concurrency:`: at most this many run at once
    max_errors: int | None = None  # the runbook's `max_errors:`: start no more after this many failed


class IncidentReportPost(BaseModel):
    """An ended incident's report, written by the service, for the threads of its executions."""

    incident_id: str
    ending: str  # which ending of the incident (it may fire again within its window and end again)
    title: str
    markdown: str
    execution_ids: list[str]


class Decision(BaseModel):
    """A person's (or a timer's) answer to a step waiting for approval."""

    step_id: str
    approved: bool
    actor: str = Field(min_length=1, max_length=200)
    comment: str = Field(default="", max_length=2000)
    values: dict[str, str] = Field(default_factory=dict)  # missing values supplied with the approval
    decided_at: datetime | None = None
    approvers: list[str] = Field(default_factory=list)  # all of them, when the step needed several (`approvals: N`)


class ResolvedNotice(BaseModel):
    fingerprint: str | None = None
    resolved_at: datetime | None = None


class StepState(BaseModel):
    id: str
    title: str
    position: int
    risk: Risk
    risk_reason: str
    target: str
    command: str | None = None
    status: StepStatus = StepStatus.pending
    exit_code: int | None = None
    output: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    waiting_since: datetime | None = None  # when the step began waiting for a decision
    decision: Decision | None = None
    rollback_command: str | None = None
    rollback_status: StepStatus | None = None
    rollback_exit_code: int | None = None
    rollback_output: str = ""
    escalations: int = 0
    needs: list[str] = Field(default_factory=list)
    waiting_for: str | None = None  # what a step waits for: "agent dmz is offline", a breakpoint
    attempts: int = 0  # runs of its command (more than 1 with `Retries:`)


class ExecutionState(BaseModel):
    """Live progress: what the workflow query returns and what is mirrored to the database."""

    execution_id: str
    runbook_id: str
    runbook_version: int
    mode: Mode
    status: ExecutionStatus = ExecutionStatus.running
    reason: str = ""
    steps: list[StepState]
    started_at: datetime | None = None
    finished_at: datetime | None = None
    resolved_at: datetime | None = None
    # Who and what started it: the workflow's own save writes the execution's row complete, so the
    # database follows Temporal even when the starter died before writing it.
    started_by: str = "alert"
    alertname: str | None = None
    alert_fingerprint: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    drill: bool = False

    def step(self, step_id: str) -> StepState | None:
        return next((s for s in self.steps if s.id == step_id), None)


class ExecutionEvent(BaseModel):
    """A line in an execution's timeline (escalations, resolution, start and end)."""

    execution_id: str
    kind: EventKind
    message: str
    step_id: str | None = None
    at: datetime | None = None
    target: str | None = None


class CommandRequest(BaseModel):
    """What the run_command activity needs: where, what, and for how long."""

    execution_id: str
    step_id: str
    target: str
    command: RenderedCommand
    timeout_seconds: float
    rollback: bool = False
    risk: str = "unknown"  # the step's risk level, for metrics only
    drill: bool = False  # a fire drill's command, on its sandbox target: kept out of the metrics
    mark_running: bool = False  # a fast green step: the activity marks its row running (no save before it)
    expect: list[str] = Field(default_factory=list)  # an HTTP step's `Expect:`; none: status 2xx
