"""Time to first runbook: paste Markdown -> executable runbook, through the real API.

For a sample of real prose runbooks from ../shared/corpus: POST the text (201, parsed, risk-
classified, linted, versioned), then start it (dry run) and wait until the execution has rendered
every step. Prints the import time and the paste -> executed-dry-run time, median and max.
Usage: python bench/import_speed.py [--corpus DIR] [--count 40]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from product import ROOT, running_product  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args()
    files = sorted(p for p in args.corpus.rglob("*.md") if p.name not in ("README.md", "SOURCE.md", "LICENSE.md"))
    sample = random.Random(7).sample(files, min(args.count, len(files)))
    imports, to_executed = [], []
    with running_product({}) as api, httpx.Client(base_url=api, timeout=30, headers=api.headers) as http:
        for n, path in enumerate(sample):
            runbook_id = f"paste-{n}"
            t0 = time.perf_counter()
            resp = http.post(f"/api/v1/runbooks?id={runbook_id}", content=path.read_bytes(),
                             headers={"content-type": "text/markdown"})
            resp.raise_for_status()
            imports.append((time.perf_counter() - t0) * 1000)
            started = http.post(f"/api/v1/runbooks/{runbook_id}/executions", json={"mode": "dry_run"})
            if started.status_code == 422:  # needs values an alert would bring: supply them as a person would
                needs = {n.split(".", 1)[1]: "example" for step in started.json()["detail"]["steps"].values()
                         for n in step.removeprefix("needs ").split(", ") if "." in n}
                started = http.post(f"/api/v1/runbooks/{runbook_id}/executions",
                                    json={"mode": "dry_run", "params": needs})
            if started.status_code == 422:
                print(f"  {path.name}: {started.json()['detail']}")
                continue
            started.raise_for_status()
            while http.get(f"/api/v1/executions/{started.json()['id']}").json()["status"] == "running":
                time.sleep(0.01)
            to_executed.append((time.perf_counter() - t0) * 1000)
    print(f"{len(sample)} corpus runbooks pasted through POST /api/v1/runbooks:")
    print(f"  import (parse, classify, lint, store): median {statistics.median(imports):.0f} ms, "
          f"max {max(imports):.0f} ms")
    print(f"  paste -> started -> dry run finished:  median {statistics.median(to_executed):.0f} ms, "
          f"max {max(to_executed):.0f} ms (target: under 2000 ms)")


if __name__ == "__main__":
    main()
