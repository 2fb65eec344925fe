"""BM25 over the runbooks (bm25s, in memory), with scores put on an absolute [0, 1] scale.

Raw BM25 has no upper bound and means nothing across queries, so a threshold could not be set on
it. Here a runbook's score is the share of the query's BM25 weight that it matches: its BM25
score divided by the sum, over the query's tokens, of the best score any runbook gets for that
token. A query word no runbook uses counts in the divisor too (at the median token weight): an
alert about words the catalog never uses is not well covered by whichever runbook shares its
one common word.
"""

from __future__ import annotations

import logging
import math
from collections import Counter

import bm25s
import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)

OOV_WEIGHT = 1.0  # an unknown query word weighs this times the median token weight


class LexicalIndex:
    def __init__(self, ids: list[str], documents: list[list[str]]) -> None:
        self.ids = ids
        self._doc_tokens = {rid: set(doc) for rid, doc in zip(ids, documents)}
        self._bm25 = bm25s.BM25()
        self._bm25.index([doc or [""] for doc in documents], show_progress=False)
        data, indptr = self._bm25.scores["data"], self._bm25.scores["indptr"]
        vocab_size = len(indptr) - 1
        best = np.zeros(vocab_size, dtype=np.float64)
        for t in range(vocab_size):
            if indptr[t + 1] > indptr[t]:
                best[t] = float(data[indptr[t]:indptr[t + 1]].max())
        self._best = best
        self._oov = float(np.median(best[best > 0])) * OOV_WEIGHT if (best > 0).any() else 1.0
        self._idf_order = best  # rarer (weightier) words first when a reason lists matched words

    def scores(self, query: list[str]) -> np.ndarray:
        """Each runbook's share of the query's BM25 weight, in [0, 1], in the order of `ids`."""
        vocab = self._bm25.vocab_dict
        known = [vocab[t] for t in query if t in vocab and t != ""]
        unknown = sum(1 for t in query if t not in vocab)
        if not known:
            return np.zeros(len(self.ids))
        raw = np.asarray(self._bm25.get_scores_from_ids(known), dtype=np.float64)
        bound = float(self._best[known].sum()) + unknown * self._oov
        return np.clip(raw / bound, 0.0, 1.0) if bound > 0 else np.zeros(len(self.ids))

    def matched(self, runbook_id: str, query: list[str], limit: int = 4) -> list[str]:
        """The query words this runbook contains, weightiest first (for a reason a person reads)."""
        vocab = self._bm25.vocab_dict
        doc = self._doc_tokens.get(runbook_id, set())
        hits = {t for t in query if t in doc and t in vocab}
        return sorted(hits, key=lambda t: -self._best[vocab[t]])[:limit]


class NameCoverage:
    """How much of each runbook's name an alert's words cover, each name word weighted by its rarity
    among runbook names (IDF), in [0, 1].

    A renamed alert keeps the condition's words ("ScrapeTargetsDown": target, down) where the
    embedding of a short text drifts toward any runbook about the same system; the name of a
    runbook is the densest statement of what it answers, so covering all of it is strong evidence.
    """

    def __init__(self, names: list[list[str]]) -> None:
        self.names = [frozenset(name) for name in names]
        df = Counter(t for name in names for t in set(name))
        self._idf = {t: math.log(1 + len(names) / n) for t, n in df.items()}
        rows: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            for t in set(name):
                rows.setdefault(t, []).append(i)
        self._rows = {t: np.asarray(r, dtype=np.int64) for t, r in rows.items()}
        self._total = np.array([sum(self._idf[t] for t in set(name)) or 1.0 for name in names])

    def scores(self, query: list[str]) -> np.ndarray:
        covered = np.zeros(len(self._total))
        for t in set(query):
            if t in self._rows:
                covered[self._rows[t]] += self._idf[t]  # a name holds a token once: rows are distinct
        return covered / self._total
