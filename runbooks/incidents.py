"""Which alerts belong together: the key an alert's incident is known by.

Alerts firing within a window (5 minutes by default) that share a key are one incident. The key
is the matched runbook's `group_by` labels when it declares them (the runbook's author knows what
one problem looks like), else the first of the configured labels the alert carries (`instance`,
then `service`), else its alert name.
"""

from __future__ import annotations

from collections.abc import Sequence


def incident_key(labels: dict[str, str], group_labels: Sequence[str], group_by: Sequence[str] = ()) -> str:
    if group_by:
        return ",".join(f"{k}={labels.get(k, '')}" for k in group_by)
    for label in group_labels:
        if labels.get(label):
            return f"{label}={labels[label]}"
    return f"alertname={labels.get('alertname', '')}"
