"""What may happen to a step: whether it runs by itself, waits for a person or is only reported
(mode x risk), and whether a decision on it may be taken now, and by whom.

Pure and small so that the workflow, every door (REST, Slack, web pages) and the docs agree on
one table and one rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from runbooks.model import Mode, Risk


class StepAction(str, Enum):
    run = "run"
    ask = "ask"
    report = "report"


def step_action(mode: Mode, risk: Risk, manual: bool = False) -> StepAction:
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


class RefusalKind(str, Enum):
    not_found = "not_found"
    conflict = "conflict"  # the step is not (or no longer) waiting: a double click, a late answer
    forbidden = "forbidden"  # this person may not take this decision
    invalid = "invalid"  # the decision lacks what it needs (values for the step)


@dataclass(frozen=True)
class Refusal:
    kind: RefusalKind
    reason: str


@dataclass(frozen=True)
class StepFacts:
    """What the rule needs to know of a step, from the workflow's state or the database mirror."""

    step_id: str
    title: str
    status: str  # a StepStatus value
    risk: Risk
    needs: Sequence[str] = ()
    decided: bool = False


def decision_refusal(execution_id: str, step: StepFacts | None, *, requested_id: str, approved: bool,
                     actor: str, started_by: str, values: Mapping[str, str] | None = None,
                     ended: str | None = None, early: bool = False, author: str | None = None) -> Refusal | None:
    """Why `actor` may not approve (or reject) this step now, or None when the decision stands.

    - only a step that waits for a decision, once (`early`: the workflow also takes a decision for
      a step it has not reached yet, since a signal replayed after a crash can arrive first);
    - a red step is never approved by the person who started the execution, nor by the author of
      the runbook version it runs (`author`, where the door knows it): someone else must;
    - an approval carries every value the step still needs.
    `ended` is the status of an execution that has already ended.
    """
    if ended is not None:
        return Refusal(RefusalKind.conflict, f"execution {execution_id} has already ended ({ended})")
    if step is None:
        return Refusal(RefusalKind.not_found, f"execution {execution_id} has no step {requested_id!r}")
    open_statuses = ("pending", "waiting_approval") if early else ("waiting_approval",)
    if step.decided or step.status not in open_statuses:
        return Refusal(RefusalKind.conflict,
                       f"step {step.step_id!r} is not waiting for approval (it is {step.status})")
    if approved and step.risk is Risk.red and actor == started_by:
        return Refusal(RefusalKind.forbidden, f"{actor} started this execution and cannot also approve its red "
                                              f"step {step.title!r}: a second person must")
    if approved and step.risk is Risk.red and author is not None and actor == author:
        return Refusal(RefusalKind.forbidden, f"{actor} wrote this version of the runbook and cannot also approve "
                                              f"its red step {step.title!r}: a second person must")
    missing = [n for n in step.needs if not (values or {}).get(n)]
    if approved and missing:
        return Refusal(RefusalKind.invalid, f"step {step.step_id!r} needs values for {', '.join(missing)}: "
                                            'pass them as {"values": {"labels.pod": "..."}}')
    return None
