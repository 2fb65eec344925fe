"""Render a runbook version against one execution's values: the plan the workflow walks.

Rendering happens once, before the workflow starts, so the execution input pins the exact
commands that will run and a person approving a step sees exactly what will execute. A value
that is missing is not an error: the step will ask for it. A value that is unsafe is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from runbooks.contract import PlannedStep, StepTemplates
from runbooks.model import Runbook, Step
from runbooks.rendering.http_placement import render_request
from runbooks.rendering.promql import render_promql
from runbooks.rendering.templating import MissingValueError, TemplateError, render_command, render_text

# A value filling part of an SSH target is a host name or address, never a user, port or path.
_HOST_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")
Context = Mapping[str, Mapping[str, str]]


def build_context(labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None,
                  params: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    return {"labels": dict(labels or {}), "annotations": dict(annotations or {}), "params": dict(params or {})}


def with_values(context: Context, values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The context plus values a person supplied, keyed by dotted name (`labels.pod`)."""
    merged = {root: dict(context.get(root) or {}) for root in ("labels", "annotations", "params")}
    for name, value in values.items():
        root, _, key = name.partition(".")
        if root in merged and key:
            merged[root][key] = value
    return merged


def plan_steps(runbook: Runbook, context: Context) -> list[PlannedStep]:
    return [render_step(_planned(step), context) for step in runbook.steps]


def _planned(step: Step) -> PlannedStep:
    # A verify step's PromQL query is asked of Prometheus; any other non-shell block is done by hand.
    queried = step.language == "promql" and step.flow.verify_within is not None and not step.flow.verify_alert
    by_hand = step.command is not None and step.language not in ("shell", "http") and not queried
    target = "prometheus" if queried else step.target
    return PlannedStep(
        id=step.id, title=step.title, position=step.position, risk=step.risk, risk_reason=step.risk_reason,
        target="manual" if by_hand else target, timeout_seconds=step.timeout_seconds,
        manual=step.manual or by_hand, instructions=step.command if by_hand else None,
        templates=StepTemplates(command=None if by_hand else step.command, rollback=step.rollback,
                                target=target), flow=step.flow, expect=step.expect)


def render_step(step: PlannedStep, context: Context) -> PlannedStep:
    """Fill a step's templates; collect every missing value, refuse any unsafe one."""
    t = step.templates
    needs: list[str] = []
    errors: list[str] = []

    def attempt(render, template):  # noqa: ANN001, ANN202
        try:
            return render(template)
        except MissingValueError as exc:
            needs.extend(n for n in exc.names if n not in needs)
        except TemplateError as exc:
            errors.append(str(exc))
        return None

    target = attempt(lambda tpl: render_text(tpl, context, _HOST_VALUE), t.target) if "{{" in t.target else t.target
    render = {"http": render_request, "prometheus": render_promql}.get(t.target, render_command)  # by placement
    command = attempt(lambda tpl: render(tpl, context), t.command) if t.command else None
    rollback = attempt(lambda tpl: render(tpl, context), t.rollback) if t.rollback else None
    return step.model_copy(update={
        "target": target or t.target, "command": command, "rollback": rollback,
        "needs": needs, "render_error": "; ".join(errors) or None})
