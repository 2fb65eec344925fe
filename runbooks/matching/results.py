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
    """Text score = semantic * cosine + lexical * BM25 share, then a decision, not a threshold:

    - at or above `sure`, the top candidate;
    - at or above `threshold`, the top candidate if it leads the next one of another name by
      `margin` (siblings documented twice, same alert name, are one answer);
    - else, at or above `ask`, none, but a person is asked to choose among the top 3;
    - else none.

    `ask` (0.38) keeps the "which runbook?" queue to alerts worth a person's look: on that dev split,
    20 covered alerts asked (the right runbook in the top 3 for 17), 9 uncovered ones.
    The weights and `threshold` come from bench/matching.py (calibration half of
    bench/data/alerts_labelled.jsonl); `sure` and `margin` from the dev split of
    bench/data/eval14/alerts.jsonl (bench/matching_eval.py), a wrong runbook costing three times a
    missing one. That split's optimum put `threshold` at 0.42 (4 more renamed alerts right), but
    with a small catalog 0.42 gave a runbook to an alert none covers on one shared word: kept at 0.44.
    """

    semantic: float = 0.70
    lexical: float = 0.30
    threshold: float = 0.44
    sure: float = 0.60
    margin: float = 0.05
    ask: float = 0.38


@dataclass(frozen=True)
class TextScore:
    runbook_id: str
    score: float
    semantic: float
    lexical: float


@dataclass
class RebuildStats:
    runbooks: int = 0
    embedded: int = 0
    deleted: int = 0
    seconds: float = 0.0
