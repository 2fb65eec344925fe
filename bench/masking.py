"""Secret masking on the labelled set: recall (secrets hidden) and precision (readable parts kept).

Both sets were written from the domain by helpers that had not seen the masker. labelled.jsonl
(`tune`, then `test` once measured) was used to develop it; holdout.jsonl was written afterwards
and measured once, untouched, for the reported figure (see tests/data/secrets/README.md).

    .venv/bin/python bench/masking.py [--split holdout] [--show]
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
    parser.add_argument("--split", choices=("tune", "test", "holdout", "all"), default="all")
    parser.add_argument("--show", action="store_true", help="list what was missed and what was hidden")
    args = parser.parse_args()
    splits = ("tune", "test", "holdout") if args.split == "all" else (args.split,)
    for split in splits:
        result = masking_eval.score(masking_eval.load(split), mask)
        print(f"{split:7}: {result.line()}")
        if args.show:
            for line in result.missed:
                print(f"   missed  {line}")
            for line in result.hidden:
                print(f"   hidden  {line}")


if __name__ == "__main__":
    main()
