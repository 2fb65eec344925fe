"""The rules that read a runbook's past runs: dead steps, broken steps, staleness and confidence."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from runbooks.insights import Failure, InsightFacts, broken, confidence, insights

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def facts(**steps: dict[str, int]) -> InsightFacts:
    f = InsightFacts(runbook_id="rb", created_at=NOW - timedelta(days=10), by_status={"succeeded": 3, "failed": 1},
                     last_success_at=NOW - timedelta(days=1))
    for position, (step_id, counts) in enumerate(steps.items(), start=1):
        f.steps[step_id], f.titles[step_id], f.positions[step_id] = counts, step_id.title(), position
    return f


def test_a_step_rejected_or_skipped_in_every_one_of_three_runs_is_dead() -> None:
    found = insights(facts(look={"succeeded": 4}, flush={"rejected": 2, "skipped": 1}), NOW)
    assert [(f.kind, f.step_id) for f in found.flags] == [("dead_step", "flush")]
    assert "rejected or skipped in all 3 runs (2 rejected, 1 skipped)" in found.flags[0].message
    assert found.steps[1].flags == ["dead"] and found.steps[1].ran == 0 and found.steps[1].runs == 3


def test_two_runs_are_not_enough_and_one_run_that_ran_saves_a_step() -> None:
    assert not insights(facts(flush={"rejected": 2}), NOW).flags
    assert not insights(facts(flush={"rejected": 5, "succeeded": 1}), NOW).flags


def test_a_step_failing_the_same_way_in_its_latest_runs_is_broken() -> None:
    same = [Failure("check", 127, "sh: 1: kubectl: not found\n", NOW - timedelta(hours=h)) for h in (1, 2)]
    assert broken(same, "failed") == "failed 2 times the same way (exit 127: sh: 1: kubectl: not found)"
    assert broken(same, "succeeded") is None, "it works again since"
    different = [same[0], Failure("check", 1, "timeout", NOW - timedelta(hours=3))]
    assert broken(different, "failed") is None
    f = facts(check={"failed": 2})
    f.failures, f.latest_status = same, {"check": "failed"}
    assert [fl.kind for fl in insights(f, NOW).flags] == ["broken_step"]


def test_a_runbook_that_has_not_succeeded_for_ninety_days_is_stale_and_its_confidence_decays() -> None:
    f = facts(look={"succeeded": 4})
    f.last_success_at = NOW - timedelta(days=120)
    found = insights(f, NOW)
    assert [fl.kind for fl in found.flags] == ["stale"] and "120 days" in found.flags[0].message
    fresh = confidence(3, 4, NOW, None, NOW)
    assert fresh == round(4 / 6, 3)
    assert confidence(3, 4, NOW - timedelta(days=90), None, NOW) == round(4 / 6 / 2, 3), "halved every 90 days"
    assert confidence(0, 0, None, NOW, NOW) == 0.5, "a new runbook: no evidence either way"


def test_figures_are_medians_and_a_rate_of_ended_runs() -> None:
    f = facts()
    f.by_status = {"succeeded": 3, "failed": 1, "running": 2}
    f.resolve_median, f.approve_median = 120.0, 27.5
    found = insights(f, NOW)
    assert found.executions == 6 and found.success_rate == 0.75
    assert found.median_time_to_resolve_seconds == 120 and found.median_time_to_first_approval_seconds == 27.5
