"""Train the learned second opinion of the risk classifier (runbooks/risk/learned.py).

Logistic regression (red vs not red) over the hashed features of every labelled development
command: bench/data/eval14/ and eval14v2/ to eval14v11/ (each run once as a held-out test set
before it trained anything), eval14dev6/ (written as development data) and tests/data/risk_labels.tsv.
A new held-out set must be left out of DATA until it has been run once.
Full-batch gradient descent from zero, fixed steps, over the sparse rows (a few seconds): the same
data gives the same model.

`--holdout FILE` trains without FILE and prints what the model would raise on it at several
thresholds. THRESHOLD was chosen by replaying first runs (learned.py says how): each
set's rules verdicts taken from the commit it was first run at (`git worktree`), the model trained
on the sets written before it.

Usage: python bench/train_risk_model.py [--holdout FILE] [--out runbooks/risk/red_model.npz]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from risk_eval import load_labels  # noqa: E402
from runbooks.risk import classify_by_rules  # noqa: E402
from runbooks.risk.learned import BITS, MODEL, THRESHOLD, applies, features  # noqa: E402

DATA = [ROOT / "bench/data/eval14/risk_dev.tsv", ROOT / "bench/data/eval14/risk_test.tsv",
        ROOT / "bench/data/eval14v2/risk_test.tsv", ROOT / "bench/data/eval14v3/risk_test.tsv",
        ROOT / "bench/data/eval14v4/risk_test.tsv", ROOT / "bench/data/eval14dev6/risk_dev.tsv",
        ROOT / "bench/data/eval14v5/risk_test.tsv", ROOT / "bench/data/eval14v6/risk_test.tsv",
        ROOT / "bench/data/eval14v7/risk_test.tsv", ROOT / "bench/data/eval14v8/risk_test.tsv",
        ROOT / "bench/data/eval14v9/risk_test.tsv", ROOT / "bench/data/eval14v10/risk_test.tsv",
        ROOT / "bench/data/eval14v11/risk_test.tsv",
        ROOT / "tests/data/risk_labels.tsv"]
STEPS, RATE, L2 = 300, 0.5, 1e-4


def load(path: Path) -> list[tuple[str, str, str]]:
    """(label, command, language) rows of a labelled file, read as bench/risk_eval.py reads it."""
    return [(row.risk.value, row.command, row.language) for row in load_labels(path)]


def sparse(rows: list[tuple[str, str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """The rows' hashed features as (feature slots, row offsets): each row sets a few hundred of 16,384."""
    slots, offsets = [], [0]
    for _, command, _ in rows:
        slots.extend(features(command))
        offsets.append(len(slots))
    return np.array(slots, dtype=np.int64), np.array(offsets, dtype=np.int64)


def scores(w: np.ndarray, b: float, slots: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(np.add.reduceat(w[slots], offsets[:-1]) + b)))


def train(rows: list[tuple[str, str, str]]) -> tuple[np.ndarray, float]:
    slots, offsets = sparse(rows)
    y = np.array([1.0 if label == "red" else 0.0 for label, _, _ in rows])
    lengths = np.diff(offsets)
    w, b = np.zeros(1 << BITS), 0.0
    for _ in range(STEPS):
        g = scores(w, b, slots, offsets) - y
        w -= RATE * (np.bincount(slots, weights=np.repeat(g, lengths), minlength=1 << BITS) / len(y) + L2 * w)
        b -= RATE * float(g.mean())
    return w.astype(np.float32), b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--holdout", type=Path)
    parser.add_argument("--out", type=Path, default=MODEL)
    args = parser.parse_args()
    files = [f for f in DATA if args.holdout is None or f.resolve() != args.holdout.resolve()]
    rows = [row for f in files for row in load(f)]
    w, b = train(rows)
    print(f"trained on {len(rows)} commands from {len(files)} files ({sum(r[0] == 'red' for r in rows)} red)")
    if args.holdout is None:
        np.savez_compressed(args.out, weights=w, bias=np.float32(b))
        print(f"wrote {args.out}")
        return 0
    test = load(args.holdout)
    p = scores(w.astype(np.float64), b, *sparse(test))
    verdicts = [classify_by_rules(command, language) for _, command, language in test]
    reds = sum(1 for label, _, _ in test if label == "red")
    for t in sorted({THRESHOLD, 0.3, 0.4, 0.6, 0.7, 0.9}):
        raised = [label for (label, _, _), v, pr in zip(test, verdicts, p) if applies(v) and pr >= t]
        gained = raised.count("red")
        print(f"  threshold {t:.1f}{' (shipped)' if t == THRESHOLD else ''}: raises {len(raised)} yellow to red, "
              f"{gained} of them labelled red ({len(raised) - gained} not); red recall +{gained / reds:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
