"""What runbook search answers with, and the knobs it is calibrated by (see runbooks/matching/index.py)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel


class Candidate(BaseModel):
    runbook_id: str
    score: float
    reason: str
    source_path: str | None = None


class MatchOutcome(BaseModel):
    runbook_id: str | None
    version: int | None
    score: float
    reason: str
    candidates: list[Candidate]
    ask: bool = False  # unsure: no runbook chosen, but a person should pick among the candidates


@dataclass(frozen=True)
class Weights:
    """Text score = semantic * cosine + lexical * BM25 share + name * name coverage, then a decision
    (runbooks/matching/decision.py), not a threshold:

    - at or above `sure`, the top candidate (or the sibling whose qualifier the alert carries);
    - at or above `threshold`, the top candidate if it leads the next one of another name by
      `margin` (siblings documented twice, same alert name, are one answer);
    - else, at or above `ask`, none, but a person is asked to choose among the top 3;
    - else none.

    Tuned on development data only (`bench/matching_eval.py --tune`: eval14 and eval14v2, each run
    once as a test set before it tuned anything, and the first set's calibration half; a wrong
    runbook costs 3, a runbook for an alert none covers 5, a missing one 1, asking 0.6). Tried and
    dropped, as they never paid for themselves there: "far ahead of the next at a lower score also
    runs", a penalty for a contradicted qualifier (CPU vs memory), and how much of the alert's name
    the runbook's text covers as a fourth score. Tuned again with eval14v3 added, the optimum
    (name .10, threshold .42, margin .03, ask .36) asked more and ran less: renamed top-1 fell by
    3-10 points on every development set, so these weights stayed.
    The name coverage carried most of the gain: with it the embedding's weight fell from 0.70 to
    0.30, as MiniLM on a short alert text drifts toward any runbook about the same system.
    """

    semantic: float = 0.30
    lexical: float = 0.40
    name: float = 0.20
    threshold: float = 0.48
    sure: float = 0.50
    margin: float = 0.08
    ask: float = 0.42


@dataclass(frozen=True)
class TextScore:
    runbook_id: str
    score: float
    semantic: float
    lexical: float
    name: float = 0.0


@dataclass
class RebuildStats:
    runbooks: int = 0
    embedded: int = 0
    deleted: int = 0
    seconds: float = 0.0
