"""Structured Markdown runbooks -> the `Runbook` model, strictly.

The Markdown format is what on-call teams already write: an ordered list under a "Steps" heading,
one item per step; the item's first fenced code block is its command, `Risk: red` overrides the
classifier, `Rollback:` followed by a code block is the compensation, `Target:` and `Timeout:`
say where and how long. Every error names the line that is wrong.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from runbooks.authoring.flow import FLOW_KEYS, check_flow, parse_flow
from runbooks.authoring.frontmatter import (
    ALLOWED_KEYS, lenient_front_matter, parse_alerts, parse_approvals, parse_duration, parse_escalation, parse_group_by,
    parse_limit, parse_match, parse_mode, parse_team, split_front_matter,
)
from runbooks.authoring.http_steps import HTTP, check_request_block, http_target, parse_expect, request_text
from runbooks.authoring.prose_text import heading_kind
from runbooks.errors import RunbookParseError
from runbooks.model import Risk, Runbook, Step, StepFlow, slugify
from runbooks.rendering.templating import TemplateError, referenced_variables
from runbooks.risk import classify
from runbooks.targets import TargetError, check_target_spec

DEFAULT_TIMEOUT = 300.0
_MD = MarkdownIt("commonmark")
_DIRECTIVE = re.compile(r"^\s*(risk|target|timeout|rollback|expect|if|retries|idempotent|on failure|breakpoint"
                        r"|parallel|runs by itself|verify|source|section)\s*:\s*(.*?)\s*$", re.IGNORECASE)
_RISK_VALUE = re.compile(r"^(\w+)\s*(?:[-—–:(]\s*(.*?)\)?)?$")
_SECTIONS = {"diagnosis": "diagnosis", "fix": "mitigation", "mitigation": "mitigation", "follow-up": "other",
             "verification": "verification", "other": "other"}
_SHELL_LANGS = {"", "sh", "bash", "shell", "console", "zsh", "shell-session"}


def _check_target(value: str, line: int, path: str | None) -> str:
    """`local`, `manual` or `ssh://[user@]host[:port]`, where parts may come from `{{ labels.x }}`:
    the rules the step is held to when it runs (runbooks/targets.py)."""
    try:
        check_target_spec(value)
    except TemplateError as exc:
        raise RunbookParseError(f"target: {exc}", line, path) from None
    except TargetError as exc:
        raise RunbookParseError(str(exc), line, path) from None
    return value


def _plain(text: str) -> str:
    """Inline Markdown to plain text for titles: drop emphasis markers and link targets."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[*_]{1,3}([^*_]+)[*_]{1,3}", r"\1", text).strip()


def _command_text(fence: Token) -> str:
    """Strip `$ ` prompts so `$ df -h` runs as `df -h`; in a prompted block, lines without a prompt
    are output and dropped, except the continuation lines of a command ending in a backslash."""
    lines = fence.content.rstrip("\n").splitlines()
    if not any(line.startswith("$ ") for line in lines):
        return "\n".join(lines).strip()
    kept: list[str] = []
    continued = False
    for line in lines:
        if line.startswith("$ ") or continued:
            kept.append(line[2:] if line.startswith("$ ") and not continued else line)
            continued = line.rstrip().endswith("\\")
    return "\n".join(kept).strip()


class _StepBuilder:
    """Collects one list item's tokens into a Step, remembering where each part came from."""

    def __init__(self, position: int, line: int, defaults: dict[str, Any], path: str | None):
        self.position, self.line, self.defaults, self.path = position, line, defaults, path
        self.title = ""
        self.description: list[str] = []
        self.command: str | None = None
        self.command_line = line
        self.language = "shell"
        self.rollback: str | None = None
        self.risk: tuple[Risk, str] | None = None
        self.target: str = defaults.get("target", "local")
        self.timeout: float = defaults.get("timeout", DEFAULT_TIMEOUT)
        self.awaiting_rollback: int | None = None
        self.variables: list[str] = []
        self.flow: dict[str, Any] = {}  # If:, Retries:... (runbooks/authoring/flow.py)
        self.flow_lines: dict[str, int] = {}
        self.target_line: int | None = None  # where this step wrote `Target:`
        self.rollback_http: bool | None = None  # its rollback block is a request (None: no rollback)
        self.rollback_line = line
        self.expect: list[str] = []  # `Expect:` of an HTTP step (runbooks/authoring/http_steps.py)
        self.expect_line: int | None = None
        self.source: str | None = None  # `Source:` of a drafted step: where it came from
        self.section: str | None = None  # `Section:` of a drafted step (diagnosis, mitigation...)

    def add_paragraph(self, text: str, line: int) -> None:
        for offset, raw in enumerate(text.splitlines()):
            self._add_line(raw, line + offset)

    def _add_line(self, raw: str, line: int) -> None:
        m = _DIRECTIVE.match(_plain(raw))
        if not m:
            if not self.title:
                self.title = _plain(raw)
            elif raw.strip():
                self.description.append(raw.strip())
            return
        key, value = re.sub(r"\s+", " ", m.group(1).lower()), m.group(2)
        if key in FLOW_KEYS:
            if key == "if":  # as written: emphasis stripping would eat the `_` of `labels.env_name`
                value = re.sub(r"^\W*if\W*:\s*", "", raw.strip(), flags=re.IGNORECASE)
            self.flow.update(parse_flow(key, value, line, self.path))
            self.flow_lines[key] = line
        elif key == "risk":
            rm = _RISK_VALUE.match(value)
            if not rm or rm.group(1).lower() not in {r.value for r in Risk}:
                raise RunbookParseError(f"Risk: {value!r} is not green, yellow or red", line, self.path)
            reason = f"set by the runbook author: {rm.group(2)}" if rm.group(2) else "set by the runbook author"
            self.risk = (Risk(rm.group(1).lower()), reason)
        elif key == "target":
            self.target, self.target_line = _check_target(value, line, self.path), line
        elif key == "source":
            self.source = value or None
        elif key == "section":  # a draft's diagnosis | fix | follow-up, in the prose reader's terms
            self.section = _SECTIONS.get(value.strip().lower(), heading_kind(value) or "other")
        elif key == "expect":
            self.expect += parse_expect(raw, line, self.path)
            self.expect_line = line
        elif key == "timeout":
            try:
                self.timeout = parse_duration(value)
            except ValueError as exc:
                raise RunbookParseError(f"Timeout: {exc}", line, self.path) from None
        elif key == "rollback":
            if value:
                raise RunbookParseError("Rollback: must be followed by a code block, not inline text",
                                        line, self.path)
            self.awaiting_rollback = line

    def add_fence(self, fence: Token, line: int) -> None:
        http = fence.info.strip().lower() == HTTP
        text, lead = request_text(fence) if http else (_command_text(fence), 0)
        if self.awaiting_rollback is not None:
            self._check_template(text, line, line + 1 + lead if http else None)
            self.rollback, self.awaiting_rollback = text, None
            self.rollback_http, self.rollback_line = http, line
        elif self.command is None:
            shell = fence.info.strip().lower() in _SHELL_LANGS  # a query or SQL is not judged as a shell command
            self._check_template(text, line, line + 1 + lead if http else None, shell=shell)
            self.command, self.command_line = text, line
            self.language = "shell" if fence.info.strip().lower() in _SHELL_LANGS else fence.info.strip().lower()

    def _check_template(self, text: str, line: int, request_line: int | None = None, shell: bool = True) -> None:
        if not text:
            raise RunbookParseError("empty code block", line, self.path)
        if request_line is not None:  # an ```http block: a request, whose values are placed by where they stand
            self.variables.extend(check_request_block(text, request_line, self.path))
            return
        try:
            self.variables.extend(referenced_variables(text, shell=shell))
        except TemplateError as exc:
            raise RunbookParseError(str(exc), line, self.path) from None

    def build(self, used_ids: set[str]) -> Step:
        if self.awaiting_rollback is not None:
            raise RunbookParseError("Rollback: is not followed by a code block", self.awaiting_rollback, self.path)
        self.target = http_target(self.target, self.target_line, self.language if self.command else None,
                                  self.command_line, self.rollback_http, self.rollback_line, self.expect_line,
                                  self.path)
        if not self.title:
            self.title = (self.command or "").splitlines()[0] if self.command else f"Step {self.position}"
        step_id = slugify(self.title)
        base, n = step_id, 2
        while step_id in used_ids:
            step_id, n = f"{base}-{n}", n + 1
        used_ids.add(step_id)
        if self.risk is not None:
            risk, reason, explicit = *self.risk, True
        elif self.command is None and self.flow.get("verify_alert"):
            risk, reason, explicit = Risk.green, "waits until the alert resolves (changes nothing)", False
        elif self.command is None:
            risk, reason, explicit = Risk.yellow, "manual step: a person does it and confirms", False
        else:
            assessed = classify(self.command, self.language)
            risk, reason, explicit = assessed.risk, assessed.reason, False
        return Step(
            id=step_id, title=self.title, position=self.position, description="\n".join(self.description),
            command=self.command, language=self.language, risk=risk, risk_reason=reason, risk_explicit=explicit,
            rollback=self.rollback, target="manual" if self.command is None else self.target,
            timeout_seconds=self.timeout, line=self.command_line if self.command else self.line,
            variables=list(dict.fromkeys(self.variables)), flow=StepFlow(**self.flow), expect=self.expect,
            source=self.source, section=self.section,
        )


def _find_steps_list(tokens: list[Token]) -> int | None:
    """Index of the ordered list under a heading that mentions steps, else the first top-level one."""
    first = None
    heading_says_steps = False
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            heading_says_steps = bool(re.search(r"\bsteps?\b|procedure|remediation", tokens[i + 1].content, re.I))
        elif tok.type == "ordered_list_open" and tok.level == 0:
            if heading_says_steps:
                return i
            first = i if first is None else first
    return first


# A heading that announces the structured format's list of steps (as `_find_steps_list` reads it).
STEPS_HEADING = re.compile(r"\bsteps?\b|procedure|remediation", re.IGNORECASE)


def _own_front_matter(text: str) -> bool:
    """Front matter in our vocabulary (`match:`, `mode:`...), not a site generator's (`title:`, `weight:`).

    Front matter that is not valid YAML counts as ours, so its author gets the error with its line.
    """
    fm, valid = lenient_front_matter(text)
    return not valid or bool(set(map(str, fm.data)) & (ALLOWED_KEYS - {"title", "description"}))


def _list_tokens(tokens: list[Token], start: int) -> list[Token]:
    """The tokens of the top-level ordered list that opens at `start`."""
    end = next((j for j in range(start + 1, len(tokens))
                if tokens[j].type == "ordered_list_close" and tokens[j].level == 0), len(tokens))
    return tokens[start + 1 : end]


def _holds_steps(tokens: list[Token], start: int) -> bool:
    """Does the ordered list at `start` hold what structured steps hold: a code block or a `Risk:` line?"""
    return any(tok.type in ("fence", "code_block") or (
        tok.type == "inline" and any(_DIRECTIVE.match(_plain(line)) for line in tok.content.splitlines()))
        for tok in _list_tokens(tokens, start))


def is_structured(text: str) -> bool:
    """Is this Markdown in our structured format, or a prose runbook to import?

    Structured means an ordered list of steps (with a code block or a `Risk:`-style line in it) under a
    heading that mentions steps, or our own front matter with a first ordered list holding code blocks.
    An ordered list elsewhere in prose ("1. Check the logs"), or a numbered checklist under "Procedure"
    without any command, does not make a runbook structured.
    """
    tokens = _MD.parse(lenient_front_matter(text)[0].body)
    first: int | None = None
    heading_says_steps = False
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            heading_says_steps = bool(STEPS_HEADING.search(tokens[i + 1].content))
        elif tok.type == "ordered_list_open" and tok.level == 0:
            if heading_says_steps and _holds_steps(tokens, i):
                return True
            first = i if first is None else first
    return first is not None and _own_front_matter(text) and any(
        tok.type in ("fence", "code_block") for tok in _list_tokens(tokens, first))


def parse_structured(text: str, path: str | None = None, default_id: str | None = None) -> Runbook:
    fm = split_front_matter(text, path)
    meta, off = fm.data, fm.body_offset
    defaults: dict[str, Any] = {}
    if "target" in meta:
        defaults["target"] = _check_target(str(meta["target"]), fm.line_of("target"), path)
    if "timeout" in meta:
        try:
            defaults["timeout"] = parse_duration(meta["timeout"])
        except ValueError as exc:
            raise RunbookParseError(f"timeout: {exc}", fm.line_of("timeout"), path) from None

    tokens = _MD.parse(fm.body)
    title = str(meta.get("title") or "")
    description: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag == "h1" and not title:
            title = _plain(tokens[i + 1].content)
        elif tok.type == "inline" and tok.level == 1 and not description and tokens[i - 1].type == "paragraph_open":
            description.append(tok.content)
    start = _find_steps_list(tokens)
    if start is None:
        raise RunbookParseError("no steps: expected an ordered list (1. 2. 3.) under a '## Steps' heading", 1, path)

    steps: list[Step] = []
    used: set[str] = set()
    flow_lines: dict[tuple[str, str], int] = {}
    builder: _StepBuilder | None = None
    for tok in tokens[start + 1:]:
        if tok.type == "ordered_list_close" and tok.level == 0:
            break
        if tok.type == "list_item_open" and tok.level == 1:
            builder = _StepBuilder(len(steps) + 1, off + tok.map[0] + 1, defaults, path)
        elif tok.type == "list_item_close" and tok.level == 1 and builder is not None:
            steps.append(builder.build(used))
            flow_lines.update({(steps[-1].id, key): line for key, line in builder.flow_lines.items()})
            builder = None
        elif builder is not None and tok.type == "inline":
            builder.add_paragraph(tok.content, off + tok.map[0] + 1)
        elif builder is not None and tok.type in ("fence", "code_block"):
            builder.add_fence(tok, off + tok.map[0] + 1)

    check_flow(steps, flow_lines, path)
    runbook_id = str(meta.get("id") or default_id or slugify(title or "runbook"))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}", runbook_id):
        raise RunbookParseError(f"id: {runbook_id!r} may only use letters, digits, '.', '_', '-', '/'",
                                fm.line_of("id"), path)
    return Runbook(
        id=runbook_id, title=title or runbook_id, description=str(meta.get("description") or " ".join(description)),
        service=meta.get("service"), owner=meta.get("owner"),
        team=parse_team(meta.get("team"), fm.line_of("team"), path),
        approvals=parse_approvals(meta.get("approvals"), fm.line_of("approvals"), path),
        concurrency=parse_limit("concurrency", meta.get("concurrency"), fm.line_of("concurrency"), path),
        max_errors=parse_limit("max_errors", meta.get("max_errors"), fm.line_of("max_errors"), path),
        match=parse_match(meta.get("match"), fm.line_of("match"), path),
        alerts=parse_alerts(meta.get("alerts"), fm.line_of("alerts"), path),
        group_by=parse_group_by(meta.get("group_by"), fm.line_of("group_by"), path),
        mode=parse_mode(meta.get("mode"), fm.line_of("mode"), path),
        escalation=parse_escalation(meta.get("escalation"), fm.line_of("escalation"), path),
        steps=steps, source_path=path,
    )
