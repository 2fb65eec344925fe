"""`runbooks risk`: classify commands read from standard input, one per line.

Each non-blank line is one command; the output is one JSON object per line, in input order:
{"command": ..., "risk": "green|yellow|red", "reason": ...} plus "language" when `--language` is given.
Example: printf 'df -h\\nrm -rf /data\\n' | runbooks risk
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from runbooks.risk import classify


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runbooks risk", description="Classify commands (one per line on stdin) as green, yellow or red.")
    parser.add_argument("--language", "-l", help="language of every command: shell (default), sql, promql, yaml...")
    return parser


def run(argv: list[str], stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    args = _parser().parse_args(argv)
    source, out = stdin or sys.stdin, stdout or sys.stdout
    for line in source:
        command = line.rstrip("\r\n")
        if not command.strip():
            continue
        assessed = classify(command, args.language or "shell")
        record = {"command": command, "risk": assessed.risk.value, "reason": assessed.reason}
        if args.language:
            record["language"] = args.language
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
