"""Which of an incident's runbooks addresses the likely root cause: the one answering the alert
that began firing first (a node down before its pods crash, before latency rises)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from runbooks.incidents import Responder, hold_reason, likely_root_cause

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)
NODE = Responder(alertname="NodeDown", runbook_id="node-down", execution_id="ex-node", starts_at=T0)
PODS = Responder(alertname="PodCrashLooping", runbook_id="pod-crash", execution_id="ex-pods",
                 starts_at=T0 + timedelta(seconds=30))


def test_a_symptom_waits_for_the_runbook_of_the_alert_that_began_first() -> None:
    latency_start = T0 + timedelta(minutes=2)
    assert likely_root_cause("high-latency", latency_start, [PODS, NODE]) == NODE
    reason = hold_reason("HighLatency", "high-latency", latency_start, NODE)
    assert reason.startswith("NodeDown began firing 2 min before HighLatency") and "node-down runs for it" in reason


def test_the_earliest_alert_is_never_held() -> None:
    assert likely_root_cause("node-down", T0, [PODS]) is None


def test_no_order_without_evidence_and_never_against_the_same_runbook() -> None:
    assert likely_root_cause("pod-crash", None, [NODE]) is None, "no start time: it runs"
    assert likely_root_cause("pod-crash", T0, [NODE]) is None, "the same start: both run"
    assert likely_root_cause("node-down", T0 + timedelta(minutes=1), [NODE]) is None, "its own runbook"
    undated = Responder(alertname="X", runbook_id="x", execution_id="ex-x", starts_at=None)
    assert likely_root_cause("pod-crash", T0 + timedelta(minutes=1), [undated]) is None


def test_a_time_without_a_zone_is_utc_and_compares_with_one() -> None:
    naive = Responder(alertname="NodeDown", runbook_id="node-down", execution_id="ex-node", starts_at=T0.replace(tzinfo=None))
    assert likely_root_cause("pod-crash", T0 + timedelta(seconds=5), [naive]) == naive
