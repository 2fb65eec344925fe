"""Proposed next versions of a runbook, each with the evidence that motivates it.

Pure: the facts come from the store (insights, the values people typed into approvals, the alert
each execution answered), the proposals are edits of the live version's own text, and a proposal
is kept only if that text parses back into what it claims (the step gone, the value bound): a
suggestion never offers a version that would not load.

- **remove a dead step**: rejected or skipped in every one of 3+ runs (runbooks/insights.py);
- **bind a value**: people supplied `labels.x` by hand in 3+ runs, and every time it equalled the
  same alert label: use that label instead (`{{ labels.pod }}` -> `{{ labels.instance }}`);
- **add a step**: notes say people ran the same command by hand ("I also ran `cmd`") in 2+ runs:
  a step with it after the last one (its risk classified like any step's, so review follows);
- **fix a broken step**: a step fails the same way run after run (runbooks/insights.py), and in 2+
  of the runs where it failed people ran, by hand, a command about the same things (`service nginx
  restart` failing with "command not found", `systemctl restart nginx` run instead): that command
  replaces the step's.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from runbooks.insights import DEAD_AFTER, RunbookInsights
from runbooks.model import Runbook
from runbooks.narration import Narration
from runbooks.notes import same_command

BIND_AFTER = DEAD_AFTER
ADD_AFTER = 2  # runs in which people ran the same command by hand


@dataclass(frozen=True)
class Supplied:
    """Values a person typed into an approval, with the labels of the alert that execution answered."""

    execution_id: str
    step_id: str
    values: dict[str, str]
    labels: dict[str, str]


class Suggestion(BaseModel):
    id: str = Field(description="stable for the same proposal on the same live version")
    runbook_id: str
    version: int = Field(description="the live version it changes")
    kind: str = Field(description="remove_dead_step | bind_value | add_step | fix_broken_step | promote_step | "
                                  "demote_step (runbooks/earned_trust.py)")
    step_id: str
    title: str
    evidence: list[str]
    diff: str = Field(description="unified diff against the live version's text")
    text: str = Field(description="the proposed version's text, as accepting it would save it")
    explanation: Narration | None = Field(default=None, description="with ?explain=true and an LLM configured: "
                                          "sentences that each cite the evidence they restate (runbooks/narration.py)")

    def facts(self) -> list[str]:
        """What an explanation may restate: the proposal, its evidence, the lines it changes."""
        changed = [line for line in self.diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        return [self.title, *self.evidence, *(f"the proposed version changes the line: {line}" for line in changed)]


def _id(runbook_id: str, version: int, kind: str, detail: str) -> str:
    return hashlib.sha256(f"{runbook_id}|{version}|{kind}|{detail}".encode()).hexdigest()[:12]


def _diff(runbook_id: str, version: int, old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        f"{runbook_id}@v{version}", f"{runbook_id}@proposed"))


_ITEM = re.compile(r"^\s{0,3}(\d{1,9}[.)]|[-*+])\s|^#")


def _start_of(lines: list[str], line: int) -> int:
    """The index of the line that opens the list item (or section) holding 1-based `line`: a step's
    `line` is where its command sits, its title is above."""
    i = min(max(line - 1, 0), len(lines) - 1)
    while i > 0 and not _ITEM.match(lines[i]):
        i -= 1
    return i


def without_step(source: str, runbook: Runbook, step_id: str) -> str | None:
    """The source with one step cut out: from the list item (or heading) that opens it to the one
    that opens the next step, or to the next heading after the last; None when it has no line."""
    steps = sorted((s for s in runbook.steps if s.line), key=lambda s: s.line)
    index = next((i for i, s in enumerate(steps) if s.id == step_id), None)
    if index is None:
        return None
    lines = source.splitlines(keepends=True)
    start = _start_of(lines, steps[index].line)
    if index + 1 < len(steps):
        end = _start_of(lines, steps[index + 1].line)
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    if end <= start:
        return None
    return "".join(lines[:start] + lines[end:])


def with_step(source: str, runbook: Runbook, title: str, command: str) -> str | None:
    """The source with one more step after the last: the same list style, the command in a block."""
    steps = sorted((s for s in runbook.steps if s.line), key=lambda s: s.line)
    if not steps:
        return None
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = _start_of(lines, steps[-1].line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    while end > start + 1 and not lines[end - 1].strip():  # after the last item, before blank lines
        end -= 1
    numbered = re.match(r"^(\s{0,3})(\d{1,9})([.)])\s", lines[start])
    bullet = re.match(r"^(\s{0,3})([-*+])\s", lines[start])
    if numbered:
        marker = f"{numbered.group(1)}{int(numbered.group(2)) + 1}{numbered.group(3)}"
    elif bullet:
        marker = f"{bullet.group(1)}{bullet.group(2)}"
    else:
        return None
    indent = " " * (len(marker) + 1)
    block = [f"{marker} **{title}**\n", f"{indent}```sh\n", f"{indent}{command}\n", f"{indent}```\n"]
    return "".join(lines[:end] + block + lines[end:])


def with_command(source: str, runbook: Runbook, step_id: str, command: str) -> str | None:
    """The source with one step's command replaced (its first line, where the step writes it), or
    None when the command is not found as written within the step's lines."""
    steps = sorted((s for s in runbook.steps if s.line), key=lambda s: s.line)
    index = next((i for i, s in enumerate(steps) if s.id == step_id), None)
    old = (steps[index].command or "").strip() if index is not None else ""
    if index is None or not old or "\n" in old:
        return None
    lines = source.splitlines(keepends=True)
    start = _start_of(lines, steps[index].line)
    end = _start_of(lines, steps[index + 1].line) if index + 1 < len(steps) else len(lines)
    for i in range(start, end):
        if lines[i].strip() == old:
            lines[i] = lines[i][: len(lines[i]) - len(lines[i].lstrip())] + command + "\n"
            return "".join(lines)
    return None


_WORD = re.compile(r"[A-Za-z0-9_./-]{3,}")
GENERIC = frozenset({"sudo", "the", "and", "then", "echo", "bin", "usr"})


def _about(command: str) -> set[str]:
    """What a command is about: its words of 3+ characters, the generic ones aside."""
    return {w.lower() for w in _WORD.findall(command)} - GENERIC


def fixes_for(step_command: str, ran_in_failed_runs: list[RanByHand]) -> tuple[str, list[RanByHand]] | None:
    """The command people ran by hand, in ADD_AFTER+ of the runs where the step failed, that is about
    what the step is about (a word in common): the most runs first, then alphabetically."""
    about = _about(step_command)
    found = [(cmd, rows) for cmd, rows in commands_people_ran(ran_in_failed_runs).items()
             if cmd != same_command(step_command) and about & _about(cmd)]
    return min(found, key=lambda f: (-len({r.execution_id for r in f[1]}), f[0])) if found else None


def with_binding(source: str, variable: str, label: str) -> str:
    """`{{ labels.pod }}` (any spacing, any filter after it) -> `{{ labels.instance }}`, everywhere."""
    return re.sub(rf"(\{{\{{\s*){re.escape(variable)}(?![\w.])", rf"\g<1>labels.{label}", source)


@dataclass(frozen=True)
class RanByHand:
    """A command a note says was run by hand during one of the runbook's runs."""

    execution_id: str
    author: str
    command: str
    note: str


def commands_people_ran(ran: list[RanByHand]) -> dict[str, list[RanByHand]]:
    """Commands run by hand in at least ADD_AFTER different runs, with the notes that say so."""
    by_command: dict[str, list[RanByHand]] = {}
    for r in ran:
        by_command.setdefault(same_command(r.command), []).append(r)
    return {cmd: rows for cmd, rows in by_command.items() if len({r.execution_id for r in rows}) >= ADD_AFTER}


def bindings(supplied: list[Supplied]) -> dict[tuple[str, str], tuple[str, list[Supplied]]]:
    """(step, variable) -> (the one alert label every supplied value equalled, the evidence), for
    values supplied in at least BIND_AFTER runs."""
    by_need: dict[tuple[str, str], list[Supplied]] = {}
    for s in supplied:
        for variable in s.values:
            by_need.setdefault((s.step_id, variable), []).append(s)
    out = {}
    for (step_id, variable), rows in by_need.items():
        if len({r.execution_id for r in rows}) < BIND_AFTER:
            continue
        own = variable.split(".", 1)[-1]
        labels = sorted(set.intersection(*({k for k, v in r.labels.items() if v == r.values[variable] and k != own}
                                           for r in rows)))
        if labels:
            out[(step_id, variable)] = (labels[0], rows)
    return out


def suggest(runbook: Runbook, version: int, source: str, insights: RunbookInsights, supplied: list[Supplied],
            parse: Callable[[str], Runbook], ran: list[RanByHand] | None = None,
            failed_in: dict[str, set[str]] | None = None) -> list[Suggestion]:
    """Every proposal the evidence supports, each checked by parsing its text with `parse`.

    `failed_in`: for each broken step, the runs in which it failed (a fix is looked for in them)."""
    out: list[Suggestion] = []
    live_ids = [s.id for s in runbook.steps]
    titles = {s.id: s.title for s in runbook.steps}
    for flag in insights.flags:
        if flag.kind != "dead_step" or flag.step_id not in titles:
            continue
        text = without_step(source, runbook, flag.step_id)
        if text is None or [s.id for s in _parsed(parse, text)] != [i for i in live_ids if i != flag.step_id]:
            continue
        out.append(Suggestion(
            id=_id(runbook.id, version, "remove_dead_step", flag.step_id), runbook_id=runbook.id, version=version,
            kind="remove_dead_step", step_id=flag.step_id, title=f"Remove the step '{titles[flag.step_id]}'",
            evidence=[flag.message], diff=_diff(runbook.id, version, source, text), text=text))
    for (step_id, variable), (label, rows) in sorted(bindings(supplied).items()):
        if step_id not in titles:
            continue
        text = with_binding(source, variable, label)
        parsed = {s.id: s for s in _parsed(parse, text)}
        if text == source or step_id not in parsed or variable in parsed[step_id].variables:
            continue
        examples = ", ".join(f"{r.values[variable]!r} ({r.execution_id})" for r in rows[:3])
        out.append(Suggestion(
            id=_id(runbook.id, version, "bind_value", f"{step_id}|{variable}|{label}"), runbook_id=runbook.id,
            version=version, kind="bind_value", step_id=step_id,
            title=f"Fill `{variable}` from the alert's `{label}` label in '{titles[step_id]}'",
            evidence=[f"people typed `{variable}` by hand in {len({r.execution_id for r in rows})} runs, and it always "
                      f"equalled the alert's `{label}` label: {examples}"],
            diff=_diff(runbook.id, version, source, text), text=text))
    fixing: set[str] = set()
    for flag in insights.flags:
        step = runbook.step(flag.step_id or "")
        if flag.kind != "broken_step" or step is None or not step.command:
            continue
        runs = (failed_in or {}).get(step.id, set())
        found = fixes_for(step.command, [r for r in ran or [] if r.execution_id in runs])
        if found is None:
            continue
        command, rows = found
        text = with_command(source, runbook, step.id, command)
        parsed = _parsed(parse, text) if text is not None else []
        if text is None or len(parsed) != len(runbook.steps) or same_command(
                next((p.command or "" for p in parsed if p.title == step.title), "")) != command:
            continue
        fixing.add(command)
        examples = "; ".join(f"{r.author} in {r.execution_id}: “{r.note[:120]}”" for r in rows[:3])
        out.append(Suggestion(
            id=_id(runbook.id, version, "fix_broken_step", f"{step.id}|{command}"), runbook_id=runbook.id,
            version=version, kind="fix_broken_step", step_id=step.id,
            title=f"Fix the step '{step.title}': run `{command}` instead",
            evidence=[flag.message, f"in {len({r.execution_id for r in rows})} of the runs where it failed, people "
                      f"ran `{command}` by hand: {examples}"],
            diff=_diff(runbook.id, version, source, text), text=text))
    have = {same_command(s.command) for s in runbook.steps if s.command} | fixing
    for command, rows in sorted(commands_people_ran(ran or []).items()):
        if command in have:
            continue
        title = f"Also run {command if len(command) <= 60 else command[:59] + '…'}".replace("*", "")
        text = with_step(source, runbook, title, command)
        parsed = _parsed(parse, text) if text is not None else []
        if text is None or len(parsed) != len(runbook.steps) + 1 or same_command(parsed[-1].command or "") != command:
            continue
        runs = len({r.execution_id for r in rows})
        examples = "; ".join(f"{r.author} in {r.execution_id}: “{r.note[:120]}”" for r in rows[:3])
        out.append(Suggestion(
            id=_id(runbook.id, version, "add_step", command), runbook_id=runbook.id, version=version,
            kind="add_step", step_id=parsed[-1].id, title=f"Add the step people ran by hand: `{command}`",
            evidence=[f"people ran `{command}` by hand in {runs} runs: {examples}"],
            diff=_diff(runbook.id, version, source, text), text=text))
    return out


def _parsed(parse: Callable[[str], Runbook], text: str) -> list:
    try:
        return parse(text).steps
    except ValueError:  # RunbookParseError: the edit broke the text, so it is not offered
        return []
