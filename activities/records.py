"""Database writes from the workflow: the execution mirror, the timeline, and escalations.

Run as local activities (milliseconds, no extra round trip through the server) except
escalation, which is a regular activity so it shows by name in the Web UI and can later reach Slack.
"""

from __future__ import annotations

import logging

from temporalio import activity

from runbooks.execution import ExecutionEvent, ExecutionState
from runbooks.store import Store

log = logging.getLogger("runbooks.activities")


class RecordActivities:
    def __init__(self, store: Store):
        self.store = store

    @activity.defn(name="save_state")
    def save_state(self, state: ExecutionState) -> None:
        self.store.save_state(state)

    @activity.defn(name="record_event")
    def record_event(self, event: ExecutionEvent) -> None:
        log.info("%s: %s", event.kind, event.message, extra={"execution_id": event.execution_id})
        self.store.add_event(event)

    @activity.defn(name="escalate")
    def escalate(self, event: ExecutionEvent) -> None:
        """Nobody answered in time: tell the next person. Logged and recorded; Slack comes later."""
        log.warning("ESCALATION to %s: %s", event.target or "on-call", event.message,
                    extra={"execution_id": event.execution_id})
        self.store.add_event(event)

    def all(self) -> list:
        return [self.save_state, self.record_event, self.escalate]
