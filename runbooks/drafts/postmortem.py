"""Drafting a runbook from a postmortem: what was run to find and fix it, and what was promised after.

A postmortem (Markdown; a Confluence page arrives converted) already says what happened, in sections
every team names alike: Detection / Investigation (diagnosis), Resolution / Mitigation / "What we did"
(the fix), a Timeline whose entries name commands, and Action items / Follow-ups / Lessons learned (work
for people, not commands). The draft takes the commands from the first three in document order and
makes each action item a manual follow-up step, citing the line or paragraph it came from. Commands
elsewhere (Summary, Impact) are left out, and the draft says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

from runbooks.authoring.prose_commands import inline_command
from runbooks.drafts.model import (
    Draft, DraftStep, block_commands, escape_template, generalise, masked_note, section_for, title_for,
)
from runbooks.drafts.shell import SessionMasker

_MD = MarkdownIt("commonmark").enable("table")
_KINDS = (  # the first that matches a heading decides what its content is
    ("follow-up", re.compile(r"action items?|follow[- ]?ups?|next steps|lessons?(?: learned)?|prevent|todo|to-do"
                             r"|corrective|improvements?", re.I)),
    ("timeline", re.compile(r"timeline|chronolog|sequence of events|what happened when", re.I)),
    ("fix", re.compile(r"resolution|resolv|mitigat|remediat|recover|how we fixed|what we did|\bfix|workaround"
                       r"|restor|response|repair", re.I)),
    ("diagnosis", re.compile(r"detect|investigat|diagnos|troubleshoot|root cause|analysis|triage|debug", re.I)),
)
_TITLE_PREFIX = re.compile(r"^(?:post[- ]?mortem|incident (?:review|report|postmortem)|PIR|RCA|retro(?:spective)?)"
                           r"(?:\s+(?:for|of))?\s*[:\-–—]?\s*", re.I)
_CODE_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_BOLD_HEADING = re.compile(r"^\s*(?:\*\*|__)([^*_]{2,60}?):?(?:\*\*|__):?\s*$")


@dataclass
class _Found:
    command: str
    language: str
    source: str
    kind: str  # the section kind it sat in


def _kind(heading: str) -> str | None:
    return next((kind for kind, pattern in _KINDS if pattern.search(heading)), None)


def _plain(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^\s*\[[ xX]\]\s*", "", text)
    return " ".join(re.sub(r"(\*\*|__)(.+?)\1", r"\2", text).split())


def _title(tokens: list[Token]) -> str:
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            text = _TITLE_PREFIX.sub("", _plain(tokens[i + 1].content)).strip()
            return text or _plain(tokens[i + 1].content) or "Draft from a postmortem"
    return "Draft from a postmortem"


class _Walker:
    """One pass over the document: the current heading's kind, the paragraph count under it, the finds."""

    def __init__(self, masker: SessionMasker) -> None:
        self.masker = masker
        self.headings: list[tuple[int, str, str | None]] = []  # level, text, kind
        self.paragraphs = 0
        self.found: list[_Found] = []
        self.follow_ups: list[tuple[str, str]] = []  # text, source
        self.dropped: list[str] = []

    @property
    def heading(self) -> str:
        return self.headings[-1][1] if self.headings else ""

    @property
    def kind(self) -> str | None:
        return next((k for _, _, k in reversed(self.headings) if k), None)

    def enter(self, level: int, text: str) -> None:
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, text, _kind(text)))
        self.paragraphs = 0

    def text(self, content: str, source: str, item: bool) -> None:
        """A paragraph, list item or table row: a follow-up to do, or the commands in its code spans."""
        content = self.masker(content)
        if self.kind == "follow-up":
            if item and _plain(content):
                self.follow_ups.append((_plain(content), source))
            return
        for m in _CODE_SPAN.finditer(content):
            if command := inline_command(m.group(1)):
                self.add(command, "shell", source)

    def block(self, info: str, content: str, line: int) -> None:
        content = self.masker(content)
        commands, language = block_commands(info, content)
        lines = content.split("\n")
        for command in commands:
            head = command.split("\n")[0][:40]
            offset = next((i for i, text in enumerate(lines) if head and head in text), 0)
            self.add(command.strip(), language, f"line {line + offset}")

    def add(self, command: str, language: str, source: str) -> None:
        kind = self.kind
        if kind in ("fix", "diagnosis", "timeline"):
            self.found.append(_Found(command, language, source, kind))
        else:
            where = f"under \u201c{self.heading}\u201d" if self.heading else "before any heading"
            self.dropped.append(f"{source}: `{_short(command)}` is {where}, not in a section that says what "
                                "was done")


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _walk(tokens: list[Token], walker: _Walker) -> None:
    depth = 0
    item_line = 0
    item_texts: list[str] = []
    row: list[str] = []
    row_line = 0
    in_head = False
    for i, tok in enumerate(tokens):
        line = (tok.map[0] + 1) if tok.map else 0
        if tok.type == "heading_open":
            walker.enter(int(tok.tag[1]), _plain(tokens[i + 1].content))
        elif tok.type == "list_item_open":
            depth += 1
            if depth == 1:
                item_line, item_texts = line, []
        elif tok.type == "list_item_close":
            depth -= 1
            if depth == 0:
                walker.text("\n".join(item_texts), f"line {item_line}", item=True)
        elif tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row, row_line = [], line
        elif tok.type == "tr_close" and not in_head:
            cells = [c for c in row if c.strip()]
            if cells:  # an action item's first cell is the action; a timeline row's cells all count
                walker.text(cells[0] if walker.kind == "follow-up" else " ".join(cells), f"line {row_line}",
                            item=True)
        elif tok.type == "inline" and tokens[i - 1].type in ("th_open", "td_open"):
            row.append(tok.content)
        elif tok.type == "inline" and tokens[i - 1].type == "paragraph_open":
            if depth:
                item_texts.append(tok.content)
                continue
            bold = _BOLD_HEADING.match(tok.content)
            if bold and _kind(bold.group(1)):  # Confluence exports often bold a line instead of a heading
                walker.enter(7, bold.group(1).strip())
                continue
            walker.paragraphs += 1
            source = f"paragraph {walker.paragraphs} under \u201c{walker.heading}\u201d" if walker.heading \
                else f"line {line}"
            walker.text(tok.content, source, item=False)
        elif tok.type in ("fence", "code_block"):
            walker.block(tok.info if tok.type == "fence" else "", tok.content, line + (1 if tok.type == "fence" else 0))


def draft_from_postmortem(markdown: str) -> Draft:
    """A draft from a postmortem: its diagnosis and fix commands in order, then its action items."""
    tokens = _MD.parse(markdown)
    walker = _Walker(SessionMasker())
    _walk(tokens, walker)
    seen: dict[str, _Found] = {}
    kept: list[_Found] = []
    for found in walker.found:
        key = " ".join(found.command.split())
        if key in seen:
            walker.dropped.append(f"{found.source}: `{_short(found.command)}` repeats {seen[key].source} (one step)")
            continue
        seen[key] = found
        kept.append(found)
    commands, placeholders = generalise([escape_template(f.command) for f in kept])
    steps: list[DraftStep] = []
    for found, command in zip(kept, commands, strict=True):
        section = "diagnosis" if found.kind == "diagnosis" else section_for(found.command, found.language)
        steps.append(DraftStep(title_for(found.command), command, found.source, section,  # type: ignore[arg-type]
                               note=masked_note(command), language=found.language))
    for text, source in walker.follow_ups:
        first = re.split(r"(?<=[.!?])\s|\s[—–]\s|\s\(", text, maxsplit=1)[0].rstrip(".")
        title = first if len(first) <= 100 else first[:99] + "…"
        steps.append(DraftStep(title, None, source, "follow-up", note=text if text.rstrip(".") != title else ""))
    return Draft(title=_title(tokens), steps=steps, dropped=walker.dropped, placeholders=placeholders,
                 origin="a postmortem")
