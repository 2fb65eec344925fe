"""Inputs that drive the workflow directly (no API in between): test runbooks planned as the
launcher plans them, for the escalation tests and the history recorder."""

from __future__ import annotations

import uuid
from pathlib import Path

from runbooks.authoring.reader import parse_file, parse_markdown
from runbooks.contract import AlertRef, ExecutionInput
from runbooks.rendering.planning import build_context, plan_steps
from support.paths import TEST_RUNBOOKS

# Nobody answers: notify at 5 and 15 minutes, reject at 60; the yellow step done before is rolled back.
ESCALATING = """---
id: escalating
mode: autopilot
escalation:
  - after: 5m
    notify: primary
  - after: 15m
    notify: secondary
  - after: 60m
    action: reject
---
# Escalating

## Steps

1. **Mark**
   Risk: yellow
   ```sh
   echo mark >> {{ params.log }}
   ```
   Rollback:
   ```sh
   echo unmark >> {{ params.log }}
   ```
2. **Dangerous**
   Risk: red
   ```sh
   echo dangerous >> {{ params.log }}
   ```
"""


def execution_input(runbook_text_or_file: str | Path, log: Path, *, mode: str | None = None,
                    labels: dict[str, str] | None = None, notify: bool = False,
                    started_by: str = "recorder") -> ExecutionInput:
    """An alert's execution of a test runbook (a file in tests/runbooks, or Markdown text) whose
    commands append to `log`, as the launcher would plan it."""
    rb = (parse_file(runbook_text_or_file, TEST_RUNBOOKS) if isinstance(runbook_text_or_file, Path)
          else parse_markdown(runbook_text_or_file))
    labels = {"log": str(log), **(labels or {})}
    params = {"log": str(log)}
    return ExecutionInput(
        execution_id=f"history-{rb.id}-{uuid.uuid4().hex[:8]}", runbook_id=rb.id, runbook_version=1,
        runbook_title=rb.title, service=rb.service, mode=mode or rb.mode, escalation=rb.escalation,
        steps=plan_steps(rb, build_context(labels, {}, params)), params=params, started_by=started_by,
        heartbeat_timeout_seconds=10, notify=notify,
        alert=AlertRef(source="alertmanager", fingerprint="fp-1", alertname="Recorded", labels=labels))
