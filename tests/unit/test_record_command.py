"""`runbooks record`: a real bash under a pseudo-terminal, recorded as asciicast v2 with secrets masked.

The session is typed on the recorder's stdin the way a person would: a command, one that fails, a
secret exported and echoed back, a typo, then `exit`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from cli.record_command import record, register, run
from runbooks.drafts.shell import draft_from_shell

SECRET = "abc123secretvalue"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _record(tmp_path: Path, typed: str) -> tuple[Path, int, int]:
    read, write = os.pipe()
    os.write(write, typed.encode())
    os.close(write)
    sink = os.open(os.devnull, os.O_WRONLY)
    env = dict(os.environ, HOME=str(tmp_path), HISTFILE=str(tmp_path / "history"), PS1="$ ", TERM="xterm")
    out = tmp_path / "session.cast"
    try:
        commands, code = record(["bash", "--norc", "-i"], out, stdin_fd=read, stdout_fd=sink, env=env, timeout=20)
    finally:
        os.close(read)
        os.close(sink)
    return out, commands, code


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int, int]:
    tmp = tmp_path_factory.mktemp("record")
    typed = (f"echo hello\nfalse\nexport API_TOKEN={SECRET}; echo $API_TOKEN\n"
             "kubctl get pods\nls -d /tmp\nexit\n")
    out, commands, code = _record(tmp, typed)
    return out.read_text(encoding="utf-8"), commands, code


def test_the_recording_is_valid_asciicast_v2(session: tuple[str, int, int]) -> None:
    text, _, code = session
    lines = text.splitlines()
    header = json.loads(lines[0])
    events = [json.loads(line) for line in lines[1:]]

    assert code == 0
    assert header["version"] == 2 and header["width"] > 0 and header["height"] > 0
    assert isinstance(header["timestamp"], int) and set(header["env"]) == {"SHELL", "TERM"}
    assert all(isinstance(e[0], float | int) and e[1] in ("o", "m") and isinstance(e[2], str) for e in events)
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    assert "hello" in "".join(e[2] for e in events if e[1] == "o")


def test_each_command_is_a_marker_with_its_exit_status(session: tuple[str, int, int]) -> None:
    text, commands, _ = session
    markers = [json.loads(json.loads(line)[2]) for line in text.splitlines()[1:] if json.loads(line)[1] == "m"]

    assert markers == [
        {"command": "echo hello", "exit": 0},
        {"command": "false", "exit": 1},
        {"command": "export API_TOKEN=[masked]; echo $API_TOKEN", "exit": 0},
        {"command": "kubctl get pods", "exit": 127},
        {"command": "ls -d /tmp", "exit": 0},
    ]
    assert commands == 5


def test_the_secret_never_reaches_the_file_not_even_echoed_back(session: tuple[str, int, int]) -> None:
    text, _, _ = session
    assert SECRET not in text
    assert SECRET not in json.dumps([json.loads(line) for line in text.splitlines()], ensure_ascii=False)


def test_the_recording_drafts_into_the_commands_that_were_run(session: tuple[str, int, int]) -> None:
    text, _, _ = session
    draft = draft_from_shell(text)

    assert [s.command for s in draft.steps] == ["echo hello", "false", "export API_TOKEN=[masked]; echo $API_TOKEN",
                                                "ls -d /tmp"]
    assert all(s.source.startswith("asciicast 00:00:") for s in draft.steps)
    assert draft.dropped == ["00:00:00 `kubctl get pods` was not a command (command not found: a typo)"]


def test_the_subcommand_says_where_it_records_and_that_secrets_are_masked(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser(prog="runbooks")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["record", "--out", str(tmp_path / "s.cast"), "--", "bash", "--norc", "-c", "true"])
    assert args.cmd == ["--", "bash", "--norc", "-c", "true"]

    seen: list[list[str]] = []
    monkeypatch.setattr("cli.record_command.record", lambda command, out: (seen.append(command), (0, 0))[1])
    err = io.StringIO()
    assert run(args, stderr=err) == 0
    assert seen == [["bash", "--norc", "-c", "true"]]
    assert err.getvalue().splitlines()[0] == f"recording to {tmp_path / 's.cast'}; secrets are masked; " \
                                             "exit the shell to stop"
