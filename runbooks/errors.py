"""Errors a runbook author sees: always with the file and line that is wrong."""

from __future__ import annotations


class RunbookParseError(ValueError):
    def __init__(self, message: str, line: int = 1, path: str | None = None):
        self.message = message
        self.line = line
        self.path = path
        where = f"{path}:{line}" if path else f"line {line}"
        super().__init__(f"{where}: {message}")


class TemplateError(ValueError):
    """A command template or one of its values cannot be used; the message is for the runbook author."""


class MissingValueError(TemplateError):
    """Values the alert (or start request) did not carry: a person can supply them; nothing is unsafe."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(f"missing value for {', '.join(names)}")
