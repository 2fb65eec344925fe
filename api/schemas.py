"""Request and response bodies of the REST API (the OpenAPI schema at /docs comes from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runbooks.authoring.lint import Quality
from runbooks.model import Mode

MAX_VERSION = 2**31 - 1  # what every database's INTEGER holds: a bigger one is a 422, not a 500


class StartExecution(BaseModel):
    model_config = ConfigDict(extra="forbid")
    params: dict[str, str] = Field(default_factory=dict)
    mode: Mode = Mode.copilot
    started_by: str = Field(default="api", min_length=1, max_length=200)


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actor: str = Field(min_length=1, max_length=200, description="who decides (recorded)")
    comment: str = Field(default="", max_length=2000)
    values: dict[str, str] = Field(default_factory=dict, description="values the step needs, e.g. "
                                   '{"labels.pod": "web-1"}; checked like alert values')


class DecisionAccepted(BaseModel):
    execution_id: str
    step_id: str
    decision: str
    actor: str


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


class RunbookSummary(BaseModel):
    id: str
    title: str
    service: str | None
    latest_version: int
    source_path: str | None


class RunbookDetail(RunbookSummary):
    version: int
    description: str
    mode: str
    format: str
    match: dict[str, str]
    escalation: list[dict[str, Any]]
    prerequisites: list[str]
    steps: list[StepSummary]
    quality: Quality


class RunbookText(BaseModel):
    """A pasted runbook as JSON; the same text can be posted raw as text/markdown."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=1_000_000)
    id: str | None = Field(default=None, description="default: id in the front matter, else from the title")
    path: str | None = Field(default=None, description="file name, e.g. k8s/pod-crash.md (sets the default id)")
    author: str = Field(default="api", min_length=1, max_length=200)


class VersionInfo(BaseModel):
    version: int
    author: str
    created_at: datetime | None
    source_kind: str
    commit: str | None
    content_hash: str


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


class RevertRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=MAX_VERSION)
    author: str = Field(default="api", min_length=1, max_length=200)


class Approval(BaseModel):
    approved: bool
    actor: str
    comment: str
    values: dict[str, str]
    decided_at: datetime | None


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
