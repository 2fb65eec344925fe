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


@dataclass(frozen=True)
class Weights:
    """Text score = semantic * cosine + lexical * BM25 share; accepted at or above `threshold`.

    Calibrated by bench/matching.py on the calibration half of bench/data/alerts_labelled.jsonl
    against the 256 corpus runbooks (see the bench's report for the test half).
    """

    semantic: float = 0.70
    lexical: float = 0.30
    threshold: float = 0.44


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
