"""Errors a runbook author sees: always with the file and line that is wrong."""

from __future__ import annotations


class RunbookParseError(ValueError):
    def __init__(self, message: str, line: int = 1, path: str | None = None):
        self.message = message
        self.line = line
        self.path = path
        where = f"{path}:{line}" if path else f"line {line}"
        super().__init__(f"{where}: {message}")
