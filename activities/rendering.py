"""Render a step again inside an execution, once a person has supplied the values it was missing.

A local activity: pure and fast, but it runs the templating sandbox outside the workflow sandbox.
"""

from __future__ import annotations

from temporalio import activity

from runbooks.execution import PlannedStep, RenderRequest
from runbooks.planning import render_step as render


@activity.defn(name="render_step")
def render_step(req: RenderRequest) -> PlannedStep:
    return render(req.step, req.context)
