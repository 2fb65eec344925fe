"""Earned trust: a yellow step that people approved and that succeeded run after run may run by itself.

Pure: the store gathers each step's outcomes (newest first), these rules read them.

- **promote**: the step's last `PROMOTE_AFTER` runs were each approved by a person, succeeded and
  were not rolled back: propose `Runs by itself: yes` on it, a new version that a second person
  reviews (runbooks/review.py) like any change that lets something run unasked;
- **demote**: a step that runs by itself failed or was rolled back in its latest run: it asks again
  from the next execution on (the launcher plans it so, `demoted`), and the version without the
  directive is proposed.

A red step never earns it: it always waits for an authenticated approval by someone else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from runbooks.contract import TIMER_ACTOR
from runbooks.model import Risk, Runbook, Step
from runbooks.suggestions import Suggestion, _diff, _id, _start_of

PROMOTE_AFTER = 5
_AUTO_LINE = re.compile(r"^\s*runs by itself\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class Outcome:
    """One run of a step: what became of it, and who (if anyone) approved it."""

    execution_id: str
    at: datetime | None
    status: str  # succeeded | failed | rejected | skipped | ...
    rolled_back: bool
    approved_by: str | None  # None: it ran by itself (or was never decided)

    @property
    def earned(self) -> bool:
        """A run that counts towards trust: a person approved it, it worked, nothing was undone."""
        return (self.status == "succeeded" and not self.rolled_back and self.approved_by is not None
                and self.approved_by != TIMER_ACTOR)

    @property
    def went_wrong(self) -> bool:
        return self.status == "failed" or self.rolled_back


class StepTrust(BaseModel):
    step_id: str
    title: str
    risk: str
    runs_by_itself: bool  # the live version says `Runs by itself: yes`
    demoted: bool  # ... but its latest run went wrong: it asks again
    streak: int  # approved successes in a row, newest first
    needed: int = PROMOTE_AFTER
    recent: list[str]  # the latest runs, newest first: "<execution>: <what happened>"


def streak(outcomes: list[Outcome]) -> int:
    n = 0
    for outcome in outcomes:
        if not outcome.earned:
            break
        n += 1
    return n


def demoted(outcomes: list[Outcome]) -> bool:
    """The latest run that did something went wrong."""
    latest = next((o for o in outcomes if o.status in ("succeeded", "failed")), None)
    return latest is not None and latest.went_wrong


def _said(o: Outcome) -> str:
    what = "rolled back" if o.rolled_back else o.status
    who = f", approved by {o.approved_by}" if o.approved_by else (", ran by itself" if o.status in (
        "succeeded", "failed") else "")
    return f"{o.execution_id}: {what}{who}"


def trust_of(runbook: Runbook, history: dict[str, list[Outcome]]) -> list[StepTrust]:
    return [StepTrust(step_id=s.id, title=s.title, risk=s.risk.value, runs_by_itself=s.flow.auto,
                      demoted=s.flow.auto and demoted(history.get(s.id, [])), streak=streak(history.get(s.id, [])),
                      recent=[_said(o) for o in history.get(s.id, [])[:10]]) for s in runbook.steps]


def with_auto(source: str, runbook: Runbook, step: Step, on: bool) -> str | None:
    """The source with `Runs by itself: yes` added under the step's title line, or its line removed."""
    steps = sorted((s for s in runbook.steps if s.line), key=lambda s: s.line)
    index = next((i for i, s in enumerate(steps) if s.id == step.id), None)
    if index is None:
        return None
    lines = source.splitlines(keepends=True)
    start = _start_of(lines, steps[index].line)
    end = _start_of(lines, steps[index + 1].line) if index + 1 < len(steps) else len(lines)
    if not on:
        kept = [line for i, line in enumerate(lines) if not (start <= i < end and _AUTO_LINE.match(line))]
        return "".join(kept) if len(kept) < len(lines) else None
    marker = re.match(r"^(\s{0,3}(?:\d{1,9}[.)]|[-*+])\s+)", lines[start])
    if marker is None:
        return None
    return "".join(lines[:start + 1] + [" " * len(marker.group(1)) + "Runs by itself: yes\n"] + lines[start + 1:])


def trust_suggestions(runbook: Runbook, version: int, source: str, history: dict[str, list[Outcome]],
                      parse) -> list[Suggestion]:  # noqa: ANN001
    """Promotions earned and demotions due, each checked by parsing its text with `parse`."""
    out: list[Suggestion] = []
    for step in runbook.steps:
        outcomes = history.get(step.id, [])
        promote = (not step.flow.auto and step.risk is Risk.yellow and not step.manual
                   and streak(outcomes) >= PROMOTE_AFTER)
        demote = step.flow.auto and demoted(outcomes)
        if not (promote or demote):
            continue
        text = with_auto(source, runbook, step, on=promote)
        try:
            parsed = parse(text).step(step.id) if text is not None else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.flow.auto != promote:
            continue
        runs = ", ".join(o.execution_id for o in outcomes[:PROMOTE_AFTER])
        kind = "promote_step" if promote else "demote_step"
        evidence = ([f"approved and succeeded in its last {streak(outcomes)} runs without a rollback: {runs}"]
                    if promote else [f"it ran by itself and its latest run went wrong: {_said(outcomes[0])}"])
        out.append(Suggestion(
            id=_id(runbook.id, version, kind, step.id), runbook_id=runbook.id, version=version, kind=kind,
            step_id=step.id, title=(f"Let the step '{step.title}' run by itself" if promote
                                    else f"Ask again before the step '{step.title}'"),
            evidence=evidence, diff=_diff(runbook.id, version, source, text or ""), text=text or ""))
    return out
