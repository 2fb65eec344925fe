"""`runbooks record [--out FILE.cast] -- COMMAND...`: record an incident shell session to draft a runbook from.

Opt-in and visible: it says where it records and that secrets are masked, and stops when the shell
exits. The session runs under a pseudo-terminal, so it looks and behaves as usual, and is written as
asciicast v2 (playable with `asciinema play`). What is written is masked line by line, whole lines,
so a secret split over two reads of the terminal is still seen whole; a value once masked (the token in
`export API_TOKEN=...`) is masked wherever it shows again (`echo $API_TOKEN`). Keystrokes are never
written (they would hold what a password prompt hides); for bash, each command and its exit status
are captured by a `PROMPT_COMMAND` hook into a private file and written as `"m"` marker events, which
`runbooks.drafts.shell.draft_from_shell` prefers to reading prompts.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import fcntl
import json
import os
import pty
import re
import select
import shlex
import shutil
import signal
import struct
import sys
import tempfile
import termios
import time
import tty
from pathlib import Path
from typing import Any, TextIO

from runbooks.drafts.shell import SessionMasker, clean_terminal

_HISTORY = re.compile(r"^\s*(\d+)\*?\s+(.*)$", re.S)
_LONG_LINE = 8192  # a line this long without a newline (a progress bar) is written as it stands


def register(sub: argparse._SubParsersAction) -> None:
    rec = sub.add_parser("record", help="record a shell session (asciicast v2, secrets masked) to draft a runbook from")
    rec.add_argument("--out", type=Path, default=None,
                     help="the .cast file to write (default: session-YYYYmmdd-HHMMSS.cast here)")
    rec.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                     help="what to run and record (default: $SHELL, or bash)")


def run(args: argparse.Namespace, stderr: TextIO | None = None) -> int:
    """The subcommand: say what is recorded and where, record until the command exits, say what was kept."""
    err = stderr or sys.stderr
    command = list(args.cmd or [])
    command = command[1:] if command[:1] == ["--"] else command
    out = args.out or Path(time.strftime("session-%Y%m%d-%H%M%S.cast"))
    print(f"recording to {out}; secrets are masked; exit the shell to stop", file=err, flush=True)
    commands, code = record(command or default_command(), out)
    print(f"recorded {commands} command(s) to {out} (exit {code})", file=err, flush=True)
    return 0


def default_command() -> list[str]:
    return [os.environ.get("SHELL") or shutil.which("bash") or "/bin/sh"]


class CastWriter:
    """asciicast v2: a header line, then `[time, "o", text]` output and `[time, "m", label]` marker events."""

    def __init__(self, path: Path, width: int, height: int, env: dict[str, str]) -> None:
        self.file = path.open("w", encoding="utf-8")
        self.masker = SessionMasker()
        self.pending = ""
        self.started = time.monotonic()
        header = {"version": 2, "width": width, "height": height, "timestamp": int(time.time()),
                  "env": {"SHELL": env.get("SHELL", ""), "TERM": env.get("TERM", "")}}
        self._write(header)

    def _write(self, item: Any) -> None:
        self.file.write(json.dumps(item, ensure_ascii=False) + "\n")

    def _now(self) -> float:
        return round(time.monotonic() - self.started, 6)

    def _mask_line(self, line: str) -> str:
        """The line masked; when the secret only shows once escapes and backspaces are applied, the line as shown."""
        raw = self.masker(line)
        shown = clean_terminal(line)
        masked = self.masker(shown)
        if masked != shown:
            return masked + ("\r\n" if line.endswith("\n") else "")
        return raw

    def output(self, text: str) -> None:
        self.pending += text
        cut = self.pending.rfind("\n")
        if cut < 0 and len(self.pending) < _LONG_LINE:
            return
        cut = cut + 1 if cut >= 0 else len(self.pending)
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        lines = ready.splitlines(keepends=True)
        self._write([self._now(), "o", "".join(self._mask_line(line) for line in lines)])

    def marker(self, command: str, exit_code: int) -> None:
        label = json.dumps({"command": self.masker(command), "exit": exit_code}, ensure_ascii=False)
        self._write([self._now(), "m", label])

    def close(self) -> None:
        if self.pending:
            self._write([self._now(), "o", self._mask_line(self.pending)])
            self.pending = ""
        self.file.close()


class _Markers:
    """Reads what the bash hook appended: `exit<TAB>history-line<RS>` per prompt; new history numbers only."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.buffer = path, 0, ""
        self.first, self.last_number = True, None

    def new(self) -> list[tuple[str, int]]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        self.buffer += data.decode("utf-8", errors="replace")
        *records, self.buffer = self.buffer.split("\x1e")
        found: list[tuple[str, int]] = []
        for record in records:
            status, _, entry = record.partition("\t")
            m = _HISTORY.match(entry)
            number = m.group(1) if m else None
            first, self.first = self.first, False
            if first or number is None or number == self.last_number:
                self.last_number = number if number is not None else self.last_number
                continue  # the first prompt comes before any command; an empty Enter repeats the number
            self.last_number = number
            command = m.group(2).rstrip("\n") if m else ""
            if command.strip():
                found.append((command, int(status) if status.strip().lstrip("-").isdigit() else -1))
        return found


def _is_bash(command: list[str]) -> bool:
    return bool(command) and os.path.basename(command[0]) in ("bash", "bash5", "rbash")


def _hook(marker_file: Path) -> str:
    """The PROMPT_COMMAND that records the last command and its status, leaving `$?` as it found it."""
    target = shlex.quote(str(marker_file))
    return (f"__rb_e=$?; printf '%s\\t%s\\036' \"$__rb_e\" \"$(HISTTIMEFORMAT= builtin history 1)\" >> {target}; "
            "(exit $__rb_e)")


def _prepare(command: list[str], workdir: Path, env: dict[str, str]) -> list[str]:
    """For bash: the hook in the environment (kept by `--norc` shells) and, for a plain `bash`, an rc file that
    loads the user's ~/.bashrc and then adds the hook, so a PROMPT_COMMAND set there does not replace it."""
    if not _is_bash(command):
        return command
    marker_file = workdir / "markers"
    hook = _hook(marker_file)
    env["PROMPT_COMMAND"] = hook
    if len(command) == 1:
        rc = workdir / "rc"
        rc.write_text('[ -f ~/.bashrc ] && . ~/.bashrc\n'
                      f'PROMPT_COMMAND={shlex.quote(hook)}"${{PROMPT_COMMAND:+; $PROMPT_COMMAND}}"\n',
                      encoding="utf-8")
        # a PROMPT_COMMAND from the environment would be ours twice: the rc file adds it once
        env["PROMPT_COMMAND"] = ""
        return [command[0], "--rcfile", str(rc), "-i"]
    return command


def _size(fd: int) -> tuple[int, int]:
    try:
        rows, cols, *_ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        if rows and cols:
            return cols, rows
    except OSError:
        pass
    return 80, 24


def _set_size(fd: int, cols: int, rows: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except InterruptedError:
            continue


def record(command: list[str], out: Path, *, stdin_fd: int = 0, stdout_fd: int = 1,
           env: dict[str, str] | None = None, timeout: float | None = None) -> tuple[int, int]:
    """Run `command` under a pseudo-terminal, show it, write the masked recording to `out`.

    Returns (commands captured, the command's exit status). `timeout` (tests) hangs the session up after
    that many seconds.
    """
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("TERM", "xterm-256color")
    child_env["RUNBOOKS_RECORDING"] = str(out)
    workdir = Path(tempfile.mkdtemp(prefix="runbooks-record-"))  # 0700: the hook's file is private
    argv = _prepare(command, workdir, child_env)
    cols, rows = _size(stdout_fd)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = CastWriter(out, cols, rows, child_env)
    markers = _Markers(workdir / "markers")
    pid, master = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        try:
            os.execvpe(argv[0], argv, child_env)
        finally:
            os._exit(127)
    _set_size(master, cols, rows)
    interactive = os.isatty(stdin_fd)
    saved = termios.tcgetattr(stdin_fd) if interactive else None
    previous_winch = None
    if interactive and os.isatty(stdout_fd):
        previous_winch = signal.signal(signal.SIGWINCH, lambda *_: _set_size(master, *_size(stdout_fd)))
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    captured, status = 0, None
    deadline = time.monotonic() + timeout if timeout else None

    def pump(wait: float) -> bool:
        """Move what the terminal printed to the screen and the recording; False once it has closed."""
        ready, _, _ = select.select([master], [], [], wait)
        if not ready:
            return True
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every process on the terminal is gone
            return False
        if not data:
            return False
        _write_all(stdout_fd, data)
        writer.output(decoder.decode(data))
        return True

    def emit_markers() -> int:
        found = markers.new()
        if found:
            while pump(0):  # the command's last output belongs before its marker
                if not select.select([master], [], [], 0)[0]:
                    break
            for text, code in found:
                writer.marker(text, code)
        return len(found)

    try:
        if saved is not None:
            tty.setraw(stdin_fd)
        reading = True
        while True:
            watched = [master] + ([stdin_fd] if reading else [])
            ready, _, _ = select.select(watched, [], [], 0.1)
            if stdin_fd in ready:
                data = os.read(stdin_fd, 4096)
                if data:
                    _write_all(master, data)
                else:  # input ended (a pipe): end of file for the shell too, as Ctrl-D would
                    reading = False
                    with contextlib.suppress(OSError):
                        _write_all(master, b"\x04")
            if master in ready and not pump(0):
                break
            captured += emit_markers()
            if deadline is not None and time.monotonic() > deadline:
                os.kill(pid, signal.SIGHUP)
                deadline = None
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = code
                while pump(0.05):
                    pass
                break
    finally:
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSAFLUSH, saved)
        if previous_winch is not None:
            signal.signal(signal.SIGWINCH, previous_winch)
        captured += emit_markers()
        writer.output(decoder.decode(b"", final=True))
        writer.close()
        with contextlib.suppress(OSError):
            os.close(master)
        if status is None:
            with contextlib.suppress(ChildProcessError):
                status = os.waitpid(pid, 0)[1]
        shutil.rmtree(workdir, ignore_errors=True)
    return captured, os.waitstatus_to_exitcode(status) if status is not None else -1
