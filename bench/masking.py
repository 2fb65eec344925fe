"""Secret masking on the labelled set: recall (secrets hidden) and precision (readable parts kept).

The set (tests/data/secrets/labelled.jsonl) was written from the domain by someone who had not
seen the masker; `tune` was used while developing it, `test` is the reported figure.

    .venv/bin/python bench/masking.py [--split test] [--show]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from runbooks.masking import mask  # noqa: E402
from support import masking_eval  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("tune", "test", "all"), default="all")
    parser.add_argument("--show", action="store_true", help="list what was missed and what was hidden")
    args = parser.parse_args()
    splits = ("tune", "test") if args.split == "all" else (args.split,)
    for split in splits:
        result = masking_eval.score(masking_eval.load(split), mask)
        print(f"{split:5}: {result.line()}")
        if args.show:
            for line in result.missed:
                print(f"   missed  {line}")
            for line in result.hidden:
                print(f"   hidden  {line}")


if __name__ == "__main__":
    main()
