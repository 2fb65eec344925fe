"""When a new runbook version may go live at once, and when a second person must review it first.

A version goes live at once only when it cannot make anything more dangerous than the live one.
It waits for review when it
- declares a step's risk lower than the classifier's verdict on its command, or lower than before,
- adds or changes the command, target or language of a yellow or red step (a `text` block is done
  by hand, a `bash` one is run), or a rollback that is not green
  (rollbacks run by themselves when a later step fails),
- lets a step run by itself (`Runs by itself: yes`, earned trust),
- raises the mode (dry_run < copilot < autopilot), changes `match:`, lowers `approvals:`, or
  moves the runbook to another team;
and a new runbook waits when any of its steps is yellow or red.
"""

from __future__ import annotations

from runbooks.model import Mode, Risk, Runbook, Step
from runbooks.risk import classify

_MODE_RANK = {Mode.dry_run: 0, Mode.copilot: 1, Mode.autopilot: 2}


def classified(step: Step) -> Risk | None:
    """The classifier's verdict on a step's command (None for a manual step)."""
    return classify(step.command, step.language).risk if step.command else None


def lowered(step: Step) -> Risk | None:
    """The classifier's verdict when the runbook declares the step less risky than that, else None."""
    verdict = classified(step) if step.risk_explicit else None
    return verdict if verdict is not None and step.risk.rank < verdict.rank else None


def _rollback_risky(step: Step) -> bool:
    return bool(step.rollback) and classify(step.rollback or "", step.language).risk is not Risk.green


def review_reasons(live: Runbook | None, new: Runbook) -> list[str]:
    """Why `new` must be reviewed before it replaces `live` (None: a new runbook); [] means live at once."""
    reasons: list[str] = []
    for step in new.steps:
        if (verdict := lowered(step)) is not None:
            reasons.append(f"step {step.id!r} is declared {step.risk.value} but its command classifies "
                           f"{verdict.value}")
    if live is None:
        risky = [s.id for s in new.steps if s.risk is not Risk.green]
        if risky:
            reasons.append(f"a new runbook with yellow or red steps ({', '.join(risky)})")
        return reasons
    before = {s.id: s for s in live.steps}
    for step in new.steps:
        old = before.get(step.id)
        if old is not None and step.risk.rank < old.risk.rank:
            reasons.append(f"lowers step {step.id!r} from {old.risk.value} to {step.risk.value}")
        risky = step.risk is not Risk.green or (old is not None and old.risk is not Risk.green)
        if risky and (old is None or (old.command, old.target, old.runs) != (step.command, step.target, step.runs)):
            what = "adds" if old is None else "changes the command, target or language (run or done by hand) of"
            reasons.append(f"{what} {step.risk.value} step {step.id!r}")
        if step.flow.auto and (old is None or not old.flow.auto):
            reasons.append(f"lets step {step.id!r} run by itself (earned trust)")
        if (old is None or old.rollback != step.rollback) and _rollback_risky(step):
            reasons.append(f"{'adds' if old is None or not old.rollback else 'changes'} the rollback of step "
                           f"{step.id!r}, which is not green")
    if _MODE_RANK[new.mode] > _MODE_RANK[live.mode]:
        reasons.append(f"raises the mode from {live.mode.value} to {new.mode.value}")
    if new.match != live.match:
        reasons.append("changes the `match:` selectors (which alerts run it)")
    if new.approvals < live.approvals:
        reasons.append(f"lowers `approvals:` from {live.approvals} to {new.approvals}")
    if new.owning_team != live.owning_team:
        reasons.append(f"moves the runbook from team {live.owning_team!r} to {new.owning_team!r}")
    return reasons
