"""What may happen to a step: the mode x risk table, and who may decide a waiting step, when."""

from __future__ import annotations

import pytest

from runbooks.model import Mode, Risk
from runbooks.policy import RefusalKind, StepAction, StepFacts, decision_refusal, step_action

RUN, ASK, REPORT = StepAction.run, StepAction.ask, StepAction.report


@pytest.mark.parametrize("mode, green, yellow, red", [
    (Mode.dry_run, REPORT, REPORT, REPORT),
    (Mode.copilot, RUN, ASK, ASK),
    (Mode.autopilot, RUN, RUN, ASK),
])
def test_the_readme_table_of_modes(mode: Mode, green: StepAction, yellow: StepAction, red: StepAction) -> None:
    assert [step_action(mode, r) for r in (Risk.green, Risk.yellow, Risk.red)] == [green, yellow, red]


def test_a_manual_step_always_asks_except_in_a_dry_run() -> None:
    assert step_action(Mode.autopilot, Risk.green, manual=True) is ASK
    assert step_action(Mode.dry_run, Risk.green, manual=True) is REPORT


def facts(risk: Risk = Risk.yellow, status: str = "waiting_approval", needs: tuple[str, ...] = (),
          decided: bool = False) -> StepFacts:
    return StepFacts(step_id="s", title="Restart", status=status, risk=risk, needs=needs, decided=decided)


def refusal(step: StepFacts | None, approved: bool = True, actor: str = "bob", **kw) -> RefusalKind | None:
    found = decision_refusal("ex-1", step, requested_id="s", approved=approved, actor=actor, started_by="alice",
                             **kw)
    return found.kind if found else None


def test_a_waiting_step_may_be_approved_or_rejected() -> None:
    assert refusal(facts()) is None and refusal(facts(), approved=False) is None


def test_only_a_waiting_step_once_and_only_while_the_execution_runs() -> None:
    assert refusal(None) is RefusalKind.not_found
    assert refusal(facts(status="succeeded")) is RefusalKind.conflict
    assert refusal(facts(decided=True)) is RefusalKind.conflict
    assert refusal(facts(), ended="failed") is RefusalKind.conflict
    assert refusal(facts(status="pending")) is RefusalKind.conflict
    assert refusal(facts(status="pending"), early=True) is None, "the workflow takes a signal replayed early"


def test_a_red_step_needs_someone_other_than_the_starter_to_approve() -> None:
    assert refusal(facts(Risk.red), actor="alice") is RefusalKind.forbidden
    assert refusal(facts(Risk.red), actor="alice", approved=False) is None, "the starter may still stop it"
    assert refusal(facts(Risk.red), actor="bob") is None
    assert refusal(facts(Risk.yellow), actor="alice") is None


def test_an_approval_brings_every_value_the_step_needs() -> None:
    needy = facts(needs=("labels.pod", "labels.namespace"))
    assert refusal(needy, values={"labels.pod": "web-1"}) is RefusalKind.invalid
    assert refusal(needy, values={"labels.pod": "web-1", "labels.namespace": "shop"}) is None
    assert refusal(needy, approved=False) is None
