"""Quality lints for a runbook, shown when it is imported and in the API, with a 0-100 score.

They point at what will hurt at 3 a.m.: a step that says "check the logs" without saying how, a
risky step with no way back, a value nobody can fill, a destructive step in a runbook meant to
run by itself.
"""

from __future__ import annotations

import re
from enum import Enum

from pydantic import BaseModel

from runbooks.authoring.variables import WELL_KNOWN_LABELS
from runbooks.model import Mode, Risk, Runbook, Step
from runbooks.review import lowered

_SHELL_LANGUAGES = {"shell", "http"}  # what the engine runs: shell commands and HTTP requests
_PENALTY = {"error": 40, "warning": 8, "info": 2}
_CAP_PER_CODE = {"error": 80, "warning": 30, "info": 10}


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


class Lint(BaseModel):
    code: str
    severity: Severity
    message: str
    step_id: str | None = None
    line: int | None = None


class Quality(BaseModel):
    score: int
    lints: list[Lint]


def _step_lints(rb: Runbook, step: Step, known: frozenset[str]) -> list[Lint]:
    out: list[Lint] = []

    def add(code: str, severity: Severity, message: str) -> None:
        out.append(Lint(code=code, severity=severity, message=message, step_id=step.id, line=step.line or None))

    if step.command is None:
        add("ambiguous_step", Severity.warning,
            f"step '{step.title}' has no command: a person must work out how to do it; add the exact command")
    elif step.language not in _SHELL_LANGUAGES:
        add("not_shell", Severity.info,
            f"step '{step.title}' is {step.language}, not a shell command: it is shown to a person, not run")
    if step.command is not None and step.risk is not Risk.green and not step.rollback:
        hint = " (the text hints at one: write it as a `Rollback:` block)" if step.rollback_hint else ""
        add("no_rollback", Severity.warning,
            f"{step.risk.value} step '{step.title}' has no rollback{hint}")
    if (verdict := lowered(step)) is not None:
        add("risk_lowered", Severity.warning,
            f"step '{step.title}' is declared {step.risk.value} but its command classifies {verdict.value}: "
            "a second person must review this change before it goes live")
    if rb.mode is Mode.autopilot and step.risk is Risk.red:
        add("red_in_autopilot", Severity.warning,
            f"red step '{step.title}' in an autopilot runbook: it will always stop and wait for approval")
    for name in step.variables:
        root, _, key = name.partition(".")
        if rb.format == "prose" and root == "labels" and key.lower() not in known:  # a guessed placeholder
            add("unbound_variable", Severity.warning,
                f"`{name}` is not a label alerts usually carry: it will be asked for when the step runs")
    return out


def lint(rb: Runbook) -> Quality:
    lints: list[Lint] = []
    if not rb.steps:
        lints.append(Lint(code="no_steps", severity=Severity.error, line=1,
                          message="no steps found: write an ordered list of steps with commands in code blocks"))
    elif not any(s.command for s in rb.steps):
        lints.append(Lint(code="no_commands", severity=Severity.warning, line=1,
                          message="no step has a command: nothing can run automatically"))
    if not rb.match and not re.search(r"[A-Z][a-z]+[A-Z]", rb.id.rsplit("/", 1)[-1]):
        lints.append(Lint(code="no_match", severity=Severity.info, line=1,
                          message="no `match:` selector: alerts find this runbook only by its name or text"))
    known = frozenset(WELL_KNOWN_LABELS)
    for step in rb.steps:
        lints.extend(_step_lints(rb, step, known))
    return Quality(score=score(lints), lints=lints)


def score(lints: list[Lint]) -> int:
    """100 minus penalties, each lint code capped so one repeated issue cannot zero a long runbook."""
    by_code: dict[tuple[str, Severity], int] = {}
    for item in lints:
        by_code[(item.code, item.severity)] = by_code.get((item.code, item.severity), 0) + _PENALTY[item.severity]
    total = sum(min(p, _CAP_PER_CODE[sev]) for (_, sev), p in by_code.items())
    return max(0, 100 - total)
