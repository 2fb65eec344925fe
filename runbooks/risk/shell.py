"""Shell parsing: prompts and placeholders, then scanning, tokenizing and splitting into simple commands.

`run_shell` classifies a snippet: every simple command (lists, pipelines, loops, `$(...)`, process
substitutions) is dispatched by `command`, which unwraps wrappers (sudo, timeout, xargs...), honours dry
runs and hands the words to a handler or a table. The worst part decides.
"""

from __future__ import annotations

import os
import re
import shlex

from runbooks.risk import commands, kube, nested, tools
from runbooks.risk.base import (
    SUBST, G, R, RiskAssessment, Y, assess, find_sub, first_pos, matches, redirect, via, worst,
)
from runbooks.risk.handlers import HANDLERS

KNOWN = {*commands.SIMPLE, *commands.FLAGGED, *commands.WRAPPERS, *commands.ALIASES, *tools.SUBCOMMANDS, *HANDLERS}

# --- preparing text: prompts, `{{ }}` placeholders, `<placeholder>` words ---------------------------
_OPS = ";&|<>()\n"
_QUOTED = _OPS + "'\"`$#\\ \t"  # characters masked inside a placeholder, so it stays one plain word
_MASK = {c: chr(0xE000 + i) for i, c in enumerate(_QUOTED)}  # quoted operator characters become plain text
_UNMASK = str.maketrans({v: k for k, v in _MASK.items()})
_SUBST_TOKEN = "$" + _MASK["("] + "..." + _MASK[")"]
PROMPT = re.compile(r"^[ \t]*(?:\$|(?:sh|bash|zsh)-\d[\d.]*[#$])[ \t]+", re.MULTILINE)
# `{{ expr }}` with quoted strings inside (`{{ '}}' }}`, `{{ '{{' }}`), or a Go template action.
TEMPLATE = re.compile(r"\{\{((?:'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|[^'\"}]|\}(?!\})){0,400}?)\}\}")
ANGLE = re.compile(r"(?<![<\d])<([A-Za-z_](?:[\w.:/@ -]{0,80}[\w.:/@-])?)>(?![\w>&(])")


def _masked(text: str) -> str:
    return "".join(_MASK.get(c, c) for c in text)


def placeholders_as_words(text: str, angles: bool = True) -> str:
    """`{{ labels.pod | default('x') }}` and `<POD_NAME>` become one argument word each, whatever they hold."""
    text = TEMPLATE.sub(lambda m: "{{" + _masked(m.group(1).strip()) + "}}", text)
    return ANGLE.sub(lambda m: _masked(m.group(0)), text) if angles else text


def strip_prompts(text: str, transcript: bool = False) -> str:
    """`$ cmd` -> `cmd`. In a transcript (a console block) lines without a prompt are output, except the
    continuation of a command (after a trailing `\\`, `|`, `&&` or `||`)."""
    if not transcript or not PROMPT.search(text):
        return PROMPT.sub("", text)
    kept, going = [], False
    for line in text.splitlines():
        if m := PROMPT.match(line):
            line, going = line[m.end() :], True
        elif not going:
            continue
        kept.append(line)
        going = bool(re.search(r"(\\|\||&&)\s*$", line))
    return "\n".join(kept)


# --- scanning, tokenizing, splitting -----------------------------------------------------------------
_OP = re.compile(r"&>>|<<<|&&|\|\||>>|>&|<&|&>|>\||\|&|<<|<>|;;|[;&|<>()\n]")
SEPARATORS = {";", "&", "&&", "||", "|", "|&", "\n", "(", ")", ";;"}
KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "esac", "function"}
HEADERS = {"for", "case", "select"}
ASSIGN = re.compile(r"[A-Za-z_]\w*(\[[^\]]*\])?\+?=")
HEREDOC = re.compile(r"<<-?[ \t]*(['\"]?)([\w.-]+)\1")
FORK_BOMB = re.compile(r"(?<![^\s;&|(])([^\s;&|(){}]{1,64})\s*\(\s*\)\s*\{[^}]*?\1\s*\|\s*\1\s*&")


def _close(text: str, i: int) -> int:
    """Index of the parenthesis closing the one at `i` (the end of the text if unbalanced)."""
    depth, quote = 0, ""
    for j in range(i, len(text)):
        c = text[j]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "()":
            depth += 1 if c == "(" else -1
            if depth == 0:
                return j
    return len(text)


def _scan(text: str) -> tuple[str, list[str]]:
    """Drop comments and heredoc bodies, lift out `$(...)`, backtick and `<(...)` substitutions, and mask
    quoted or escaped operators so that shlex keeps them inside words."""
    out, subs, heredocs, quote, i = [" "], [], [], "", 0
    while i < len(text):
        c, nxt = text[i], text[i + 1 : i + 2]
        if quote == "'":
            quote = "" if c == "'" else quote
            out.append(_MASK.get(c, c) if c in _OPS else c)
        elif c == "\\" and nxt == "\n":  # line continuation
            out.append(" ")
            i += 1
        elif c == "\\" and nxt:
            out.append((("\\" if quote else "") + _MASK[nxt]) if nxt in _OPS else c + nxt)
            i += 1
        elif text.startswith(SUBST, i):  # a placeholder left by an outer scan stays one
            out.append(_SUBST_TOKEN)
            i += len(SUBST) - 1
        elif c == "`" or c == "$" and nxt == "(" or c in "<>" and nxt == "(" and not quote:
            j = (text.find("`", i + 1) % (len(text) + 1)) if c == "`" else _close(text, i + 1)
            if not text.startswith("$((", i):  # arithmetic expansion runs nothing
                subs.append(text[i + (1 if c == "`" else 2) : j])
            out.append(_SUBST_TOKEN)
            i = j
        elif c == '"':
            quote = "" if quote else '"'
            out.append(c)
        elif quote:
            out.append(_MASK.get(c, c) if c in _OPS else c)
        elif c == "'":
            quote = "'"
            out.append(c)
        elif c == "#" and out[-1][-1] in " \t\n;&|()":
            i = (text.find("\n", i) % (len(text) + 1)) - 1
        elif c == "<" and (m := HEREDOC.match(text, i)) and text[i - 1 : i] != "<" and not text.startswith("<<<", i):
            heredocs.append(m.group(2))
            out.append(f"<< {m.group(2)} ")
            i = m.end() - 1
        elif c == "\n" and heredocs:
            for delim in heredocs:
                end = re.compile(rf"^[ \t]*{re.escape(delim)}[ \t]*$", re.MULTILINE).search(text, i + 1)
                i = end.end() if end else len(text)
            heredocs.clear()
            out.append("\n")
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out), subs


def _tokens(body: str) -> list[str]:
    lex = shlex.shlex(body, posix=True, punctuation_chars=_OPS)
    lex.whitespace, lex.whitespace_split, lex.commenters = " \t\r", True, ""
    try:
        return list(lex)
    except ValueError:  # unbalanced quotes: a plain split that still separates operators
        ops = re.escape(_OPS)
        return [t.strip("'\"") for t in re.findall(rf"[{ops}]+|[^\s{ops}]+", body)]


def script(text: str) -> list[RiskAssessment]:
    """Classify every simple command of a shell snippet, including the ones inside substitutions."""
    if bomb := FORK_BOMB.search(text):
        return [RiskAssessment(risk=R, reason=f"`{bomb.group(0)}` is a fork bomb (exhausts the host)")]
    body, subs = _scan(text)
    found = [a for sub in subs for a in script(sub)]
    steps: list[tuple[list[str], RiskAssessment]] = []  # this level's simple commands, in order
    words: list[str] = []
    redirs: list[tuple[str, str]] = []
    piped, pending, array, closed = False, "", False, False
    for tok in [*_tokens(body), ";"]:
        if tok and not tok.strip(_OPS):  # only unquoted operator characters survive tokenizing unmasked
            for op in _OP.findall(tok):
                if array:  # `pods=( a b $(...) )`: the words of an array assignment run nothing
                    array = op != ")"
                elif op == "(" and words and ASSIGN.fullmatch(words[-1]):
                    array = True
                elif op in SEPARATORS:
                    if words or redirs:
                        steps.append((words, _simple(words, redirs, piped or closed)))
                    words, redirs, pending, piped, closed = [], [], "", op in ("|", "|&"), op == ")"
                else:
                    if words and words[-1].isdigit():
                        words.pop()  # the `2` of `2>` names a file descriptor, not an argument
                    pending = op
        elif array:
            continue
        elif pending:
            redirs.append((pending, tok.translate(_UNMASK)))
            pending = ""
        else:
            words.append(tok.translate(_UNMASK))
    return found + kube.compensate(steps)


def run_shell(text: str) -> RiskAssessment:
    return worst(script(text)) or RiskAssessment(risk=G, reason=f"`{text.strip()[:60]}` runs nothing")


TRUNCATORS = ([], [":"], ["true"], ["cat", "/dev/null"])  # `> log`, `: > log`: empty the file


def _simple(words: list[str], redirs: list[tuple[str, str]], piped: bool) -> RiskAssessment:
    """One simple command; `piped` is also set after `)`, where a redirection belongs to the group."""
    parts = [r for op, target in redirs if (r := redirect(op, target))]
    i = 0
    while i < len(words) and (words[i] in KEYWORDS or ASSIGN.match(words[i])):
        i += 2 if words[i] == "function" else 1
    if words[i:] in TRUNCATORS and not piped and not any(w in KEYWORDS for w in words[:i]):
        parts += [RiskAssessment(risk=R, reason=f"`{op} {target}` truncates the file (its contents are lost)")
                  for op, target in redirs if op in (">", ">|", "&>") and redirect(op, target)]
    if words[i:] and words[i] in HEADERS:
        parts.append(assess(words[i:], G, "is a loop or case header (runs nothing itself)"))
    elif words[i:]:
        parts.append(command(words[i:], piped))
    return worst(parts) or assess(words or [op for op, _ in redirs], G, "only sets variables or shell syntax")


# --- dispatch ----------------------------------------------------------------------------------------
def _canon(name: str) -> str:
    """`/usr/bin/python3.11` -> `python3`, `mkfs.ext4` -> `mkfs`, `pip3` -> `pip`."""
    name = os.path.basename(name)
    return next((c for c in (name, name.split(".")[0], name.rstrip("0123456789.")) if c in KNOWN), name)


def by_table(key: str, w: list[str]) -> RiskAssessment:
    """A tool whose subcommand decides (`systemctl restart`), made worse by flags (`git push --force`)."""
    table = tools.SUBCOMMANDS[key]
    sub = find_sub(w[1:], table)
    rule = table.get(sub) or (Y, f"has subcommand `{sub or '(none)'}`, not known to be read-only")
    extra = [assess(w, *r) for names, r in tools.ESCALATE.get(f"{key} {sub}", []) if matches(w[1:], names)]
    return worst([assess(w, *rule), *extra]) or assess(w, *rule)


def in_container(w: list[str], rest: list[str], how: str, value_flags: frozenset[str]) -> RiskAssessment:
    """`TOOL exec [flags] TARGET [--] CMD...`: classify CMD; no CMD opens an interactive shell."""
    inner = rest[rest.index("--") + 1 :] if "--" in rest else rest[first_pos(rest, value_flags) + 1 :]
    return via(command(inner, False), how) if inner else assess(w, Y, "opens an interactive shell (not inspected)")


def command(w: list[str], piped: bool) -> RiskAssessment:
    """One simple command: wrappers, `exec` into containers, dry runs, handlers, tables, else unknown."""
    written, name = w[0], _canon(w[0])
    key, args, w = commands.ALIASES.get(name, name), w[1:], [name, *w[1:]]
    if name in commands.WRAPPERS:
        value_flags, skip, empty = commands.WRAPPERS[name]
        if name == "command" and matches(args, ("-v", "-V")):
            return assess(w, G, "looks up a command (read-only)")
        if name == "sudo" and {"-l", "-ll", "--list"} & set(args[:first_pos(args, value_flags)]):
            return assess(w, G, "lists sudo rights (read-only)")  # sudo's own option, not its command's
        if name in ("ionice", "renice", "taskset") and matches(args, ("-p", "-P", "-u", "--pid")) and (
                name != "ionice" or matches(args, ("-c", "-n", "--class", "--classdata"))):
            return assess(w, Y, "changes the scheduling of a running process (reversible)")
        i = first_pos(args, value_flags) + skip
        while i < len(args) and ASSIGN.match(args[i]):
            i += 1
        if i >= len(args):
            return assess(w, *empty)
        inner = run_shell(" ".join(args[i:])) if name == "watch" else command(args[i:], piped)
        return via(inner, f"`{name}`")
    if key in tools.EXECUTORS and find_sub(args, tools.SUBCOMMANDS[key]) in ("exec", "compose exec"):
        return in_container(w, args[args.index("exec") + 1 :], f"`{name} exec`", tools.EXEC_VALUE_FLAGS)
    if matches(args, tools.DRY_RUN.get(key, ())):
        return assess(w, G, "is a dry run (changes nothing)")
    if key in HANDLERS:
        return HANDLERS[key](w, piped)
    if key in commands.FLAGGED:
        return assess(w, *next(rule for fl, rule in commands.FLAGGED[key] if not fl or matches(args, fl)))
    if key in tools.SUBCOMMANDS:
        return by_table(key, w)
    if key in commands.SIMPLE:
        return assess(w, *commands.SIMPLE[key])
    if name == SUBST:
        return assess(w, Y, "runs a command computed at run time: not known to be read-only")
    return RiskAssessment(risk=Y, reason=f"unknown command `{written}`: not known to be read-only")


nested.register(command, run_shell)
