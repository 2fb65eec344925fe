"""Filling runbook commands with values from alerts, without letting those values become code.

Alert labels and annotations are written by whoever can make a monitored system fire an alert, so
every value is hostile data. Each `{{ expr }}` is evaluated on its own in a Jinja sandbox and its
result is never parsed again, neither as a template nor as shell: it is placed into the command as
exactly one argument (argv form) or as one single-quoted word (script form). Anything we cannot
place safely (single quotes, `$(...)`, backticks, heredocs, arithmetic) is refused when the runbook
is loaded rather than guessed at when an alert arrives.
"""

from __future__ import annotations

import functools
import re
import secrets
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2 import TemplateError as JinjaError
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from runbooks.execution import RenderedCommand

ROOTS = ("labels", "annotations", "params")

# Characters that mean something to sh when unquoted; if any is present we keep the shell.
_SHELL_CHARS = frozenset("|&;<>()$`\\*?[]{}~#!\n\r")
# Words after which the next word is still a command: a value there would choose the program.
_COMMAND_PREFIXES = frozenset(
    "if then else elif while until do time ! { exec command builtin sudo doas nohup nice env".split()
)
# Programs that re-parse their arguments (or piped input) as shell code: quoting cannot protect a
# value given to them. The second set only matters in command position (bash evaluates arithmetic).
_REPARSERS = frozenset("eval sh bash dash zsh ksh ash ssh su xargs".split())
_REPARSING_COMMANDS = frozenset("let declare typeset local watch".split())
# Names that only exist in a shell: without a shell, running them as a program fails or differs.
_SHELL_ONLY = frozenset(
    "if then else elif fi while until for case do done time ! { } exec command builtin eval "
    "cd export set unset alias source . : exit return trap umask ulimit read wait".split()
)
_FRAME_NAMES = {
    "sq": "single quotes",
    "cmdsub": "$(...)",
    "arith": "arithmetic $((...)) or ((...))",
    "aparen": "arithmetic $((...)) or ((...))",
    "param": "${...}",
    "cond": "[[ ... ]]",
}
_OPENERS = (("$((", "arith"), ("$(", "cmdsub"), ("${", "param"))
_JINJA_BLOCKS = {
    "block_begin": "{% ... %} blocks are not supported: commands only take {{ }} placeholders",
    "comment_begin": "{# ... #} comments are not supported in commands",
    "raw_begin": "{% raw %} blocks are not supported: write {{ '{{' }} for a literal '{{'",
    "linestatement_begin": "line statements are not supported",
    "linecomment_begin": "line comments are not supported",
}


class TemplateError(ValueError):
    """A command template or one of its values cannot be used; the message is for the runbook author."""


@dataclass(frozen=True)
class _Placeholder:
    start: int  # index of '{{'
    end: int  # index just past '}}'
    expr: str
    names: tuple[str, ...]

    @property
    def label(self) -> str:
        return "{{ " + self.expr.strip() + " }}"


class _Values:
    """Key-only, read-only view of one dict: `labels.items` is the label 'items', never dict.items()."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, str]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> str:
        return self._data[key]


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


def _placeholders(template: str) -> list[_Placeholder]:
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
    found: list[_Placeholder] = []
    pos = 0
    while (start := template.find("{{", pos)) != -1:
        end = start + 2
        while True:
            end = template.find("}}", end)
            if end == -1:
                raise TemplateError(f"unclosed '{{{{' at character {start}")
            inner = template[start + 2 : end]
            if inner[:1] in ("-", "+") or inner.endswith("-"):
                raise TemplateError("whitespace control ('{{-' or '-}}') is not supported in commands")
            try:
                names = _parse_expression(inner)
                break
            except TemplateSyntaxError:
                end += 1
        found.append(_Placeholder(start, end + 2, inner, names))
        pos = end + 2
    outputs = [n for out in parsed.find_all(nodes.Output) for n in out.nodes]
    expected = sum(1 for n in outputs if not isinstance(n, nodes.TemplateData))
    if expected != len(found):  # defensive: our spans must be Jinja's spans
        raise TemplateError("could not locate the {{ }} placeholders unambiguously")
    return found


def _scan(template: str, spans: list[_Placeholder]) -> tuple[list[str], bool]:
    """Quoting context of each placeholder ('bare' or 'dq'), and whether the command needs a shell.

    A small model of POSIX sh quoting: single/double quotes, backslashes, $( ), ${ }, $(( )), (( )),
    [[ ]], backticks, comments and heredocs. Placeholders are only accepted unquoted or directly in
    double quotes at command level, and never where a value would become the program to run.
    """
    starts = {p.start: p for p in spans}
    stack, contexts, shell = ["top"], [], False
    word, in_word, cmd_pos, redirect, heredoc = "", False, True, False, False
    reparser = ""  # a program seen so far that would re-parse a later value as code
    piped = False  # a value has gone into a pipe in the current command list
    words: list[str] = []

    def end_word(new_command: bool = False) -> None:
        nonlocal word, in_word, cmd_pos, redirect, reparser
        if in_word:
            words.append(word)
            program = word.rsplit("/", 1)[-1]
            if program in _REPARSERS or (cmd_pos and program in _REPARSING_COMMANDS):
                if piped and cmd_pos:
                    raise TemplateError(f"a value is piped into {word!r}, which runs its input as code")
                reparser = reparser or word
            if redirect:
                redirect = False
            elif cmd_pos and word not in _COMMAND_PREFIXES and not re.match(r"[A-Za-z_]\w*=", word):
                cmd_pos = False
        word, in_word = "", False
        cmd_pos = cmd_pos or new_command

    i, n = 0, len(template)
    while i < n:
        frame, c, two = stack[-1], template[i], template[i : i + 2]
        if i in starts:
            p = starts[i]
            bad = next((f for f in stack if f not in ("top", "paren", "dq")), None)
            if bad:
                raise TemplateError(f"{p.label} is inside {_FRAME_NAMES[bad]}, where a value cannot be quoted "
                                    "safely; move it outside, or use double quotes")
            if heredoc:
                raise TemplateError(f"{p.label} comes after a heredoc ('<<'), where values cannot be quoted safely")
            if reparser:
                raise TemplateError(f"{p.label} comes after {reparser!r}, which runs its arguments as code and "
                                    "would undo the quoting; for remote hosts use the step's target instead")
            if cmd_pos and not redirect and not re.match(r"[A-Za-z_]\w*=", word):
                raise TemplateError(f"{p.label} is in command position: a value cannot choose the program to run")
            contexts.append("dq" if frame == "dq" else "bare")
            word, in_word, i = word + "\0", True, p.end
            continue
        if frame == "sq":
            if c == "'":
                stack.pop()
            word, i = word + c, i + 1
            continue
        if c == "\\":
            if i + 1 in starts:
                raise TemplateError(f"a backslash directly before {starts[i + 1].label} would break its quoting")
            shell, word, in_word, i = True, word + template[i : i + 2], True, i + 2
            continue
        if c == "`":
            j = i + 1
            while j < n and template[j] != "`":
                if j in starts:
                    raise TemplateError(f"{starts[j].label} is inside backticks, where it cannot be quoted safely")
                j += 2 if template[j] == "\\" else 1
            if j >= n:
                raise TemplateError("unterminated backtick")
            shell, word, in_word, i = True, word + template[i : j + 1], True, j + 1
            continue
        if c == "$":
            opened = next((f for tok, f in _OPENERS if template.startswith(tok, i)), None)
            shell, word, in_word = True, word + c, True
            if opened:
                stack.append(opened)
                i += 3 if opened == "arith" else 2
                if opened == "cmdsub":
                    word, in_word, cmd_pos = "", False, True
            else:
                i += 1
            continue
        if frame == "dq":
            if c == '"':
                stack.pop()
            word, i = word + c, i + 1
            continue
        if c in "'\"":
            stack.append("sq" if c == "'" else "dq")
            word, in_word, i = word + c, True, i + 1
            continue
        if frame in ("arith", "aparen", "param", "cond"):
            closer = {"arith": "))", "aparen": ")", "param": "}", "cond": "]]"}[frame]
            if template.startswith(closer, i):
                stack.pop()
                i += len(closer)
            else:
                if c == "(" and frame in ("arith", "aparen"):
                    stack.append("aparen")
                i += 1
            continue
        # Command level: top, a ( subshell ) or the inside of $( ).
        if c in " \t":
            end_word()
        elif c == "#" and not in_word:
            j = template.find("\n", i)
            j = n if j == -1 else j
            if any(i < s < j for s in starts):
                raise TemplateError("a {{ }} placeholder inside a shell comment could end the comment early")
            shell, i = True, j
            continue
        elif two == "<<":
            shell, heredoc = True, True
            end_word()
        elif (two == "((" and cmd_pos and not in_word) or (two == "[[" and not in_word):
            shell = True
            stack.append("arith" if two == "((" else "cond")
            i += 2
            continue
        elif c in "\n;&|()<>":
            shell = True
            end_word(new_command=c in "\n;|(" or (c == "&" and template[i - 1 : i] not in ("<", ">")))
            piped = (piped or (c == "|" and bool(contexts))) and c not in "\n;&"
            if c in "<>":
                redirect = True
            elif c == "(":
                stack.append("paren")
            elif c == ")" and frame in ("paren", "cmdsub"):
                stack.pop()
        else:
            shell = shell or c in _SHELL_CHARS
            word, in_word = word + c, True
        i += 1
    end_word()
    if stack != ["top"]:
        raise TemplateError(f"unterminated {dict(sq='single quote', dq='double quote').get(stack[-1], stack[-1])}"
                            " in command")
    first = words[0] if words else ""
    shell = shell or bool(re.match(r"[A-Za-z_]\w*=", first)) or first in _SHELL_ONLY
    return contexts, shell


@functools.lru_cache(maxsize=1024)
def _compiled(expr: str) -> Callable[..., Any]:
    return _env.compile_expression(expr, undefined_to_none=False)


def _evaluate(p: _Placeholder, context: Mapping[str, Mapping[str, str]]) -> str:
    """One placeholder's value as text, refused if it could turn into an option or vanish."""
    roots = {root: _Values(context.get(root) or {}) for root in ROOTS}
    try:
        raw = _compiled(p.expr)(**roots)
        value = str(raw)  # inside the try: StrictUndefined (and the sandbox's unsafe one) raise only here
        if not isinstance(raw, (str, int, float)):  # a list or a method would hide undefined parts or noise
            raise TemplateError(f"{p.label} gives a {type(raw).__name__}, not text; add a filter such as | join(' ')")
    except SecurityError:
        raise TemplateError(f"{p.label} tries to reach Python internals, which the sandbox forbids") from None
    except UndefinedError as e:
        missing = [n for n in p.names if n.split(".", 1)[1] not in (context.get(n.split(".", 1)[0]) or {})]
        raise TemplateError(f"missing value for {', '.join(missing)}" if missing else f"{p.label}: {e}") from None
    except TemplateSyntaxError as e:
        raise _syntax_error(e) from None
    except (JinjaError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as e:
        raise TemplateError(f"could not evaluate {p.label}: {e}") from None
    if value == "":
        raise TemplateError(f"{p.label} is empty; an empty value would silently drop an argument")
    if "\0" in value:
        raise TemplateError(f"{p.label} contains a NUL byte, which no command argument can hold")
    if value.startswith("-"):
        raise TemplateError(f"{p.label} is {_preview(value)}, which starts with '-' and could be read as an option")
    return value


def referenced_variables(template: str) -> list[str]:
    """Validate a command template when the runbook is loaded; return the names it uses, in order.

    Names are `root.key` (split on the first dot: `labels.app.kubernetes.io/name` is that label).
    Everything we would refuse at render time for the template's own shape is refused here already.
    """
    spans = _placeholders(template)
    _scan(template, spans)
    return list(dict.fromkeys(name for p in spans for name in p.names))


def render_command(template: str, context: Mapping[str, Mapping[str, str]]) -> RenderedCommand:
    """Fill a command template; every value ends up as exactly one shell word or argv element."""
    spans = _placeholders(template)
    contexts, needs_shell = _scan(template, spans)
    values = [_evaluate(p, context) for p in spans]
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
    for p, where, value in zip(spans, contexts, values):
        quoted = shlex.quote(value)
        out += [template[pos : p.start], quoted if where == "bare" else f'"{quoted}"']
        pos = p.end
    out.append(template[pos:])
    return RenderedCommand(script="".join(out), argv=None)


def render_text(template: str, context: Mapping[str, Mapping[str, str]]) -> str:
    """Fill a single value such as a step's SSH target host: plain text, same checks, no quoting."""
    spans = _placeholders(template)
    out, pos = [], 0
    for p in spans:
        out += [template[pos : p.start], _evaluate(p, context)]
        pos = p.end
    out.append(template[pos:])
    return "".join(out)
