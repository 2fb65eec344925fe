"""Text in, a `Runbook` out: structured Markdown, prose Markdown or YAML, chosen from the text.

Every way a runbook comes in (paste, upload, folder, git, `runbooks parse`) reads it here, so a
runbook means the same thing whichever door it came through.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import yaml

from runbooks.authoring.llm import assist
from runbooks.authoring.prose import parse_prose
from runbooks.authoring.structured import is_structured, parse_structured
from runbooks.errors import RunbookParseError
from runbooks.model import Runbook
from runbooks.settings import LlmSettings


def parse_text(text: str, path: str | None = None, default_id: str | None = None,
               llm: LlmSettings | None = None) -> Runbook:
    """Parse Markdown (structured or prose) or YAML, chosen by the file suffix when there is one.

    With `llm` configured, prose in which the parse finds no command is offered to the LLM (grounded).
    """
    if path and PurePosixPath(path).suffix in (".yaml", ".yml"):
        return parse_yaml(text, path, default_id)
    runbook = parse_markdown(text, path, default_id)
    return assist(text, runbook, llm) if llm is not None else runbook


def parse_markdown(text: str, path: str | None = None, default_id: str | None = None) -> Runbook:
    """Structured Markdown is parsed strictly (structured.py); anything else is a prose runbook (prose.py)."""
    if not is_structured(text):
        return parse_prose(text, path, default_id)
    return parse_structured(text, path, default_id)


def parse_yaml(text: str, path: str | None = None, default_id: str | None = None) -> Runbook:
    """Structured YAML runbooks: the same front matter keys plus `steps:` as a list of mappings."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RunbookParseError(f"not valid YAML: {getattr(exc, 'problem', exc)}",
                                mark.line + 1 if mark else 1, path) from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise RunbookParseError("a YAML runbook is a mapping with a `steps:` list", 1, path)
    lines = ["---", yaml.safe_dump({k: v for k, v in data.items() if k != "steps"}, sort_keys=False).strip(),
             "---", "## Steps"]
    for n, step in enumerate(data["steps"], start=1):
        if not isinstance(step, dict) or not (step.get("title") or step.get("command")):
            raise RunbookParseError(f"step {n} needs a `title` or a `command`", 1, path)
        lines.append(f"{n}. {step.get('title') or step['command']}")
        for item in step.get("expect") if isinstance(step.get("expect"), list) else [step.get("expect") or ""]:
            if str(item).strip():  # an HTTP step's `expect:`, a line or a list of them
                lines.append(f"   Expect: {item}")
        fence = "http" if str(step.get("target") or "").strip() == "http" else "sh"  # `target: http`: a request
        for key in ("risk", "target", "timeout", "if", "retries", "idempotent", "on_failure", "breakpoint", "parallel",
                    "runs_by_itself", "verify", "source"):
            if step.get(key) not in (None, ""):
                value = {True: "yes", False: "no"}.get(step[key], step[key]) if isinstance(step[key], bool) else step[key]
                lines.append(f"   {key.replace('_', ' ').capitalize()}: {value}")
        for key, label in (("command", None), ("rollback", "Rollback:")):
            if step.get(key):
                if label:
                    lines.append(f"   {label}")
                lines += [f"   ```{fence}", *[f"   {l}" for l in str(step[key]).strip().splitlines()], "   ```"]
    return parse_markdown("\n".join(lines) + "\n", path, default_id)


def parse_file(path: Path, root: Path | None = None) -> Runbook:
    """Parse a runbook file; without an `id:` its id is its path relative to `root`, minus the suffix."""
    rel = path.relative_to(root) if root else Path(path.name)
    default_id = rel.with_suffix("").as_posix()
    text = path.read_text(encoding="utf-8")
    shown = rel.as_posix()
    if path.suffix in (".yaml", ".yml"):
        return parse_yaml(text, shown, default_id)
    return parse_markdown(text, shown, default_id)
