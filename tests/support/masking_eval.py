"""Scoring the masker on the labelled set (tests/data/secrets/labelled.jsonl, written from the domain).

A secret counts as found when its exact text no longer appears after masking; a `keep` text that
no longer appears is a false alarm (something readable was hidden). Precision is found secrets over
found secrets plus false alarms; recall is found secrets over all secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from support.paths import DATA

SET = DATA / "secrets" / "labelled.jsonl"
HOLDOUT = DATA / "secrets" / "holdout.jsonl"


def load(split: str | None = None) -> list[dict]:
    """The development set (`tune`, `test` or both), or `holdout`: the set written after it, for the figure."""
    if split == "holdout":
        return [json.loads(line) for line in HOLDOUT.read_text().splitlines() if line.strip()]
    items = [json.loads(line) for line in SET.read_text().splitlines() if line.strip()]
    return [i for i in items if split is None or i["split"] == split]


@dataclass
class Score:
    items: int = 0
    secrets: int = 0
    found: int = 0
    false_alarms: int = 0
    missed: list[str] = field(default_factory=list)  # "id: secret"
    hidden: list[str] = field(default_factory=list)  # "id: kept text that was masked"

    @property
    def recall(self) -> float:
        return self.found / self.secrets if self.secrets else 1.0

    @property
    def precision(self) -> float:
        return self.found / (self.found + self.false_alarms) if self.found + self.false_alarms else 1.0

    def line(self) -> str:
        return (f"{self.items} strings, {self.secrets} secrets: recall {self.recall:.1%} ({self.found}/{self.secrets}), "
                f"precision {self.precision:.1%} ({self.false_alarms} readable parts hidden)")


def score(items: list[dict], mask: Callable[[str], str | None]) -> Score:
    result = Score(items=len(items))
    for item in items:
        masked = mask(item["text"]) or ""
        for secret in item["secrets"]:
            result.secrets += 1
            if secret in masked:
                result.missed.append(f"{item['id']}: {secret[:60]}")
            else:
                result.found += 1
        for kept in item["keep"]:
            if kept not in masked:
                result.false_alarms += 1
                result.hidden.append(f"{item['id']}: {kept[:60]}")
    return result
