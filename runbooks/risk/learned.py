"""A learned second opinion that only ever raises yellow to red: does this command look like the
destructive or security-sensitive commands people labelled red?

The tables and the security rules know the forms they were written for; a new tool or an unusual
spelling of a dangerous change (`--auth-mode none`, a privileged pod in inline JSON) reads as a
plain reversible change, and in autopilot a yellow step runs by itself. This model has seen every
labelled command of the project (bench/data/eval14*/risk_*.tsv and tests/data/risk_labels.tsv,
except the held-out test set) and says how red a command looks. It never lowers a verdict, never
touches green (a read-only verdict comes from the tables, which know reads; a "not green" model
tried beside it fixed fewer greens than it broke), and its reason names the parts of the command
that weighed most.

The model is logistic regression over hashed character 3-5-grams and words of the lower-cased
command, trained by `bench/train_risk_model.py` (deterministic) and shipped beside this module
(red_model.npz, 64 KB); nothing is downloaded. `THRESHOLD` was chosen on development data.
"""

from __future__ import annotations

import functools
import re
import zlib
from pathlib import Path

import numpy as np

from runbooks.model import Risk
from runbooks.risk.base import RiskAssessment

MODEL = Path(__file__).with_name("red_model.npz")
BITS = 14  # 16,384 hashed features
# Chosen by replaying the first runs of eval14dev6, v5, v6 and v7: the rules as they stood at each run,
# the model trained only on the sets written before it. 0.7 gave red recall 0.855/0.946/0.891/0.938;
# 0.5 gives 0.875/0.968/0.916/0.953 at equal or better accuracy. 0.4 gained a point more but raised
# routine writes (`redis-cli SET k v`, one IP dropped by iptables); raising other yellows too (at 0.8
# or 0.9) gained two or three grants a set and raised an UPDATE with a narrow WHERE.
THRESHOLD = 0.5
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9_.:/=*+@-]+")


def _words(command: str) -> list[str]:
    return _WORD.findall(_SPACE.sub(" ", command.lower()))


def _slot(piece: bytes) -> int:
    return zlib.crc32(piece) % (1 << BITS)


def _grams(text: str) -> dict[int, str]:
    """The character 3-5-grams of `text`, hashed: slot -> the piece."""
    out: dict[int, str] = {}
    for n in (3, 4, 5):
        for i in range(len(text) - n + 1):
            out.setdefault(_slot(text[i:i + n].encode()), text[i:i + n])
    return out


def features(command: str) -> dict[int, str]:
    """Hashed feature -> one piece of the command that sets it."""
    out = _grams(" " + _SPACE.sub(" ", command.lower()) + " ")
    for word in _words(command):
        out.setdefault(_slot(b"w" + word.encode()), word)
    return out


@functools.lru_cache(maxsize=1)
def _model() -> tuple[np.ndarray, float] | None:
    if not MODEL.is_file():
        return None
    data = np.load(MODEL)
    return data["weights"].astype(np.float64), float(data["bias"])


def red_likeness(command: str) -> float:
    """The probability that the command is red."""
    model = _model()
    if model is None:
        return 0.0
    weights, bias = model
    z = float(weights[np.fromiter(features(command), dtype=np.int64)].sum()) + bias
    return 1.0 / (1.0 + np.exp(-z))


def pulling_words(command: str, limit: int = 3) -> list[str]:
    """The command's words that pull most towards red (each word's own feature and the n-grams inside
    it), for the reason a person reads; worked out only when the model raises a verdict."""
    model = _model()
    if model is None:
        return []
    weights, _ = model
    pulls = {word: float(weights[_slot(b"w" + word.encode())]) + float(weights[list(_grams(f" {word} "))].sum())
             for word in set(_words(command))}
    return sorted((w for w, pull in pulls.items() if pull > 0), key=lambda w: -pulls[w])[:limit]


# A yellow the tables reached without knowing the command's effect: a generic fallback. A yellow
# they decided on purpose (one pod its controller recreates, an UPDATE with a WHERE, a scale to a
# nonzero count) is a definition, not a gap, and the model does not second-guess it.
GENERIC = ("not known to be read-only", "not inspected", "changes cloud resources", "changes cluster state",
           "changes a release", "changes state (`", "sends an HTTP", "writes the file",
           "changes files", "changes firewall rules", "changes infrastructure (reversible", "changes data")
EDIT = "edits files in place"
# An in-place edit (`sed -i`) says nothing of what it writes; the model reads the substitution, but short
# ones look alike (`s/foo/bar/` on /etc: 0.80 once v11 was learnt), so they need more: replaying the first
# runs of v7-v10 at 0.85 raised 5 red-labelled edits (trust in pg_hba, salt auto_accept, an open resolver,
# an open proxy, optional client certificates) and 2 yellow ones (PasswordAuthentication no, a keepalived
# priority); at 0.8, 2 more reds.
EDIT_THRESHOLD = 0.85


def applies(verdict: RiskAssessment) -> bool:
    return verdict.risk == Risk.yellow and any(marker in verdict.reason for marker in (*GENERIC, EDIT))


def raise_if_red_like(verdict: RiskAssessment, command: str) -> RiskAssessment:
    """A generic yellow verdict, raised to red when the command looks like the labelled red ones."""
    if not applies(verdict):
        return verdict
    p = red_likeness(command)
    if p < (EDIT_THRESHOLD if EDIT in verdict.reason else THRESHOLD):
        return verdict
    on = ", ".join(f"'{word}'" for word in pulling_words(command))
    return RiskAssessment(risk=Risk.red, reason=f"learned: looks like the destructive or security-sensitive commands "
                                                f"people labelled red (p={p:.2f}, on {on}); the tables said: {verdict.reason}")
