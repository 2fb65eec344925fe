"""Alert values in an HTTP request, each written as one datum where it stands (the request's
counterpart of shell_placement.py).

Where a placeholder stands decides how its value is written, and where none could be written
safely the runbook is refused when it loads:

    method, scheme, version, header name, Content-Type    refused: written by the author only
    URL host and port                                     a host name or address, nothing else
    URL path, query, fragment                             percent-encoded: never a `/`, `?`, `#` or `..`
    header value                                          no line break, no control character
    JSON body                                             inside a string literal only, JSON-escaped
    form body (x-www-form-urlencoded)                     percent-encoded: never another field
    other body                                            as it is: the body is data anyway

`{{ secrets.NAME }}` may stand in a header value or the body, never in the URL (URLs are logged); it
is kept as written and filled by the executor (http_request.fill_secrets). No value may bring `{{`
where a secret could be filled, so alert data can never ask for a secret.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from runbooks.contract import RenderedCommand
from runbooks.errors import TemplateError
from runbooks.rendering.http_request import SECRET, HttpRequestError, body_kind, parse_request
from runbooks.rendering.shell_placement import Placeholder
from runbooks.rendering.templating import evaluate_values, value_placeholders

_HOLE = re.compile("([\x01\x02])([0-9]+)\\1")  # \x01k\x01: value k; \x02i\x02: secret i
_TEMPLATE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
HOST_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")  # as in a target's host (planning.py)
_HOST_SAMPLES = ("placeholder-host", "2222")
_REFUSED = {
    "method": "the method is written by the author, not filled",
    "scheme": "the URL's scheme (http or https) is written by the author, not filled",
    "version": "the HTTP version is written by the author, not filled",
    "name": "a header name is written by the author, not filled",
    "content-type": "the Content-Type decides how values are written into the body: write it without placeholders",
    "json-syntax": "a value in a JSON body goes inside a string literal (\"{{ labels.x }}\"), never in JSON syntax",
}


@dataclass(frozen=True)
class _Request:
    """A request template with each value as \\x01k\\x01 and each secret as \\x02i\\x02 (`skeleton`),
    and the zone of each hole, keyed by its marker."""

    skeleton: str
    spans: list[Placeholder]
    secrets: list[str]
    zones: dict[str, str]
    json_inferred: bool  # a JSON body without a Content-Type: rendered with `Content-Type: application/json`
    blank: int  # the line that ends the headers


def _analyse(template: str) -> _Request:
    secrets: list[str] = []

    def keep(m: re.Match[str]) -> str:
        secrets.append(m[1])
        return f"\x02{len(secrets) - 1}\x02"

    text, spans = value_placeholders(SECRET.sub(keep, template))
    # constants resolved: no control character, so the \x01 and \x02 markers are ours alone
    plain, marked = re.subn("\x02[0-9]+\x02", "", text)
    if (m := _TEMPLATE_CONTROL.search(plain)) or marked != len(secrets):
        raise HttpRequestError("the request holds a control character", plain.count("\n", 0, m.start() if m else 0))
    pieces, pos = [], 0
    for k, p in enumerate(spans):
        pieces += [text[pos:p.start], f"\x01{k}\x01"]
        pos = p.end
    skeleton = "".join([*pieces, text[pos:]])
    zones, json_inferred, blank = _zones(skeleton)
    for marker, zone in zones.items():
        line = skeleton.count("\n", 0, skeleton.index(marker))
        if zone in _REFUSED:
            raise HttpRequestError(_REFUSED[zone], line)
        if marker[0] == "\x02" and zone in ("host", "url"):
            raise HttpRequestError("a secret may not stand in the URL (URLs are logged): send it in a header", line)
    return _Request(skeleton, spans, secrets, zones, json_inferred, blank)


def _zones(skeleton: str) -> tuple[dict[str, str], bool, int]:
    """Where each hole stands: request line parts, header name or value, or the body's kind."""
    zones: dict[str, str] = {}
    lines = skeleton.split("\n")

    def mark(text: str, zone: str) -> None:
        zones.update({m[0]: zone for m in _HOLE.finditer(text)})

    words = lines[0].split()
    mark(words[0] if words else "", "method")
    mark(" ".join(words[2:]), "version")
    url = words[1] if len(words) > 1 else ""
    scheme, sep, rest = url.partition("://")
    mark(scheme if sep else url, "scheme")
    authority = re.match(r"[^/?#]*", rest)[0]  # type: ignore[index]
    mark(authority, "host")
    mark(rest[len(authority):], "url")
    n, content_type = 1, None
    while n < len(lines) and lines[n].strip():
        name, colon, value = lines[n].partition(":")
        mark(name if colon else lines[n], "name")
        is_type = bool(colon) and name.strip().lower() == "content-type"
        content_type = value if is_type else content_type
        mark(value, "content-type" if is_type else "header")
        n += 1
    body = "\n".join(lines[n + 1:])
    kind = body_kind(content_type)
    inferred = content_type is None and body.strip() != "" and (body.lstrip()[:1] in ("{", "[") or _parses(body))
    if kind == "json" or inferred:
        zones.update(_json_zones(body, n + 1))
    else:
        mark(body, kind)
    return zones, inferred, n


def _parses(body: str) -> bool:
    try:
        json.loads(_HOLE.sub("sample", body))
    except ValueError:
        return False
    return True


def _json_zones(body: str, first_line: int) -> dict[str, str]:
    """Holes inside a string literal are `json`; any other is JSON syntax (refused). The body must be
    JSON once each hole holds a sample string."""
    zones, in_string, escaped, i = {}, False, False, 0
    while i < len(body):
        hole = _HOLE.match(body, i)
        if hole:
            zones[hole[0]] = "json" if in_string else "json-syntax"
            i = hole.end()
            continue
        c = body[i]
        if escaped:
            escaped = False
        elif c == "\\" and in_string:
            escaped = True
        elif c == '"':
            in_string = not in_string
        i += 1
    if "json-syntax" not in zones.values():
        try:
            json.loads(_HOLE.sub("sample", body))
        except json.JSONDecodeError as exc:
            raise HttpRequestError(f"the body is not valid JSON: {exc.msg}", first_line + exc.lineno - 1) from None
    return zones


def check_request(template: str) -> list[str]:
    """Load time: the request template is valid whatever values fill it (HttpRequestError with its
    line, TemplateError for a broken placeholder); the value names it uses, in order."""
    req = _analyse(template)
    host_holes = [m for m, zone in req.zones.items() if zone == "host"]
    if len(host_holes) > 4:
        raise HttpRequestError("more than 4 placeholders in the URL's host")
    first: HttpRequestError | None = None
    for samples in itertools.product(_HOST_SAMPLES, repeat=len(host_holes)):
        chosen = dict(zip(host_holes, samples, strict=True))
        try:
            parse_request(_HOLE.sub(lambda m: chosen.get(m[0], "sample"), req.skeleton))
            break
        except HttpRequestError as exc:
            first = first or exc
    else:
        assert first is not None
        raise first
    return list(dict.fromkeys(name for p in req.spans for name in p.names))


def render_request(template: str, context: Mapping[str, Mapping[str, str]]) -> RenderedCommand:
    """Fill a request template; each value is one datum where it stands, secrets stay placeholders.

    MissingValueError for values the alert did not carry, TemplateError for a value that cannot be
    written where it stands (a line break in a header, a path made of dots, a host that is not one).
    """
    try:
        req = _analyse(template)
    except HttpRequestError as exc:
        raise TemplateError(str(exc)) from None
    values = evaluate_values(req.spans, context)

    def fill(m: re.Match[str]) -> str:
        if m[1] == "\x02":
            return "{{ secrets.%s }}" % req.secrets[int(m[2])]
        p = req.spans[int(m[2])]
        return _place(req.zones[m[0]], values[int(m[2])], p.label)

    text = _HOLE.sub(fill, req.skeleton)
    if len(SECRET.findall(text)) != len(req.secrets):  # a value and the text beside it spell one
        raise TemplateError("a value, with the text around it, would read as {{ secrets.NAME }}: refused")
    if req.json_inferred:  # values before the body hold no line break: its line is the skeleton's
        lines = text.split("\n")
        text = "\n".join([*lines[:req.blank], "Content-Type: application/json", *lines[req.blank:]])
    try:
        parse_request(text)
    except HttpRequestError as exc:
        raise TemplateError(f"the rendered request is not valid: {exc}") from None
    return RenderedCommand(script=text, argv=None)


def _place(zone: str, value: str, label: str) -> str:
    shown = repr(value if len(value) <= 60 else value[:57] + "...")
    if zone == "host":
        if not HOST_VALUE.fullmatch(value):
            raise TemplateError(f"{label}: value {shown} is not a host name or address (it may not add a user, "
                                "a port or a path to the URL)")
        return value
    if zone == "url":
        if not value.strip("."):
            raise TemplateError(f"{label}: value {shown} would be a '.' or '..' path segment")
        return quote(value, safe="")
    if zone == "json":  # braces escaped too: a value never brings `{{` for the executor to fill
        return json.dumps(value)[1:-1].replace("{", "\\u007b").replace("}", "\\u007d")
    if zone == "form":
        return quote_plus(value, safe="")
    if "{{" in value:
        raise TemplateError(f"{label}: value {shown} holds '{{{{', which reads as a placeholder here")
    if zone == "header" and re.search(r"[\x00-\x08\x0a-\x1f\x7f]", value):
        raise TemplateError(f"{label}: value {shown} holds a line break or a control character, which could "
                            "start another header")
    return value
