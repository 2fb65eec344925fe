"""Which alerts belong together: the key an alert's incident is known by.

Alerts firing within a window (5 minutes by default) that share a key are one incident. The key
is the matched runbook's `group_by` labels when it declares them (the runbook's author knows what
one problem looks like), else the first of the configured labels the alert carries (`instance`,
then `service`), else its alert name.

When alerts of one incident match different runbooks, the one answering the alert that began
firing first is the likely root cause: it runs, and the others wait as suggestions (`likely_root_cause`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


def incident_key(labels: dict[str, str], group_labels: Sequence[str], group_by: Sequence[str] = ()) -> str:
    if group_by:
        return ",".join(f"{k}={labels.get(k, '')}" for k in group_by)
    for label in group_labels:
        if labels.get(label):
            return f"{label}={labels[label]}"
    return f"alertname={labels.get('alertname', '')}"


@dataclass(frozen=True)
class Responder:
    """An alert of the incident that has a runbook answering it (running, or about to)."""

    alertname: str
    runbook_id: str
    execution_id: str
    starts_at: datetime | None


def likely_root_cause(runbook_id: str, starts_at: datetime | None, running: Sequence[Responder]) -> Responder | None:
    """Of the incident's runbooks running for other alerts, the one answering the alert that began
    firing first, if it began before this one: causes come before their symptoms (a node goes down,
    then its pods crash, then latency rises). None when this alert is the earliest, when nothing
    else runs, or when the start times say nothing (missing or equal): then both run."""
    if starts_at is None:
        return None
    earlier = [r for r in running if r.runbook_id != runbook_id and r.starts_at is not None
               and epoch(r.starts_at) < epoch(starts_at)]
    return min(earlier, key=lambda r: (epoch(r.starts_at), r.execution_id)) if earlier else None


def epoch(at: datetime | None) -> float:
    """Seconds since the epoch; a time without a zone is UTC (as the database stores it). 0 for none."""
    if at is None:
        return 0.0
    return (at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)).timestamp()


def hold_reason(alertname: str, runbook_id: str, starts_at: datetime, root: Responder) -> str:
    ahead = _ago(timedelta(seconds=epoch(starts_at) - epoch(root.starts_at)))
    return (f"{root.alertname} began firing {ahead} before {alertname} in this incident, and {root.runbook_id} "
            f"runs for it (execution {root.execution_id}): that is the likely root cause, so it runs first. "
            f"{runbook_id} waits as a suggestion: start it if {alertname} still fires.")


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"
