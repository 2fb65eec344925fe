"""Prometheus metrics: the metric objects every process updates.

All metrics live in prometheus_client's default registry, so `runbooks dev` (API and worker in
one process) shows everything on the API's /metrics (api/routes/metrics.py). A standalone
`runbooks worker` serves the same registry on WORKER_METRICS_PORT (workers/main.py).

Label values are kept bounded: sources come from the adapter registry, risks and outcomes from
enums, runbook ids from the imported catalog.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

from runbooks.contract import ExecutionStatus

# -- alerts ------------------------------------------------------------------------------------

ALERTS_RECEIVED = Counter(
    "runbooks_alerts_received", "Alerts received in webhook deliveries (each alert of a delivery counts).",
    ["source", "status"])
DELIVERIES_REJECTED = Counter(
    "runbooks_alert_deliveries_rejected", "Webhook deliveries refused (unknown source, bad signature, malformed).",
    ["source", "code"])

# -- matching ----------------------------------------------------------------------------------

MATCH_SECONDS = Histogram(
    "runbooks_match_seconds", "Time to match an alert to a runbook (cache misses only).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
MATCHES = Counter(
    "runbooks_matches", "Matching outcomes: a runbook answers the alert, or none does.", ["result"])

# -- executions --------------------------------------------------------------------------------

EXECUTIONS = Gauge(
    "runbooks_executions", "Executions in the database by status (computed at scrape time).", ["status"])
RUNBOOK_OUTCOMES = Gauge(
    "runbooks_runbook_executions", "Executions of each runbook by how they ended or stand, dry runs aside (computed "
    "at scrape time): a runbook's success rate is succeeded over the ended ones.", ["runbook_id", "status"])
EXECUTIONS_STARTED = Counter(
    "runbooks_executions_started", "New executions started (re-deliveries of a running one are not counted).",
    ["runbook_id"])

# -- steps and approvals -----------------------------------------------------------------------

STEP_DURATION = Histogram(
    "runbooks_step_duration_seconds", "Wall time of run_command: a step's (or rollback's) command on its target.",
    ["risk", "outcome", "kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0))
APPROVAL_WAIT = Histogram(
    "runbooks_approval_wait_seconds", "Time a step waited for a person's (or the escalation timer's) decision.",
    ["risk", "decision"],
    buckets=(1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0,
             86400.0))


def observe_approval_wait(risk: str, approved: bool, waiting_since: datetime | None,
                          decided_at: datetime | None) -> None:
    """One decision, observed once (the caller only passes decisions it has just recorded)."""
    if waiting_since is None or decided_at is None:
        return
    # A decision can arrive before the step starts waiting (signalled early): that waited 0s.
    wait = max((decided_at - waiting_since).total_seconds(), 0.0)
    APPROVAL_WAIT.labels(risk=risk, decision="approved" if approved else "rejected").observe(wait)


def refresh_execution_gauge(counts: dict[str, int]) -> None:
    """Every known status is exported (0 when none), so a status that empties drops to 0, not stale."""
    for status in ExecutionStatus:
        EXECUTIONS.labels(status=status.value).set(0)
    for status, n in counts.items():
        EXECUTIONS.labels(status=status).set(n)


def refresh_runbook_outcomes(counts: dict[tuple[str, str], int]) -> None:
    """Replace the per-runbook series: a runbook deleted or renamed does not linger."""
    RUNBOOK_OUTCOMES.clear()
    for (runbook_id, status), n in counts.items():
        RUNBOOK_OUTCOMES.labels(runbook_id=runbook_id, status=status).set(n)
