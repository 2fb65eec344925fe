"""The matcher as shipped (no recalibration) on the held-out set of issue 14.

bench/data/eval14/alerts.jsonl was written by a helper who never read the matcher: real alert
names, alerts renamed the ways teams rename them, and alerts no corpus runbook covers, each with
labels, annotations and the PromQL of its rule (generatorURL), split into dev and test before any
tuning. Tune on dev; run the test split once, at the end (`--split test`), and report both.

Prints top-1 per kind, how many covered alerts got a wrong runbook (worse than none: it sends a
person down a wrong path), uncovered alerts given a runbook, latency per alert, and the dev misses.

Usage: python bench/matching_eval.py [--split dev|test|all] [--corpus DIR] [--misses N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.pop("ANTHROPIC_API_KEY", None)

from matching import load_corpus  # noqa: E402
from runbooks.matching.index import RunbookIndex  # noqa: E402
from runbooks.matching.text import rule_expression  # noqa: E402

DATA = ROOT / "bench" / "data" / "eval14" / "alerts.jsonl"
TARGETS = {"real": ">= 99%", "renamed": ">= 92%", "uncovered": "<= 3%"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    parser.add_argument("--corpus", default=os.environ.get("RUNBOOKS_DIR") or str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--misses", type=int, default=40, help="misses to list (dev only)")
    args = parser.parse_args()

    corpus = load_corpus(Path(args.corpus))
    alerts = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]
    alerts = [a for a in alerts if args.split == "all" or a["split"] == args.split]
    index = RunbookIndex()
    index.rebuild(corpus)
    print(f"corpus: {len(corpus)} runbooks; alerts: {len(alerts)} of the {args.split} split")

    results, latencies = [], []
    for a in alerts:
        t0 = time.perf_counter()
        outcome = index.match(a["labels"], a["annotations"], rule_expression(a.get("generatorURL")))
        latencies.append(time.perf_counter() - t0)
        results.append((a, outcome))
    for kind in ("real", "renamed", "uncovered"):
        rows = [(a, o) for a, o in results if a["kind"] == kind]
        if not rows:
            continue
        if kind == "uncovered":
            hit = sum(1 for _, o in rows if o.runbook_id is not None)
            print(f"  {kind:10s} given a runbook  {hit}/{len(rows)} = {100 * hit / len(rows):5.1f}%  "
                  f"(target {TARGETS[kind]})")
            continue
        hit = sum(1 for a, o in rows if o.runbook_id in a["expected"])
        wrong = sum(1 for a, o in rows if o.runbook_id is not None and o.runbook_id not in a["expected"])
        print(f"  {kind:10s} top-1 correct    {hit}/{len(rows)} = {100 * hit / len(rows):5.1f}%  "
              f"(target {TARGETS[kind]}; {wrong} given a wrong runbook, {len(rows) - hit - wrong} none)")
    asked = [(a, o) for a, o in results if o.ask]
    helped = sum(1 for a, o in asked if a["expected"] and any(c.runbook_id in a["expected"] for c in o.candidates))
    print(f"  asked a person (which runbook?): {len(asked)} alerts; the right runbook among the top 3 for "
          f"{helped} of the {sum(1 for a, _ in asked if a['expected'])} covered ones, "
          f"{sum(1 for a, _ in asked if not a['expected'])} uncovered asked")
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    print(f"  latency per alert: p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms "
          f"({len(index)} runbooks, {os.cpu_count()} cores)")
    if args.split == "dev":
        misses = [(a, o) for a, o in results
                  if ((o.runbook_id is not None) if not a["expected"] else (o.runbook_id not in a["expected"]))]
        print(f"\nmisses: {len(misses)}")
        for a, o in misses[:args.misses]:
            print(f"- {a['kind']} {a['labels'].get('alertname')}: got {o.runbook_id or 'none'} ({o.score:.2f}); "
                  f"expected {', '.join(a['expected']) or 'none'}")
            for c in o.candidates[:3]:
                print(f"      {c.score:.3f} {c.runbook_id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
