"""From text scores to an answer: this runbook, none, or ask a person — and which of two siblings.

Pure functions over arrays, so the bench tunes exactly what the index ships (bench/matching_eval.py).

- **Siblings** are runbooks whose names differ by one qualifier: etcdGRPCRequestsSlow /
  etcdGRPCReadRequestsSlow / etcdGRPCWriteRequestsSlow, CephClusterNearFull / CephClusterCriticallyFull.
  Their texts are nearly the same, so their scores say little; the alert's words do. Among the top
  candidate's siblings scoring near it, the one whose qualifier the alert carries wins; when the
  alert carries none, the general one (no qualifier). Near / critical also read the alert's
  severity, as the rules that tell those siblings apart differ by it — only when its text says neither.
- **The decision**: the family's best score at or above `sure`, or at or above `threshold` and
  ahead of the next runbook outside the family (and of another name) by `margin`, runs; close
  (at or above `ask`) asks a person; else none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from runbooks.matching.results import Weights
from runbooks.matching.text import tokens

SIBLING_GAP = 0.12  # a sibling is considered when it scores within this of the top candidate
SIBLING_DEPTH = 8  # ...and is among the best this many
SEVERITY_QUALIFIERS = {"critical": "critical", "warning": "near"}


@dataclass(frozen=True)
class Decision:
    verdict: Literal["run", "ask", "none"]
    row: int  # the runbook chosen (or, for ask/none, the best candidate)
    score: float  # the family's best text score: what the verdict was decided on
    lead: float  # over the next runbook outside the family
    other: int | None  # that next runbook
    sibling_reason: str = ""  # why a sibling was chosen over the best-scored one


# Words that qualify a condition rather than name one (stemmed as names are): two runbooks whose
# names differ by one of these each are siblings; one name with one more word is the specific one.
QUALIFIERS = frozenset(tokens(
    "read write near critical critically warning transmit receive server client serving any some all overall "
    "individual high low ingress egress inbound outbound internal external primary replica master worker "
    "soft hard upper lower cpu memory"))


def siblings(a: frozenset[str], b: frozenset[str]) -> bool:
    """Names that share the rest and differ by one word: on one side only (the general one and a
    specific one), or one qualifier on each side (read / write)."""
    if len(a & b) < 2:
        return False
    only_a, only_b = a - b, b - a
    if len(only_a) + len(only_b) == 1:
        return True
    return len(only_a) == len(only_b) == 1 and only_a <= QUALIFIERS and only_b <= QUALIFIERS


def _family(order: np.ndarray, combined: np.ndarray, names: list[frozenset[str]], keys: list[str]) -> list[int]:
    """The top candidate and its siblings near it, one runbook per name (the best-scored)."""
    top = int(order[0])
    family, seen = [top], {keys[top]}
    for i in order[1:SIBLING_DEPTH]:
        row = int(i)
        if combined[row] < combined[top] - SIBLING_GAP:
            break
        if keys[row] not in seen and siblings(names[top], names[row]):
            family.append(row)
            seen.add(keys[row])
    return family


def choose_sibling(family: list[int], names: list[frozenset[str]], said: set[str],
                   severity: str = "") -> tuple[int, str] | None:
    """(row, why) when the alert's words (`said`, lexical tokens) pick one sibling, else None."""
    if len(family) < 2:
        return None
    common = frozenset.intersection(*(names[r] for r in family))
    qualifier = {r: names[r] - common for r in family}
    for words in (said, said | {SEVERITY_QUALIFIERS.get(severity.lower(), "")} - {""}):
        carried = [r for r in family if qualifier[r] and qualifier[r] <= words]
        if len(carried) == 1:
            how = "says" if words is said else f"is of severity {severity!r}, read as"
            return carried[0], f"a sibling chosen by its qualifier: the alert {how} '{' '.join(sorted(qualifier[carried[0]]))}'"
        if carried:
            return None
    general = [r for r in family if not qualifier[r]]
    if len(general) == 1:
        others = ", ".join(sorted({q for r in family for q in qualifier[r]}))
        return general[0], f"the general one of its siblings: the alert says none of '{others}'"
    return None


def decide(order: np.ndarray, combined: np.ndarray, names: list[frozenset[str]], keys: list[str],
           said: set[str], weights: Weights, severity: str = "") -> Decision:
    """`order`: rows best first; `names`: each row's name tokens; `keys`: each row's name key (rows of
    one key are one answer); `said`: the alert's lexical tokens."""
    family = _family(order, combined, names, keys)
    chosen = choose_sibling(family, names, said, severity)
    row, why = chosen if chosen else (family[0], "")
    top = float(combined[family[0]])
    inside = {keys[r] for r in family} if chosen else {keys[family[0]]}
    other = next((int(i) for i in order[1:] if keys[int(i)] not in inside), None)
    lead = top - (float(combined[other]) if other is not None else 0.0)
    w = weights
    if top >= w.sure or (top >= w.threshold and lead >= w.margin):
        verdict: Literal["run", "ask", "none"] = "run"
    elif top >= w.ask:
        verdict = "ask"
    else:
        verdict = "none"
    return Decision(verdict, row, top, lead, other, why)
