"""The incident report of one execution, in Markdown: what was hit, what happened when, what ran
and what it printed, who decided what and why, what was undone, how it ended, and what to change.

Pure and deterministic: the same facts give the same bytes (no clock, no randomness, every list in
a fixed order), so a report can be stored, diffed, posted again and tested byte for byte. The
service gathers the facts (services/reports.py). An incident report, which spans several
executions, nests one of these per execution by asking for deeper headings (`level`).

Everything here was stored masked (commands as rendered, outputs, comments, labels); the output
lines shown go through `mask` once more, because output is where an unforeseen secret turns up and
a report leaves the product (Slack, tickets, post-mortems), where a leak cannot be called back. Values that come from alerts and people are escaped so they stay text: a `*` in a
label starts no emphasis, a `<` no HTML, a backtick in a command does not end its code block.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from runbooks.contract import TIMER_ACTOR
from runbooks.insights import Flag
from runbooks.masking import mask
from runbooks.narration import Narration
from runbooks.storage.tables import ApprovalRow, ExecutionRow, StepRow

IMPACT_LABELS = ("instance", "service", "severity", "namespace", "pod", "job")
IMPACT_ANNOTATIONS = ("summary", "description")
OUTPUT_LINES = 5  # the end of an output is where the error (or the result) usually is
LINE_CHARS = 200
TAIL_CHARS = 4000  # where the last line of an output is looked for
ANNOTATION_CHARS = 1000

EXECUTION_WORDS = {
    "running": "still running", "waiting_approval": "waiting for a decision", "succeeded": "succeeded",
    "failed": "failed", "rolled_back": "rolled back", "cancelled": "cancelled",
}
STEP_WORDS = {
    "pending": "not started", "waiting_approval": "waiting for a decision", "running": "running",
    "succeeded": "succeeded", "failed": "failed", "rejected": "rejected", "skipped": "skipped",
    "dry_run": "shown, not run (dry run)",
}
FLAG_WORDS = {"dead_step": "Dead step", "broken_step": "Broken step", "stale": "Stale runbook"}
RAN = ("succeeded", "failed", "running", "dry_run")


class Moment(Protocol):
    """A line of the timeline, as services/cockpit.py `timeline` builds it (read-only here)."""

    @property
    def at(self) -> datetime: ...

    @property
    def kind(self) -> str: ...

    @property
    def message(self) -> str: ...


@dataclass
class ReportFacts:
    """What a report says, gathered beforehand: the rows as stored (masked), the timeline, the
    alert's labels and annotations, and the runbook's insight flags."""

    execution: ExecutionRow
    runbook_title: str
    steps: list[StepRow]
    approvals: list[ApprovalRow]
    timeline: Sequence[Moment]
    labels: dict[str, str] = field(default_factory=dict)  # of the alert that started it; empty without one
    annotations: dict[str, str] = field(default_factory=dict)
    has_alert: bool = False
    flags: list[Flag] = field(default_factory=list)


# -- Markdown that stays what it says -----------------------------------------------------------------

_SIGNIFICANT = re.compile(r"([\\`*_\[\]<>&|~#])")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def text(value: object) -> str:
    """A value from an alert or a person as inline Markdown text: one line, markup escaped."""
    return _SIGNIFICANT.sub(r"\\\1", " ".join(str(value).split()))


def quoted(value: str, limit: int = ANNOTATION_CHARS) -> str:
    return f"“{text(clip(value, limit))}”"


def clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _longest_backticks(value: str) -> int:
    return max((len(run) for run in re.findall(r"`+", value)), default=0)


def code_span(value: str) -> str:
    """Inline code that holds any text: its delimiter is longer than any backtick run inside."""
    value = " ".join(value.split())
    ticks = "`" * (_longest_backticks(value) + 1)
    pad = " " if value[:1] in ("`", " ") or value[-1:] in ("`", " ") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def code_block(value: str) -> str:
    """A fenced block that holds any text: the fence is longer than any backtick run inside, so a
    command with ``` in it cannot close the block early."""
    body = _CONTROL.sub("", _ANSI.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))).rstrip("\n")
    fence = "`" * max(3, _longest_backticks(body) + 1)
    return f"{fence}\n{body}\n{fence}"


def utc(at: datetime | None) -> str:
    if at is None:
        return "—"
    at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
    return f"{at:%Y-%m-%d %H:%M:%S}"


def duration(start: datetime | None, end: datetime | None) -> str | None:
    if start is None or end is None:
        return None
    if (start.tzinfo is None) != (end.tzinfo is None):  # naive means UTC (runbooks/storage/tables.py)
        start, end = (t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t for t in (start, end))
    seconds = int(max((end - start).total_seconds(), 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def output_summary(output: str) -> str | None:
    """The last few non-empty lines of an output, each clipped, with how many there were.

    Only the lines shown are masked again (a whole 64 KiB output, 50 times over, would cost a
    quarter of a second); each is cut to a few times what is shown first, so a very long line
    costs no more, and a secret at the cut is still masked by its shape before it is clipped.
    """
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return None
    tail = [_ANSI.sub("", line.rstrip())[: LINE_CHARS * 4] for line in lines[-OUTPUT_LINES:]]
    shown = [clip(line, LINE_CHARS) for line in (mask("\n".join(tail)) or "").split("\n") if line.strip()]
    note = f"Output (the last {len(shown)} of {len(lines)} lines):" if len(lines) > len(tail) else "Output:"
    return f"{note}\n\n{code_block(chr(10).join(shown))}"


def _who(actor: str) -> str:
    return "the escalation timer (nobody decided in time)" if actor == TIMER_ACTOR else text(actor)


def _exit(code: int | None) -> str:
    return f"exit {code}" if code is not None else "no exit code"


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output[-TAIL_CHARS:].splitlines() if line.strip()]
    return clip(mask(lines[-1]) or "", LINE_CHARS) if lines else ""


# -- the sections ---------------------------------------------------------------------------------


def _summary(f: ReportFacts) -> list[str]:
    ex = f.execution
    status = EXECUTION_WORDS.get(ex.status, ex.status)
    reason = f" — {text(clip(ex.reason, ANNOTATION_CHARS))}" if ex.reason else ""
    took = duration(ex.started_at, ex.finished_at)
    ended = f"{utc(ex.finished_at)} UTC (took {took})" if ex.finished_at else "not yet"
    counts: dict[str, int] = {}
    for s in f.steps:
        counts[s.status] = counts.get(s.status, 0) + 1
    by_status = ", ".join(f"{n} {STEP_WORDS.get(st, st)}" for st, n in sorted(counts.items()))
    out = [f"- **Status:** {text(status)}{reason}",
           f"- **Started:** {utc(ex.started_at)} UTC" if ex.started_at else "- **Started:** —",
           f"- **Ended:** {ended}",
           f"- **Mode:** {text(ex.mode)}",
           f"- **Started by:** {_who(ex.started_by) if ex.started_by != 'alert' else 'the alert'}",
           f"- **Alert:** {text(ex.alertname)}" if ex.alertname else "- **Alert:** none (started by hand)",
           f"- **Runbook:** {code_span(ex.runbook_id)} version {ex.runbook_version}",
           f"- **Steps:** {len(f.steps)}" + (f" ({by_status})" if by_status else "")]
    return out


def _impact(f: ReportFacts) -> list[str]:
    out = [f"- **{name.capitalize()}:** {text(f.labels[name])}" for name in IMPACT_LABELS if f.labels.get(name)]
    out += [f"- **{name.capitalize()}:** {text(clip(str(f.annotations[name]), ANNOTATION_CHARS))}"
            for name in IMPACT_ANNOTATIONS if f.annotations.get(name)]
    if out:
        return out
    if f.has_alert:
        return ["The alert named no instance, service, severity, namespace, pod or job, and had no summary."]
    params = f.execution.params or {}
    given = [f"- {code_span(str(k))}: {text(v)}" for k, v in sorted(params.items())]
    return ["No alert: started by hand" + (" with:" if given else "."), *([""] + given if given else [])]


def _timeline(f: ReportFacts) -> list[str]:
    return [f"- {utc(m.at)} · {text(m.kind.replace('_', ' '))} · {text(m.message)}" for m in f.timeline] or [
        "Nothing recorded yet."]


def _what_ran(f: ReportFacts, h: str) -> list[str]:
    decisions = {a.step_id: a for a in f.approvals}
    out: list[str] = []
    for s in f.steps:
        out += [f"{h} {s.position}. {text(s.title)} — {text(STEP_WORDS.get(s.status, s.status))}", ""]
        risk = f"{text(s.risk)}" + (f" ({text(s.risk_reason)})" if s.risk_reason else "")
        facts = [f"- **Risk:** {risk}"]
        if s.target and s.target != "local":
            facts.append(f"- **Target:** {text(s.target)}")
        if s.started_at is not None:
            took = duration(s.started_at, s.finished_at)
            facts.append(f"- **Ran:** {utc(s.started_at)} UTC" + (f", took {took}" if took else ""))
        if s.exit_code is not None:
            facts.append(f"- **Exit code:** {s.exit_code}")
        if s.status not in RAN:
            a = decisions.get(s.step_id)
            why = (f" by {_who(a.actor)}" + (f": {quoted(a.comment)}" if a.comment else "")
                   if s.status == "rejected" and a is not None and not a.approved else "")
            facts.append(f"- **Not run:** {text(STEP_WORDS.get(s.status, s.status))}{why}")
        out += [*facts, ""]
        if s.command and s.status in RAN:
            out += ["Command:", "", code_block(s.command), ""]
        if s.status in RAN and (summary := output_summary(s.output)):
            out += [summary, ""]
    return out[:-1] if out else ["No steps."]


def _decisions(f: ReportFacts) -> list[str]:
    steps = {s.step_id: s for s in f.steps}
    order = sorted(f.approvals, key=lambda a: (a.decided_at is None, utc(a.decided_at),
                                               steps[a.step_id].position if a.step_id in steps else 0, a.step_id))
    out = []
    for a in order:
        s = steps.get(a.step_id)
        title = text(s.title) if s else code_span(a.step_id)
        risk = f" ({text(s.risk)})" if s else ""
        verdict = "approved" if a.approved else "rejected"
        several = f" (approvals: {', '.join(text(p) for p in a.approvers)})" if len(a.approvers) > 1 else ""
        said = f": {quoted(a.comment)}" if a.comment else (": no comment" if a.approved else ": no reason given")
        out.append(f"- **{title}**{risk} {verdict} by {_who(a.actor)}{several} at {utc(a.decided_at)} UTC{said}")
    waiting = [s for s in f.steps if s.status == "waiting_approval"]
    out += [f"- **{text(s.title)}** ({text(s.risk)}) waits for a decision since {utc(s.waiting_since)} UTC"
            for s in waiting]
    return out or ["No step needed a decision."]


def _changed_not_undone(f: ReportFacts) -> list[StepRow]:
    """Steps that changed something and were not undone, in an execution that did not succeed."""
    if f.execution.status in ("succeeded", "running", "waiting_approval"):
        return []
    return [s for s in f.steps if s.status == "succeeded" and s.risk != "green" and s.command
            and s.rollback_status != "succeeded"]


def _rollback(f: ReportFacts, h: str) -> list[str]:
    undone = sorted((s for s in f.steps if s.rollback_status), key=lambda s: -s.position)  # as they ran
    out: list[str] = []
    if undone:
        out += ["Undone newest first:", ""]
    for s in undone:
        state = {"succeeded": "rolled back", "failed": "rollback FAILED", "running": "rolling back"}.get(
            s.rollback_status or "", text(s.rollback_status))
        code = f" ({_exit(s.rollback_exit_code)})" if s.rollback_status in ("succeeded", "failed") else ""
        out += [f"{h} {text(s.title)} — {state}{code}", ""]
        if s.rollback_command:
            out += ["Rollback command:", "", code_block(s.rollback_command), ""]
        if summary := output_summary(s.rollback_output):
            out += [summary, ""]
    left = [s for s in _changed_not_undone(f) if not s.rollback_status]
    if left:
        out += ["Changed and not undone (no rollback):", ""]
        out += [f"- **{text(s.title)}** ({text(s.risk)})" for s in left] + [""]
    if not out:
        return ["Nothing was rolled back" + (": the execution succeeded." if f.execution.status == "succeeded"
                                             else ".")]
    return out[:-1]


def _resolution(f: ReportFacts) -> list[str]:
    ex = f.execution
    if ex.resolved_at is None:
        if not f.has_alert and not ex.alertname:
            return ["No alert to resolve: started by hand."]
        return ["Not resolved: no resolution of the alert was recorded."]
    after = duration(ex.started_at, ex.resolved_at)
    out = [f"The alert resolved at {utc(ex.resolved_at)} UTC" + (f", {after} after the start." if after else ".")]
    before = [s for s in f.steps if s.finished_at is not None and s.status in ("succeeded", "failed")
              and utc(s.finished_at) <= utc(ex.resolved_at)]
    if before:
        last = max(before, key=lambda s: (utc(s.finished_at), s.position))
        out.append(f"The last step to finish before it: **{text(last.title)}** "
                   f"({text(STEP_WORDS.get(last.status, last.status))} at {utc(last.finished_at)} UTC).")
    else:
        out.append("It resolved before any step finished.")
    return out


def recommendations(f: ReportFacts) -> list[str]:
    """What to change, from the runbook's insight flags and from what happened in this run."""
    out = [f"{FLAG_WORDS.get(flag.kind, text(flag.kind))}: {text(flag.message)}" for flag in f.flags]
    broken = {flag.step_id for flag in f.flags if flag.kind == "broken_step"}
    decisions = {a.step_id: a for a in f.approvals}
    for s in f.steps:
        a = decisions.get(s.step_id)
        if s.status == "failed" and s.step_id not in broken:  # a broken-step flag already says it, better
            line = _last_line(s.output)
            out.append(f"**{text(s.title)}** failed ({_exit(s.exit_code)}{': ' + text(line) if line else ''}): "
                       "fix its command, or what it needs, before the next run.")
        if s.status == "rejected" and a is not None and not a.approved:
            if a.actor == TIMER_ACTOR:
                out.append(f"Nobody decided on **{text(s.title)}** before the escalation timer rejected it: "
                           "check that the escalation chain reaches someone who can decide.")
            elif a.comment:
                out.append(f"**{text(s.title)}** was rejected by {text(a.actor)}: {quoted(a.comment)}. If that "
                           "holds in general, change the step (its command, its risk or when it is proposed).")
        if s.rollback_status == "failed":
            out.append(f"The rollback of **{text(s.title)}** failed ({_exit(s.rollback_exit_code)}): check by hand "
                       "what it left behind, and fix its rollback command.")
    if left := [f"**{text(s.title)}**" for s in _changed_not_undone(f) if not s.rollback_command]:
        out.append(f"{', '.join(left)} changed state with no rollback, so {'it was' if len(left) == 1 else 'they were'}"
                   " not undone: check by hand what is left, and add a rollback where one is possible.")
    if f.execution.status == "succeeded" and f.execution.resolved_at is None and f.has_alert:
        out.append("Every step succeeded but the alert did not resolve: the steps may not address its cause.")
    return [f"- {line}" for line in out]


def execution_report(facts: ReportFacts, level: int = 1) -> str:
    """The report as Markdown. `level` is the title's heading level (1: `#`); the sections are one
    deeper, so an incident report can nest several executions under its own title."""
    h1, h2, h3 = ("#" * n for n in (level, level + 1, level + 2))
    ex = facts.execution
    sections = [
        ("Summary", _summary(facts)),
        ("Impact", _impact(facts)),
        ("Timeline (UTC)", _timeline(facts)),
        ("What ran", _what_ran(facts, h3)),
        ("Decisions", _decisions(facts)),
        ("Rollback", _rollback(facts, h3)),
        ("Resolution", _resolution(facts)),
        ("Recommendations", recommendations(facts) or ["None."]),
    ]
    out = [f"{h1} Incident report: {text(facts.runbook_title)}", "", f"Execution {code_span(ex.id)}"]
    for title, lines in sections:
        out += ["", f"{h2} {title}", "", *lines]
    return "\n".join(out) + "\n"


@dataclass
class IncidentAlertLine:
    at: datetime | None
    alertname: str
    status: str
    labels: dict[str, str]


def incident_report(title: str, key: str, status: str, opened_at: datetime | None, resolved_at: datetime | None,
                    alerts: Sequence[IncidentAlertLine], moments: Sequence[Moment],
                    executions: Sequence[ReportFacts]) -> str:
    """An incident: what fired and when, one timeline, then each execution's report one level down."""
    lasted = duration(opened_at, resolved_at)
    state = f"resolved {utc(resolved_at)} UTC, after {lasted}" if status == "resolved" and lasted else "still firing"
    out = [f"# Incident: {text(title)}", "", "## Summary", "",
           f"- **Grouped by:** {code_span(key)}", f"- **Opened:** {utc(opened_at)} UTC", f"- **State:** {state}",
           f"- **Alerts:** {len({(a.alertname, tuple(sorted(a.labels.items()))) for a in alerts})}, "
           f"**executions:** {len(executions)}", "", "## Alerts", ""]
    out += [f"- {utc(a.at)} {text(a.alertname)} {a.status}"
            + (f" ({', '.join(f'{text(k)}={text(v)}' for k, v in sorted(a.labels.items()) if k != 'alertname')})"
               if a.status == "firing" else "") for a in alerts] or ["None."]
    out += ["", "## Timeline (UTC)", ""]
    out += [f"- {utc(m.at)} {text(m.kind.replace('_', ' '))}: {text(m.message)}" for m in moments] or ["Nothing."]
    for facts in executions:
        out += ["", execution_report(facts, level=2).rstrip("\n")]
    if not executions:
        out += ["", "## Executions", "", "No runbook ran for these alerts."]
    return "\n".join(out) + "\n"


def timeline_facts(moments: Sequence[Moment]) -> list[str]:
    """The timeline as numbered facts an LLM narration may cite (runbooks/narration.py)."""
    return [f"{utc(m.at)} UTC {m.kind.replace('_', ' ')}: {m.message}" for m in moments]


def with_narration(markdown: str, narration: Narration) -> str:
    """The report with an LLM's grounded summary before its first section, each sentence followed by
    the timeline facts it cites; the report itself unchanged. Without sentences, says why not."""
    cut = markdown.find("\n## ")
    head, rest = (markdown[:cut].rstrip("\n"), markdown[cut + 1:]) if cut >= 0 else (markdown.rstrip("\n"), "")
    lines = ["", "## In short (written by an LLM, checked against the timeline)", ""]
    if narration.sentences:
        for s in narration.sentences:
            lines.append(f"- {text(s.text)} " + "".join(f"[{c}]" for c in s.cites))
        lines += ["", "Cited:"] + [f"- [{c}] {text(narration.facts[c - 1])}"
                                   for c in sorted({c for s in narration.sentences for c in s.cites})]
    else:
        lines.append(f"_No summary: {text(narration.error or 'nothing grounded')}._")
    if narration.dropped:
        lines += ["", f"_{narration.dropped} sentence(s) left out: they said what the timeline does not._"]
    return "\n".join([head, *lines, "", rest])
