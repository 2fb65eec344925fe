"""Which runbook answers an alert, cheapest and surest first, or honestly none.

A wrong runbook is worse than none, so only exact evidence matches here: the runbook's explicit
`match:` label selectors, then the alert name equal to a runbook id or title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runbooks.model import Runbook


@dataclass(frozen=True)
class MatchResult:
    runbook: Runbook
    version: int
    score: float
    reason: str


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def match_alert(labels: dict[str, str], runbooks: list[tuple[Runbook, int]]) -> MatchResult | None:
    selected = [(rb, v) for rb, v in runbooks if rb.match and all(labels.get(k) == val for k, val in rb.match.items())]
    if selected:
        rb, v = max(selected, key=lambda pair: (len(pair[0].match), pair[0].id))
        pairs = ", ".join(f"{k}={val}" for k, val in sorted(rb.match.items()))
        return MatchResult(rb, v, 1.0, f"match: selector {pairs}")
    name = labels.get("alertname")
    if not name:
        return None
    for rb, v in sorted(runbooks, key=lambda pair: pair[0].id):
        if _norm(name) in (_norm(rb.id), _norm(rb.id.rsplit("/", 1)[-1])):
            return MatchResult(rb, v, 0.9, f"alert name {name!r} equals the runbook id")
        if _norm(name) == _norm(rb.title):
            return MatchResult(rb, v, 0.8, f"alert name {name!r} equals the runbook title")
    return None
