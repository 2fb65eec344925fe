"""HTTP steps as a structured runbook writes them: a ```http request block, `Target: http`, `Expect:`.

The rules a step is held to when it loads, each error with its line: the block is a request whatever
values fill it (runbooks/rendering/http_placement.py), a request block goes with `Target: http` and
only with it (a block is `Target: http` when the step names no target), its rollback is a request
too, and `Expect:` belongs to HTTP steps alone (runbooks/expectations.py).
"""

from __future__ import annotations

from markdown_it.token import Token

from runbooks.errors import RunbookParseError, TemplateError
from runbooks.expectations import ExpectationError, parse_line
from runbooks.rendering.http_placement import check_request
from runbooks.rendering.http_request import HttpRequestError

HTTP = "http"


def request_text(fence: Token) -> tuple[str, int]:
    """The request a fence holds and how many blank lines came before it (for the lines of errors)."""
    lines = fence.content.rstrip("\n").split("\n")
    lead = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    return "\n".join(line.rstrip() for line in lines[lead:]).rstrip(), lead


def check_request_block(text: str, line: int, path: str | None) -> list[str]:
    """A request block that loads (`line`: its first line): the value names it uses."""
    try:
        return check_request(text)
    except HttpRequestError as exc:
        raise RunbookParseError(f"HTTP request: {exc}", line + exc.line, path) from None
    except TemplateError as exc:
        raise RunbookParseError(f"HTTP request: {exc}", line, path) from None


def parse_expect(raw: str, line: int, path: str | None) -> list[str]:
    """An `Expect:` line as written (emphasis markers around the key allowed): its expectations."""
    value = raw.strip().partition(":")[2].lstrip("*_ \t")
    try:
        return parse_line(value)
    except ExpectationError as exc:
        raise RunbookParseError(f"Expect: {exc}", line, path) from None


def http_target(target: str, target_line: int | None, language: str | None, command_line: int,
                rollback_http: bool | None, rollback_line: int, expect_line: int | None, path: str | None) -> str:
    """The step's target once its blocks are known (`language`: the command block's, None without one)."""
    request = language == HTTP
    if request and target_line is None:
        target = HTTP
    if target == HTTP and not request:
        raise RunbookParseError("Target: http sends the step's ```http request block, and this step has none",
                                target_line or command_line, path)
    if request and target != HTTP:
        raise RunbookParseError(f"an ```http block is a request: its step's Target is http (or none), not {target}",
                                command_line, path)
    if rollback_http is not None and rollback_http != request:
        says = ("the rollback of an HTTP step is an ```http request block too" if request
                else "an ```http rollback belongs to an HTTP step (Target: http)")
        raise RunbookParseError(says, rollback_line, path)
    if expect_line is not None and target != HTTP:
        raise RunbookParseError("Expect: is for HTTP steps (Target: http, with an ```http block)", expect_line, path)
    return target
