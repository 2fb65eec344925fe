"""Render a step again inside an execution, once a person has supplied the values it was missing.

A local activity: pure and fast, but it runs the templating sandbox outside the workflow sandbox.
"""

from __future__ import annotations

from temporalio import activity

from runbooks.contract import Activity, PlannedStep, RenderRequest
from runbooks.rendering.planning import render_step


@activity.defn(name=Activity.RENDER_STEP)
def render_with_values(req: RenderRequest) -> PlannedStep:
    return render_step(req.step, req.context)
