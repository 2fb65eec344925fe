"""Filling runbook commands with values from alerts, without letting those values become code.

Alert labels and annotations are written by whoever can make a monitored system fire an alert, so
every value is hostile data. Each `{{ expr }}` is evaluated on its own in a Jinja sandbox and its
result is never parsed again, neither as a template nor as shell: it is placed into the command as
exactly one argument (argv form) or as one single-quoted word (script form). Anything we cannot
place safely (single quotes, `$(...)`, backticks, heredocs, arithmetic, words bash reads twice) is
refused when the runbook is loaded rather than guessed at when an alert arrives. Scripts run under
/bin/sh locally (dash here) and usually bash over SSH, so a placement must be safe for both.

A placeholder that is a plain string literal, such as `{{ '{{' }}`, is a constant: it holds no alert
data, so it is replaced by its text before the command is analysed and may stand anywhere, single
quotes included. That is how a literal Go template (`-o go-template='{{ '{{' }}.metadata.name}}'`)
is written. The analysis then sees the command exactly as it will run, so a constant cannot open
or close a quote around a real placeholder without that placeholder being judged where it lands.
"""

from __future__ import annotations

import functools
import itertools
import re
import secrets
import shlex
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2 import TemplateError as JinjaError
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from runbooks.contract import RenderedCommand
from runbooks.errors import MissingValueError, TemplateError
from runbooks.rendering.shell_placement import Placeholder, scan

ROOTS = ("labels", "annotations", "params")

_JINJA_BLOCKS = {
    "block_begin": "{% ... %} blocks are not supported: commands only take {{ }} placeholders",
    "comment_begin": "'{#' starts a Jinja comment, which commands cannot contain (nor shell's ${#var})",
    "raw_begin": "{% raw %} blocks are not supported: write {{ '{{' }} for a literal '{{'",
    "linestatement_begin": "line statements are not supported",
    "linecomment_begin": "line comments are not supported",
}


def _lookup(data: Mapping[str, str], key: str) -> str:
    """The value of `key`: the exact key first, else the one key that equals it ignoring case.

    Alert sources spell labels differently (`namespace`, `Namespace`, `NAMESPACE`) and imported runbooks
    say `$NAMESPACE`; a runbook should not break on that. Two keys differing only in case are ambiguous:
    picking one would be a guess about which value the author meant, so that is refused.
    """
    if key in data:
        return data[key]
    folded = key.casefold()
    matches = sorted(k for k in data if k.casefold() == folded)
    if len(matches) > 1:
        raise TemplateError(f"{key!r} matches several values that differ only in case: {', '.join(matches)}")
    if not matches:
        raise KeyError(key)
    return data[matches[0]]


class _Values:
    """Key-only, read-only view of one dict: `labels.items` is the label 'items', never dict.items()."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, str]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> str:
        return _lookup(self._data, key)


_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_env.globals.clear()  # no range(), lipsum(), namespace(): only the three roots exist


def _syntax_error(e: TemplateSyntaxError) -> TemplateError:
    return TemplateError(f"template syntax error on line {e.lineno}: {e.message}")


def _preview(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _expression_names(node: nodes.Node, expr: str, names: list[str]) -> None:
    """Collect `root.key` names and refuse anything that is not a constant key of an allowed root."""
    if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
        raise TemplateError(f"{{{{ {expr.strip()} }}}}: attributes starting with '_' are not allowed")
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and str(node.arg.value).startswith("_") \
            and not isinstance(node.node, nodes.Name):
        raise TemplateError(f"{{{{ {expr.strip()} }}}}: keys starting with '_' are not allowed")
    if isinstance(node, (nodes.Getattr, nodes.Getitem)) and isinstance(node.node, nodes.Name):
        root = node.node.name
        if root in ROOTS:
            key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if not isinstance(key, str):
                raise TemplateError(f"{{{{ {expr.strip()} }}}}: {root}[...] needs a constant string key")
            names.append(f"{root}.{key}")
            return
    if isinstance(node, nodes.Name):
        if node.name in ROOTS:
            raise TemplateError(f"{{{{ {expr.strip()} }}}}: use {node.name}.<name>, not {node.name} on its own")
        raise TemplateError(
            f"{{{{ {expr.strip()} }}}}: unknown name {node.name!r}; only labels, annotations and params exist"
        )
    for child in node.iter_child_nodes():
        _expression_names(child, expr, names)


def _parse_expression(inner: str) -> tuple[str, ...]:
    """Names used by one placeholder's inner text; TemplateSyntaxError if it is not one expression."""
    body = _env.parse("{{" + inner + "}}").body
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        raise TemplateSyntaxError("not a single expression", 1)
    names: list[str] = []
    _expression_names(body[0].nodes[0], inner, names)
    return tuple(dict.fromkeys(names))


def _constant_value(inner: str) -> str | None:
    """The text of a placeholder that is one string literal (`{{ '{{' }}`), else None.

    Only a literal counts: it cannot read alert data, so it is as trustworthy as the template itself.
    Any other expression, even one without names, keeps the rules of a value.
    """
    node = _env.parse("{{" + inner + "}}").body[0].nodes[0]  # type: ignore[attr-defined]
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def _placeholders(template: str) -> list[Placeholder]:
    """Jinja-level validation, then the exact span of each `{{ ... }}`.

    A span ends at the first '}}' whose prefix parses as an expression: a '}}' inside a string literal
    or open brackets leaves the prefix unparsable, which is exactly where Jinja's lexer goes on too.
    """
    try:
        for _, kind, _ in _env.lex(template):
            if kind in _JINJA_BLOCKS:
                raise TemplateError(_JINJA_BLOCKS[kind])
        parsed = _env.parse(template)
    except TemplateSyntaxError as e:
        raise _syntax_error(e) from None
    found: list[Placeholder] = []
    pos = 0
    while (start := template.find("{{", pos)) != -1:
        end = start + 2
        while True:
            end = template.find("}}", end)
            if end == -1:
                raise TemplateError(f"unclosed '{{{{' at character {start}")
            inner = template[start + 2 : end]
            try:
                names = _parse_expression(inner)
                break
            except TemplateSyntaxError:
                end += 1
        if inner[:1] in ("-", "+") or inner.endswith("-"):  # Jinja would strip the text around it
            raise TemplateError("whitespace control ('{{-' or '-}}') is not supported in commands")
        found.append(Placeholder(start, end + 2, inner, names, None if names else _constant_value(inner)))
        pos = end + 2
    outputs = [n for out in parsed.find_all(nodes.Output) for n in out.nodes]
    expected = sum(1 for n in outputs if not isinstance(n, nodes.TemplateData))
    if expected != len(found):  # defensive: our spans must be Jinja's spans
        raise TemplateError("could not locate the {{ }} placeholders unambiguously")
    return found


def _resolve(template: str, spans: list[Placeholder]) -> tuple[str, list[Placeholder]]:
    """The template with every constant replaced by its text, and the remaining spans moved to match.

    Everything after this works on the resolved text, so the shell analysis judges each real
    placeholder by the quoting it will actually have at run time.
    """
    pieces: list[str] = []
    kept: list[Placeholder] = []
    pos = shift = 0
    for p in spans:
        pieces.append(template[pos : p.start])
        if p.constant is None:
            kept.append(replace(p, start=p.start + shift, end=p.end + shift))
            pieces.append(template[p.start : p.end])
        else:
            pieces.append(p.constant)
            shift += len(p.constant) - (p.end - p.start)
        pos = p.end
    pieces.append(template[pos:])
    return "".join(pieces), kept


def literal_text(template: str) -> str:
    """The template as a person should read it: constants shown as their text, placeholders as written."""
    return _resolve(template, _placeholders(template))[0]


@functools.lru_cache(maxsize=1024)
def _compiled(expr: str) -> Callable[..., Any]:
    return _env.compile_expression(expr, undefined_to_none=False)


def _has(data: Mapping[str, str], key: str) -> bool:
    try:
        _lookup(data, key)
    except KeyError:
        return False
    except TemplateError:
        return True  # present, only ambiguous
    return True


def _evaluate(p: Placeholder, context: Mapping[str, Mapping[str, str]], dash: bool = False) -> str:
    """One placeholder's value as text, refused if it could turn into an option (unless `dash`: no argv) or vanish."""
    roots = {root: _Values(context.get(root) or {}) for root in ROOTS}
    try:
        raw = _compiled(p.expr)(**roots)
        value = str(raw)  # inside the try: StrictUndefined (and the sandbox's unsafe one) raise only here
    except SecurityError:
        raise TemplateError(f"{p.label} tries to reach Python internals, which the sandbox forbids") from None
    except TemplateError:  # an ambiguous key, from _lookup: already says what is wrong
        raise
    except UndefinedError as e:
        missing = [n for n in p.names if not _has(context.get(n.split(".", 1)[0]) or {}, n.split(".", 1)[1])]
        if missing:
            raise MissingValueError(missing) from None
        raise TemplateError(f"{p.label}: {e}") from None
    except TemplateSyntaxError as e:
        raise _syntax_error(e) from None
    except (JinjaError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as e:
        raise TemplateError(f"could not evaluate {p.label}: {e}") from None
    if not isinstance(raw, (str, int, float)):  # a list or a method would hide undefined parts or be noise
        raise TemplateError(f"{p.label} gives a {type(raw).__name__}, not text; add a filter such as | join(' ')")
    if value == "":
        raise TemplateError(f"{p.label} is empty; an empty value would silently drop an argument")
    if "\0" in value:
        raise TemplateError(f"{p.label} contains a NUL byte, which no command argument can hold")
    if value.startswith("-") and not dash:
        raise TemplateError(f"{p.label} is {_preview(value)}, which starts with '-' and could be read as an option")
    return value


def _evaluate_all(spans: list[Placeholder], context: Mapping[str, Mapping[str, str]], dash: bool = False) -> list[str]:
    """Every placeholder's value; all missing names at once, so a person is asked for them together."""
    values: list[str] = []
    missing: list[str] = []
    for p in spans:
        try:
            values.append(_evaluate(p, context, dash))
        except MissingValueError as exc:
            missing.extend(n for n in exc.names if n not in missing)
    if missing:
        raise MissingValueError(missing)
    return values


def referenced_variables(template: str, *, shell: bool = True) -> list[str]:
    """Validate a command template when the runbook is loaded; return the names it uses, in order.

    Names are `root.key` (split on the first dot: `labels.app.kubernetes.io/name` is that label).
    Everything we would refuse at render time for the template's own shape is refused here already.
    `shell=False` checks a render_text template (a target host), which is never given to a shell.
    """
    text, spans = _resolve(template, _placeholders(template))
    if shell:
        scan(text, spans)
    return list(dict.fromkeys(name for p in spans for name in p.names))


def value_placeholders(template: str) -> tuple[str, list[Placeholder]]:
    """The template with its constants as text, and its value placeholders: for placements other than
    the shell's (an HTTP request, runbooks/rendering/http_placement.py), which judge each span themselves."""
    return _resolve(template, _placeholders(template))


def evaluate_values(spans: list[Placeholder], context: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Each span's value, checked as every value is (not empty, no NUL), all missing names at once.
    A leading '-' is allowed: these values never become a command's argument."""
    return _evaluate_all(spans, context, dash=True)


def fill_with_samples(template: str, samples: tuple[str, ...], limit: int = 4) -> list[str]:
    """The template with its placeholders filled by every combination of `samples` (constants as
    their text): what a load-time check tries, where the real values come only at run time."""
    text, spans = _resolve(template, _placeholders(template))
    if len(spans) > limit:
        raise TemplateError(f"more than {limit} placeholders")
    filled = []
    for values in itertools.product(samples, repeat=len(spans)):
        out, pos = [], 0
        for p, value in zip(spans, values, strict=True):
            out += [text[pos : p.start], value]
            pos = p.end
        out.append(text[pos:])
        filled.append("".join(out))
    return filled


def render_command(template: str, context: Mapping[str, Mapping[str, str]]) -> RenderedCommand:
    """Fill a command template; every value ends up as exactly one shell word or argv element."""
    template, spans = _resolve(template, _placeholders(template))
    contexts, needs_shell = scan(template, spans)
    values = _evaluate_all(spans, context)
    if not needs_shell:
        nonce = secrets.token_hex(8)
        while nonce in template:
            nonce = secrets.token_hex(8)
        marked, pos = [], 0
        for k, p in enumerate(spans):
            marked += [template[pos : p.start], f"Rb{nonce}v{k}x"]
            pos = p.end
        marked.append(template[pos:])
        try:
            tokens = shlex.split("".join(marked))
        except ValueError as e:
            raise TemplateError(f"cannot split command into arguments: {e}") from None
        sentinel = re.compile(f"Rb{nonce}v(\\d+)x")
        # One pass per token, so text coming from a value is never searched for sentinels again.
        argv = [sentinel.sub(lambda m: values[int(m.group(1))], token) for token in tokens]
        return RenderedCommand(script=shlex.join(argv), argv=argv)
    out, pos = [], 0
    for p, where, value in zip(spans, contexts, values, strict=True):
        quoted = shlex.quote(value)
        out += [template[pos : p.start], quoted if where == "bare" else f'"{quoted}"']
        pos = p.end
    out.append(template[pos:])
    return RenderedCommand(script="".join(out), argv=None)


def render_text(template: str, context: Mapping[str, Mapping[str, str]],
                allowed: re.Pattern[str] | None = None) -> str:
    """Fill a single value such as a step's SSH target host: plain text, same checks, no quoting.

    `allowed`, when given, must match each whole value: a host label must not smuggle in a user
    (`root@evil`) or a port.
    """
    template, spans = _resolve(template, _placeholders(template))
    out, pos = [], 0
    for p, value in zip(spans, _evaluate_all(spans, context), strict=True):
        if allowed is not None and not allowed.fullmatch(value):
            raise TemplateError(f"{p.label}: value {_preview(value)} is not allowed here")
        out += [template[pos : p.start], value]
        pos = p.end
    out.append(template[pos:])
    return "".join(out)
