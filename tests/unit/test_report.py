"""The incident report of an execution (runbooks/report.py), written from hand-made facts: the same
facts give the same bytes; it says who decided what and why, what rolled back, how it ended and
what to change; and text from alerts and people cannot break out of where it is put."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from markdown_it import MarkdownIt

from runbooks.contract import TIMER_ACTOR
from runbooks.insights import Flag
from runbooks.report import ReportFacts, code_block, code_span, execution_report, text
from runbooks.storage.tables import ApprovalRow, EventRow, ExecutionRow, StepRow
from services.cockpit import timeline

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
EID = "e2e-change.fp-1"


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def step(position: int, step_id: str, title: str, risk: str, status: str, **kw) -> StepRow:
    return StepRow(execution_id=EID, step_id=step_id, position=position, title=title, risk=risk, status=status, **kw)


def rejected_run(**execution) -> ReportFacts:
    """Approved twice, rejected at the red step with a reason, both changes rolled back."""
    ex = ExecutionRow(id=EID, runbook_id="e2e-change", runbook_version=3, mode="copilot", status="rolled_back",
                      reason="step 'Risky change' rejected by bob; rolled back", alertname="E2EChange",
                      started_by="alert", started_at=T0, finished_at=at(95), resolved_at=at(80), **execution)
    steps = [
        step(1, "check", "Look before touching", "green", "succeeded", command="echo check", exit_code=0,
             output="line 1\n\nline 2\nline 3\nline 4\nline 5\nline 6\n", started_at=at(1), finished_at=at(2)),
        step(2, "change-a", "Change A", "yellow", "succeeded", command="echo change-a", exit_code=0, output="a\n",
             started_at=at(20), finished_at=at(21), waiting_since=at(3), rollback_command="echo undo-a",
             rollback_status="succeeded", rollback_exit_code=0, rollback_output="undone a\n"),
        step(3, "change-b", "Change B", "yellow", "succeeded", command="echo change-b", exit_code=0, output="b\n",
             started_at=at(40), finished_at=at(41), waiting_since=at(22), rollback_command="echo undo-b",
             rollback_status="succeeded", rollback_exit_code=0),
        step(4, "risky-change", "Risky change", "red", "rejected", command="echo risky", waiting_since=at(42)),
    ]
    approvals = [
        ApprovalRow(execution_id=EID, step_id="change-a", approved=True, actor="alice", comment="looks safe",
                    decided_at=at(19)),
        ApprovalRow(execution_id=EID, step_id="change-b", approved=True, actor="alice", comment="", decided_at=at(39)),
        ApprovalRow(execution_id=EID, step_id="risky-change", approved=False, actor="bob",
                    comment="too risky on a Friday", decided_at=at(60)),
    ]
    events = [EventRow(execution_id=EID, kind="resolved", message="the alert resolved", at=at(80)),
              EventRow(execution_id=EID, kind="finished", message="rolled_back: rejected; rolled back", at=at(95))]
    return ReportFacts(
        execution=ex, runbook_title="End-to-end change with approvals", steps=steps, approvals=approvals,
        timeline=timeline(ex, steps, approvals, events), has_alert=True,
        labels={"alertname": "E2EChange", "instance": "web-1", "severity": "critical", "job": "api", "log": "/x"},
        annotations={"summary": "API latency above 2 s", "description": "p99 over 5 minutes"},
        flags=[Flag(kind="dead_step", step_id="risky-change",
                    message="step 'Risky change' was rejected or skipped in all 3 runs (3 rejected, 0 skipped): "
                            "remove it or fix it")])


def section(report: str, title: str) -> str:
    return report.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_same_facts_give_the_same_bytes() -> None:
    assert execution_report(rejected_run()) == execution_report(rejected_run())


def test_it_has_every_section_in_order_under_a_title_naming_the_runbook_and_the_execution() -> None:
    report = execution_report(rejected_run())
    assert report.startswith("# Incident report: End-to-end change with approvals\n\nExecution `e2e-change.fp-1`\n")
    titles = [line for line in report.splitlines() if line.startswith("## ")]
    assert titles == ["## Summary", "## Impact", "## Timeline (UTC)", "## What ran", "## Decisions", "## Rollback",
                      "## Resolution", "## Recommendations"]


def test_the_summary_says_how_it_ended_when_and_how_long_it_took() -> None:
    summary = section(execution_report(rejected_run()), "Summary")
    assert "- **Status:** rolled back — step 'Risky change' rejected by bob; rolled back" in summary
    assert "- **Started:** 2026-11-25 10:00:00 UTC" in summary
    assert "- **Ended:** 2026-11-25 10:01:35 UTC (took 1m 35s)" in summary
    assert "- **Mode:** copilot" in summary and "- **Started by:** the alert" in summary
    assert "- **Alert:** E2EChange" in summary
    assert "- **Steps:** 4 (1 rejected, 3 succeeded)" in summary


def test_the_impact_comes_from_the_alert_labels_and_annotations() -> None:
    impact = section(execution_report(rejected_run()), "Impact")
    assert impact.strip().splitlines() == [
        "- **Instance:** web-1", "- **Severity:** critical", "- **Job:** api",
        "- **Summary:** API latency above 2 s", "- **Description:** p99 over 5 minutes"]


def test_the_timeline_is_in_order_with_utc_times() -> None:
    lines = section(execution_report(rejected_run()), "Timeline (UTC)").strip().splitlines()
    assert lines[0] == "- 2026-11-25 10:00:00 · started · started (copilot) by alert"
    assert "- 2026-11-25 10:01:00 · decided · 'Risky change' rejected by bob: too risky on a Friday" in lines
    assert lines[-1] == "- 2026-11-25 10:01:35 · finished · rolled\\_back: rejected; rolled back"
    assert lines == sorted(lines)


def test_what_ran_shows_each_step_its_command_exit_code_and_the_end_of_its_output() -> None:
    ran = section(execution_report(rejected_run()), "What ran")
    first = ran.split("### 2.")[0]
    assert "### 1. Look before touching — succeeded" in first
    assert "- **Risk:** green" in first and "- **Exit code:** 0" in first
    assert "```\necho check\n```" in first
    assert "Output (the last 5 of 6 lines):\n\n```\nline 2\nline 3\nline 4\nline 5\nline 6\n```" in first
    risky = ran.split("### 4.")[1]
    assert "- **Not run:** rejected by bob: “too risky on a Friday”" in risky
    assert "echo risky" not in risky, "a step that did not run shows no command as if it had"


def test_decisions_say_who_approved_or_rejected_which_step_when_and_why() -> None:
    decisions = section(execution_report(rejected_run()), "Decisions").strip().splitlines()
    assert decisions == [
        "- **Change A** (yellow) approved by alice at 2026-11-25 10:00:19 UTC: “looks safe”",
        "- **Change B** (yellow) approved by alice at 2026-11-25 10:00:39 UTC: no comment",
        "- **Risky change** (red) rejected by bob at 2026-11-25 10:01:00 UTC: “too risky on a Friday”"]


def test_the_rollback_lists_what_was_undone_newest_first_and_how() -> None:
    rollback = section(execution_report(rejected_run()), "Rollback")
    assert rollback.index("### Change B — rolled back (exit 0)") < rollback.index("### Change A — rolled back (exit 0)")
    assert "```\necho undo-a\n```" in rollback and "```\necho undo-b\n```" in rollback
    assert "```\nundone a\n```" in rollback


def test_the_resolution_names_the_last_step_to_finish_before_the_alert_resolved() -> None:
    resolution = section(execution_report(rejected_run()), "Resolution")
    assert "The alert resolved at 2026-11-25 10:01:20 UTC, 1m 20s after the start." in resolution
    assert "The last step to finish before it: **Change B** (succeeded at 2026-11-25 10:00:41 UTC)." in resolution
    unresolved = rejected_run(); unresolved.execution.resolved_at = None  # noqa: E702
    assert section(execution_report(unresolved), "Resolution").strip() == (
        "Not resolved: no resolution of the alert was recorded.")


def test_recommendations_come_from_the_flags_and_from_this_run() -> None:
    recs = section(execution_report(rejected_run()), "Recommendations").strip().splitlines()
    assert recs[0] == ("- Dead step: step 'Risky change' was rejected or skipped in all 3 runs (3 rejected, 0 skipped): "
                       "remove it or fix it")
    assert recs[1].startswith("- **Risky change** was rejected by bob: “too risky on a Friday”. If that holds")
    assert len(recs) == 2


def test_a_failed_step_a_failed_rollback_and_a_timer_rejection_are_recommendations_and_none_is_said() -> None:
    facts = rejected_run()
    facts.flags = []
    facts.execution.status = "failed"
    check, change_a, change_b, risky = facts.steps
    check.status, check.exit_code, check.output = "failed", 127, "sh: 1: probe: not found\n"
    change_a.rollback_status, change_a.rollback_exit_code = "failed", 1
    change_b.rollback_command, change_b.rollback_status = None, None
    facts.approvals[2].actor = TIMER_ACTOR
    recs = section(execution_report(facts), "Recommendations").strip().splitlines()
    assert recs == [
        "- **Look before touching** failed (exit 127: sh: 1: probe: not found): fix its command, or what it needs, "
        "before the next run.",
        "- The rollback of **Change A** failed (exit 1): check by hand what it left behind, and fix its rollback "
        "command.",
        "- Nobody decided on **Risky change** before the escalation timer rejected it: check that the escalation "
        "chain reaches someone who can decide.",
        "- **Change B** changed state with no rollback, so it was not undone: check by hand what is left, and add "
        "a rollback where one is possible."]
    assert "- **Change B** (yellow)" in section(execution_report(facts), "Rollback")

    calm = rejected_run()
    calm.flags, calm.approvals[2].comment = [], ""
    assert section(execution_report(calm), "Recommendations").strip() == "None."


def test_a_backtick_in_a_command_does_not_break_its_code_block_or_span() -> None:
    facts = rejected_run()
    command = "echo `date` ```not a fence``` >> /tmp/x"
    facts.steps[0].command = command
    facts.execution.id = "odd`id"
    html = MarkdownIt("commonmark", {"html": False}).render(execution_report(facts))
    assert "<pre><code>echo `date` ```not a fence``` &gt;&gt; /tmp/x\n</code></pre>" in html
    assert "<code>odd`id</code>" in html
    assert code_span("`x`") == "`` `x` ``" and code_block("a\n````\nb") == "`````\na\n````\nb\n`````"


def test_text_from_alerts_and_people_stays_text() -> None:
    facts = rejected_run()
    facts.labels["instance"] = "<img src=x onerror=alert(1)> *web* [link](javascript:alert(1))"
    facts.approvals[0].comment = "fine\n## not a heading"
    html = MarkdownIt("commonmark", {"html": False}).render(execution_report(facts))
    assert "<img" not in html and "<em>" not in html and "<a " not in html
    assert "&lt;img src=x onerror=alert(1)&gt; *web* [link](javascript:alert(1))" in html
    assert "“fine ## not a heading”" in html
    assert text("a|b_c") == "a\\|b\\_c"


def test_output_is_masked_again_on_its_way_out() -> None:
    facts = rejected_run()
    facts.steps[0].output = "connecting\npassword=hunter2-very-secret\n"
    report = execution_report(facts)
    assert "hunter2" not in report and "password=[masked]" in report


def test_a_run_started_by_hand_has_no_impact_from_an_alert_and_nothing_to_resolve() -> None:
    facts = rejected_run()
    facts.has_alert, facts.labels, facts.annotations = False, {}, {}
    facts.execution.alertname, facts.execution.resolved_at, facts.execution.started_by = None, None, "carol"
    facts.execution.params = {"log": "/tmp/x.log"}
    report = execution_report(facts)
    assert section(report, "Impact").strip() == "No alert: started by hand with:\n\n- `log`: /tmp/x.log"
    assert section(report, "Resolution").strip() == "No alert to resolve: started by hand."
    assert "- **Started by:** carol" in report and "- **Alert:** none (started by hand)" in report


def test_an_incident_report_can_nest_it_one_level_deeper() -> None:
    nested = execution_report(rejected_run(), level=2)
    assert nested.startswith("## Incident report: ")
    assert "\n### Summary\n" in nested and "\n#### 1. Look before touching — succeeded\n" in nested
