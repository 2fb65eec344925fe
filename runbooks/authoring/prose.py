"""Prose runbooks -> the structured `Runbook` model, so the runbooks teams already have can run.

A prose runbook ("Meaning / Impact / Diagnosis / Mitigation", commands in inline code and code
blocks, decisions in sentences) is read in one walk over its Markdown tokens:

- each code block that holds commands is one step, titled by the sentence that introduces it;
  each inline code span that is a complete command is one step, titled by its sentence (one step
  per command: a bullet naming three commands is three things to run, each with its own risk);
- output samples, example files and anything under Meaning / Impact / definitions are not steps;
- the nearest telling heading gives the step's section, an "If ..." sentence its condition, a
  "to revert, run ..." sentence its rollback (or rollback hint);
- placeholders become `{{ labels.x }}` (variables.py); a command that cannot be filled
  safely, or that opens an interactive session, becomes a manual step that says why.

Parsing never fails on content: a runbook without commands gets manual steps from its Diagnosis /
Mitigation bullets, or no steps at all, and the quality lints say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from runbooks.authoring.frontmatter import (
    FrontMatter,
    lenient_front_matter,
    parse_alerts,
    parse_duration,
    parse_escalation,
    parse_group_by,
    parse_match,
    parse_mode,
    parse_approvals,
    parse_team,
)
from runbooks.authoring.prose_commands import (
    inline_command,
    interactive_reason,
    read_block,
    tools_in,
)
from runbooks.authoring.prose_conditions import with_conditions
from runbooks.authoring.prose_text import (
    PREREQUISITE_HEADING,
    heading_kind,
    heading_text,
    is_example_intro,
    is_output_intro,
    plain,
    prerequisites_in,
    rollback_sentences,
    sentence_with,
    sentences,
    short,
    split_condition,
    title_for_block,
    title_for_inline,
)
from runbooks.authoring.structured import STEPS_HEADING
from runbooks.authoring.variables import convert_placeholders, readable
from runbooks.errors import RunbookParseError
from runbooks.matching.text import norm
from runbooks.model import Risk, Runbook, Step, slugify
from runbooks.rendering.templating import TemplateError, referenced_variables
from runbooks.risk import classify

DEFAULT_TIMEOUT = 300.0
_MD = MarkdownIt("commonmark")
_RISK_LINE = re.compile(r"^\s*risk\s*:\s*(green|yellow|red)\b[\s—–:(-]*(.*?)\)?\s*$", re.IGNORECASE | re.MULTILINE)
_MANUAL_KINDS = ("diagnosis", "mitigation", "verification")


@dataclass
class _Draft:
    """A step as found in the text, before its command is converted, checked and classified."""

    title: str
    line: int
    section: str
    heading: int  # which heading's text it sits under: rollback and `Risk:` lines attach within it
    command: str | None = None  # as the runbook wrote it
    language: str = "shell"
    description: list[str] = field(default_factory=list)
    condition: str | None = None
    rollback: str | None = None
    rollback_hint: str | None = None
    risk: tuple[Risk, str] | None = None


@dataclass
class _Item:
    """An outermost list item, kept in case the runbook has no command at all."""

    line: int
    section: str
    heading_condition: str | None
    texts: list[str] = field(default_factory=list)


class _Walker:
    """One pass over the tokens, keeping the headings, the last paragraph and the open list items."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.headings: list[tuple[int, str | None, str | None]] = []  # level, kind, condition
        self.heading_title = ""  # the current heading's text, a title when no sentence gives one
        self.heading_no = 0
        self.paragraph: str | None = None  # Markdown of the last paragraph under the current heading
        self.drafts: list[_Draft] = []
        self.items: list[_Item] = []
        self.open_items: list[_Item | None] = []
        self.prerequisites: list[str] = []
        self.in_prerequisites = False
        self.pending_risk: tuple[Risk, str] | None = None
        self.pending_hint: str | None = None
        self.rollback_for: _Draft | None = None  # "To revert, run:" waits for its code block

    # --- where we are ------------------------------------------------------------------------------
    @property
    def section(self) -> str:
        kind = next((k for _, k, _ in reversed(self.headings) if k is not None), None)
        return kind or "other"

    @property
    def heading_condition(self) -> str | None:
        return next((c for _, _, c in reversed(self.headings) if c), None)

    def heading(self, level: int, text: str) -> None:
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        kind, text = heading_kind(text), heading_text(text)
        if kind is None and STEPS_HEADING.search(text):
            kind = next((k for _, k, _ in reversed(self.headings) if k), None) or "mitigation"
        self.headings.append((level, kind, split_condition(text)[0]))
        self.heading_title = text
        self.heading_no += 1
        self.paragraph, self.rollback_for, self.pending_hint = None, None, None
        self.in_prerequisites = bool(PREREQUISITE_HEADING.search(text))

    # --- steps --------------------------------------------------------------------------------------
    def add(self, title: str, line: int, command: str | None, language: str, description: list[str],
            condition: str | None) -> _Draft:
        draft = _Draft(title=title, line=line, section=self.section, heading=self.heading_no, command=command,
                       language=language, description=[d for d in description if d],
                       condition=condition or self.heading_condition, risk=self.pending_risk,
                       rollback_hint=self.pending_hint)
        self.pending_risk = self.pending_hint = None
        self.drafts.append(draft)
        return draft

    def previous(self) -> _Draft | None:
        """The step just before, if it sits under the same heading (what a nearby sentence refers to)."""
        last = self.drafts[-1] if self.drafts else None
        return last if last is not None and last.heading == self.heading_no else None

    def list_item(self, tok: Token) -> None:
        outermost = not self.open_items
        item = _Item(self.offset + tok.map[0] + 1, self.section, self.heading_condition) if outermost else None
        if item is not None and (self.section in _MANUAL_KINDS):
            self.items.append(item)
        self.open_items.append(item)

    def paragraph_text(self, tok: Token) -> None:
        md, line = tok.content, self.offset + tok.map[0] + 1
        text = plain(md)
        outer = next((i for i in self.open_items if i is not None), None) if self.open_items else None
        if outer is not None:
            outer.texts.append(md)
        if self.section == "skip":
            return
        if self.in_prerequisites:
            self.prerequisites.append(short(text))
        self.prerequisites += prerequisites_in(md)
        md = self.directives(md)
        consumed = self.rollbacks(md)
        for child in tok.children or []:
            if child.type == "code_inline" and child.content not in consumed and (cmd := inline_command(child.content)):
                title, condition = title_for_inline(sentence_with(md, child.content), child.content)
                at = tok.content.find(child.content)
                offset = tok.content.count("\n", 0, at) if at > 0 else 0
                self.add(title, line + offset, cmd, "shell", [text], condition)
        if md.strip():
            self.paragraph = md

    def directives(self, md: str) -> str:
        """Honour `Risk: red` lines (for the step before under this heading, else the next one)."""
        for m in _RISK_LINE.finditer(md):
            reason = f"set by the runbook author: {m.group(2)}" if m.group(2) else "set by the runbook author"
            target = self.previous()
            if target is not None and target.risk is None:
                target.risk = (Risk(m.group(1).lower()), reason)
            else:
                self.pending_risk = (Risk(m.group(1).lower()), reason)
        return _RISK_LINE.sub("", md)

    def rollbacks(self, md: str) -> set[str]:
        """"To revert, run `x`" makes `x` the previous step's rollback; a sentence without a command is kept
        as its rollback hint; "To undo it, run:" hands the next code block over. Returns the spans used."""
        used: set[str] = set()
        for sentence in rollback_sentences(md):
            if split_condition(plain(sentence))[0]:  # "If the upgrade rolled back, ..." is a condition
                continue
            target = self.previous()
            commands = [c for c in re.findall(r"`([^`]+)`", sentence) if inline_command(c)]
            if target is not None and commands and target.rollback is None:
                target.rollback = commands[0]
                used.update(commands)
            elif target is not None and sentence.rstrip().endswith(":"):
                self.rollback_for = target
            elif target is not None:
                target.rollback_hint = target.rollback_hint or plain(sentence)
            else:
                self.pending_hint = plain(sentence)
        return used

    def code(self, tok: Token) -> None:
        block = read_block(tok.info, tok.content)
        intro = self.paragraph
        if block is None or self.section == "skip":
            return
        if (not block.prompted and is_output_intro(intro)) or (block.language != "shell" and is_example_intro(intro)):
            return  # a sample of output, or an example file: nothing to run
        if self.rollback_for is not None and block.language == "shell":
            self.rollback_for.rollback, self.rollback_for = block.script, None
            return
        title, condition = title_for_block(intro, block.comments, self.heading_title)
        opening = 1 if tok.type == "fence" else 0  # a fence's content starts after its ``` line
        line = self.offset + tok.map[0] + 1 + opening + block.first_line
        self.add(title, line, block.script, block.language, [plain(intro or ""), *block.comments], condition)


def _walk(tokens: list[Token], offset: int) -> _Walker:
    walker = _Walker(offset)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            walker.heading(int(tok.tag[1]), plain(tokens[i + 1].content))
        elif tok.type == "list_item_open":
            walker.list_item(tok)
        elif tok.type == "list_item_close":
            walker.open_items.pop()
        elif tok.type == "inline" and tokens[i - 1].type == "paragraph_open":
            walker.paragraph_text(tok)
        elif tok.type in ("fence", "code_block"):
            walker.code(tok)
    return walker


def _manual_drafts(walker: _Walker) -> list[_Draft]:
    """No command anywhere: the Diagnosis / Mitigation bullets are what a person does, one step each."""
    drafts = []
    for item in walker.items:
        if not item.texts:
            continue
        said = sentences(item.texts[0])
        condition, rest = split_condition(said[0]) if said else (None, "")
        title = short(rest or (said[0] if said else ""), 90).rstrip(".:")
        drafts.append(_Draft(title=title[:1].upper() + title[1:], line=item.line, section=item.section, heading=0,
                             description=[plain(t) for t in item.texts],
                             condition=condition or item.heading_condition))
    return drafts


def _refusal(exc: TemplateError) -> str:
    where = "a placeholder inside single quotes" if "single quotes" in str(exc) else "a placeholder"
    return f"contains {where} that cannot be filled safely: {exc}"


@dataclass
class _Checked:
    """A draft's command as our template, or the reason a person must run it instead."""

    command: str | None = None  # the template the engine runs
    shown: str = ""  # the command as a person reads it (escaped Go templates shown as written)
    variables: list[str] = field(default_factory=list)
    why_manual: str | None = None


def _check(draft: _Draft) -> _Checked:
    """Convert placeholders and let templating judge the result; refuse interactive commands too.

    Only shell is converted: PromQL, SQL and YAML steps are instructions shown to a person as written.
    """
    if draft.command is None or draft.language != "shell":
        return _Checked(command=draft.command, shown=draft.command or "")
    template, _ = convert_placeholders(draft.command)
    checked = _Checked(shown=readable(template))
    try:
        checked.variables = referenced_variables(template)
    except TemplateError as exc:
        checked.why_manual = _refusal(exc)
        return checked
    if interactive := interactive_reason(template):
        checked.why_manual = f"{interactive}, so it cannot run unattended"
    else:
        checked.command = template
    return checked


def _assess(draft: _Draft, shown: str) -> tuple[Risk, str, bool]:
    """Risk, reason and whether the author set it: a `Risk:` line wins over the classifier."""
    if draft.risk is not None:
        return *draft.risk, True
    if draft.command is None:
        return Risk.yellow, "manual step: a person does it and confirms", False
    assessed = classify(shown, draft.language)  # also for a manual step: it is what the person will run
    return assessed.risk, assessed.reason, False


def _unique_id(title: str, used: set[str]) -> str:
    step_id, n = slugify(title), 2
    while step_id in used:
        step_id, n = f"{slugify(title)}-{n}", n + 1
    used.add(step_id)
    return step_id


def _build(draft: _Draft, position: int, used: set[str], timeout: float) -> Step:
    """One step from a draft: a command we cannot fill safely or run unattended becomes a manual step."""
    checked = _check(draft)
    description, hint, rollback = list(draft.description), draft.rollback_hint, None
    if checked.why_manual is not None:
        description.append(f"Run this by hand: the command {checked.why_manual}.\n\n{draft.command}")
    elif draft.rollback is not None:
        template, _ = convert_placeholders(draft.rollback)
        try:
            checked.variables += referenced_variables(template)
            rollback = template
        except TemplateError as exc:
            hint = hint or f"undo by hand ({_refusal(exc)}): {draft.rollback}"
    risk, reason, explicit = _assess(draft, checked.shown)
    title = draft.title or checked.shown.strip().split("\n")[0][:80] or f"Step {position}"
    return Step(id=_unique_id(title, used), title=title, position=position,
                description="\n\n".join(dict.fromkeys(description)), command=checked.command,
                language=draft.language, risk=risk, risk_reason=reason, risk_explicit=explicit, rollback=rollback,
                target="local" if checked.command is not None else "manual", timeout_seconds=timeout,
                line=draft.line, section=draft.section, condition=draft.condition, rollback_hint=hint,
                variables=list(dict.fromkeys(checked.variables)) if checked.command is not None else [])


def _summary(tokens: list[Token]) -> tuple[str, str]:
    """The document's title (first h1) and description (first paragraph of Meaning, else the first one)."""
    title, first, meaning, in_meaning = "", "", "", False
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            text = plain(tokens[i + 1].content)
            title = title or (text if tok.tag == "h1" else "")
            in_meaning = heading_kind(text) == "skip" and "meaning" in text.lower()
        elif tok.type == "inline" and tokens[i - 1].type == "paragraph_open":
            first = first or plain(tok.content)
            meaning = meaning or (plain(tok.content) if in_meaning else "")
    return title, meaning or first


def _meta(fm: FrontMatter, path: str | None) -> dict[str, Any]:
    """Our keys from (foreign) front matter, checked like a structured runbook's."""
    meta, data = {}, fm.data
    if "match" in data:
        meta["match"] = parse_match(data["match"], fm.line_of("match"), path)
    meta["alerts"] = parse_alerts(data.get("alerts"), fm.line_of("alerts"), path, fm.body)
    if "mode" in data:
        meta["mode"] = parse_mode(data["mode"], fm.line_of("mode"), path)
    if "group_by" in data:
        meta["group_by"] = parse_group_by(data["group_by"], fm.line_of("group_by"), path)
    if "escalation" in data:
        meta["escalation"] = parse_escalation(data["escalation"], fm.line_of("escalation"), path)
    if "team" in data:
        meta["team"] = parse_team(data["team"], fm.line_of("team"), path)
    if "approvals" in data:
        meta["approvals"] = parse_approvals(data["approvals"], fm.line_of("approvals"), path)
    for key in ("service", "owner"):
        if isinstance(data.get(key), (str, int)):
            meta[key] = str(data[key])
    return meta


def parse_prose(text: str, path: str | None = None, default_id: str | None = None) -> Runbook:
    """A prose Markdown runbook as a `Runbook` with format "prose"; see the module docstring."""
    fm = lenient_front_matter(text)[0]
    tokens = _MD.parse(fm.body)
    walker = _walk(tokens, fm.body_offset)
    drafts = walker.drafts or _manual_drafts(walker)
    try:
        timeout = parse_duration(fm.data["timeout"]) if "timeout" in fm.data else DEFAULT_TIMEOUT
    except ValueError as exc:
        raise RunbookParseError(f"timeout: {exc}", fm.line_of("timeout"), path) from None
    used: set[str] = set()
    steps = with_conditions([_build(d, n, used, timeout) for n, d in enumerate(drafts, start=1)])
    tools = [f"tool: {t}" for d in drafts if d.command and d.language == "shell" for t in tools_in(d.command)]
    title, description = _summary(tokens)
    title = str(fm.data.get("title") or title or "")
    runbook_id = str(fm.data.get("id") or default_id or slugify(title or "runbook"))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}", runbook_id):
        raise RunbookParseError(f"id: {runbook_id!r} may only use letters, digits, '.', '_', '-', '/'",
                                fm.line_of("id"), path)
    meta = _meta(fm, path)
    own = {norm(title), norm(runbook_id.rsplit("/", 1)[-1])}
    meta["alerts"] = [a for a in meta.get("alerts", []) if norm(a) not in own]  # its own name is matched anyway
    return Runbook(id=runbook_id, title=title or runbook_id,
                   description=str(fm.data.get("description") or description), steps=steps, source_path=path,
                   prerequisites=list(dict.fromkeys(walker.prerequisites + tools)), format="prose", **meta)

