"""Where a value may stand in a shell command: a small model of sh and bash quoting and splitting.

Used by the templating to place each alert value as exactly one argument; anything it cannot
place safely is refused when the runbook is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runbooks.errors import TemplateError

# Characters that mean something to sh when unquoted; if any is present we keep the shell.
# Braces are not among them: dash gives them no meaning and bash only expands `{a,b}` and `{1..3}`,
# which `_BRACE_EXPANSION` looks for in each word (so a literal `{{.State.Status}}` needs no shell).
_SHELL_CHARS = frozenset("|&;<>()$`\\*?[]~#!\n\r")
_BRACE_EXPANSION = re.compile(r"\{[^{}]*(?:,|\.\.)[^{}]*\}")
# Words after which the next word is still a command: a value there would choose the program.
_COMMAND_PREFIXES = frozenset({
    "if", "then", "else", "elif", "while", "until", "do", "time", "!", "{",
    "exec", "command", "builtin", "coproc", "sudo", "doas", "nohup", "nice", "env", "setsid",
})
# Programs that run their arguments (or piped input) as shell code: quoting cannot protect a value
# given to them. The second set, in command position, evaluates arguments as code, names or arithmetic.
_REPARSERS = frozenset({"eval", "sh", "bash", "dash", "zsh", "ksh", "ash", "ssh", "su", "xargs"})
_REPARSING_COMMANDS = frozenset({
    "let", "declare", "typeset", "local", "readonly", "watch", "trap", "read", "mapfile", "readarray", "unset",
})
# bash evaluates `-v NAME` of these as a variable name, array subscript (and its $(...)) included.
_NAME_OPTION_COMMANDS = frozenset({"printf", "test", "["})
# Names that only exist in a shell: without a shell, running them as a program fails or differs.
_SHELL_ONLY = frozenset({
    "if", "then", "else", "elif", "fi", "while", "until", "for", "case", "do", "done", "time", "!", "{", "}",
    "exec", "command", "builtin", "eval", "cd", "export", "set", "unset", "alias", "source", ".", ":",
    "exit", "return", "trap", "umask", "ulimit", "read", "wait",
})
_FRAME_NAMES = {
    "sq": "single quotes",
    "dq": "double quotes",
    "cmdsub": "$(...)",
    "procsub": "process substitution <(...)",
    "paren": "( ... )",
    "arith": "arithmetic $((...)) or ((...))",
    "aparen": "arithmetic $((...)) or ((...))",
    "arith_b": "arithmetic $[...]",
    "abrack": "arithmetic",
    "param": "${...}",
    "cond": "[[ ... ]]",
}
_OPENERS = (("$((", "arith"), ("$(", "cmdsub"), ("${", "param"), ("$[", "arith_b"))
_SUBCOMMANDS = ("cmdsub", "procsub")
_CLOSERS = {"arith": "))", "aparen": ")", "arith_b": "]", "abrack": "]", "param": "}", "cond": "]]"}
_ARITH = ("arith", "aparen", "arith_b", "abrack")


@dataclass(frozen=True)
class Placeholder:
    start: int  # index of '{{'
    end: int  # index just past '}}'
    expr: str
    names: tuple[str, ...]
    constant: str | None = None  # the text of a string-literal placeholder such as {{ '{{' }}

    @property
    def label(self) -> str:
        return "{{ " + self.expr.strip() + " }}"


_ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=")


@dataclass
class _Word:
    """Where the scanner stands in the current simple command."""

    text: str = ""  # raw text of the current word so far ('\0' marks a placeholder or substitution)
    started: bool = False
    cmd_pos: bool = True  # this word would name the program to run
    redirect: str = ""  # this word is a redirection target: "plain", or "dup" after >& / <&
    command: str = ""  # the program of this simple command, once known
    prev: str = ""  # the previous complete word of this simple command

    def add(self, text: str) -> None:
        self.text, self.started = self.text + text, True


class _Scanner:
    """A small model of how sh and bash split and quote a command line, just enough to place values.

    It tracks single/double quotes, backslashes, $( ), <( ), ${ }, $(( )), $[ ], (( )), [[ ]],
    backticks, comments, heredocs and redirections. Placeholders are accepted only unquoted or
    directly inside double quotes at command level, and never where a value would name the program,
    be read again by bash (arithmetic, `>&`, `-v NAME`) or be given to something that runs code.
    """

    def __init__(self, template: str, spans: list[Placeholder]) -> None:
        self.t, self.starts = template, {p.start: p for p in spans}
        self.stack = ["top"]
        self.saved: list[_Word] = []  # the outer word while inside $( ) or <( )
        self.w = _Word()
        self.contexts: list[str] = []
        self.words: list[str] = []
        self.shell = self.heredoc = self.piped = False  # piped: a value went into a pipe in this list
        self.reparser = ""  # a program seen so far that would run a later value as code

    def end_word(self, new_command: bool = False) -> None:
        w = self.w
        if w.started:
            self.words.append(w.text)
            program = w.text.rsplit("/", 1)[-1]
            if program in _REPARSERS or (w.cmd_pos and program in _REPARSING_COMMANDS):
                if self.piped and w.cmd_pos:
                    raise TemplateError(f"a value is piped into {w.text!r}, which runs its input as code")
                self.reparser = self.reparser or w.text
            if _BRACE_EXPANSION.search(w.text):  # bash would expand {a,b} or {1..3}: only a shell reads it
                self.shell = True
            if w.redirect:
                w.redirect = ""
            elif w.cmd_pos and w.text not in _COMMAND_PREFIXES and not _ASSIGNMENT.match(w.text):
                w.cmd_pos, w.command = False, program
            w.prev = w.text
        w.text, w.started = "", False
        if new_command:
            self.w = _Word()

    def placeholder(self, p: Placeholder) -> None:
        w = self.w
        bad = next((f for f in self.stack if f not in ("top", "paren", "dq")), None)
        if bad:
            raise TemplateError(f"{p.label} is inside {_FRAME_NAMES[bad]}, where a value cannot be quoted "
                                "safely; move it outside, or use double quotes")
        if self.heredoc:
            raise TemplateError(f"{p.label} comes after a heredoc ('<<'), where values cannot be quoted safely")
        if self.reparser:
            raise TemplateError(f"{p.label} comes after {self.reparser!r}, which runs its arguments as code and "
                                "would undo the quoting; for remote hosts use the step's target instead")
        if w.cmd_pos and not w.redirect and not _ASSIGNMENT.match(w.text):
            raise TemplateError(f"{p.label} is in command position: a value cannot choose the program to run")
        if w.redirect == "dup":
            raise TemplateError(f"{p.label} follows '>&' or '<&', where bash expands a value again")
        if w.command in _NAME_OPTION_COMMANDS and w.prev == "-v" and not w.started:
            raise TemplateError(f"{p.label} follows '{w.command} -v', where bash evaluates a value as a variable name")
        self.contexts.append("dq" if self.stack[-1] == "dq" else "bare")
        w.add("\0")

    def enter(self, frame: str) -> None:
        """$( ) and <( ) hold a whole command list, and are part of the word around them."""
        self.w.add("\0")
        self.saved.append(self.w)
        self.stack.append(frame)
        self.w = _Word()

    def run(self) -> tuple[list[str], bool]:
        t, n, i = self.t, len(self.t), 0
        while i < n:
            frame, c, two = self.stack[-1], t[i], t[i : i + 2]
            if i in self.starts:
                self.placeholder(self.starts[i])
                i = self.starts[i].end
            elif frame == "sq":
                if c == "'":
                    self.stack.pop()
                self.w.add(c)
                i += 1
            elif c in "\\$" and i + 1 in self.starts:
                raise TemplateError(f"{c!r} directly before {self.starts[i + 1].label} would change how it is read")
            elif two == "\\\n":  # line continuation: removed before sh even splits words
                self.shell, i = True, i + 2
            elif c == "\\":
                self.shell = True
                self.w.add(t[i : i + 2])
                i += 2
            elif c == "`":
                j = i + 1
                while j < n and t[j] != "`":
                    j += 2 if t[j] == "\\" else 1
                if j >= n:
                    raise TemplateError("unterminated backtick")
                if any(i < s < j for s in self.starts):
                    raise TemplateError("a {{ }} placeholder inside backticks cannot be quoted safely; use $(...)"
                                        " around the command and keep the placeholder outside")
                self.shell = True
                self.w.add(t[i : j + 1])
                i = j + 1
            elif two in ("$'", "$[") and self.starts:
                raise TemplateError(f"{two}...{two[1].replace('[', ']')} cannot be used with {{{{ }}}} placeholders:"
                                    " sh and bash read it differently")
            elif c == "$":
                self.shell = True
                tok, opened = next(((tok, f) for tok, f in _OPENERS if t.startswith(tok, i)), ("$", ""))
                if opened in _SUBCOMMANDS:
                    self.enter(opened)
                else:
                    self.w.add(tok)
                    if opened:
                        self.stack.append(opened)
                i += len(tok)
            elif frame == "dq":
                if c == '"':
                    self.stack.pop()
                self.w.add(c)
                i += 1
            elif c in "'\"":
                self.stack.append("sq" if c == "'" else "dq")
                self.w.add(c)
                i += 1
            elif frame in _CLOSERS:
                # dash runs bash's (( )) and [[ ]] as commands: a '#' there starts a comment, '<<' a heredoc
                if c == "#" and frame != "param" and self.starts:
                    raise TemplateError("'#' inside (( )), $(( )) or [[ ]] cannot be used with {{ }} placeholders:"
                                        " sh and bash read it differently")
                self.heredoc = self.heredoc or (two == "<<" and frame != "param")
                if t.startswith(_CLOSERS[frame], i):
                    self.stack.pop()
                    i += len(_CLOSERS[frame])
                else:
                    nested = {"(": "aparen", "[": "abrack"}.get(c) if frame in _ARITH else None
                    if nested:
                        self.stack.append(nested)
                    i += 1
            else:
                i = self.command_level(i)
        self.end_word()
        if len(self.contexts) != len(self.starts):  # defensive: every placeholder must have been placed
            raise TemplateError("could not determine the shell quoting around every {{ }} placeholder")
        if self.stack != ["top"]:
            raise TemplateError(f"unterminated {_FRAME_NAMES.get(self.stack[-1], 'double quotes')} in command")
        first = self.words[0] if self.words else ""
        return self.contexts, self.shell or bool(_ASSIGNMENT.match(first)) or first in _SHELL_ONLY

    def command_level(self, i: int) -> int:
        """One step outside quotes, in the top level, a ( subshell ), $( ) or <( ); returns the next index."""
        t, w, frame, c, two = self.t, self.w, self.stack[-1], self.t[i], self.t[i : i + 2]
        if c in " \t":
            self.end_word()
        elif c == "#" and not w.started:
            j = t.find("\n", i)
            j = len(t) if j == -1 else j
            if any(i < s < j for s in self.starts):
                raise TemplateError("a {{ }} placeholder inside a shell comment could end the comment early")
            self.shell = True
            return j
        elif two in ("<(", ">("):  # process substitution
            self.shell = True
            self.enter("procsub")
            return i + 2
        elif two == "<<":
            self.shell = self.heredoc = True
            self.end_word()
            return i + 2
        elif two in ("((", "[[") and not w.started:  # also `for ((...))`, where a value would be arithmetic
            self.shell = True
            self.stack.append("arith" if two == "((" else "cond")
            return i + 2
        elif c == "[" and w.cmd_pos and re.fullmatch(r"[A-Za-z_]\w*", w.text):  # bash: a[subscript]=value
            self.shell = True
            w.add(c)
            self.stack.append("abrack")
        elif c == ")" and frame in _SUBCOMMANDS:
            self.end_word()
            self.stack.pop()
            self.w = self.saved.pop()
        elif c in "\n;&|()<>":
            self.shell = True
            amp_redirect = c == "&" and (t[i - 1 : i] in ("<", ">") or t[i + 1 : i + 2] == ">")
            # ')' too: after a case pattern `a)` comes a command
            self.end_word(new_command=c in "\n;|()" or (c == "&" and not amp_redirect))
            self.piped = (self.piped or (c == "|" and bool(self.contexts))) and c not in "\n;&"
            if c in "<>":
                self.w.redirect = "plain"
            elif c == "&" and self.w.redirect:
                if t[i + 1 : i + 2] == "-":  # <&- and >&- close a descriptor; bash ends the word there
                    self.w.redirect = ""
                    return i + 2
                self.w.redirect = "dup"
            elif c == "(":
                self.stack.append("paren")
            elif c == ")" and frame == "paren":
                self.stack.pop()
        else:
            self.shell = self.shell or c in _SHELL_CHARS
            w.add(c)
        return i + 1


def scan(template: str, spans: list[Placeholder]) -> tuple[list[str], bool]:
    """Quoting context of each placeholder ('bare' or 'dq'), and whether the command needs a shell."""
    return _Scanner(template, spans).run()
