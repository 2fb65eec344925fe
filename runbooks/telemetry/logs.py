"""Logging for every process: JSON lines (one object per line) or plain text for a terminal.

Each record carries the execution it belongs to when known: from the log call's
`extra={"execution_id": ...}`, else from the running activity (its workflow id *is* the execution
id), else from the Temporal workflow logger's `temporal_workflow` details.
"""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from datetime import datetime, timezone
from typing import TextIO

from temporalio import activity

from runbooks.masking import mask

CONTEXT_FIELDS = ("execution_id", "step_id", "runbook_id")


class ExecutionContextFilter(logging.Filter):
    """Adds `execution_id` to records logged inside an activity (or by workflow.logger) without one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "execution_id", None) is None:
            execution_id = None
            if activity.in_activity():
                try:
                    execution_id = activity.info().workflow_id
                except RuntimeError:
                    pass
            if execution_id is None:
                details = getattr(record, "temporal_workflow", None)
                if isinstance(details, dict):
                    execution_id = details.get("workflow_id")
            if execution_id is not None:
                record.execution_id = execution_id
        return True


class JsonFormatter(logging.Formatter):
    """{"ts", "level", "logger", "message"} plus execution_id / step_id / runbook_id when known, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return jsonlib.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format, with ` [execution_id=... step_id=...]` appended when known."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = mask(super().formatMessage(record)) or ""
        context = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS
                           if getattr(record, name, None) is not None)
        return f"{text} [{context}]" if context else text


def configure(level: str | int = "INFO", json: bool = True, stream: TextIO | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one writing to `stream` (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    handler.addFilter(ExecutionContextFilter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler
