"""How well the prose importer reads real runbooks: parse every Markdown file of a corpus and count.

    .venv/bin/python bench/corpus_report.py [CORPUS_DIR]

The default corpus is ../shared/corpus next to the repository (public prometheus-operator and
OpenShift runbooks). Every file must parse: a prose runbook is imported as well as it can be, and
what it lacks is for the quality lints to say, never an exception. Ids are paths without `.md`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from runbooks.authoring.prose_commands import count_commands
from runbooks.authoring.reader import parse_markdown
from runbooks.authoring.variables import unresolved
from runbooks.model import Runbook

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
TARGET_MS = 50.0


@dataclass
class Tally:
    files: int = 0
    failures: list[str] = field(default_factory=list)
    formats: Counter[str] = field(default_factory=Counter)
    steps: int = 0
    steps_with_command: int = 0
    commands: int = 0
    manual_from_command: int = 0
    manual_from_text: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    sections: Counter[str] = field(default_factory=Counter)
    risks: Counter[str] = field(default_factory=Counter)
    conditional: int = 0
    rollback: int = 0
    rollback_hint: int = 0
    variables: int = 0
    distinct: set[str] = field(default_factory=set)
    unresolved: Counter[str] = field(default_factory=Counter)
    prerequisites: Counter[str] = field(default_factory=Counter)
    no_steps: int = 0
    times_ms: list[float] = field(default_factory=list)

    def add(self, rb: Runbook) -> None:
        self.formats[rb.format] += 1
        self.no_steps += not rb.steps
        self.prerequisites.update(rb.prerequisites)
        for step in rb.steps:
            self.steps += 1
            self.sections[step.section or "none"] += 1
            self.risks[step.risk.value] += 1
            self.conditional += step.condition is not None
            self.rollback += step.rollback is not None
            self.rollback_hint += step.rollback is None and step.rollback_hint is not None
            if step.command is not None:
                self.steps_with_command += 1
                self.commands += count_commands(step.command) if step.language == "shell" else 1
                self.languages[step.language] += 1
            elif "Run this by hand" in step.description:
                self.manual_from_command += 1
            else:
                self.manual_from_text += 1
            self.variables += len(step.variables)
            self.distinct.update(step.variables)
            self.unresolved.update(unresolved(step.variables))


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run(corpus: Path) -> Tally:
    tally = Tally()
    for path in sorted(corpus.rglob("*.md")):
        rel = path.relative_to(corpus)
        text = path.read_text(encoding="utf-8", errors="replace")
        tally.files += 1
        started = time.perf_counter()
        try:
            runbook = parse_markdown(text, rel.as_posix(), rel.with_suffix("").as_posix())
        except Exception as exc:  # noqa: BLE001 - the report counts every failure, whatever it is
            tally.failures.append(f"{rel}: {type(exc).__name__}: {exc}")
            continue
        tally.times_ms.append((time.perf_counter() - started) * 1000)
        tally.add(runbook)
    return tally


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counter.most_common()) or "-"


def report(t: Tally, corpus: Path) -> str:
    parsed = t.files - len(t.failures)
    lines = [
        f"corpus: {corpus}",
        f"files: {t.files} parsed {parsed} failed {len(t.failures)}  (format: {_counts(t.formats)})",
        *[f"  FAILED {f}" for f in t.failures],
        f"runbooks without steps: {t.no_steps}",
        (f"steps: {t.steps}  with a command {t.steps_with_command}, manual because the command cannot run "
         f"unattended or be filled safely {t.manual_from_command}, manual from text {t.manual_from_text}"),
        f"commands: {t.commands}  (in steps with a command; a block's prompted commands counted one by one)",
        f"steps with a command by language: {_counts(t.languages)}",
        f"steps by section: {_counts(t.sections)}",
        f"steps by risk: {_counts(t.risks)}",
        f"conditional steps: {t.conditional}",
        f"steps with a rollback command: {t.rollback}  with only a rollback hint: {t.rollback_hint}",
        (f"variables: total {t.variables}  distinct {len(t.distinct)}  unresolved (not a well-known label) "
         f"{sum(t.unresolved.values())} uses of {len(t.unresolved)} names"),
        f"  top unresolved: {_counts(Counter(dict(t.unresolved.most_common(10))))}",
        (f"prerequisites found: {sum(t.prerequisites.values())} ({len(t.prerequisites)} distinct): "
         f"{_counts(Counter(dict(t.prerequisites.most_common(8))))}"),
        (f"parse time per runbook: median {statistics.median(t.times_ms) if t.times_ms else 0:.2f} ms  "
         f"p99 {_ms(t.times_ms, 0.99):.2f} ms  max {max(t.times_ms, default=0):.2f} ms  "
         f"(target: typical < {TARGET_MS:.0f} ms)"),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    tally = run(args.corpus)
    print(report(tally, args.corpus))
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
