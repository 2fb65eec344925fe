"""Drafting a runbook from a shell session: what the on-call person typed, minus the noise and dead ends.

Accepted as they come (the shape is recognised from the text): an asciicast v2 recording (ours, with
`"m"` markers carrying each command and its exit status, or any other, read from its prompts), bash
history (with `#<epoch>` lines or without), zsh extended history, a terminal transcript (`$ ` prompts
with output between), or one command per line.

Secrets are masked before anything else reads the text, and a value seen masked once is masked
wherever it appears again (`echo $TOKEN` printing it). Then: navigation and typos are noise; a
command that failed and was tried again is a dead end; an exact repeat is the same step; what is left
becomes the steps, reading ones as diagnosis and changing ones as the fix, with the alert's values
turned into `{{ labels.x }}`. Each step says where it was in the session.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from dataclasses import dataclass, field

from runbooks.authoring.prose_commands import CLI_WORDS, SHELL_WORDS, interactive_reason
from runbooks.drafts.model import (
    SUBCOMMAND_TOOLS, Draft, DraftStep, escape_template, generalise, masked_note, section_for, title_for, words_of,
)
from runbooks.masking import MASK, mask

# --- masking that remembers ---------------------------------------------------------------------------------


class SessionMasker:
    """`mask`, plus every value it ever hid in this session hidden again wherever it shows up later.

    `export API_TOKEN=s3cr3t...` is masked by its shape; the `s3cr3t...` that `echo $API_TOKEN` prints on
    the next line has no shape at all, so it is masked because it was seen as a secret before.
    """

    def __init__(self) -> None:
        self.literals: list[str] = []

    def learn(self, original: str, masked: str) -> None:
        """Remember the values `mask` replaced in `original` (at least 6 characters: not a word of prose)."""
        if MASK not in masked or MASK in original or masked.count(MASK) > 20:
            return
        parts = masked.split(MASK)
        pattern = "(.+?)".join(re.escape(p) for p in parts)
        m = re.fullmatch(pattern, original, re.S)
        if not m:
            return
        for value in m.groups():
            value = value.strip().strip("\"'")
            if len(value) >= 6 and "\n" not in value and value not in self.literals:
                self.literals.append(value)
        self.literals.sort(key=len, reverse=True)

    def hide_known(self, text: str) -> str:
        for literal in self.literals:
            if literal in text:
                text = text.replace(literal, MASK)
        return text

    def __call__(self, text: str) -> str:
        masked = mask(text) or ""
        if masked != text:
            self.learn(text, masked)
        return self.hide_known(masked)


# --- terminal text ------------------------------------------------------------------------------------------

_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_OTHER_ESC = re.compile(r"\x1b(?:[()*+][0-9A-Za-z]|[=>78cDEHMNOZ]|.)?")
_CONTROL = re.compile(r"[\x00-\x07\x0b-\x0c\x0e-\x1f\x7f]")


def clean_terminal(line: str) -> str:
    """A line as the terminal showed it: escape sequences gone, backspaces and carriage returns applied."""
    line = _OTHER_ESC.sub("", _CSI.sub("", _OSC.sub("", line)))
    if "\r" in line:
        line = line.rstrip("\r").rsplit("\r", 1)[-1]
    if "\b" in line:
        out: list[str] = []
        for ch in line:
            if ch == "\b":
                if out:
                    out.pop()
            else:
                out.append(ch)
        line = "".join(out)
    return _CONTROL.sub("", line).rstrip()


# `$ cmd`, `# cmd`, `user@host:~/dir$ cmd`, `(venv) user@host:~$ cmd`, `[root@host ~]# cmd`, `bash-5.1$ cmd`
_PROMPT = re.compile(
    r"^(?:\([^()\s]{1,40}\)\s*)?"
    r"(?P<ctx>[\w.-]+@[\w.-]+(?::[^\s$#%]*)?\s?|\[[^\]\n]{1,80}\]\s?|(?:ba|z|k)?sh-[\d.]+\s?)?"
    r"(?P<sign>[$#%])(?: (?P<cmd>.*))?$")


def prompt_command(line: str) -> str | None:
    """The command typed after a shell prompt on this (cleaned) line, or None when it is output.

    A bare `# ` or `% ` counts only before a known program: `# comment` lines of a file are output.
    """
    m = _PROMPT.match(line)
    if not m:
        return None
    command = (m.group("cmd") or "").strip()
    if m.group("sign") != "$" and not m.group("ctx"):
        words = words_of(command)
        if not words or (words[0] not in CLI_WORDS and words[0] not in SHELL_WORDS):
            return None
    return command


# --- what the session holds ---------------------------------------------------------------------------------


@dataclass
class Entry:
    """One command as typed, masked, with where it was and what it did (when known)."""

    command: str
    where: str  # "line 12" or "00:03:12"
    kind: str  # "shell" | "asciicast"
    exit: int | None = None
    output: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        first = self.command.splitlines()[0] if self.command else ""
        first = first if len(first) <= 100 else first[:99] + "…"
        return f"{self.kind} {self.where}: {first}"

    @property
    def cited(self) -> str:
        short = " ".join(self.command.split())
        return f"{self.where} `{short if len(short) <= 80 else short[:79] + '…'}`"


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _join_continued(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """`cmd \\` + next line: one command, cited at its first line."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for n, line in lines:
        if pending is not None:
            pending = (pending[0], pending[1][:-1].rstrip() + " " + line.strip())
        else:
            pending = (n, line.strip())
        if not pending[1].endswith("\\"):
            out.append(pending)
            pending = None
    if pending is not None:
        out.append((pending[0], pending[1].rstrip("\\").rstrip()))
    return out


def _is_cast(text: str) -> dict | None:
    first = text.lstrip().split("\n", 1)[0]
    if not first.startswith("{"):
        return None
    try:
        header = json.loads(first)
    except ValueError:
        return None
    return header if isinstance(header, dict) and header.get("version") == 2 else None


def _marker(data: str) -> dict | None:
    try:
        label = json.loads(data)
    except ValueError:
        return None
    return label if isinstance(label, dict) and isinstance(label.get("command"), str) else None


def read_cast(text: str, masker: SessionMasker) -> tuple[dict, list[Entry]]:
    """An asciicast v2 recording's commands: from our markers when it has them, else from its prompts."""
    lines = text.lstrip().split("\n")
    header = json.loads(lines[0])
    outputs: list[tuple[float, str]] = []
    markers: list[tuple[float, dict]] = []
    buffer, at = "", 0.0
    for raw in lines[1:]:
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(event, list) or len(event) < 3 or not isinstance(event[2], str):
            continue
        at, kind, data = float(event[0]), event[1], event[2]
        if kind == "o":  # a line is dated when it ends: a command line, when Enter was pressed
            buffer += data
            while "\n" in buffer:
                line, buffer = buffer.split("\n", 1)
                outputs.append((at, masker(clean_terminal(line))))
        elif kind == "m" and (label := _marker(data)) is not None:
            markers.append((at, label))
    if buffer:
        outputs.append((at, masker(clean_terminal(buffer))))
    if markers:
        return header, _from_markers(outputs, markers, masker)
    return header, _from_prompts([(_clock(at), line) for at, line in outputs], "asciicast")


def _from_markers(outputs: list[tuple[float, str]], markers: list[tuple[float, dict]],
                  masker: SessionMasker) -> list[Entry]:
    """Each marker is one command and its exit status; its output is what was printed before the marker."""
    times = [at for at, _ in outputs]
    entries: list[Entry] = []
    previous = -1.0
    for at, label in markers:
        command = masker(str(label["command"]).strip())
        exit_code = label.get("exit")
        lo, hi = bisect.bisect_right(times, previous), bisect.bisect_right(times, at)
        shown = [line for _, line in outputs[lo:hi]]
        first = command.splitlines()[0] if command else ""
        start = next((i for i in range(lo, hi) if first and first in outputs[i][1]), None)
        began = outputs[start][0] if start is not None else at
        output = shown[start - lo + 1:] if start is not None else shown
        end = next((n for n, line in enumerate(output) if prompt_command(line) is not None), len(output))
        output = output[:end]  # the next prompt: what follows is the next command's, whatever the timing
        entries.append(Entry(command, _clock(began), "asciicast",
                             exit_code if isinstance(exit_code, int) else None, output))
        previous = at
    return entries


def _from_prompts(lines: list[tuple[str, str]], kind: str) -> list[Entry]:
    """A transcript: a prompt line starts a command, the lines up to the next prompt are its output."""
    entries: list[Entry] = []
    current: Entry | None = None
    for where, line in lines:
        command = prompt_command(line)
        if command is None and current is not None and current.command.endswith("\\") and line.startswith("> "):
            current.command = current.command[:-1].rstrip() + " " + line[2:].strip()
            continue
        if command is not None:
            current = Entry(command, where, kind) if command else None
            if current is not None:
                entries.append(current)
        elif current is not None:
            current.output.append(line)
    for entry in entries:
        entry.command = entry.command.rstrip("\\").rstrip()
    return entries


_ZSH = re.compile(r"^: \d{9,11}:\d+;(.*)$")
_EPOCH = re.compile(r"^#\d{9,11}\s*$")


def read_text(text: str, masker: SessionMasker) -> list[Entry]:
    """History (bash, zsh), a transcript with prompts, or one command per line; masked line by line."""
    whole = mask(text) or ""
    raw_lines = text.split("\n")
    masked_lines = whole.split("\n")
    if len(masked_lines) == len(raw_lines):
        lines = []
        for raw, masked in zip(raw_lines, masked_lines, strict=True):
            if masked != raw:
                masker.learn(raw, masked)
            lines.append(masker.hide_known(masked))
    else:  # a multi-line secret (a private key) changed the line count: mask each line alone
        lines = [masker(line) for line in raw_lines]
    numbered = [(n, line.rstrip("\r")) for n, line in enumerate(lines, start=1)]
    filled = [(n, line) for n, line in numbered if line.strip()]
    if filled and sum(bool(_ZSH.match(line)) for _, line in filled) * 2 >= len(filled):
        commands: list[tuple[int, str]] = []
        for n, line in filled:
            m = _ZSH.match(line)
            if m:
                commands.append((n, m.group(1)))
            elif commands and commands[-1][1].endswith("\\"):  # zsh keeps a multi-line command's lines
                commands[-1] = (commands[-1][0], commands[-1][1][:-1].rstrip() + " " + line.strip())
        return [Entry(c.strip(), f"line {n}", "shell") for n, c in commands if c.strip()]
    if any(_EPOCH.match(line) for _, line in filled):
        kept = [(n, line) for n, line in filled if not _EPOCH.match(line)]
        return [Entry(c, f"line {n}", "shell") for n, c in _join_continued(kept)]
    cleaned = [(n, clean_terminal(line)) for n, line in numbered]
    if any((m := _PROMPT.match(line)) and m.group("sign") == "$" and (m.group("cmd") or "").strip()
           for _, line in cleaned):
        return _from_prompts([(f"line {n}", line) for n, line in cleaned], "shell")
    kept = [(n, line) for n, line in filled if not line.lstrip().startswith("#")]
    return [Entry(c, f"line {n}", "shell") for n, c in _join_continued(kept)]


# --- what to keep -------------------------------------------------------------------------------------------

_NOISE = frozenset("cd clear history exit pwd logout reset pushd popd dirs".split())
_LISTING = frozenset("ls ll la l dir".split())
_EDITORS = frozenset("vi vim nvim nano emacs ed".split())
_NOT_FOUND = re.compile(r"command not found|: not found$|No command '.*' found|Unknown command", re.I)
_ERROR = re.compile(
    r"^(?:[\w./-]+: )*(?:error\b|Error from server|Error response from daemon|E\d{4} |fatal:|Failed to |Unable to |"
    r"Unit \S+ (?:could not be found|not found)|.*(?:No such file or directory|[Pp]ermission denied|command not found"
    r"|[Cc]onnection refused|[Cc]annot access|could not be found|Failed to connect"
    r"|unknown (?:flag|command|shorthand)|(?:unrecognized|invalid|unknown|illegal) option|usage: ))",
    re.I)
_KNOWN = CLI_WORDS | SHELL_WORDS | _NOISE | _LISTING | _EDITORS | frozenset(
    "sudo su tmux screen man which type alias source vacuumdb pg_isready pg_dump nginx apachectl service".split())


def _program(command: str) -> str:
    words = words_of(command)
    return words[0] if words else ""


def _subcommand(command: str) -> str:
    """The first word after the program that is not an option (`kubectl -n x get pods` -> `get`)."""
    words, skip = words_of(command)[1:], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in ("-n", "--namespace", "--context", "-c", "--container", "-u", "--unit")
        else:
            return word
    return ""


def _noise(command: str) -> str | None:
    words = words_of(command)
    if not words:
        return "is empty"
    if words[0] in _NOISE:
        return "is navigation, not a step"
    if words[0] in _LISTING and all(w.startswith("-") for w in words[1:]):
        return "lists the current folder, not a step"
    return None


def _failed(entry: Entry) -> bool:
    if entry.exit is not None:
        return entry.exit != 0
    shown = [line for line in entry.output if line.strip()]
    return bool(shown) and any(_ERROR.match(line.strip()) for line in shown[:2])


def _typo(entry: Entry, following: Entry | None) -> bool:
    """Answered by `command not found`, or (no output known) an unknown program retyped as a known one next."""
    if entry.exit is not None:
        return entry.exit == 127
    if any(_NOT_FOUND.search(line) for line in entry.output[:2]):
        return True
    program = _program(entry.command)
    if following is None or program in _KNOWN or program.startswith(("/", "./", "~")) or entry.output \
            or entry.exit is not None:
        return False
    other = _program(following.command)
    return other in _KNOWN and difflib.SequenceMatcher(None, program, other).ratio() >= 0.6


def _retry_of(entry: Entry, later: Entry) -> bool:
    """Near-identical: the same program and subcommand, and most of the text in common."""
    program = _program(entry.command)
    if program != _program(later.command):
        return False
    if program in SUBCOMMAND_TOOLS and _subcommand(entry.command) != _subcommand(later.command):
        return False
    return difflib.SequenceMatcher(None, entry.command, later.command, autojunk=False).ratio() >= 0.6


def select(entries: list[Entry]) -> tuple[list[Entry], list[str]]:
    """The entries that are steps, and what was left out with the reason, in session order."""
    dropped: list[tuple[int, str]] = []
    candidates: list[tuple[int, Entry]] = []
    for i, entry in enumerate(entries):
        if why := _noise(entry.command):
            dropped.append((i, f"{entry.cited} {why}"))
            continue
        following = next((e for e in entries[i + 1:] if not _noise(e.command)), None)
        if _typo(entry, following):
            dropped.append((i, f"{entry.cited} was not a command (command not found: a typo)"))
            continue
        candidates.append((i, entry))
    kept: list[tuple[int, Entry]] = []
    for k, (i, entry) in enumerate(candidates):
        if _failed(entry):
            retry = next((e for _, e in candidates[k + 1:k + 3] if _retry_of(entry, e)), None)
            if retry is not None:
                how = f"exit {entry.exit}" if entry.exit is not None else "an error"
                dropped.append((i, f"{entry.cited} failed ({how}) and was retried at {retry.where}"))
                continue
        kept.append((i, entry))
    seen: dict[str, Entry] = {}
    steps: list[Entry] = []
    for i, entry in kept:
        key = " ".join(entry.command.split())
        if key in seen:
            dropped.append((i, f"{entry.cited} repeats {seen[key].where} (one step)"))
            continue
        seen[key] = entry
        steps.append(entry)
    return steps, [reason for _, reason in sorted(dropped, key=lambda d: d[0])]


def _step(entry: Entry, command: str | None) -> DraftStep:
    """A kept command as a step; one that needs a person at a terminal (an editor, `-f`) as a manual step."""
    why = interactive_reason(entry.command)
    if why is None and command is not None:
        return DraftStep(title_for(entry.command), command, entry.source, section_for(entry.command),
                         note=masked_note(command))
    words = words_of(entry.command)
    if words and words[0] in _EDITORS:
        target = next((w for w in words[1:] if not w.startswith("-")), "the file")
        return DraftStep(f"Edit `{target}` by hand", None, entry.source, "fix",
                         note=f"`{' '.join(entry.command.split())}` was edited interactively: write down the change")
    return DraftStep(title_for(entry.command), None, entry.source, "diagnosis",
                     note=f"{why or 'needs a person'}: a person runs `{' '.join(entry.command.split())}` and looks")


def draft_from_shell(text: str, labels: dict[str, str] | None = None, title: str | None = None) -> Draft:
    """A draft runbook from a shell session (recording, history, transcript or list of commands)."""
    masker = SessionMasker()
    header = _is_cast(text)
    if header is not None:
        header, entries = read_cast(text, masker)
        origin = "a recorded terminal session (asciicast)"
    else:
        entries = read_text(text, masker)
        origin = "a shell session"
    kept, dropped = select(entries)
    commands, placeholders = generalise([escape_template(e.command) for e in kept], labels)
    steps = [_step(entry, command) for entry, command in zip(kept, commands, strict=True)]
    name = title or (labels or {}).get("alertname") or (header or {}).get("title") or "Draft from a shell session"
    return Draft(title=str(name), steps=steps, dropped=dropped, placeholders=placeholders, origin=origin)
