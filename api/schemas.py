"""Request and response bodies of the REST API (the OpenAPI schema at /docs comes from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runbooks.authoring.lint import Quality
from runbooks.model import Mode
from services.launch import ExecutionRef

MAX_VERSION = 2**31 - 1  # what every database's INTEGER holds: a bigger one is a 422, not a 500


class _Authenticated(BaseModel):
    """A body from an authenticated caller: who acts is the token's identity, never a field of the body."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_claimed_identity(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("actor", "started_by", "author"):
                if name in data:
                    raise ValueError(f"`{name}` is not accepted: who acts is the identity of your token, "
                                     "recorded as such; remove the field")
        return data


class StartExecution(_Authenticated):
    params: dict[str, str] = Field(default_factory=dict)
    mode: Mode = Mode.copilot


class NoteBody(_Authenticated):
    text: str = Field(min_length=1, max_length=4000, description="an observation, or what you ran by hand: "
                      "I also ran `systemctl restart nginx`")


class NoteView(BaseModel):
    id: int
    execution_id: str
    author: str
    text: str
    command: str | None = Field(description="the command the note says was run by hand, if any")
    at: datetime | None


class DismissBody(_Authenticated):
    reason: str = Field(min_length=1, max_length=2000, description="why this change is not wanted")


class StartForAlert(StartExecution):
    runbook_id: str = Field(min_length=1, max_length=128, description="the runbook to run for this alert")


class PairingView(BaseModel):
    alertname: str
    runbook_id: str
    chosen_by: str
    chosen_at: datetime | None
    alert_id: int | None = Field(description="the alert it was chosen for")
    replaced: str | None = Field(description="what matching had answered (null: nothing)")


class StartedForAlert(BaseModel):
    execution: ExecutionRef
    pairing: PairingView | None = Field(description="the pairing this start recorded (null: matching already "
                                                    "chose this runbook)")


class DecisionBody(_Authenticated):
    comment: str = Field(default="", max_length=2000)
    values: dict[str, str] = Field(default_factory=dict, description="values the step needs, e.g. "
                                   '{"labels.pod": "web-1"}; checked like alert values')


class ResumeBody(_Authenticated):
    step_over: bool = Field(default=False, description="skip the step instead of running it")


class StepSteered(BaseModel):
    execution_id: str
    step_id: str
    result: str  # set | cleared | resumed | stepped over
    actor: str


class DecisionAccepted(BaseModel):
    execution_id: str
    step_id: str
    decision: str
    actor: str = Field(description="the authenticated identity that decided")
    approvers: list[str] = Field(description="who has approved so far (a red step may need several)")
    approvals_needed: int = Field(description="distinct approvers this step needs (`approvals:` of the runbook)")
    approvals_remaining: int = Field(description="0 once the decision went to the execution")


class StepSummary(BaseModel):
    id: str
    title: str
    position: int
    risk: str
    risk_reason: str
    target: str
    command: str | None
    rollback: str | None
    manual: bool
    language: str
    section: str | None
    condition: str | None
    rollback_hint: str | None
    variables: list[str]
    line: int
    source: str | None = Field(default=None, description="a drafted step: where it came from")


class RunbookSummary(BaseModel):
    id: str
    title: str
    service: str | None
    latest_version: int
    live_version: int | None = Field(description="what executions run; None until a version is reviewed")
    team: str
    source_path: str | None


class RunbookDetail(RunbookSummary):
    version: int
    state: str = Field(description="of this version: live, pending_review or rejected")
    approvals: int = Field(description="distinct approvers each red step needs")
    description: str
    mode: str
    format: str
    match: dict[str, str]
    escalation: list[dict[str, Any]]
    prerequisites: list[str]
    steps: list[StepSummary]
    quality: Quality
    source_url: str | None = Field(default=None, description="the page or file a connection read this version from")
    flagged: str | None = Field(default=None, description="its page or file is gone from the connection: why")


class RunbookText(_Authenticated):
    """A pasted runbook as JSON; the same text can be posted raw as text/markdown."""

    text: str = Field(min_length=1, max_length=1_000_000)
    id: str | None = Field(default=None, description="default: id in the front matter, else from the title")
    path: str | None = Field(default=None, description="file name, e.g. k8s/pod-crash.md (sets the default id)")


class VersionInfo(BaseModel):
    version: int
    author: str
    created_at: datetime | None
    source_kind: str
    commit: str | None
    source_url: str | None = Field(default=None, description="the page or file a connection read it from")
    source_version: str | None = Field(default=None, description="its version there (page version, blob sha)")
    content_hash: str
    state: str = Field(description="live, pending_review or rejected")
    live: bool = Field(description="this is the version executions run now")
    review_reasons: list[str] = Field(description="why it needed review (empty: it could not make anything "
                                                  "more dangerous)")
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comment: str | None


class ReviewBody(_Authenticated):
    approve: bool
    comment: str = Field(default="", max_length=2000)


class StepChanges(BaseModel):
    added: list[str]
    removed: list[str]
    changed: list[str]


class VersionDiff(BaseModel):
    runbook_id: str
    from_version: int
    to_version: int
    diff: str
    steps: StepChanges


class RevertRequest(_Authenticated):
    version: int = Field(ge=1, le=MAX_VERSION)


class Approval(BaseModel):
    approved: bool
    actor: str
    comment: str
    values: dict[str, str]
    decided_at: datetime | None
    approvers: list[str] = Field(default_factory=list, description="all approvers, when several were needed")


class Rollback(BaseModel):
    command: str | None
    status: str | None
    exit_code: int | None
    output: str


class StepView(BaseModel):
    id: str
    title: str
    position: int
    risk: str
    risk_reason: str
    target: str
    status: str
    command: str | None
    output: str
    exit_code: int | None
    started_at: datetime | None
    finished_at: datetime | None
    approval: Approval | None
    rollback: Rollback | None
    needs: list[str] = Field(default_factory=list, description="values a person must supply to run it")
    waiting_for: str | None = Field(default=None, description="what it waits for: 'agent dmz is offline', a breakpoint")
    attempts: int = Field(default=0, description="runs of its command (more than 1 with `Retries:`)")


class EventView(BaseModel):
    kind: str
    message: str
    step_id: str | None
    target: str | None
    at: datetime | None


class ExecutionView(BaseModel):
    id: str
    runbook_id: str
    runbook_version: int
    mode: str
    status: str
    reason: str
    alertname: str | None
    alert_fingerprint: str | None
    params: dict[str, str]
    started_by: str
    started_at: datetime | None
    finished_at: datetime | None
    resolved_at: datetime | None
    drill: bool = Field(default=False, description="a fire drill's execution (POST /api/v1/drills)")
    temporal_ui_url: str | None = None
    steps: list[StepView] = Field(default_factory=list)
    events: list[EventView] = Field(default_factory=list)


class AlertView(BaseModel):
    id: int | None
    source: str
    fingerprint: str
    status: str
    alertname: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    received_at: datetime | None
    runbook_id: str | None
    execution_id: str | None


class AlertCount(BaseModel):
    alertname: str | None
    count: int
    last_seen: datetime | None


class AlertList(BaseModel):
    alerts: list[AlertView]
    by_alertname: list[AlertCount] = Field(description="deliveries per alert name, most frequent first")


class RejectedView(BaseModel):
    id: int | None
    source: str
    status: int
    reason: str
    headers: dict[str, str]
    body: str
    received_at: datetime | None


class MatchCandidate(BaseModel):
    runbook_id: str
    score: float
    reason: str
    source_path: str | None


class MatchAnswer(BaseModel):
    fingerprint: str
    alertname: str | None
    runbook_id: str | None
    source_path: str | None = Field(description="path relative to RUNBOOKS_DIR")
    score: float
    reason: str
    candidates: list[MatchCandidate]
    ask: bool = Field(default=False, description="unsure: no runbook, but a person should choose among the candidates")


# -- identity and the audit trail ------------------------------------------------------------------

class WhoAmI(BaseModel):
    name: str
    roles: list[str]
    teams: list[str]
    via: str = Field(description="token, proxy (single sign-on)")
    token: str | None = Field(description="the name of the token used")
    permissions: list[str]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    roles: list[str] = Field(min_length=1, description="viewer, responder, approver, author, admin")
    teams: list[str] = Field(default_factory=lambda: ["default"])
    slack_id: str | None = Field(default=None, max_length=64, description="Slack user id: clicks in Slack act as "
                                                                          "this user")


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[str] | None = Field(default=None, min_length=1)
    teams: list[str] | None = None
    slack_id: str | None = Field(default=None, max_length=64, description='"" removes it')
    disabled: bool | None = None


class UserView(BaseModel):
    name: str
    roles: list[str]
    teams: list[str]
    slack_id: str | None
    disabled: bool
    created_at: datetime | None


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)


class TeamView(BaseModel):
    name: str
    created_at: datetime | None
    members: list[str]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128, description="names the token; revoke it by this name")
    user: str | None = Field(default=None, max_length=200, description="whose token (default: the user called "
                                                                       "`name`)")
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)


class TokenView(BaseModel):
    name: str
    user: str
    prefix: str = Field(description="the token's first characters, to tell it apart")
    created_by: str
    created_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenView):
    token: str = Field(description="the secret: shown this once, stored only as its hash")


class AuditEntryView(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    hash: str


class AuditVerdict(BaseModel):
    ok: bool
    entries: int
    checkpoints: int
    first_bad: int | None
    problem: str


class EvidenceStep(BaseModel):
    id: str
    title: str
    risk: str
    command: str | None
    status: str
    exit_code: int | None
    started_at: datetime | None
    finished_at: datetime | None
    decision: Approval | None
    rollback_status: str | None


class Evidence(BaseModel):
    """Who started, who approved what and when, what ran, what changed: for one execution."""

    execution_id: str
    runbook_id: str
    runbook_version: int
    runbook_author: str | None
    mode: str
    status: str
    started_by: str
    started_at: datetime | None
    finished_at: datetime | None
    alertname: str | None
    steps: list[EvidenceStep]
    changed: list[str] = Field(description="steps that ran a command that is not read-only, and were not "
                                           "rolled back")
    audit: list[AuditEntryView] = Field(description="every audit entry about this execution, oldest first")
