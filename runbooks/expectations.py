"""`Expect:` on HTTP steps: what the response must show for the step to succeed.

    status 200 | status 2xx | status 200-299 | status 200, 204
    body ~ "regex"                      RE2: linear time, whatever a response holds
    json $.a.b[0].c == "ok" | 42 | true | null
    json $.a.b exists

Parsed when the runbook loads (errors name the line); each expectation travels as its normalized
text (Step.expect, PlannedStep.expect, CommandRequest.expect) and the executor parses it again with
the same rules. Without any, a step expects `status 2xx`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import re2

DEFAULT = ("status 2xx",)
_STATUS_ITEM = re.compile(r"([1-5])xx|([1-5][0-9]{2})(?:\s*-\s*([1-5][0-9]{2}))?", re.IGNORECASE)
_PATH = re.compile(r"\$((?:\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\])*)")
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[([0-9]+)\]")
_MISSING = object()


class ExpectationError(ValueError):
    """An `Expect:` item that is not one of the forms above; the message says which forms are."""


@dataclass(frozen=True)
class Expectation:
    text: str
    kind: str  # status | body | json
    ranges: tuple[tuple[int, int], ...] = ()
    pattern: Any = None
    path: tuple[str | int, ...] = ()
    literal: Any = _MISSING  # _MISSING: `exists`

    def failure(self, status: int, body: str) -> str | None:
        """None when the response meets it, else what it showed instead."""
        if self.kind == "status":
            return None if any(lo <= status <= hi for lo, hi in self.ranges) else f"got {status}"
        if self.kind == "body":
            return None if self.pattern.search(body) else "no match in the body"
        try:
            found = _walk(json.loads(body), self.path)
        except ValueError:
            return "the body is not JSON"
        if found is _MISSING:
            return "not in the body"
        if self.literal is _MISSING or _same(found, self.literal):
            return None
        return f"got {json.dumps(found)[:80]}"


def _same(a: Any, b: Any) -> bool:
    """JSON equality: `true` is not `1` (Python says it is)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _walk(value: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        if isinstance(step, int) and isinstance(value, list) and step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return _MISSING
    return value


def _compile(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise ExpectationError(f"invalid pattern {pattern!r}: {reason}") from None


def _quoted(text: str) -> str | None:
    """The text of a double-quoted string (`\\"` for a quote inside it), else None."""
    m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"', text)
    return m[1].replace('\\"', '"') if m else None


def parse(item: str) -> Expectation:
    """One expectation, from its text (as written or as normalized)."""
    text = item.strip()
    word, _, rest = text.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word == "status":
        ranges = []
        for part in rest.split(","):
            m = _STATUS_ITEM.fullmatch(part.strip())
            if not m:
                raise ExpectationError(f"status {rest!r}: expected codes such as 200, 2xx, 200-299 or 200, 204")
            lo = int(m[1]) * 100 if m[1] else int(m[2])
            hi = lo + 99 if m[1] else int(m[3] or m[2])
            if hi < lo:
                raise ExpectationError(f"status {part.strip()!r}: the range ends before it starts")
            ranges.append((lo, hi))
        return Expectation(text=f"status {', '.join(p.strip().lower() for p in rest.split(','))}", kind="status",
                           ranges=tuple(ranges))
    if word == "body":
        regex = _quoted(rest[1:].strip()) if rest.startswith("~") else None
        if regex is None:
            raise ExpectationError(f'{text!r}: expected body ~ "regex"')
        return Expectation(text=f"body ~ {rest[1:].strip()}", kind="body", pattern=_compile(regex))
    if word == "json":
        m = _PATH.match(rest)
        if not m or not rest:
            raise ExpectationError(f"{text!r}: expected json $.a.b[0] == <value> or json $.a.b exists")
        path = tuple(s[1] if s[1] else int(s[2]) for s in _SEGMENT.finditer(m[1]))
        tail = rest[m.end():].strip()
        if tail == "exists":
            return Expectation(text=f"json ${m[1]} exists", kind="json", path=path)
        if not tail.startswith("=="):
            raise ExpectationError(f"{text!r}: after the path comes `== <value>` or `exists`")
        try:
            literal = json.loads(tail[2:].strip())
        except ValueError:
            raise ExpectationError(f"{text!r}: the value is a JSON string, number, true, false or null") from None
        if isinstance(literal, (list, dict)):
            raise ExpectationError(f"{text!r}: compare one value (a string, number, true, false or null)")
        return Expectation(text=f"json ${m[1]} == {tail[2:].strip()}", kind="json", path=path, literal=literal)
    raise ExpectationError(f"{item.strip()!r}: expected status ..., body ~ \"regex\" or json $.path ...")


def _split(value: str) -> list[str]:
    """Comma-separated items, commas inside double quotes kept."""
    parts, current, quoted, escaped = [], [], False, False
    for c in value:
        if c == "," and not quoted:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(c)
        if escaped:
            escaped = False
        elif c == "\\" and quoted:
            escaped = True
        elif c == '"':
            quoted = not quoted
    parts.append("".join(current).strip())
    return parts


def parse_line(value: str) -> list[str]:
    """An `Expect:` line: its expectations' normalized texts (`status 200, 204` is one expectation)."""
    items: list[str] = []
    for part in _split(value):
        if not part:
            raise ExpectationError(f"Expect: {value!r} has an empty item")
        if _STATUS_ITEM.fullmatch(part) and items and items[-1].lower().startswith("status "):
            items[-1] = f"{items[-1]}, {part}"
        else:
            items.append(part)
    return [parse(item).text for item in items]


def evaluate(expect: list[str] | tuple[str, ...], status: int, body: str) -> list[tuple[str, str | None]]:
    """Each expectation (DEFAULT when none) with None when met, else what the response showed."""
    return [(e.text, e.failure(status, body)) for e in map(parse, expect or DEFAULT)]
