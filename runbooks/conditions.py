"""`If:` conditions on runbook steps: a small expression language, parsed at load, evaluated in a workflow.

Evaluated inside a Temporal workflow, so pure, deterministic and cheap. Parsed by hand, never eval'd:
alert values (labels, step output) are only data, a `=~` pattern must be quoted in the runbook itself,
and patterns run on RE2 (linear time, no backtracking), so no output can stall the workflow:
    or := and ("or" and)*    and := not ("and" not)*    not := "not" not | value [op value]  (never chained)
    op := == != < <= > >= =~ !~ in "not in"  (after in: a value or a list "[" literal, ... "]")
    value := literal | "(" or ")" | steps.<id or position>.(exit_code|output|status) | labels.<name>
           | labels["any name"] (annotations, params: as labels)    literal := 'str' "str" int true false null
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import re2

MAX_LENGTH = 1000
MAX_DEPTH = 32
REGEX_WINDOW = 64 * 1024  # `=~` reads the end of long output, where a command's verdict usually is
STEP_FIELDS = ("exit_code", "output", "status")
MAPPINGS = ("labels", "annotations", "params")
_ALLOWED = ("steps.<id>.exit_code, steps.<id>.output, steps.<id>.status, labels.<name>, annotations.<name>, "
            "params.<name>, a quoted string, an integer, true, false, null")
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "=~", "!~", "in")
_KEYWORDS = ("and", "or", "not", "in", "true", "false", "null")
_WORDS = {"true": True, "false": False, "null": None}
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}
_TOKEN = re.compile(r"""(?P<space>\s+)|(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<int>-?[0-9]+)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)  # dotted; step ids may hold '-'
    |(?P<op>==|!=|<=|>=|=~|!~|[<>()\[\],])""", re.DOTALL | re.VERBOSE)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_INT_TEXT = re.compile(r"\s*-?[0-9]{1,18}\s*")
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}

Value = str | int | bool | None | tuple
_Eval = Callable[["ConditionContext"], Value]  # a parsed (sub)condition: a pure function of the context


class ConditionError(ValueError):
    """What is wrong with a condition and where, so the author can fix it from the message alone."""

    def __init__(self, message: str, column: int) -> None:
        self.reason, self.column = message, column
        super().__init__(f"at column {column}: {message}")


class _Token(NamedTuple):
    kind: str  # "str", "int", "name", "op" or "end"
    text: str
    value: Value
    column: int


@dataclass
class StepOutcome:
    """What a condition may see of a step; the defaults are a step that has not run."""

    exit_code: int | None = None
    output: str = ""
    status: str = "pending"


@dataclass
class ConditionContext:
    """Everything a condition can read. `steps` is keyed by step id and by str(position)."""

    steps: dict[str, StepOutcome]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        if (m := _TOKEN.match(text, i)) is None:
            problem = "unterminated string" if text[i] in "'\"" else f"unexpected character {text[i]!r}"
            raise ConditionError(problem + (" (use == to compare)" if text[i] == "=" else ""), i + 1)
        kind = str(m.lastgroup)
        if kind == "int" and len(m[0].lstrip("-")) > 18:
            raise ConditionError("integer too long (at most 18 digits)", i + 1)
        if kind != "space":  # an unknown escape stays as written, so "\d+" reaches a regex as \d+
            value = _ESCAPE.sub(lambda e: _ESCAPES.get(e[1], e[0]), m[0][1:-1]) if kind == "str" else None
            tokens.append(_Token(kind, m[0], int(m[0]) if kind == "int" else _WORDS.get(m[0], value), i + 1))
        i = m.end()
    return tokens + [_Token("end", "", None, len(text) + 1)]


def _re2(pattern: str) -> Any:
    """RE2 compiles what it can match in linear time; backreferences and lookarounds are refused."""
    options = re2.Options()
    options.log_errors = False  # the error is the author's to read, in the runbook's refusal
    return re2.compile(pattern, options)


class _Parser:
    """Recursive descent, one method per grammar rule; collects the step refs it meets."""

    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise ConditionError(f"condition longer than {MAX_LENGTH} characters", MAX_LENGTH + 1)
        self.tokens, self.i, self.depth = _tokenize(text), 0, 0
        self.step_refs: set[str] = set()
        self.root = self.junction("or")
        if self.peek().kind != "end":
            raise self.fail("'and', 'or' or the end of the condition", self.peek())

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def at(self, *texts: str) -> bool:
        return self.peek().kind in ("op", "name") and self.peek().text in texts

    def take(self, *texts: str) -> _Token:
        if texts and not self.at(*texts):
            raise self.fail(repr(texts[0]), self.peek())
        self.i += 1
        return self.tokens[min(self.i, len(self.tokens)) - 1]

    def fail(self, expected: str, token: _Token) -> ConditionError:
        found = "the end of the condition" if token.kind == "end" else repr(token.text)
        return ConditionError(f"expected {expected}, found {found}", token.column)

    def nested(self, rule: str) -> _Eval:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"nested deeper than {MAX_DEPTH} levels", self.peek().column)
        node = self.junction("or") if rule == "(" else self.negation()
        if rule == "(":
            self.take(")")
        self.depth -= 1
        return node

    def junction(self, op: str) -> _Eval:
        parts = [self.junction("and") if op == "or" else self.negation()]
        while self.at(op):
            self.take()
            parts.append(self.junction("and") if op == "or" else self.negation())
        join = any if op == "or" else all  # n-ary, so a long chain does not nest
        return parts[0] if len(parts) == 1 else lambda context: join(part(context) for part in parts)

    def negation(self) -> _Eval:
        if self.at("not"):
            self.take()
            operand = self.nested("not")
            return lambda context: not bool(operand(context))
        left = self.value()
        if (op := self.comparison()) is None:
            return left
        pattern = self.pattern(op) if op in ("=~", "!~") else None
        right = self.value(allow_list=op in ("in", "not in"))
        if self.at(*_COMPARISONS) or self.at("not") and self.peek(1).text == "in":
            raise ConditionError("comparisons cannot be chained; join them with 'and'", self.peek().column)
        return lambda context: _compare(op, pattern, left(context), right(context))

    def comparison(self) -> str | None:
        if self.at("not") and self.peek(1).text == "in":  # only a name token reads exactly `in`
            self.i += 2
            return "not in"
        return self.take().text if self.at(*_COMPARISONS) else None

    def pattern(self, op: str) -> Any:
        token = self.peek()
        if token.kind != "str":
            raise self.fail(f"a quoted pattern after {op} (alert data never becomes a pattern)", token)
        try:
            return _re2(str(token.value))
        except re2.error as error:
            reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
            raise ConditionError(f"invalid pattern {token.text}: {reason}", token.column) from None

    def value(self, allow_list: bool = False) -> _Eval:
        token = self.take()
        if token.text == "(":  # only an op token reads exactly `(` (a string keeps its quotes)
            return self.nested("(")
        if token.kind == "name" and token.text not in _KEYWORDS:
            return self.reference(token)
        if token.text == "[" and not allow_list:
            raise ConditionError("a list can only follow 'in' or 'not in'", token.column)
        literal = self.list_items() if token.text == "[" else self.literal(token, "a value")
        return lambda context: literal

    def literal(self, token: _Token, expected: str) -> Value:
        if token.kind in ("str", "int") or token.kind == "name" and token.text in _WORDS:
            return token.value
        raise self.fail(expected, token)

    def list_items(self) -> tuple[Value, ...]:
        items: list[Value] = []
        while not self.at("]") and (not items or self.take(",")):  # a comma before every item but the first
            items.append(self.literal(self.take(), "a list item (a quoted string, an integer, true, false or null)"))
        self.take("]")
        return tuple(items)

    def reference(self, token: _Token) -> _Eval:
        root, *rest = token.text.split(".")
        if root == "steps":
            if len(rest) != 2 or rest[1] not in STEP_FIELDS:
                raise ConditionError(f"{token.text!r} is not a step field; write steps.<id or position>."
                                     f"({'|'.join(STEP_FIELDS)})", token.column)
            self.step_refs.add(rest[0])
        elif root not in MAPPINGS:
            raise ConditionError(f"unknown name {token.text!r}; allowed: {_ALLOWED}", token.column)
        elif not rest and self.at("["):
            self.take()
            if (name := self.take()).kind != "str":
                raise self.fail(f"a quoted name in {root}[...]", name)
            self.take("]")
            rest = [str(name.value)]
        elif len(rest) != 1 or not (rest[0].isascii() and rest[0].isidentifier()):
            raise ConditionError(f"{token.text!r} is not a name; write {root}.<letters, digits, _> "
                                 f"or {root}[\"any-name\"]", token.column)
        name, step_field, column = rest[0], rest[1] if root == "steps" else "", token.column
        return lambda context: _read(context, root, name, step_field, column)


def _read(context: ConditionContext, root: str, name: str, step_field: str, column: int) -> Value:
    if root != "steps":
        return getattr(context, root).get(name)  # a missing name is null
    if (outcome := context.steps.get(name)) is None:
        raise ConditionError(f"unknown step {name!r}", column)
    return getattr(outcome, step_field)


@dataclass(frozen=True)
class Condition:
    """An `If:` condition, stored as its text alone (plain data to serialize); constructing it parses it."""

    text: str

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ConditionError(f"a condition is text, not {type(self.text).__name__}", 1)
        _parse(self.text)  # a bad condition fails when the runbook loads; the parse is cached by text

    def evaluate(self, context: ConditionContext) -> bool:
        """Whether the step runs; only ConditionError (a step missing from the context) can escape."""
        return bool(_parse(self.text)[0](context))

    def step_refs(self) -> set[str]:
        """Every step id or position named after `steps.`, for the loader to check before anything runs."""
        return set(_parse(self.text)[1])


@functools.lru_cache(maxsize=1024)
def _parse(text: str) -> tuple[_Eval, frozenset[str]]:
    parser = _Parser(text)
    return parser.root, frozenset(parser.step_refs)


def parse_condition(text: str) -> Condition:
    """Parse an `If:` condition; raises ConditionError naming the column at fault."""
    return Condition(text)


def _compare(op: str, pattern: Any, left: Value, right: Value) -> bool:
    """Never raises: mismatched types and null are unequal and never ordered; null matches no pattern."""
    if op in ("==", "!="):
        return _equal(left, right) == (op == "==")
    text = str(left).lower() if isinstance(left, bool) else str(left)  # true and false as written
    if op in ("=~", "!~"):
        found = left is not None and pattern is not None and pattern.search(text[-REGEX_WINDOW:])
    elif op in ("in", "not in"):
        found = any(_equal(left, item) for item in right) if isinstance(right, tuple) else (
            isinstance(right, str) and left is not None and text in right)
    else:
        left, right = _number(left, right), _number(right, left)
        return type(left) is type(right) and type(left) in (int, str) and bool(_ORDER[op](left, right))
    return bool(found) == (op in ("=~", "in"))


def _number(value: Value, other: Value) -> Value:
    """Labels are strings: next to an integer, a string that reads as one compares as a number."""
    return int(value) if type(other) is int and isinstance(value, str) and _INT_TEXT.fullmatch(value) else value


def _equal(left: Value, right: Value) -> bool:
    left, right = _number(left, right), _number(right, left)
    return type(left) is type(right) and left == right  # true is not 1; null equals only null
