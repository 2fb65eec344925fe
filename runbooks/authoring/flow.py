"""Directives that change a step's course, read from its lines like `Risk:` and `Target:`.

    If: steps.check-disk.exit_code != 0 and labels.env == "prod"   the step runs only when this holds
    Retries: 3 every 10s        a failed run is tried again (backoff doubles); idempotent steps only
    Idempotent: yes             running it twice does no harm (green steps are, by definition)
    On failure: continue        a failure is recorded and the execution goes on (default: stop)
    Breakpoint: yes             pause before the step in any mode until someone resumes or steps over
    Parallel: web (wait all)    consecutive steps of one group run at once (default: fail fast)
    Runs by itself: yes         a yellow step that earned trust runs unasked in copilot (never red)
    Verify: within 10m every 15s   check again until it passes (a ```promql query returns nothing, a
                                command exits 0, a request meets its Expect:), else fail and roll back
    Verify: alert resolved within 15m   a step of its own: wait until the alert resolves

Each error names the line that is wrong; `check_flow` then checks what needs every step (an `If:`
reads only steps before it, a group is consecutive, retries only where a second run is safe).
"""

from __future__ import annotations

import re
from typing import Any

from runbooks.authoring.frontmatter import parse_duration
from runbooks.conditions import Condition, ConditionError
from runbooks.errors import RunbookParseError
from runbooks.model import Risk, Step
from runbooks.rendering.promql import check_promql
from runbooks.rendering.templating import TemplateError

FLOW_KEYS = ("if", "retries", "idempotent", "on failure", "breakpoint", "parallel", "runs by itself", "verify")
MAX_RETRIES = 10
_RETRIES = re.compile(r"(\d+)(?:\s*(?:x|times?))?(?:\s*(?:,\s*)?(?:every|backoff)\s+(\S+))?", re.IGNORECASE)
_PARALLEL = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]{0,63})(?:\s*\(\s*(wait[ -]all|fail[ -]fast)\s*\))?", re.IGNORECASE)
_VERIFY = re.compile(r"(alert\s+resolved\s+)?within\s+(\S+)(?:\s+every\s+(\S+))?", re.IGNORECASE)
_YES = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


def parse_flow(key: str, value: str, line: int, path: str | None) -> dict[str, Any]:
    """The Step fields one directive line sets; RunbookParseError (with `line`) when it is not valid."""
    def refuse(message: str) -> RunbookParseError:
        return RunbookParseError(message, line, path)

    if key == "if":
        try:
            Condition(value)
        except ConditionError as exc:
            raise refuse(f"If: {exc}") from None
        return {"when": value}
    if key == "retries":
        m = _RETRIES.fullmatch(value)
        if not m or not 1 <= int(m.group(1)) <= MAX_RETRIES:
            raise refuse(f"Retries: {value!r} is not a count from 1 to {MAX_RETRIES}, optionally 'every 10s'")
        try:
            backoff = parse_duration(m.group(2)) if m.group(2) else 10.0
        except ValueError as exc:
            raise refuse(f"Retries: {exc}") from None
        return {"retries": int(m.group(1)), "retry_backoff_seconds": backoff}
    if key in ("idempotent", "breakpoint", "runs by itself"):
        if value.lower() not in _YES:
            raise refuse(f"{key.capitalize()}: {value!r} is not yes or no")
        return {"auto" if key == "runs by itself" else key: _YES[value.lower()]}
    if key == "verify":
        m = _VERIFY.fullmatch(value)
        if not m:
            raise refuse(f"Verify: {value!r} is not 'within 10m [every 15s]' or 'alert resolved within 15m'")
        try:
            within, every = parse_duration(m.group(2)), parse_duration(m.group(3)) if m.group(3) else 15.0
        except ValueError as exc:
            raise refuse(f"Verify: {exc}") from None
        if not m.group(1) and not 0 < every <= within:  # waiting for the alert checks nothing again
            raise refuse(f"Verify: checks every {every:g}s cannot fit within {within:g}s")
        return {"verify_within": within, "verify_every": every, "verify_alert": bool(m.group(1))}
    if key == "on failure":
        if value.lower() not in ("continue", "stop"):
            raise refuse(f"On failure: {value!r} is not continue or stop")
        return {"on_failure": value.lower()}
    m = _PARALLEL.fullmatch(value)
    if not m:
        raise refuse(f"Parallel: {value!r} is not a group name, optionally followed by (wait all) or (fail fast)")
    mode = "wait_all" if m.group(2) and m.group(2).lower().startswith("wait") else "fail_fast"
    return {"parallel": m.group(1), "parallel_mode": mode}


def check_flow(steps: list[Step], lines: dict[tuple[str, str], int], path: str | None) -> None:
    """What holds across steps. `lines`: (step id, directive) -> the line it was written on."""
    earlier: set[str] = set()
    groups_done: set[str] = set()
    group: str | None = None
    for step in steps:
        where = lambda key: lines.get((step.id, key), step.line)  # noqa: E731
        flow = step.flow
        if flow.parallel != group:
            if group is not None:
                groups_done.add(group)
            if flow.parallel in groups_done:
                raise RunbookParseError(f"Parallel: the steps of group {flow.parallel!r} must follow each other",
                                        where("parallel"), path)
            group = flow.parallel
        if flow.when:
            same_group = {ref for s in steps if group and s.flow.parallel == group for ref in (s.id, str(s.position))}
            for ref in sorted(Condition(flow.when).step_refs()):
                if ref not in earlier or ref in same_group:
                    raise RunbookParseError(
                        f"If: steps.{ref} is not a step that runs before this one (use an earlier step's id or "
                        f"position; ids here: {', '.join(s.id for s in steps)})", where("if"), path)
        _check_verify(step, where("verify"), path)
        if flow.auto and step.risk is Risk.red:
            raise RunbookParseError("Runs by itself: a red step always waits for an approval by someone else",
                                    where("runs by itself"), path)
        if flow.retries and not (flow.idempotent or step.risk is Risk.green):
            raise RunbookParseError("Retries: only for a step that is safe to run twice: add `Idempotent: yes` "
                                    "(green steps are)", where("retries"), path)
        earlier |= {step.id, str(step.position)}


def _check_verify(step: Step, line: int, path: str | None) -> None:
    """A verification checks something it can run again; waiting for the alert is a step of its own."""
    flow = step.flow
    if flow.verify_alert and step.command is not None:
        raise RunbookParseError("Verify: alert resolved is a step of its own, without a code block", line, path)
    if flow.verify_within is None or flow.verify_alert:
        return
    if step.command is None or step.language not in ("shell", "promql", "http"):
        raise RunbookParseError("Verify: needs something to check again: a ```promql query (passes when it returns "
                                "nothing), a shell command (exit 0) or an ```http request (its Expect:)", line, path)
    if step.language == "promql":
        try:
            check_promql(step.command)
        except TemplateError as exc:
            raise RunbookParseError(f"Verify: {exc}", step.line, path) from None
