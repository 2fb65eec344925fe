"""Classifying a command nested in the one a handler judges (`find -exec CMD ;`, `bash -c '...'`,
`kubectl exec POD -- CMD`, `eval`): it goes back through the shell dispatcher.

The dispatcher (shell.py) registers itself here when it loads. Handlers call these two functions
instead of importing shell.py, which imports them for its registry: recursion without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable

from runbooks.risk.base import RiskAssessment

_dispatch: dict[str, Callable] = {}


def register(command: Callable[[list[str], bool], RiskAssessment], run_shell: Callable[[str], RiskAssessment]) -> None:
    _dispatch.update(command=command, run_shell=run_shell)


def command(words: list[str], piped: bool) -> RiskAssessment:
    """One simple command, already split into words (wrappers, handlers, tables)."""
    return _dispatch["command"](words, piped)


def run_shell(text: str) -> RiskAssessment:
    """A whole shell snippet: its worst simple command."""
    return _dispatch["run_shell"](text)
