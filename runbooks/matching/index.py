"""Which runbook answers an alert — or, honestly, none: a wrong runbook is worse than none.

`RunbookIndex.match` tries the cheapest and surest evidence first:

1. explicit `match:` selectors (every label equal; the most specific wins): score 1.0;
2. the alert name equal to a runbook's id, file name or title, case and separators aside — or the
   alert's `runbook_url` annotation naming the runbook's file: score 0.95. Several runbooks of one
   name (the same alert documented twice) are told apart by the runbook_url, then by BM25. Stages
   1 and 2 never run the model;
3. text: BM25 over names, descriptions, step titles and commands (bm25s, in memory; scores as the
   share of the query's weight matched, in [0, 1]), cosine similarity of MiniLM embeddings (a
   runbook's vector is the mean of its "name + meaning" and "name" vectors, an alert's the mean of
   its "name + summary + description" and "summary" vectors), and how much of the runbook's name
   the alert's words cover (rare words weigh more), combined as a weighted sum; then a decision
   (runbooks/matching/decision.py): this runbook (or the sibling whose qualifier the alert
   carries), none, or ask a person — so an alert no runbook covers gets none, with its top 3
   candidates and their scores all the same.

The vectors persist in chromadb; `rebuild` re-embeds only runbooks whose embedded text changed and
keeps them as one matrix in memory (a query is one product, not a vector-store search). Reads are
lock-free on an immutable snapshot that `rebuild` swaps in when it is done.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runbooks.matching.decision import decide
from runbooks.matching.embeddings import ModelUnavailable, OfflineMiniLM, model_id, shared_embedder, text_hash
from runbooks.matching.lexical import LexicalIndex, NameCoverage
from runbooks.matching.results import Candidate, MatchOutcome, RebuildStats, TextScore, Weights
from runbooks.matching.text import alert_query, name_tokens, name_words, norm, runbook_lexical, runbook_summary
from runbooks.model import Runbook

log = logging.getLogger(__name__)

__all__ = ["Candidate", "MatchOutcome", "RebuildStats", "RunbookIndex", "TextScore", "Weights"]

SUMMARY_VERSION = "2"  # bump when what is embedded changes: every runbook is re-embedded once
COLLECTION = "runbooks"
QUERY_TOKENS = 64  # an alert's text is cut here (MiniLM was trained on 128-token texts): bounds latency


def _embedded_texts(rb: Runbook) -> tuple[str, str]:
    """A runbook's vector is the mean of two: its name and meaning, and its name alone."""
    return runbook_summary(rb), name_words(rb)


@dataclass(frozen=True)
class _State:
    runbooks: dict[str, tuple[Runbook, int]] = field(default_factory=dict)
    by_name: dict[str, list[str]] = field(default_factory=dict)  # normalized name -> ids
    selectors: list[tuple[Runbook, int]] = field(default_factory=list)
    lexical: LexicalIndex | None = None
    names: NameCoverage | None = None
    position: dict[str, int] = field(default_factory=dict)  # id -> row in the score arrays (lexical.ids order)
    vectors: np.ndarray | None = None  # the runbooks' unit vectors, rows in lexical.ids order (zeros: none)
    keys: list[str] = field(default_factory=list)  # each row's name key (rows of one key are one answer)


@dataclass(frozen=True)
class _Scored:
    query: list[str]  # the alert's lexical tokens
    surface: dict[str, str]  # token -> the alert's word
    semantic: np.ndarray
    lexical: np.ndarray
    name: np.ndarray
    combined: np.ndarray
    order: np.ndarray  # rows, best first


@dataclass(frozen=True)
class Signals:
    ids: list[str]
    semantic: np.ndarray
    lexical: np.ndarray
    name: np.ndarray
    said: set[str]  # the alert's lexical tokens
    names: list[frozenset[str]]  # each runbook's name tokens
    keys: list[str]  # each runbook's name key


def _drop_collection(client: object, name: str) -> None:
    with contextlib.suppress(Exception):  # at exit, or already gone
        client.delete_collection(name)  # type: ignore[attr-defined]


def _names(rb: Runbook) -> set[str]:
    """The names an alert can match exactly: the runbook's id, file name and title, and the other alerts it
    documents (`alerts:`, or `[This alert][Name]` sections)."""
    return {n for n in (norm(rb.id), norm(rb.id.rsplit("/", 1)[-1]), norm(rb.title), *map(norm, rb.alerts)) if n}


STUB = re.compile(r"^\s*(?:this alert has been moved to|moved to|see)\b", re.IGNORECASE)


def _stub_target(runbooks: dict[str, tuple[Runbook, int]], rid: str) -> str | None:
    """The runbook a stub points to: a runbook without steps whose short text only says where the alert
    is documented now. The target is the runbook whose name its text names (the most path segments
    shared when several share that name)."""
    rb = runbooks[rid][0]
    text = rb.description or ""
    if rb.steps or len(text) > 240 or not STUB.match(text):
        return None
    said = norm(text)
    found = [other for other in runbooks if other != rid and name_key(other) and name_key(other) in said]
    if not found:
        return None
    return max(found, key=lambda o: (len(name_key(o)), sum(norm(part) in said for part in o.split("/")[:-1]),
                                     bool(runbooks[o][0].steps), o))


def name_key(runbook_id: str) -> str:
    """Runbooks of one name (the same alert documented in two folders) are one answer."""
    return norm(runbook_id.rsplit("/", 1)[-1])


def _url_overlap(url: str, runbook_id: str) -> int:
    """How many trailing path segments of a runbook_url name the runbook's id (file name first)."""
    path = [norm(p.removesuffix(".md")) for p in url.split("?")[0].split("#")[0].rstrip("/").split("/")]
    ids = [norm(p) for p in runbook_id.split("/")]
    n = 0
    while n < min(len(path), len(ids)) and path[-1 - n] == ids[-1 - n] and ids[-1 - n]:
        n += 1
    return n


class RunbookIndex:
    def __init__(self, persist_dir: Path | None = None, *, weights: Weights | None = None,
                 embedder: OfflineMiniLM | None = None) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        self.persist_dir = Path(persist_dir) if persist_dir is not None else None
        if self.persist_dir is not None:
            self.persist_dir.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(self.persist_dir / "chroma"), settings=chroma_settings)
            name = COLLECTION
        else:  # in-memory clients of one process share their collections: each index gets its own
            self._client = chromadb.EphemeralClient(settings=chroma_settings)
            name = f"{COLLECTION}-{uuid.uuid4().hex}"
            weakref.finalize(self, _drop_collection, self._client, name)
        # vectors are given, never computed by chromadb (its default model would download itself)
        self._collection = self._client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "ip"}}, metadata={"model": model_id()})
        self.weights = weights or Weights()
        self._embedder = embedder
        self._embedder_error: str | None = None
        self._state = _State()
        self._write_lock = threading.Lock()
        self.last_rebuild = RebuildStats()

    # --- the model -------------------------------------------------------------------------------------
    @property
    def embedder(self) -> OfflineMiniLM | None:
        """The offline MiniLM, made on first use; None (text matching off) when its files are missing."""
        if self._embedder is None and self._embedder_error is None:
            try:
                cache = self.persist_dir / "model" if self.persist_dir is not None else None
                self._embedder = shared_embedder(cache)
            except ModelUnavailable as exc:
                self._embedder_error = str(exc)
                log.warning("runbook search without semantic matching: %s", exc)
        return self._embedder

    def close(self) -> None:
        """Release the vector store's client: its system (threads, caches) is stopped with the last one."""
        with contextlib.suppress(Exception):
            self._client.close()

    # --- building ---------------------------------------------------------------------------------------
    def rebuild(self, runbooks: list[tuple[Runbook, int]]) -> None:
        """Index the latest runbooks: embed only new or changed ones, drop removed ones, redo BM25."""
        started = time.perf_counter()
        with self._write_lock:
            latest = {rb.id: (rb, v) for rb, v in runbooks}
            fingerprints = {rid: text_hash("\n".join((SUMMARY_VERSION, model_id(), *_embedded_texts(rb))))
                            for rid, (rb, _) in latest.items()}
            stored = self._collection.get(include=["metadatas"])
            known = {i: (m or {}).get("fp") for i, m in zip(stored["ids"], stored["metadatas"] or [])}
            removed = [i for i in known if i not in latest]
            if removed:
                self._collection.delete(ids=removed)
            changed = [rid for rid in latest if known.get(rid) != fingerprints[rid]]
            if changed and self.embedder is not None:
                texts = [text for rid in changed for text in _embedded_texts(latest[rid][0])]
                pairs = self.embedder.embed(texts).reshape(len(changed), 2, -1)
                # inner product with this mean = the mean of the query's cosines with the two texts
                vectors = pairs.mean(axis=1)
                for start in range(0, len(changed), 1000):
                    ids = changed[start:start + 1000]
                    self._collection.upsert(ids=ids, embeddings=vectors[start:start + 1000],
                                            metadatas=[{"fp": fingerprints[i]} for i in ids])
            by_name: dict[str, list[str]] = {}
            for rid, (rb, _) in sorted(latest.items()):
                for name in _names(rb):
                    by_name.setdefault(name, []).append(rid)
            ordered = sorted(latest)
            lexical = LexicalIndex(ordered, [runbook_lexical(latest[rid][0]) for rid in ordered]) if ordered else None
            names = NameCoverage([name_tokens(latest[rid][0]) for rid in ordered]) if ordered else None
            self._state = _State(runbooks=latest, by_name=by_name, lexical=lexical, names=names,
                                 selectors=[(rb, v) for rb, v in latest.values() if rb.match],
                                 position={rid: i for i, rid in enumerate(ordered)},
                                 vectors=self._vectors(ordered), keys=[name_key(rid) for rid in ordered])
            self.last_rebuild = RebuildStats(len(latest), len(changed) if self._embedder else 0, len(removed),
                                             time.perf_counter() - started)

    def _vectors(self, ordered: list[str]) -> np.ndarray | None:
        """The stored vectors as one matrix: a query is one matrix product, not a vector-store search
        (the store's exhaustive query cost ~20 ms at 5,000 runbooks; the product well under 1 ms)."""
        if not ordered or self.embedder is None:
            return None
        matrix: np.ndarray | None = None
        at = {rid: i for i, rid in enumerate(ordered)}
        for start in range(0, len(ordered), 1000):
            got = self._collection.get(ids=ordered[start:start + 1000], include=["embeddings"])
            for rid, vector in zip(got["ids"], got["embeddings"]):
                if matrix is None:
                    matrix = np.zeros((len(ordered), len(vector)), dtype=np.float32)
                matrix[at[rid]] = vector
        return matrix

    def __len__(self) -> int:
        return len(self._state.runbooks)

    # --- scoring ----------------------------------------------------------------------------------------
    def _semantic(self, state: _State, texts: list[str]) -> np.ndarray:
        """Each runbook's similarity to the alert (in `state.lexical.ids` order): the inner product of the
        alert's vector (the mean of its texts' vectors, renormalized) with the runbook's stored vector."""
        texts = [t for t in texts if t]
        if not texts or self.embedder is None or state.vectors is None:
            return np.zeros(len(state.position))
        vector = self.embedder.embed(texts, max_tokens=QUERY_TOKENS, batch_size=1).sum(axis=0)
        vector /= max(float(np.linalg.norm(vector)), 1e-12)
        # einsum, not BLAS: OpenBLAS threads left spinning after a product slow the next ONNX run
        scores = np.einsum("ij,j->i", state.vectors, vector.astype(np.float32))
        return np.clip(scores, 0.0, 1.0).astype(np.float64)

    def _score(self, state: _State, labels: dict[str, str], annotations: dict[str, str] | None,
               expression: str = "") -> _Scored | None:
        if state.lexical is None:
            return None
        query = alert_query(labels, annotations, expression)
        semantic = self._semantic(state, [query.semantic, query.summary])
        lexical = state.lexical.scores(query.lexical)
        name = state.names.scores(query.lexical) if state.names is not None else np.zeros(len(lexical))
        w = self.weights
        combined = w.semantic * semantic + w.lexical * lexical + w.name * name
        order = np.lexsort((np.arange(len(combined)), -combined))  # best first; ties by id
        return _Scored(query.lexical, query.surface, semantic, lexical, name, combined, order)

    def text_scores(self, labels: dict[str, str], annotations: dict[str, str] | None = None,
                    expression: str = "") -> list[TextScore]:
        """Every runbook's hybrid text score for an alert, best first (what stage 3 decides on)."""
        state = self._state
        scored = self._score(state, labels, annotations, expression)
        return [self._text_score(state, scored, int(i)) for i in scored.order] if scored else []

    def signals(self, labels: dict[str, str], annotations: dict[str, str] | None = None,
                expression: str = "") -> Signals | None:
        """The text stage's evidence for an alert, unweighted, for calibration (bench/matching_eval.py)."""
        state = self._state
        scored = self._score(state, labels, annotations, expression)
        if scored is None or state.lexical is None or state.names is None:
            return None
        return Signals(state.lexical.ids, scored.semantic, scored.lexical, scored.name, set(scored.query),
                       state.names.names, state.keys)

    def _text_score(self, state: _State, scored: _Scored, i: int) -> TextScore:
        assert state.lexical is not None
        return TextScore(state.lexical.ids[i], float(scored.combined[i]), float(scored.semantic[i]),
                         float(scored.lexical[i]), float(scored.name[i]))

    # --- matching ---------------------------------------------------------------------------------------
    def match(self, labels: dict[str, str], annotations: dict[str, str] | None = None,
              expression: str = "") -> MatchOutcome:
        """The runbook for an alert, or none; see the module docstring for the stages. `expression`:
        the PromQL of the rule that fired, when the source sends it (its metrics are words too)."""
        state = self._state
        annotations = annotations or {}
        if not state.runbooks:
            return MatchOutcome(runbook_id=None, version=None, score=0.0, reason="no runbooks indexed", candidates=[])
        exact = self._exact(state, labels, annotations)
        if exact is not None:
            rid, score, reason, others = exact
            candidates = [self._candidate(state, rid, score, reason)]
            also = f"also named {labels.get('alertname')!r}"
            candidates += [self._candidate(state, other, score, also) for other in others]
            return MatchOutcome(runbook_id=rid, version=state.runbooks[rid][1], score=score, reason=reason,
                                candidates=candidates[:3])

        scored = self._score(state, labels, annotations, expression)
        assert scored is not None
        total = len(state.runbooks)
        rank_of = {int(i): rank for rank, i in enumerate(scored.order, start=1)}

        def candidate(row: int, why: str = "") -> Candidate:
            s = self._text_score(state, scored, row)
            terms = state.lexical.matched(s.runbook_id, scored.query) if state.lexical else []
            on = f" on '{' '.join(scored.surface.get(t, t) for t in terms)}'" if terms else ""
            where = f"best of {total}" if rank_of[row] == 1 else f"#{rank_of[row]} of {total}"
            reason = f"semantic {s.semantic:.2f} + lexical {s.lexical:.2f}{on} + name {s.name:.2f}; {where}"
            return self._candidate(state, s.runbook_id, round(s.score, 3), f"{reason}; {why}" if why else reason)

        candidates = [candidate(int(i)) for i in scored.order[:3]]
        top = candidates[0]
        if self.embedder is None:
            return MatchOutcome(runbook_id=None, version=None, score=top.score, candidates=candidates,
                                reason=f"no exact match, and text matching is off ({self._embedder_error})")
        assert state.names is not None
        d = decide(scored.order, scored.combined, state.names.names, state.keys, set(scored.query), self.weights,
                   labels.get("severity", ""))
        if d.sibling_reason:  # a sibling chosen by its qualifier: first among the candidates, with why
            chosen = candidate(d.row, d.sibling_reason)
            candidates = [chosen, *(c for c in candidates if c.runbook_id != chosen.runbook_id)][:3]
        top = candidates[0]
        w = self.weights
        next_id = state.lexical.ids[d.other] if d.other is not None else "-"
        if d.verdict == "run":
            why = "sure" if d.score >= w.sure else f"leads the next ({next_id}) by {d.lead:.2f}"
            return MatchOutcome(runbook_id=top.runbook_id, version=state.runbooks[top.runbook_id][1],
                                score=round(d.score, 3), reason=f"{top.reason}; {why}", candidates=candidates)
        if d.verdict == "ask":
            near = (f"it leads the next by only {d.lead:.2f}" if d.score >= w.threshold
                    else f"the best text score, {d.score:.2f}, is below {w.threshold:.2f}")
            return MatchOutcome(runbook_id=None, version=None, score=round(d.score, 3), candidates=candidates, ask=True,
                                reason=f"unsure ({near}): which runbook? a person chooses among the top 3, "
                                       "and the choice is learnt")
        return MatchOutcome(runbook_id=None, version=None, score=round(d.score, 3), candidates=candidates,
                            reason=f"no runbook: the best text score, {d.score:.2f} ({top.runbook_id}), is below "
                                   f"{w.ask:.2f}")

    def exact_match(self, labels: dict[str, str], annotations: dict[str, str] | None = None) -> str | None:
        """The runbook stages 1-2 (selector, alert name, runbook_url) give, if any."""
        exact = self._exact(self._state, labels, annotations or {})
        return exact[0] if exact else None

    def _exact(self, state: _State, labels: dict[str, str],
               annotations: dict[str, str]) -> tuple[str, float, str, list[str]] | None:
        """(runbook id, score, reason, other runbooks of the same name) from stage 1 or 2, without the model."""
        selected = [(rb, v) for rb, v in state.selectors if all(labels.get(k) == val for k, val in rb.match.items())]
        if selected:
            rb, _ = max(selected, key=lambda pair: (len(pair[0].match), pair[0].id))
            return rb.id, 1.0, "match: selector " + ", ".join(f"{k}={v}" for k, v in sorted(rb.match.items())), []
        url = annotations.get("runbook_url", "")
        name = labels.get("alertname", "")
        named = state.by_name.get(norm(name), []) if name else []
        if named:
            lexical = self._lexical_of(state, labels, annotations, named)
            # a runbook with steps before a stub that only points elsewhere ("this alert has moved to...")
            best = min(named, key=lambda rid: (-_url_overlap(url, rid), not state.runbooks[rid][0].steps,
                                               -lexical[rid], rid))
            how = "id" if norm(best.rsplit("/", 1)[-1]) == norm(name) else "title"
            why = f"alert name {name!r} equals the runbook's {how}"
            if len(named) > 1:
                by_url = _url_overlap(url, best) > max(_url_overlap(url, r) for r in named if r != best)
                chosen_by = "its runbook_url" if by_url else "the lexical score"
                why += f" (one of {len(named)} runbooks of that name, chosen by {chosen_by})"
            target = _stub_target(state.runbooks, best)
            if target is not None:  # "This alert has been moved to ...", "See [Node RAID Degraded](...)"
                why += f"; that runbook only points to {target}"
                return target, 0.95, why, [best, *(r for r in named if r not in (best, target))]
            return best, 0.95, why, [r for r in named if r != best]
        if url:
            overlaps = sorted(((_url_overlap(url, rid), rid) for rid in state.runbooks), reverse=True)
            if overlaps[0][0] >= 1 and (len(overlaps) == 1 or overlaps[0][0] > overlaps[1][0]):
                return overlaps[0][1], 0.95, f"runbook_url annotation {url!r} names this runbook's file", []
        return None

    def _lexical_of(self, state: _State, labels: dict[str, str], annotations: dict[str, str],
                    ids: list[str]) -> dict[str, float]:
        if len(ids) < 2 or state.lexical is None:
            return {rid: 0.0 for rid in ids}
        scores = state.lexical.scores(alert_query(labels, annotations).lexical)
        return {rid: float(scores[state.position[rid]]) for rid in ids}

    def _candidate(self, state: _State, rid: str, score: float, reason: str) -> Candidate:
        return Candidate(runbook_id=rid, score=score, reason=reason, source_path=state.runbooks[rid][0].source_path)
