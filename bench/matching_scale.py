"""Matching latency with a large catalog: the 256 corpus runbooks and synthetic ones, 5,000 in all.

The synthetic runbooks are generated from the real ones, the way a large organisation's catalog
grows: each team copies a runbook and makes it its own (its name in the title and the file
name, a sentence about its service in the meaning, its own folder). Every one has its own text,
so every one is embedded and indexed like any other.

Prints the build time (cold, every runbook embedded; then reopened from the persisted vectors, as
a restarted server does) and the latency of `match` per alert (p50, p99) for the dev split of
bench/data/eval14/alerts.jsonl (the alerts' own names: exact matches are cheap, so the alerts that
reach the text stage are reported apart), at 256 runbooks and at the full size.

Usage: python bench/matching_scale.py [--total 5000] [--rounds 3] [--pause 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.pop("ANTHROPIC_API_KEY", None)

from matching import load_corpus, p99  # noqa: E402
from runbooks.matching.embeddings import shared_embedder  # noqa: E402
from runbooks.matching.index import RunbookIndex  # noqa: E402
from runbooks.matching.text import rule_expression  # noqa: E402
from runbooks.model import Runbook  # noqa: E402

DATA = ROOT / "bench" / "data" / "eval14" / "alerts.jsonl"
TEAMS = ("payments", "checkout", "search", "identity", "ledger", "catalog", "shipping", "pricing", "growth",
         "messaging", "billing", "fraud", "warehouse", "inventory", "mobile", "ads", "media", "support", "risk",
         "data-platform", "edge", "storage", "compute", "network")
SERVICES = ("the order API", "the card vault", "the product search cluster", "the login service", "the ledger",
            "the recommendation engine", "the carrier gateway", "the price cache", "the email relay",
            "the invoice generator", "the scoring model", "the stock keeper", "the upload pipeline")


def synthetic(real: list[tuple[Runbook, int]], total: int) -> list[tuple[Runbook, int]]:
    """`total` runbooks: the real ones, then team copies of them, each with its own name and meaning."""
    out = list(real)
    n = 0
    while len(out) < total:
        rb, version = real[n % len(real)]
        team, service = TEAMS[(n // len(real)) % len(TEAMS)], SERVICES[n % len(SERVICES)]
        name = rb.id.rsplit("/", 1)[-1]
        copy = rb.model_copy(update={
            "id": f"teams/{team}/{name}-{team}-{n}",
            "title": f"{rb.title} ({team})",
            "description": f"The {team} team's copy, for {service}. {rb.description}",
            "source_path": None,
        })
        out.append((copy, version))
        n += 1
    return out


def latencies(index: RunbookIndex, alerts: list[dict], rounds: int) -> tuple[list[float], list[float]]:
    every, text = [], []
    for _ in range(rounds):
        for a in alerts:
            expression = rule_expression(a.get("generatorURL"))
            t0 = time.perf_counter()
            index.match(a["labels"], a["annotations"], expression)
            seconds = time.perf_counter() - t0
            every.append(seconds)
            if index.exact_match(a["labels"], a["annotations"]) is None:
                text.append(seconds)
    return every, text


def line(label: str, values: list[float]) -> str:
    return (f"  {label:28s} p50 {statistics.median(values) * 1000:6.1f} ms   p99 {p99(values) * 1000:6.1f} ms   "
            f"({len(values)} matches)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=os.environ.get("RUNBOOKS_DIR") or str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--total", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pause", type=float, default=20.0, help="seconds between the build and the timing")
    args = parser.parse_args()

    real = load_corpus(Path(args.corpus))
    alerts = [json.loads(x) for x in DATA.read_text().splitlines() if x.strip()]
    alerts = [a for a in alerts if a["split"] == "dev"]
    embedder = shared_embedder(None)  # the model's files outside the index folders, which go away
    for size, corpus in ((len(real), real), (args.total, synthetic(real, args.total))):
        with tempfile.TemporaryDirectory() as folder:
            building = RunbookIndex(Path(folder), embedder=embedder)
            t0 = time.perf_counter()
            building.rebuild(corpus)
            built = time.perf_counter() - t0
            building.close()
            # as a server serves: the vectors persisted, reopened at start (nothing re-embedded); and a
            # pause, as minutes of both cores at full load (the build) slow this machine's CPUs for a while
            index = RunbookIndex(Path(folder), embedder=embedder)
            t0 = time.perf_counter()
            index.rebuild(corpus)
            reopened = time.perf_counter() - t0
            time.sleep(args.pause)
            index.match({"alertname": "WarmUp"}, {"summary": "warm up"})
            every, text = latencies(index, alerts, args.rounds)
            index.close()
        print(f"{size} runbooks (built in {built:.1f} s, reopened in {reopened:.1f} s with "
              f"{index.last_rebuild.embedded} embedded; {os.cpu_count()} cores), {len(alerts)} dev alerts x {args.rounds}")
        print(line("every alert", every))
        print(line("alerts decided by text", text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
