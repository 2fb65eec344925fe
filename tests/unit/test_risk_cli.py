"""`runbooks risk` (cli/risk_command.py) as a subprocess: one command per stdin line in, one JSON object per line out."""

from __future__ import annotations

import json
import subprocess
import sys
from support.paths import REPO

ROOT = REPO


def _run(stdin: str, *args: str) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "cli.risk_command", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=True)
    assert proc.stderr == ""
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_one_json_object_per_command_in_order_blank_lines_skipped() -> None:
    out = _run("df -h\n\n   \nrm -rf /data\noc adm upgrade\n")
    assert [(o["command"], o["risk"]) for o in out] == [
        ("df -h", "green"), ("rm -rf /data", "red"), ("oc adm upgrade", "green")]
    assert all(set(o) == {"command", "risk", "reason"} for o in out)
    assert "rm -rf /data" in out[1]["reason"]


def test_language_is_applied_and_echoed() -> None:
    out = _run("SELECT 1\nDROP TABLE users\n", "--language", "sql")
    assert [(o["risk"], o["language"]) for o in out] == [("green", "sql"), ("red", "sql")]


def test_empty_input_prints_nothing() -> None:
    assert _run("") == []
