"""The runbook as the engine sees it: a pinned, structured list of risk-classified steps.

Markdown and YAML runbooks both parse into these models; an execution carries a copy of the exact
version it runs, so editing a runbook never changes an execution already under way.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


DEFAULT_TEAM = "default"  # the team of a runbook that names none


class Risk(str, Enum):
    """green: read-only; yellow: changes state, reversible; red: destructive or irreversible."""

    green = "green"
    yellow = "yellow"
    red = "red"

    @property
    def rank(self) -> int:
        return {"green": 0, "yellow": 1, "red": 2}[self.value]

    @classmethod
    def worst(cls, risks: list["Risk"]) -> "Risk":
        return max(risks, key=lambda r: r.rank) if risks else cls.green


class Mode(str, Enum):
    """dry_run renders and reports; copilot runs green and asks for the rest; autopilot asks only for red."""

    dry_run = "dry_run"
    copilot = "copilot"
    autopilot = "autopilot"


class EscalationAction(str, Enum):
    notify = "notify"
    reject = "reject"


class EscalationLevel(BaseModel):
    """After `after_seconds` without a decision on a waiting step, notify someone or give up."""

    after_seconds: float = Field(gt=0)
    action: EscalationAction = EscalationAction.notify
    target: str | None = None


DEFAULT_ESCALATION: list[EscalationLevel] = [
    EscalationLevel(after_seconds=5 * 60, action=EscalationAction.notify, target="on-call"),
    EscalationLevel(after_seconds=15 * 60, action=EscalationAction.notify, target="on-call-secondary"),
    EscalationLevel(after_seconds=60 * 60, action=EscalationAction.reject),
]


class StepFlow(BaseModel):
    """A step's course beyond "run it" (runbooks/authoring/flow.py): `If:`, `Retries:`, `Idempotent:`,
    `On failure:`, `Breakpoint:`, `Parallel:`. The defaults are the plain step."""

    model_config = ConfigDict(frozen=True)

    when: str | None = None  # an `If:` condition (runbooks/conditions.py)
    retries: int = Field(default=0, ge=0, le=10)
    retry_backoff_seconds: float = Field(default=10.0, gt=0)  # doubles after each attempt
    idempotent: bool = False
    on_failure: str = Field(default="stop", pattern="^(stop|continue)$")
    breakpoint: bool = False
    parallel: str | None = None  # consecutive steps of one group run at once
    parallel_mode: str = Field(default="fail_fast", pattern="^(fail_fast|wait_all)$")
    auto: bool = False  # `Runs by itself: yes`: a yellow step that earned trust runs unasked in copilot
    verify_within: float | None = None  # `Verify: within 10m every 15s`: check again until it passes, or fail
    verify_every: float = Field(default=15.0, gt=0)
    verify_alert: bool = False  # `Verify: alert resolved within 15m`: wait for the alert itself to resolve
    choice: str | None = None  # a prose condition no `If:` could say: the breakpoint asks a person this


class Step(BaseModel):
    """One step as written: commands are templates until an execution renders them."""

    id: str
    title: str
    position: int
    description: str = ""
    command: str | None = None
    language: str = "shell"
    risk: Risk
    risk_reason: str
    risk_explicit: bool = False
    rollback: str | None = None
    target: str = "local"
    timeout_seconds: float = 300.0
    line: int = 0
    section: str | None = None  # diagnosis | mitigation | verification | other: where the step sat
    condition: str | None = None  # "if the pod is OOMKilled": the step only applies when this holds
    rollback_hint: str | None = None  # prose that says how to undo, when there is no rollback command
    variables: list[str] = Field(default_factory=list)  # dotted names the command uses: labels.pod
    flow: StepFlow = Field(default_factory=StepFlow)
    expect: list[str] = Field(default_factory=list)  # an HTTP step's `Expect:` (runbooks/expectations.py)
    source: str | None = None  # `Source:` where a drafted step came from (a message, a command line, a paragraph)

    @property
    def runs(self) -> bool:
        """The engine runs it (a shell command); otherwise a person does it and confirms."""
        return self.command is not None and self.language == "shell"

    @property
    def manual(self) -> bool:
        """A step with no command is done by a person, who confirms it."""
        return self.command is None


class Runbook(BaseModel):
    id: str
    title: str
    description: str = ""
    service: str | None = None
    owner: str | None = None
    team: str | None = None  # who may decide and edit (front matter `team:`); None: the default team
    approvals: int = Field(default=1, ge=1, le=10)  # distinct approvers a red step needs (`approvals: N`)
    concurrency: int | None = Field(default=None, ge=1)  # at most this many executions at once (`concurrency: K`)
    max_errors: int | None = Field(default=None, ge=1)  # start no more once this many failed (`max_errors: E`)
    match: dict[str, str] = Field(default_factory=dict)
    alerts: list[str] = Field(default_factory=list)  # other alert names it documents (exact-name matches)
    group_by: list[str] = Field(default_factory=list)  # one execution per distinct value set, e.g. [node]
    mode: Mode = Mode.copilot
    escalation: list[EscalationLevel] = Field(default_factory=lambda: list(DEFAULT_ESCALATION))
    steps: list[Step]
    source_path: str | None = None
    prerequisites: list[str] = Field(default_factory=list)  # tools, access, VPN the steps assume
    format: str = "structured"  # structured (ordered list of steps) | prose (commands found in text)

    @property
    def owning_team(self) -> str:
        """Who may decide and edit: the `team:` of the front matter, else the default team."""
        return self.team or DEFAULT_TEAM

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def fingerprint(self) -> str:
        """Content hash of the structured runbook, used to tell a real edit from a re-load."""
        payload = self.model_dump(mode="json", exclude={"source_path"})
        # fields added later: at their default, hashes stay as they were
        for name, default in (("team", None), ("approvals", 1), ("alerts", []), ("concurrency", None),
                              ("max_errors", None)):
            if payload.get(name) == default:
                payload.pop(name)
        plain = StepFlow().model_dump(mode="json")
        for step in payload["steps"]:
            if step.get("flow") == plain:
                step.pop("flow")
            if step.get("expect") == []:
                step.pop("expect")
            if step.get("source") is None:
                step.pop("source", None)
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def slugify(text: str, max_len: int = 48) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "step"
