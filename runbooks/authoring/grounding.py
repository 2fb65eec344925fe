"""Grounding: a step proposed by a language model is kept only as far as the source text supports it.

Every step must cite source lines of the runbook body; its command must be text of those lines (a
whole inline code span, whole lines of a fenced block, or a token-bounded run of words), and what is
kept is the source's text, never the model's. Pure functions, so the rules are tested without a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runbooks.model import Risk

MAX_STEPS = 50
MAX_CITED_LINES = 20  # a citation of the whole document would make the grounding check meaningless
MAX_TITLE = 120
MAX_CONDITION = 300
SECTIONS = ("diagnosis", "mitigation", "verification", "other")


@dataclass(frozen=True)
class ProposedStep:
    """A step that passed the grounding checks. `command` is the source's text, not the model's."""

    title: str
    command: str | None
    line: int  # first cited line (file line number)
    end_line: int
    description: str  # the cited source text
    section: str | None = None
    condition: str | None = None
    risk_hint: Risk | None = None


# --- the source, as the model sees it and as citations are checked against ------------------------------
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_BLOCK_MARKER = re.compile(r"^\s*(?:>\s*)*(?:[-*+]\s+|\d{1,9}[.)]\s+|#{1,6}\s+)?")
_NEW_BLOCK = re.compile(r"^\s*(?:>\s*)*(?:[-*+]\s+|\d{1,9}[.)]\s+|#{1,6}\s+)")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_PROMPT = re.compile(r"^\$\s+")
_WS = re.compile(r"\s+")
_AFTER = re.compile(r"[.,;:!?)\]\"'”’>]*(?:\s|$)")  # what may follow a command found in prose
_BEFORE = set("([\"'“‘<")


def normalize(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _unprompt(line: str) -> str:
    return _PROMPT.sub("", line.strip())


def _body_start(lines: list[str]) -> int:
    """1-based number of the first body line: after YAML front matter, which is never cited."""
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is not None:
            return end + 2
    return 1


def numbered_source(text: str) -> tuple[str, int, int]:
    """The body lines prefixed `12| `, with the first and last body line numbers."""
    lines = text.splitlines()
    first = _body_start(lines)
    shown = "\n".join(f"{n}| {lines[n - 1]}".rstrip() for n in range(first, len(lines) + 1))
    return shown, first, len(lines)


class _Source:
    """Line kinds (prose, fence marker, fence content) computed once over the whole document."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.first = _body_start(self.lines)
        self.last = len(self.lines)
        self.kind: list[tuple[str, int]] = []  # per line: ("text" | "marker" | "fence", fence id)
        self.console: set[int] = set()  # fences of a shell session: only `$ ` lines are commands
        fence: tuple[str, int] | None = None
        fence_id = 0
        for line in self.lines:
            m = _FENCE.match(line)
            if fence is None and m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                fence_id += 1
                fence = (m.group(1)[0], len(m.group(1)))
                if m.group(2).strip().lower() in ("console", "shell-session"):
                    self.console.add(fence_id)
                self.kind.append(("marker", fence_id))
            elif fence is not None and m and m.group(1)[0] == fence[0] and len(m.group(1)) >= fence[1] \
                    and not m.group(2).strip():
                fence = None
                self.kind.append(("marker", fence_id))
            else:
                self.kind.append(("fence" if fence is not None else "text", fence_id if fence else 0))
                if fence is not None and _PROMPT.match(line.strip()):
                    self.console.add(fence_id)

    def cited_text(self, a: int, b: int) -> str:
        return "\n".join(l.strip() for l in self.lines[a - 1:b]).strip("\n")

    def find_command(self, command: str, a: int, b: int) -> str | None:
        """The source text of `command` inside lines a..b, or None when it is not there."""
        want = normalize(command)
        if not want:
            return None
        fence_lines: list[tuple[int, str]] = []  # (fence id, line) for runs of fenced lines
        blocks: list[list[str]] = []  # prose blocks: paragraphs / list items, list of lines
        current: list[str] | None = None
        for n in range(a, b + 1):
            kind, fid = self.kind[n - 1]
            line = self.lines[n - 1]
            if kind == "fence":
                if fid in self.console and not _PROMPT.match(line.strip()):
                    fence_lines.append((-1, ""))  # output shown in a session transcript, not a command
                else:
                    fence_lines.append((fid, _unprompt(line)))
                current = None
                continue
            fence_lines.append((-1, ""))  # a break between fenced runs
            if kind == "marker" or not line.strip():
                current = None
                continue
            if current is None or _NEW_BLOCK.match(line):
                current = []
                blocks.append(current)
            current.append(_BLOCK_MARKER.sub("", line, count=1))
        found = self._in_fences(want, fence_lines)
        for block in blocks:
            if found is None:
                found = self._in_prose(want, "\n".join(block))
        return found

    @staticmethod
    def _in_fences(want: str, fence_lines: list[tuple[int, str]]) -> str | None:
        """Whole consecutive lines of one fenced block, compared with whitespace collapsed."""
        for i, (fid, _) in enumerate(fence_lines):
            if fid < 0:
                continue
            for j in range(i, len(fence_lines)):
                if fence_lines[j][0] != fid:
                    break
                run = [line for _, line in fence_lines[i:j + 1]]
                if normalize(" ".join(run)) == want:
                    return "\n".join(run).strip()
        return None

    @staticmethod
    def _in_prose(want: str, block: str) -> str | None:
        """A whole inline code span, or a token-bounded run of the prose outside code spans."""
        pieces, pos = [], 0
        for m in _CODE_SPAN.finditer(block):
            pieces.append(("prose", block[pos:m.start()]))
            pieces.append(("code", m.group(2)))
            pos = m.end()
        pieces.append(("prose", block[pos:]))
        for kind, piece in pieces:
            if kind == "code":
                span = normalize(_unprompt(normalize(piece)))
                if span == want:
                    return span
                continue
            prose = normalize(piece)
            start = prose.find(want)
            while start != -1:
                end = start + len(want)
                if (start == 0 or prose[start - 1].isspace() or prose[start - 1] in _BEFORE) \
                        and _AFTER.match(prose, end):
                    found = prose[start:end]
                    # A sentence's full stop copied with the command is not part of it: `... -n monitoring.`
                    if len(found) > 1 and found[-1] in ".,;:" and (found[-2].isalnum() or found[-2] in "\"')]}"):
                        found = found[:-1]
                    return found
                start = prose.find(want, start + 1)
        return None


def _clean_command(command: str) -> str:
    """The model's command as it would appear in the source: no surrounding backticks, no `$ ` prompts."""
    text = command.strip()
    m = re.fullmatch(r"(`+)(.*?)\1", text, re.DOTALL)
    if m:
        text = m.group(2)
    return "\n".join(_unprompt(line) for line in text.splitlines()).strip()


def _text(value: object, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    value = normalize(value)
    return value[:limit].rstrip() or None


def _citation(value: object) -> tuple[int, int] | None:
    if not isinstance(value, (list, tuple)) or len(value) not in (1, 2):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    return (value[0], value[-1])


def ground_steps(raw_steps: object, text: str) -> tuple[list[ProposedStep], list[tuple[str, str]]]:
    """Keep what the source supports: the pure, deterministic half of the LLM assistance.

    Each raw step (the tool input's `steps[]`) needs a title and a citation of 1..MAX_CITED_LINES
    non-blank body lines; else it is dropped. A command not found in the cited lines is dropped and the
    step kept as a manual step. Returns the kept steps and (title, reason) for everything dropped.
    """
    source = _Source(text)
    kept: list[ProposedStep] = []
    dropped: list[tuple[str, str]] = []
    if not isinstance(raw_steps, list):
        return kept, [("(all)", "the model's answer has no list of steps")]
    for index, raw in enumerate(raw_steps, start=1):
        if len(kept) >= MAX_STEPS:
            dropped.append(("(rest)", f"more than {MAX_STEPS} steps; the rest were ignored"))
            break
        if not isinstance(raw, dict):
            dropped.append((f"(step {index})", "step dropped: not an object"))
            continue
        title = _text(raw.get("title"), MAX_TITLE)
        label = title or f"(step {index})"
        if title is None:
            dropped.append((label, "step dropped: no title"))
            continue
        cited = _citation(raw.get("source_lines"))
        if cited is None:
            dropped.append((label, "step dropped: no source_lines citation [first, last]"))
            continue
        a, b = cited
        if not (source.first <= a <= b <= source.last):
            dropped.append((label, (f"step dropped: source_lines [{a}, {b}] are out of range "
                                    f"(the runbook body is lines {source.first}-{source.last})")))
            continue
        if b - a + 1 > MAX_CITED_LINES:
            dropped.append((label, (f"step dropped: source_lines [{a}, {b}] cite {b - a + 1} lines; "
                                    f"at most {MAX_CITED_LINES}")))
            continue
        description = source.cited_text(a, b)
        if not description.strip():
            dropped.append((label, f"step dropped: lines {a}-{b} are blank"))
            continue
        command: str | None = None
        proposed = raw.get("command")
        if isinstance(proposed, str) and _clean_command(proposed):
            command = source.find_command(_clean_command(proposed), a, b)
            if command is None:
                shown = normalize(proposed)[:80]
                dropped.append((title, (f"command `{shown}` dropped: not found in lines {a}-{b}; "
                                        "kept as a manual step")))
        elif proposed is not None and not isinstance(proposed, str):
            dropped.append((title, "command dropped: not a string; kept as a manual step"))
        section = raw.get("section") if raw.get("section") in SECTIONS else None
        hint = raw.get("risk_hint")
        kept.append(ProposedStep(
            title=title, command=command, line=a, end_line=b, description=description, section=section,
            condition=_text(raw.get("condition"), MAX_CONDITION),
            risk_hint=Risk(hint) if hint in ("green", "yellow", "red") else None,
        ))
    return kept, dropped


# --- the API call --------------------------------------------------------------------------------------
