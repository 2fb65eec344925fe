"""Evaluate the risk classifier against the labelled commands in tests/data/risk_labels.tsv.

Prints a confusion matrix, precision and recall per class, overall accuracy, the count of red-labelled
(and of red- or yellow-labelled) commands classified green, and every misclassification with the
classifier's reason. The labels say what an experienced SRE would say, not what the classifier says.

TSV: `risk<TAB>command[<TAB>language]`; `\\n`, `\\t` and `\\\\` in the command are a newline, a tab and a
backslash; lines starting with `#` are comments, and `#@ source: NAME` tags the rows that follow.

Usage: python bench/risk_eval.py [--labels tests/data/risk_labels.tsv] [--source corpus]
Exit status: 1 if any red-labelled command is classified green, else 0.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runbooks.model import Risk
from runbooks.risk import RiskAssessment, classify

LABELS = Path(__file__).resolve().parent.parent / "tests" / "data" / "risk_labels.tsv"
CLASSES = [Risk.green, Risk.yellow, Risk.red]
_ESCAPE = re.compile(r"\\([\\nt])")


@dataclass(frozen=True)
class Labelled:
    risk: Risk
    command: str
    language: str
    source: str
    line: int


def unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: {"n": "\n", "t": "\t", "\\": "\\"}[m.group(1)], text)


def load_labels(path: Path = LABELS) -> list[Labelled]:
    rows, source = [], ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if raw.startswith("#@ source:"):
            source = raw.split(":", 1)[1].strip()
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = raw.split("\t")
        if len(fields) not in (2, 3) or fields[0] not in {r.value for r in Risk}:
            raise ValueError(f"{path}:{number}: expected `risk<TAB>command[<TAB>language]`, got {raw[:80]!r}")
        language = fields[2].strip() if len(fields) == 3 else "shell"
        rows.append(Labelled(Risk(fields[0]), unescape(fields[1]), language, source, number))
    return rows


@dataclass
class Report:
    rows: list[tuple[Labelled, RiskAssessment]]

    def count(self, expected: Risk, got: Risk) -> int:
        return sum(1 for lab, a in self.rows if lab.risk == expected and a.risk == got)

    def precision(self, risk: Risk) -> float:
        predicted = sum(self.count(e, risk) for e in CLASSES)
        return self.count(risk, risk) / predicted if predicted else 1.0

    def recall(self, risk: Risk) -> float:
        actual = sum(self.count(risk, g) for g in CLASSES)
        return self.count(risk, risk) / actual if actual else 1.0

    @property
    def accuracy(self) -> float:
        return sum(self.count(r, r) for r in CLASSES) / len(self.rows) if self.rows else 1.0

    @property
    def red_as_green(self) -> list[tuple[Labelled, RiskAssessment]]:
        return [(lab, a) for lab, a in self.rows if lab.risk == Risk.red and a.risk == Risk.green]

    @property
    def unsafe_as_green(self) -> list[tuple[Labelled, RiskAssessment]]:
        return [(lab, a) for lab, a in self.rows if lab.risk != Risk.green and a.risk == Risk.green]

    @property
    def wrong(self) -> list[tuple[Labelled, RiskAssessment]]:
        return [(lab, a) for lab, a in self.rows if lab.risk != a.risk]


def evaluate(labels: list[Labelled]) -> Report:
    return Report([(lab, classify(lab.command, lab.language)) for lab in labels])


def _one_line(text: str, width: int = 110) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."


def render(report: Report, elapsed: float, sources: dict[str, int]) -> str:
    out = [f"labelled commands: {len(report.rows)} ("
           + ", ".join(f"{n} {s or 'untagged'}" for s, n in sorted(sources.items())) + ")",
           f"classified in {elapsed * 1000:.0f} ms ({elapsed * 1e6 / max(1, len(report.rows)):.0f} us per command)",
           "", "confusion matrix (rows: labelled, columns: classified)",
           f"{'':>10} {'green':>7} {'yellow':>7} {'red':>7} {'total':>7}"]
    for e in CLASSES:
        cells = [report.count(e, g) for g in CLASSES]
        out.append(f"{e.value:>10} " + " ".join(f"{c:>7}" for c in cells) + f" {sum(cells):>7}")
    out += ["", f"{'class':>10} {'precision':>10} {'recall':>8}"]
    out += [f"{r.value:>10} {report.precision(r):>10.3f} {report.recall(r):>8.3f}" for r in CLASSES]
    out += ["", f"accuracy: {report.accuracy:.3f}",
            f"red labelled, classified green: {len(report.red_as_green)}",
            f"red or yellow labelled, classified green: {len(report.unsafe_as_green)}",
            "", f"misclassifications: {len(report.wrong)}"]
    for lab, a in report.wrong:
        lang = "" if lab.language == "shell" else f" [{lab.language}]"
        out.append(f"  line {lab.line}: labelled {lab.risk.value}, got {a.risk.value}{lang}: {_one_line(lab.command)}")
        out.append(f"      reason: {_one_line(a.reason, 140)}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--source", help="only rows tagged with this source (e.g. corpus)")
    args = parser.parse_args(argv)
    labels = [lab for lab in load_labels(args.labels) if not args.source or lab.source == args.source]
    sources: dict[str, int] = {}
    for lab in labels:
        sources[lab.source] = sources.get(lab.source, 0) + 1
    start = time.perf_counter()
    report = evaluate(labels)
    print(render(report, time.perf_counter() - start, sources))
    return 1 if report.red_as_green else 0


if __name__ == "__main__":
    sys.exit(main())
