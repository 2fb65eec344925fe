"""Block Kit messages for an execution's life in Slack: one thread per execution, an approval
request per waiting step (updated in place once decided), and a line per event in the thread.

Pure functions from database rows to (fallback text, blocks): no I/O, so they are cheap to test.
Every piece of text that comes from a runbook, an alert or a person is escaped for mrkdwn; only
the mentions we build ourselves (<@U123>, <!subteam^S123>, <!here>) reach Slack as markup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from slack_sdk.models.blocks import (
    ActionsBlock, Block, ButtonElement, ConfirmObject, ContextBlock, HeaderBlock, MarkdownTextObject,
    PlainTextObject, SectionBlock,
)

from runbooks.contract import LIVE_STATUSES, TIMER_ACTOR
from runbooks.slack_text import esc
from runbooks.storage.tables import ApprovalRow, StepRow

APPROVE_ACTION = "approve"
REJECT_ACTION = "reject"
RESUME_ACTION = "resume"  # a breakpoint: run the step
STEP_OVER_ACTION = "step_over"  # a breakpoint: skip the step
ACTIONS_BLOCK_ID = "decision"
BUTTON_VALUE_LIMIT = 2000  # Slack's limit on a button's value
SECTION_LIMIT = 3000  # Slack's limit on a section's text
COMMAND_LIMIT = 2500  # room left in a section for the code fence and a truncation note
OUTPUT_LINES, OUTPUT_CHARS = 15, 1500
KEY_LABELS = ("alertname", "severity", "instance", "namespace", "pod", "service", "node")

RISK_EMOJI = {"green": "🟢", "yellow": "🟡", "red": "🔴"}
STATUS_EMOJI = {
    "running": "▶️", "waiting_approval": "✋", "succeeded": "✅", "failed": "❌", "rolled_back": "↩️",
    "cancelled": "🚫", "rejected": "❌", "skipped": "⏭️", "dry_run": "📝", "pending": "⏳",
}
_SLACK_USER = re.compile(r"^[UW](?=[A-Z0-9]*\d)[A-Z0-9]{2,}$")  # ids always carry a digit: "SRE" is a name
_SLACK_GROUP = re.compile(r"^S(?=[A-Z0-9]*\d)[A-Z0-9]{2,}$")


@dataclass
class Message:
    """What chat.postMessage / chat.update take: `text` is the notification and fallback."""

    text: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class ExecutionFacts:
    """An execution as the messages show it: the row plus what lives elsewhere (title, labels)."""

    execution_id: str
    runbook_id: str = ""
    runbook_version: int | None = None
    runbook_title: str = ""
    mode: str = ""
    started_by: str = ""
    status: str = "running"
    reason: str = ""
    alertname: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    drill: bool = False  # a fire drill's: every message about it says so

    @property
    def title(self) -> str:
        title = self.runbook_title or self.runbook_id or self.execution_id
        return f"DRILL: {title}" if self.drill else title


# -- text helpers ---------------------------------------------------------------------------------


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mention(target: str | None) -> str:
    """An escalation target as Slack markup: users and groups are pinged, anything else is bold text."""
    raw = (target or "on-call").strip()
    if raw.startswith(("<@", "<!")) and raw.endswith(">"):
        return raw  # already Slack markup
    bare = raw.removeprefix("slack:")
    if bare.lower() in ("@here", "here", "@channel", "channel"):
        return f"<!{bare.lower().lstrip('@')}>"
    if _SLACK_USER.match(bare):
        return f"<@{bare}>"
    if _SLACK_GROUP.match(bare):
        return f"<!subteam^{bare}>"
    return f"*{esc(raw)}*"


def actor(name: str) -> str:
    """Who decided: a Slack user ("slack:U123") is shown as a mention, anyone else as written."""
    if name == TIMER_ACTOR:
        return "the escalation timer"
    if name.startswith("slack:") and _SLACK_USER.match(name.removeprefix("slack:")):
        return f"<@{name.removeprefix('slack:')}>"
    return f"*{esc(name)}*"


def _starter(name: str) -> str:
    return "the alert" if name == "alert" else actor(name) if name else "?"


def when(at: datetime | None) -> str:
    """A time every reader sees in their own time zone, with a UTC fallback."""
    if at is None:
        return ""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    fallback = at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time_secs}}|{fallback}>"


def code_block(text: str, limit: int = COMMAND_LIMIT, note: str = "see the full text in the API") -> str:
    """A fenced block that stays under Slack's section limit; long text keeps its head and says so."""
    text = text.replace("```", "`\u200b``")  # a fence inside the command would end ours
    shown = text[:limit]  # escaping only makes text longer
    while len(esc(shown)) > limit:
        shown = shown[: len(shown) - max(len(shown) // 10, 50)]
    cut, body = len(text) - len(shown), esc(shown)
    tail = f"\n… ({cut} more characters; {note})" if cut else ""
    return f"```{body}```{tail}"


def tail_block(output: str) -> str:
    """The end of a command's output: that is where the error usually is."""
    lines = output.rstrip().splitlines()
    shown = "\n".join(lines[-OUTPUT_LINES:])[-OUTPUT_CHARS:]
    more = len(output.rstrip()) - len(shown)
    note = f"_… {more} earlier characters not shown_\n" if more > 0 else ""
    return note + "```" + esc(shown.replace("```", "`\u200b``")) + "```"


def key_labels(labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(k, str(labels[k])) for k in KEY_LABELS if labels.get(k)]


def labels_text(view: ExecutionFacts, skip: tuple[str, ...] = ()) -> str:
    pairs = [(k, v) for k, v in key_labels(view.labels) if k not in skip]
    if not pairs and not view.labels and view.params:  # started by hand: its params are its values
        pairs = list(view.params.items())[:10]
    return "  ".join(f"`{esc(_clip(f'{k}={v}', 120))}`" for k, v in pairs)


def risk_text(step: StepRow) -> str:
    reason = f": {esc(step.risk_reason)}" if step.risk_reason else ""
    return f"{RISK_EMOJI.get(step.risk, '⚪')} *{esc(step.risk)}*{reason}"


def button_value(execution_id: str, step_id: str) -> str:
    """What a button carries back to us: compact JSON, well under Slack's 2000 characters."""
    value = json.dumps({"e": execution_id, "s": step_id}, separators=(",", ":"))
    assert len(value) <= BUTTON_VALUE_LIMIT, f"button value too long ({len(value)} chars)"
    return value


def parse_button_value(value: str) -> tuple[str, str]:
    """(execution id, step id) from a button's value; ValueError if it is not one of ours."""
    try:
        data = json.loads(value)
        return str(data["e"]), str(data["s"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a runbook button value: {value[:100]!r}") from exc


# -- the thread root ------------------------------------------------------------------------------


def thread_root(view: ExecutionFacts) -> Message:
    """The execution's message in the channel; each later event is a reply in its thread."""
    by_hand = not view.labels and not view.alertname
    icon = "🧯" if view.drill else "▶️" if by_hand else "🚨"
    alert = f"`{esc(view.alertname)}`" if view.alertname else "none (started by hand)"
    version = f" v{view.runbook_version}" if view.runbook_version else ""
    fields = [
        _md(f"*Alert*\n{alert}"),
        _md(f"*Mode*\n{esc(view.mode or '?')}"),
        _md(f"*Started by*\n{_starter(view.started_by)}"),
        _md(f"*Runbook*\n`{esc(view.runbook_id or '?')}`{version}"),
    ]
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_clip(f"{icon} {view.title}", 150), emoji=True)),
        SectionBlock(fields=fields),
    ]
    labels = labels_text(view, skip=("alertname",))
    if labels:
        blocks.append(SectionBlock(text=_md(f"*{'Labels' if view.labels else 'Parameters'}*  {labels}")))
    status = f"{STATUS_EMOJI.get(view.status, '•')} {esc(view.status.replace('_', ' '))}"
    if view.reason and view.status not in LIVE_STATUSES:
        status += f": {esc(_clip(view.reason, 500))}"
    blocks.append(ContextBlock(elements=[_md(f"{status}  ·  execution `{esc(view.execution_id)}`  ·  "
                                              "updates in this thread")]))
    summary = ", ".join(f"{k}={v}" for k, v in key_labels(view.labels) if k != "alertname")
    text = (f"{icon} {view.title}: alert {view.alertname or 'none'}{f' ({summary})' if summary else ''}, "
            f"{view.mode}, started by {view.started_by} [{view.status}]")
    return Message(text=esc(_clip(text, 3000)), blocks=blocks)


# -- approval requests ----------------------------------------------------------------------------


def _step_blocks(view: ExecutionFacts, step: StepRow, heading: str) -> list[Block]:
    blocks: list[Block] = [
        SectionBlock(text=_md(f"{heading}  ·  {esc(view.title)}\n*Step {step.position}: {esc(step.title)}*")),
    ]
    if step.command:
        blocks.append(SectionBlock(text=_md(code_block(step.command))))
    blocks.append(SectionBlock(fields=[_md(f"*Risk*\n{_clip(risk_text(step), 1900)}"),
                                       _md(f"*Target*\n`{esc(step.target or 'local')}`")]))
    labels = labels_text(view)
    context = f"{labels}  ·  " if labels else ""
    blocks.append(ContextBlock(elements=[_md(f"{context}execution `{esc(view.execution_id)}`")]))
    return blocks


def _needs_text(view: ExecutionFacts, step: StepRow) -> str:
    names = ", ".join(f"`{esc(n)}`" for n in step.needs)
    example = json.dumps({"actor": "you", "values": {n: "..." for n in step.needs}})
    url = f"/api/v1/executions/{view.execution_id}/steps/{step.step_id}/approve"
    return (f"⚠️ This step needs values the alert did not carry: {names}. Slack cannot take them, so there is "
            f"no Approve button here: approve it in the web UI, or with the API:\n"
            f"```POST {esc(url)}\n{esc(example)}```\nRejecting works from here.")


def approval_request(view: ExecutionFacts, step: StepRow) -> Message:
    """A waiting step: what would run, how risky it is, and the buttons to decide."""
    value = button_value(view.execution_id, step.step_id)
    blocks = _step_blocks(view, step, "✋ *Approval needed*")
    buttons: list[ButtonElement] = []
    if step.needs:
        blocks.append(SectionBlock(text=_md(_needs_text(view, step))))
    else:
        confirm = ConfirmObject(
            title="Approve a red step?",
            text=_md(_clip(f"*{esc(step.title)}* is red: {esc(step.risk_reason or 'it cannot be undone')}. "
                           "It runs as soon as you approve.", 300)),
            confirm="Approve and run", deny="Cancel", style="danger",
        ) if step.risk == "red" else None
        if step.risk == "red" and view.started_by not in ("", "alert"):
            blocks.append(ContextBlock(elements=[_md(
                f"🔴 A red step: {_starter(view.started_by)} started this execution, so someone else must approve.")]))
        buttons.append(ButtonElement(text=PlainTextObject(text="Approve", emoji=True), action_id=APPROVE_ACTION,
                                     value=value, style="primary", confirm=confirm))
    buttons.append(ButtonElement(text=PlainTextObject(text="Reject", emoji=True), action_id=REJECT_ACTION,
                                 value=value, style="danger"))
    blocks.append(ActionsBlock(block_id=ACTIONS_BLOCK_ID, elements=buttons))
    text = (f"✋ Approval needed: {view.title}, step {step.position} '{step.title}' "
            f"({RISK_EMOJI.get(step.risk, '')} {step.risk})")
    return Message(text=esc(text), blocks=blocks)


def paused_at(view: ExecutionFacts, step: StepRow) -> Message:
    """A breakpoint: the step that would run next, and the buttons to go on."""
    value = button_value(view.execution_id, step.step_id)
    blocks = _step_blocks(view, step, "⏸️ *Paused at a breakpoint*")
    blocks.append(ActionsBlock(block_id=ACTIONS_BLOCK_ID, elements=[
        ButtonElement(text=PlainTextObject(text="Resume", emoji=True), action_id=RESUME_ACTION, value=value,
                      style="primary"),
        ButtonElement(text=PlainTextObject(text="Step over", emoji=True), action_id=STEP_OVER_ACTION, value=value)]))
    return Message(text=esc(f"⏸️ Paused before {view.title}, step {step.position} '{step.title}'"), blocks=blocks)


def _verdict(approval: ApprovalRow) -> tuple[str, str]:
    return ("✅", "Approved") if approval.approved else ("❌", "Rejected")


def approval_decided(view: ExecutionFacts, step: StepRow, approval: ApprovalRow) -> Message:
    """The approval request once decided, from any door: the same facts, who and when, no buttons."""
    icon, word = _verdict(approval)
    blocks = _step_blocks(view, step, f"{icon} *{word}*")
    stamp = when(approval.decided_at)
    line = f"{icon} *{word}* by {actor(approval.actor)}" + (f" on {stamp}" if stamp else "")
    if approval.comment:
        line += "\n>" + esc(_clip(approval.comment, 2000)).replace("\n", "\n>")
    blocks.append(SectionBlock(text=_md(line)))
    text = f"{icon} {word}: step {step.position} '{esc(step.title)}' by {actor(approval.actor)}"
    return Message(text=text, blocks=blocks)


# -- lines in the thread --------------------------------------------------------------------------


def _line(text: str, *extra: Block) -> Message:
    return Message(text=text, blocks=[SectionBlock(text=_md(_clip(text, SECTION_LIMIT))), *extra])


def decision_line(step: StepRow, approval: ApprovalRow) -> Message:
    icon, word = _verdict(approval)
    why = f": {esc(_clip(approval.comment, 500))}" if approval.comment else ""
    return _line(f"{icon} Step {step.position} *{esc(step.title)}* {word.lower()} by {actor(approval.actor)}{why}")


def step_finished_line(step: StepRow) -> Message:
    icon = STATUS_EMOJI.get(step.status, "•")
    code = f" (exit code {step.exit_code})" if step.exit_code is not None else ""
    text = f"{icon} Step {step.position} *{esc(step.title)}* {esc(step.status.replace('_', ' '))}{code}"
    extra = [SectionBlock(text=_md(tail_block(step.output)))] if step.output.strip() else []
    return _line(text, *extra)


def escalation_line(target: str | None, message: str, step: StepRow | None) -> Message:
    who = mention(target)
    what = (f"step {step.position} *{esc(step.title)}* ({RISK_EMOJI.get(step.risk, '')} {esc(step.risk)}) "
            "still waits for approval" if step else esc(message))
    return _line(f"⏰ {who} {what}. Please decide on the approval request above.")


def finished_line(status: str, reason: str) -> Message:
    icon = STATUS_EMOJI.get(status, "•")
    why = f": {esc(_clip(reason, 2000))}" if reason else ""
    return _line(f"{icon} *Finished: {esc(status.replace('_', ' '))}*{why}")


def resolved_line() -> Message:
    return _line("🟢 The alert resolved.")


def event_line(kind: str, message: str) -> Message:
    return _line(f"• {esc(kind)}: {esc(message)}")


# -- incident reports -----------------------------------------------------------------------------

REPORT_SECTION = 2900  # a section's text is at most 3,000 characters
REPORT_SECTIONS = 40  # a message is at most 50 blocks


def _mrkdwn(line: str) -> str:
    """One line of the Markdown report as Slack mrkdwn: headings and bold become bold, the rest stays."""
    heading = re.match(r"#{1,6}\s+(.*)", line)
    if heading:
        return f"*{heading.group(1).replace('**', '')}*"
    return re.sub(r"\*\*(.+?)\*\*", r"*\1*", line)


def incident_report(title: str, markdown: str, incident_id: str) -> Message:
    """The report as a thread reply: the Markdown in sections, clipped with a pointer to the whole."""
    sections: list[str] = []
    current = ""
    for line in markdown.splitlines():
        converted = esc(_mrkdwn(line))
        if len(current) + len(converted) + 1 > REPORT_SECTION:
            sections.append(current)
            current = ""
        current += converted[:REPORT_SECTION] + "\n"
    if current.strip():
        sections.append(current)
    whole = f"the whole report: GET /api/v1/incidents/{esc(incident_id)}/report, or the cockpit's incident page"
    clipped = len(sections) > REPORT_SECTIONS
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=_clip(f"📋 Incident report: {title}", 150), emoji=True))]
    blocks += [SectionBlock(text=_md(text)) for text in sections[:REPORT_SECTIONS]]
    blocks.append(ContextBlock(elements=[_md(("✂️ clipped; " if clipped else "") + whole)]))
    return Message(text=esc(_clip(f"📋 Incident report: {title} (the incident has ended)", 3000)), blocks=blocks)
