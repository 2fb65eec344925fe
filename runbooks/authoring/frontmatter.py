"""YAML front matter: the structured header of a Markdown runbook, checked field by field.

A typo in a header key (`mtach:`) would silently turn off alert matching, so unknown keys are
errors, reported with the line they are on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from runbooks.errors import RunbookParseError
from runbooks.model import DEFAULT_ESCALATION, EscalationAction, EscalationLevel, Mode

ALLOWED_KEYS = {
    "id", "title", "description", "service", "owner", "match", "mode", "escalation", "target", "timeout",
    "group_by", "team", "approvals", "alerts", "concurrency", "max_errors",
}

ALERT_NAME = re.compile(r"[A-Za-z_][\w:.-]{0,127}")
THIS_ALERT = re.compile(r"\[this alert\]\[([A-Za-z_][\w:.-]{0,127})\]", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|hr|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {None: 1, "ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}


def parse_duration(value: Any) -> float:
    """'90', '30s', '5m', '1h' -> seconds. Raises ValueError with the text that is wrong."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 5m, 1h)")
    return float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower() if m.group(2) else None]


@dataclass
class FrontMatter:
    data: dict[str, Any] = field(default_factory=dict)
    body: str = ""
    body_offset: int = 0  # number of lines before the body, to report body line numbers
    key_lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)


def split_front_matter(text: str, path: str | None = None) -> FrontMatter:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return FrontMatter(body=text)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise RunbookParseError("front matter starts with '---' but is never closed", 1, path)
    raw = "".join(lines[1:end])
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise RunbookParseError(f"front matter is not valid YAML: {problem}", line, path) from None
    if not isinstance(data, dict):
        raise RunbookParseError("front matter must be a mapping of keys to values", 2, path)
    key_lines = {}
    for i, line in enumerate(lines[1:end], start=2):
        m = re.match(r"^([A-Za-z_][\w-]*)\s*:", line)
        if m:
            key_lines.setdefault(m.group(1), i)
    fm = FrontMatter(data=data, body="".join(lines[end + 1:]), body_offset=end + 1, key_lines=key_lines)
    for key in data:
        if key not in ALLOWED_KEYS:
            raise RunbookParseError(
                f"unknown front matter key {key!r} (allowed: {', '.join(sorted(ALLOWED_KEYS))})",
                fm.line_of(str(key)), path)
    return fm


def parse_match(value: Any, line: int, path: str | None) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, (str, int, float)) for v in value.values()):
        raise RunbookParseError("match: must map label names to values, e.g. `alertname: HostDiskFull`", line, path)
    return {str(k): str(v) for k, v in value.items()}


def parse_group_by(value: Any, line: int, path: str | None) -> list[str]:
    """`group_by: [node]` (or a single label name): alerts sharing these label values share one execution."""
    if value is None:
        return []
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and re.fullmatch(r"[A-Za-z_][\w.-]*", n)
                                              for n in names):
        raise RunbookParseError("group_by: must be a label name or a list of label names, e.g. `[node]`", line, path)
    return list(dict.fromkeys(names))


def parse_alerts(value: Any, line: int, path: str | None, text: str = "") -> list[str]:
    """`alerts: [HighOverallControlPlaneCPU]`: other alert names the runbook documents, matched by name like
    its own; a prose runbook's `[This alert][Name]` links (one section per alert) count too."""
    names = [value] if isinstance(value, str) else [] if value is None else value
    if not isinstance(names, list) or not all(isinstance(n, str) and ALERT_NAME.fullmatch(n) for n in names):
        raise RunbookParseError("alerts: must be an alert name or a list of alert names, e.g. `[HostDiskFull]`",
                                line, path)
    return list(dict.fromkeys([*names, *THIS_ALERT.findall(text)]))


def parse_team(value: Any, line: int, path: str | None) -> str | None:
    """`team: payments`: who may decide and edit; without it the runbook is the default team's."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", value):
        raise RunbookParseError("team: must be a team name (lower case letters, digits, '.', '_', '-'), "
                                "e.g. `team: payments`", line, path)
    return value


def parse_approvals(value: Any, line: int, path: str | None) -> int:
    """`approvals: 2`: how many distinct people must approve each red step (AWS SSM's MinRequiredApprovals)."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise RunbookParseError(f"approvals: must be a whole number from 1 to 10, not {value!r}", line, path)
    return value


def parse_limit(name: str, value: Any, line: int, path: str | None) -> int | None:
    """`concurrency: 5` (at most 5 executions of the runbook at once) and `max_errors: 3` (start no
    more once 3 have failed), as StackStorm and SSM Automation write them: whole numbers 1-1000."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise RunbookParseError(f"{name}: must be a whole number from 1 to 1000, not {value!r}", line, path)
    return value


def parse_mode(value: Any, line: int, path: str | None) -> Mode:
    try:
        return Mode(str(value or "copilot"))
    except ValueError:
        raise RunbookParseError(
            f"mode: {value!r} is not one of {', '.join(m.value for m in Mode)}", line, path) from None


def parse_escalation(value: Any, line: int, path: str | None) -> list[EscalationLevel]:
    """Accepts `[{after: 5m, notify: oncall}, {after: 60m, action: reject}]`, in increasing order."""
    if value is None:
        return list(DEFAULT_ESCALATION)
    if not isinstance(value, list) or not value:
        raise RunbookParseError("escalation: must be a list like `- after: 5m` / `notify: on-call`", line, path)
    levels: list[EscalationLevel] = []
    for item in value:
        if not isinstance(item, dict) or "after" not in item:
            raise RunbookParseError(f"escalation: each level needs `after:` (got {item!r})", line, path)
        try:
            after = parse_duration(item["after"])
        except ValueError as exc:
            raise RunbookParseError(f"escalation: {exc}", line, path) from None
        action = str(item.get("action") or ("reject" if item.get("reject") else "notify"))
        if action not in {a.value for a in EscalationAction}:
            raise RunbookParseError(f"escalation: action {action!r} is not notify or reject", line, path)
        if levels and after <= levels[-1].after_seconds:
            raise RunbookParseError("escalation: levels must be in increasing order of `after`", line, path)
        target = item.get("notify") or item.get("target")
        levels.append(EscalationLevel(after_seconds=after, action=EscalationAction(action),
                                      target=str(target) if target else None))
    return levels


def lenient_front_matter(text: str) -> tuple[FrontMatter, bool]:
    """Front matter as any site generator writes it, and whether it was a valid YAML mapping.

    Prose runbooks carry their generator's keys (Hugo's `weight:`): unknown keys are kept, broken YAML
    reads as empty. Only our strict `split_front_matter` turns either into an error.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return FrontMatter(body=text), True
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        return FrontMatter(body=text), False
    try:
        data = yaml.safe_load("".join(lines[1:end])) or {}
    except yaml.YAMLError:
        data = None
    key_lines: dict[str, int] = {}
    for i, line in enumerate(lines[1:end], start=2):
        if m := re.match(r"^([A-Za-z_][\w-]*)\s*:", line):
            key_lines.setdefault(m.group(1), i)
    valid = isinstance(data, dict)
    return FrontMatter(data=data if valid else {}, body="".join(lines[end + 1:]), body_offset=end + 1,
                       key_lines=key_lines), valid
