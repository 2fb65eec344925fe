"""The `/runbook` slash command: start a runbook, follow an execution, list the catalogue.

Every answer is ephemeral (only the person who typed the command sees it) in the JSON body Slack
expects for slash commands. Bad input gets a usage hint, never an error page.

Who may start: the user the Slack id maps to, by the same rules as every door (services/starts.py):
`start` in the runbook's team for copilot (the default) or `dry_run`, where every risky step still
waits for an approver and a red step needs someone other than the starter; `autopilot` runs yellow
steps without asking, so starting in autopilot is itself an approval: approvers only.
"""

from __future__ import annotations

import asyncio
import difflib
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from runbooks.model import Mode
from runbooks.slack_text import esc
from runbooks.storage.tables import ApprovalRow, ExecutionRow, StepRow
from services.context import Services
from services.errors import MissingValues, NotFound, ServiceError
from services.identity import from_slack
from services.starts import start_by_hand

KEY = re.compile(r"[A-Za-z_][\w.-]*")
MAX_KEY = 128
MAX_VALUE = 4000
LIST_LIMIT = 30
SECTION_CHARS = 2900  # a section's text may hold 3000
MAX_BLOCKS = 45  # a message may hold 50
_SLACK_USER = re.compile(r"slack:([UW][A-Z0-9]+)")

STEP_ICONS = {
    "pending": ":white_circle:", "waiting_approval": ":hourglass_flowing_sand:", "running": ":arrow_forward:",
    "succeeded": ":white_check_mark:", "failed": ":x:", "rejected": ":no_entry_sign:", "skipped": ":fast_forward:",
    "dry_run": ":memo:",
}
EXECUTION_ICONS = {
    "running": ":arrow_forward:", "waiting_approval": ":hourglass_flowing_sand:", "succeeded": ":white_check_mark:",
    "failed": ":x:", "rolled_back": ":leftwards_arrow_with_hook:", "cancelled": ":no_entry_sign:",
}


# -- Slack text -------------------------------------------------------------------------------------

def code(text: object) -> str:
    return "`" + esc(text).replace("`", "'") + "`"


def who(actor: str | None, mrkdwn: bool = True) -> str:
    """`slack:U123` as a mention in mrkdwn; anyone else (REST actors, the timer) as escaped text."""
    actor = actor or "someone"
    match = _SLACK_USER.fullmatch(actor)
    if match and mrkdwn:
        return f"<@{match[1]}>"
    return esc(actor) if mrkdwn else actor


def mention_actors(reason: str) -> str:
    """A product message (already plain text) as mrkdwn, with Slack actors shown as mentions."""
    return _SLACK_USER.sub(lambda m: f"<@{m[1]}>", esc(reason))


def sections(lines: Iterable[str]) -> list[Block]:
    """Lines packed into as few section blocks as Slack's size limits allow."""
    blocks: list[Block] = []
    chunk = ""
    for line in lines:
        line = line if len(line) <= SECTION_CHARS else line[:SECTION_CHARS - 1] + "…"
        if chunk and len(chunk) + 1 + len(line) > SECTION_CHARS:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
    if len(blocks) > MAX_BLOCKS:
        blocks = blocks[:MAX_BLOCKS - 1] + [SectionBlock(text=MarkdownTextObject(text="_… (cut: too long for Slack)_"))]
    return blocks


def reply(text: str, blocks: list[Block] | None = None, context: str | None = None) -> dict[str, Any]:
    """The body Slack expects for a slash command: ephemeral, a text fallback and blocks."""
    blocks = list(blocks) if blocks is not None else sections(text.splitlines() or [text])
    if context:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]))
    return {"response_type": "ephemeral", "text": text[:3000], "blocks": [b.to_dict() for b in blocks]}


def unslack(text: str) -> str:
    """Command text as the person typed it: Slack escapes &, <, > and wraps what it auto-links.

    `<http://example.com|example.com>` is what the person typed (`example.com`), so the label wins;
    `<@U123|alice>` mentions and channel links are left as they are.
    """
    def link(match: re.Match[str]) -> str:
        target, label = match[1], match[2]
        if target.startswith(("@", "#", "!")):
            return match[0]
        return label if label else target

    text = re.sub(r"<([^<>|]+)(?:\|([^<>]*))?>", link, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.replace("\u201c", '"').replace("\u201d", '"')  # a phone's smart double quotes


# -- the command ------------------------------------------------------------------------------------

class CommandError(Exception):
    """Input the command cannot use; the message is the (mrkdwn) answer."""


@dataclass
class RunRequest:
    runbook_id: str
    params: dict[str, str] = field(default_factory=dict)
    mode: Mode = Mode.copilot


def usage(command: str = "/runbook") -> str:
    c = esc(command or "/runbook")
    modes = "|".join(m.value for m in Mode)
    return (f"*{c}* runs and follows runbooks from Slack:\n"
            f"• `{c} run <runbook-id> [key=value ...] [mode={modes}]` starts a runbook; "
            f"`key=value` pairs fill its placeholders (quote values with spaces: `note=\"two words\"`). "
            f"Default mode: copilot (risky steps wait for an approver); autopilot is for approvers only.\n"
            f"• `{c} status <execution-id>` shows an execution and each of its steps\n"
            f"• `{c} list` lists the runbooks\n"
            f"• `{c} help` shows this")


def parse_run(args: list[str], command: str = "/runbook") -> RunRequest:
    if not args:
        raise CommandError(f"Which runbook? `{esc(command)} run <runbook-id> [key=value ...]` "
                           f"(`{esc(command)} list` shows them)")
    request = RunRequest(runbook_id=args[0])
    seen_mode = False
    for token in args[1:]:
        key, sep, value = token.partition("=")
        if not sep:
            raise CommandError(f"{code(token)} is not `key=value`: give parameters as `key=value` "
                               f"(quote a value with spaces: `note=\"two words\"`)")
        if len(key) > MAX_KEY or not KEY.fullmatch(key):
            raise CommandError(f"{code(key[:MAX_KEY])} is not a parameter name: start with a letter or `_`, "
                               "then letters, digits, `_`, `.` or `-`")
        if len(value) > MAX_VALUE:
            raise CommandError(f"the value of {code(key)} is longer than {MAX_VALUE} characters")
        if key == "mode":
            if seen_mode:
                raise CommandError("`mode=` is given twice")
            try:
                request.mode = Mode(value)
            except ValueError:
                raise CommandError(f"{code(value)} is not a mode: one of "
                                   + ", ".join(code(m.value) for m in Mode)) from None
            seen_mode = True
            continue
        if key in request.params:
            raise CommandError(f"{code(key)} is given twice")
        request.params[key] = value
    return request


async def handle_command(svc: Services, form: Mapping[str, str]) -> dict[str, Any]:
    """Answer one `/runbook` invocation (form fields as Slack posts them)."""
    command = form.get("command") or "/runbook"
    user_id = form.get("user_id") or ""
    try:
        tokens = shlex.split(unslack(form.get("text") or ""))
    except ValueError as exc:
        return reply(f"I could not read that ({esc(exc)}): check the quotes.\n\n{usage(command)}")
    sub, args = (tokens[0].lower(), tokens[1:]) if tokens else ("help", [])
    try:
        if sub == "run":
            return await _run(svc, parse_run(args, command), user_id, command)
        if sub == "status":
            if len(args) != 1:
                raise CommandError(f"Which execution? `{esc(command)} status <execution-id>`")
            return await _status(svc, args[0])
        if sub == "list":
            return await _list(svc, command)
    except CommandError as exc:
        return reply(str(exc))
    if sub in ("help", "-h", "--help", "?"):
        return reply(usage(command))
    return reply(f"I don't know {code(tokens[0][:100])}.\n\n{usage(command)}")


async def _run(svc: Services, request: RunRequest, user_id: str, command: str) -> dict[str, Any]:
    if not user_id:
        raise CommandError("Slack did not say who you are (no user_id): nothing was started")
    acting = await from_slack(svc, user_id)
    if isinstance(acting, str):
        raise CommandError(f"{acting[0].upper()}{acting[1:]}. Nothing was started.")
    try:
        ref, runbook, version = await start_by_hand(svc, acting, request.runbook_id, request.mode, request.params)
    except NotFound:
        ids = [r.id for r in await asyncio.to_thread(svc.store.list_runbooks)]
        close = difflib.get_close_matches(request.runbook_id, ids, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(code(i) for i in close)}?" if close else ""
        raise CommandError(f"There is no runbook {code(request.runbook_id)}.{hint} "
                           f"`{esc(command)} list` shows them.") from None
    except ServiceError as exc:
        raise CommandError(_launch_refusal(exc, request.runbook_id, request, command)) from None
    text = (f"Started *{esc(runbook.title)}* ({code(runbook.id)} v{version}, {request.mode.value}) "
            f"as {code(ref.id)}.")
    after = (f"Risky steps wait for an approver; follow it with `{esc(command)} status {esc(ref.id)}`"
             if request.mode is not Mode.dry_run else
             f"Dry run: nothing is executed. `{esc(command)} status {esc(ref.id)}` shows the rendered steps")
    return reply(f"{text}\n{after}", sections([text]), context=after)


def _launch_refusal(exc: ServiceError, runbook_id: str, request: RunRequest, command: str) -> str:
    if isinstance(exc, MissingValues):
        names: list[str] = []
        for problem in exc.steps.values():
            for root, name in re.findall(r"\b(labels|params)\.([A-Za-z_][\w.-]*)", str(problem)):
                if name not in names and name not in request.params:
                    names.append(name)
        lines = [f"{code(runbook_id)} cannot start yet: missing or unsafe values. Nothing was started."]
        lines += [f"• step {code(step)}: {esc(problem)}" for step, problem in list(exc.steps.items())[:20]]
        if names:
            example = " ".join(f"{n}=…" for n in names)
            lines.append(f"Missing: {', '.join(code(n) for n in names)}. Add them, for example "
                         f"`{esc(command)} run {esc(runbook_id)} {esc(example)}`")
        else:
            lines.append("A value that starts with `-` or cannot be used in a command is refused; change it.")
        return "\n".join(lines)
    return f"{code(runbook_id)} was not started: {esc(exc.reason)}"


async def _status(svc: Services, execution_id: str) -> dict[str, Any]:
    found = await asyncio.to_thread(svc.store.get_execution, execution_id)
    if found is None:
        raise CommandError(f"There is no execution {code(execution_id[:400])}.")
    execution, steps, approvals, _ = found
    return reply(*status_text(execution, steps, approvals))


def status_text(execution: ExecutionRow, steps: list[StepRow],
                approvals: list[ApprovalRow]) -> tuple[str, list[Block]]:
    icon = EXECUTION_ICONS.get(execution.status, "")
    head = [f"{icon} *{esc(execution.status)}*: {code(execution.id)}",
            f"runbook {code(execution.runbook_id)} v{execution.runbook_version} · {esc(execution.mode)} · "
            f"started by {who(execution.started_by)}"
            + (f" at {execution.started_at:%Y-%m-%d %H:%M:%S} UTC" if execution.started_at else "")]
    if execution.reason:
        head.append(f"> {mention_actors(execution.reason)}")
    by_step = {a.step_id: a for a in approvals}
    lines = []
    for s in steps:
        line = f"{STEP_ICONS.get(s.status, '')} {s.position}. {esc(s.title)} ({esc(s.risk)}): *{esc(s.status)}*"
        if (a := by_step.get(s.step_id)) is not None:
            line += f", {'approved' if a.approved else 'rejected'} by {who(a.actor)}"
            if a.comment:
                line += f": _{esc(a.comment[:200])}_"
        if s.needs and s.status == "waiting_approval":
            line += f" (needs {', '.join(code(n) for n in s.needs)})"
        if s.rollback_status:
            line += f" · rollback {esc(s.rollback_status)}"
        lines.append(line)
    if not lines:
        lines.append("_no steps recorded yet: the execution is starting_")
    text = "\n".join(head + lines)
    return text, sections(head) + sections(lines)


async def _list(svc: Services, command: str) -> dict[str, Any]:
    rows = await asyncio.to_thread(svc.store.list_runbooks)
    if not rows:
        return reply("No runbooks are loaded.")
    lines = [f"• {code(r.id)}: {esc(r.title)}" + (f" _({esc(r.service)})_" if r.service else "")
             for r in rows[:LIST_LIMIT]]
    more = len(rows) - LIST_LIMIT
    head = f"*{len(rows)} runbooks*" + (f" (the first {LIST_LIMIT})" if more > 0 else "") + ":"
    context = f"Start one with `{esc(command)} run <runbook-id> [key=value ...]`"
    if more > 0:
        lines.append(f"_… and {more} more_")
    return reply("\n".join([head, *lines]), sections([head, *lines]), context=context)
