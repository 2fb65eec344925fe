"""Whether a step runs by itself, waits for a person, or is only reported: mode x risk.

Pure and tiny so that the workflow, the API and the docs agree on one table.
"""

from __future__ import annotations

from enum import Enum

from runbooks.model import Mode, Risk


class StepAction(str, Enum):
    run = "run"
    ask = "ask"
    report = "report"


def decide(mode: Mode, risk: Risk, manual: bool = False) -> StepAction:
    """dry_run reports everything; copilot runs green; autopilot runs green and yellow; red always asks.

    A manual step (no command) always asks: the person confirms it was done.
    """
    if mode is Mode.dry_run:
        return StepAction.report
    if manual or risk is Risk.red:
        return StepAction.ask
    if risk is Risk.green or (mode is Mode.autopilot and risk is Risk.yellow):
        return StepAction.run
    return StepAction.ask
