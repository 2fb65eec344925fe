"""Render a runbook version against one execution's values: the plan the workflow walks.

Rendering happens once, before the workflow starts, so the execution input pins the exact
commands that will run and a person approving a step sees exactly what will execute.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from runbooks.execution import PlannedStep
from runbooks.model import Runbook
from runbooks.templating import TemplateError, render_command, render_text


# A value filling part of an SSH target is a host name or address, never a user, port or path.
_HOST_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")


def build_context(labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None,
                  params: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    return {"labels": dict(labels or {}), "annotations": dict(annotations or {}), "params": dict(params or {})}


def plan_steps(runbook: Runbook, context: Mapping[str, Mapping[str, str]]) -> list[PlannedStep]:
    planned = []
    for step in runbook.steps:
        errors: list[str] = []
        command = rollback = None
        target = step.target
        try:
            target = render_text(step.target, context, _HOST_VALUE) if "{{" in step.target else step.target
            command = render_command(step.command, context) if step.command else None
            rollback = render_command(step.rollback, context) if step.rollback else None
        except TemplateError as exc:
            errors.append(str(exc))
        planned.append(PlannedStep(
            id=step.id, title=step.title, position=step.position, risk=step.risk, risk_reason=step.risk_reason,
            target=target, command=command, rollback=rollback, timeout_seconds=step.timeout_seconds,
            manual=step.manual, render_error="; ".join(errors) or None))
    return planned


def missing_values(planned: list[PlannedStep]) -> list[str]:
    return [f"{p.id}: {p.render_error}" for p in planned if p.render_error]
