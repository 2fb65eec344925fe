"""Drafting a runbook from an incident's Slack thread: the commands people posted, and which one fixed it.

Incident threads are where the commands that worked get posted ("ran this, lag is back to normal").
The commands come from code blocks (one step per command, prompts stripped, output dropped) and from
inline code that is a complete command; a later "that fixed it" makes the commands of the message
before it the fix and is cited beside them, so the reviewer sees who confirmed what and when. A fix
attempt someone said did not work is left out, with the reason.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from runbooks.authoring.prose_commands import inline_command
from runbooks.drafts.model import (
    Draft, DraftStep, block_commands, escape_template, generalise, masked_note, section_for, title_for,
)
from runbooks.drafts.shell import SessionMasker

_SUCCESS = re.compile(
    r"(?:\b(?:that|this|it|which)\s+(?:fixed|did)\s+it\b|\bfixed it\b|\bworked\b|\bworks now\b|\bresolved\b"
    r"|\bback to normal\b|\brecovered\b|\blooks good now\b|\blooks? (?:healthy|fine|better) now\b|\bcaught up\b"
    r"|:white_check_mark:|:heavy_check_mark:|✅|:tada:|^\s*(?:\+1|:\+1:|:thumbsup:|👍)\s*!*\s*$)", re.I)
_FAILURE = re.compile(
    r"\b(?:didn'?t|did not|doesn'?t|does not)\s+(?:work|help|fix)|\bstill\s+(?:failing|broken|down|lagging|erroring"
    r"|crashing|high|the same|growing|firing)|\bno luck\b|\bnot (?:fixed|resolved|working|recovered)\b"
    r"|\bno change\b|\bsame error\b|\bno dice\b|\bmade it worse\b|:x:|❌", re.I)
_CODE_BLOCK = re.compile(r"```(.*?)```", re.S)
_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_INFO = re.compile(r"^(sh|bash|shell|console|zsh|sql|psql|promql|yaml|json|text)\s*\n", re.I)


def decode(text: str) -> str:
    """Slack's mrkdwn as a person read it: links as their text, mentions as `@U123`, entities unescaped."""
    text = re.sub(r"<(?:https?|mailto|tel):[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<((?:https?|mailto|tel):[^>]*)>", r"\1", text)
    text = re.sub(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", r"@\1", text)
    text = re.sub(r"<#[A-Z0-9]+\|([^>]*)>", r"#\1", text)
    text = re.sub(r"<!(here|channel|everyone)(?:\|[^>]*)?>", r"@\1", text)
    text = re.sub(r"<!subteam\^[A-Z0-9]+\|?([^>]*)>", r"\1", text)
    return html.unescape(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def _who(message: dict[str, Any]) -> str:
    return str(message.get("user") or message.get("username") or message.get("bot_id") or "someone")


@dataclass
class _Found:
    command: str
    language: str
    message: int  # index of the message that posted it
    section: str = ""
    confirmed: str = ""  # "U456 at 1712345999.000300"
    refuted: str = ""


@dataclass
class _Thread:
    messages: list[dict[str, Any]]
    texts: list[str] = field(default_factory=list)
    found: list[_Found] = field(default_factory=list)
    dropped: list[tuple[int, str]] = field(default_factory=list)


def _commands_in(text: str) -> list[tuple[str, str]]:
    """(command, language) posted in one message, in the order written."""
    out: list[tuple[int, str, str]] = []
    for m in _CODE_BLOCK.finditer(text):
        content = m.group(1).strip("\n")
        info = ""
        if im := _INFO.match(content):
            info, content = im.group(1), content[im.end():]
        commands, language = block_commands(info, content, all_lines=True)
        out += [(m.start(), c.strip(), language) for c in commands if c.strip()]
    rest = _CODE_BLOCK.sub(lambda m: " " * len(m.group(0)), text)
    for m in _INLINE.finditer(rest):
        if command := inline_command(m.group(1)):
            out.append((m.start(), command, "shell"))
    return [(c, lang) for _, c, lang in sorted(out, key=lambda f: f[0])]


def _cite(messages: list[dict[str, Any]], i: int) -> str:
    return f"message {messages[i].get('ts', i + 1)} by {_who(messages[i])}"


def _read(thread: _Thread, masker: SessionMasker) -> None:
    last_with_commands: int | None = None
    for i, message in enumerate(thread.messages):
        text = masker(decode(str(message.get("text") or "")))
        thread.texts.append(text)
        prose = _CODE_BLOCK.sub(" ", text)
        posted = [] if message.get("bot_id") else _commands_in(text)
        previous = last_with_commands
        if posted:
            thread.found += [_Found(c, lang, i, section_for(c, lang)) for c, lang in posted]
            last_with_commands = i
        if previous is None:
            continue
        attempt = [f for f in thread.found if f.message == previous]
        when = f"{_who(message)} at {message.get('ts', i + 1)}"
        if _FAILURE.search(prose):  # "didn't work, trying this instead: ..." refutes the attempt before it
            for f in attempt:
                if f.section != "diagnosis" and not f.confirmed:
                    f.refuted = f"{when}: \u201c{_excerpt(prose)}\u201d"
        elif _SUCCESS.search(prose) and not posted:
            for f in attempt:
                if not f.refuted and not f.confirmed:
                    f.confirmed = when


def _excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _title(messages: list[dict[str, Any]], texts: list[str], channel: str | None) -> str:
    first = next((t for t in texts if t.strip()), "")
    line = re.sub(r"[*_~]|:[a-z0-9_+-]+:", "", _CODE_BLOCK.sub(" ", first)).strip().split("\n")[0].strip()
    line = re.sub(r"^\[?(?:FIRING|ALERT)(?::\d+)?\]?\s*", "", line, flags=re.I)
    if line:
        return _excerpt(line, 80)
    return f"Draft from #{channel}" if channel else "Draft from a Slack thread"


def draft_from_messages(messages: list[dict], channel: str | None = None) -> Draft:
    """A draft from Slack `conversations.replies` messages (`ts`, `user`, `text`, `bot_id`...)."""
    ordered = sorted((m for m in messages if isinstance(m, dict)), key=_ts_key)
    thread = _Thread(ordered)
    _read(thread, SessionMasker())
    steps_found: list[_Found] = []
    seen: dict[str, _Found] = {}
    dropped: list[str] = []
    for f in thread.found:
        cited = _cite(ordered, f.message)
        if f.refuted:
            dropped.append(f"{cited}: `{_excerpt(f.command, 80)}` did not work (said by {f.refuted})")
            continue
        key = " ".join(f.command.split())
        if key in seen:
            earlier = seen[key]
            earlier.confirmed = earlier.confirmed or f.confirmed
            dropped.append(f"{cited}: `{_excerpt(f.command, 80)}` repeats "
                           f"{_cite(ordered, earlier.message)} (one step)")
            continue
        seen[key] = f
        steps_found.append(f)
    commands, placeholders = generalise([escape_template(f.command) for f in steps_found])
    steps = []
    for f, command in zip(steps_found, commands, strict=True):
        source = _cite(ordered, f.message) + (f" (confirmed by {f.confirmed})" if f.confirmed else "")
        section = "fix" if f.confirmed else f.section
        steps.append(DraftStep(title_for(f.command), command, source, section,  # type: ignore[arg-type]
                               note=masked_note(command), language=f.language))
    origin = f"a Slack thread in #{channel}" if channel else "a Slack thread"
    return Draft(title=_title(ordered, thread.texts, channel), steps=steps, dropped=dropped,
                 placeholders=placeholders, origin=origin)


def _ts_key(message: dict[str, Any]) -> float:
    """Epoch `ts` orders the thread; a pasted `10:32` is not one and keeps its place (sorted() is stable)."""
    try:
        return float(message.get("ts") or 0)
    except (TypeError, ValueError):
        return 0.0


_PASTED = re.compile(r"^(?:\[(?P<time>\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?)\]\s*)?"
                     r"(?P<name>[A-Za-z0-9][\w.@-]*(?: [A-Z][\w.-]*)?):\s(?P<text>.*)$")


def _pasted_messages(text: str) -> list[dict[str, Any]]:
    """`name: message` / `[10:32] name: message` lines; a line that starts no message continues the last."""
    messages: list[dict[str, Any]] = []
    open_block = False
    for n, line in enumerate(text.splitlines(), start=1):
        m = None if open_block else _PASTED.match(line)
        if m:
            messages.append({"ts": m.group("time") or f"line {n}", "user": m.group("name"), "text": m.group("text")})
        elif messages:
            messages[-1]["text"] += "\n" + line
        elif line.strip():
            messages.append({"ts": f"line {n}", "user": "someone", "text": line})
        if messages:
            open_block = messages[-1]["text"].count("```") % 2 == 1
    return messages


def draft_from_slack_text(text: str) -> Draft:
    """A draft from a pasted thread: a JSON array of messages, `{"messages": [...]}`, or `name: message` lines."""
    stripped = text.strip()
    if stripped[:1] in "[{":
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("messages"), list):
            return draft_from_messages(data["messages"], data.get("channel") if isinstance(
                data.get("channel"), str) else None)
        if isinstance(data, list):
            return draft_from_messages(data)
    return draft_from_messages(_pasted_messages(text))  # times like `10:32` sort equal: the paste order stays
