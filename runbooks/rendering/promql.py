"""PromQL templates: an alert's value is only ever the content of a quoted string.

A verify step's query (`Verify: within 10m` over a ```promql block) is sent to Prometheus, so a
value must never add a matcher, an operator or a `}`: each placeholder must sit inside a "double"
or 'single' quoted string (a label matcher's value, usually), and its value is escaped as that
string's content. A value inside `=~"..."` is regex text, which can widen the match but never leave
the string.
"""

from __future__ import annotations

from collections.abc import Mapping

from runbooks.contract import RenderedCommand
from runbooks.rendering.templating import TemplateError, evaluate_values, value_placeholders

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _quotes(text: str, spans: list) -> list[str | None]:
    """For each span, the quote character of the string it sits in (None: outside any string)."""
    found: list[str | None] = []
    quote: str | None = None
    i, k = 0, 0
    while k < len(spans):
        if i == spans[k].start:
            found.append(quote)
            i, k = spans[k].end, k + 1
            continue
        char = text[i]
        if quote is None and char in "\"'`":
            quote = char
        elif quote is not None and char == "\\" and quote != "`":
            i += 1  # an escaped character, whatever it is
        elif char == quote:
            quote = None
        i += 1
    return found


def check_promql(template: str) -> None:
    """Load time: TemplateError naming the first placeholder that is not inside a quoted string."""
    text, spans = value_placeholders(template)
    for span, quote in zip(spans, _quotes(text, spans), strict=True):
        if quote not in ('"', "'"):
            raise TemplateError(f"{span.label} is not inside a quoted string: in PromQL a value can only be a "
                                f"label value, e.g. job=\"{span.label}\"")


def render_promql(template: str, context: Mapping[str, Mapping[str, str]]) -> RenderedCommand:
    """Fill a query: each value escaped as the content of the string it sits in."""
    check_promql(template)
    text, spans = value_placeholders(template)
    values = evaluate_values(spans, context)
    out, pos = [], 0
    for span, quote, value in zip(spans, _quotes(text, spans), values, strict=True):
        escaped = "".join(_ESCAPES.get(c, "\\" + c if c == quote else c) for c in value)
        out += [text[pos:span.start], escaped]
        pos = span.end
    out.append(text[pos:])
    return RenderedCommand(script="".join(out), argv=None)
