"""Database writes from the workflow: the execution mirror, the timeline, and escalations.

Run as local activities (milliseconds, no extra round trip through the server) except
escalation, which is a regular activity so it shows by name in the Web UI and can later reach Slack.
"""

from __future__ import annotations

import logging

from temporalio import activity

from runbooks.contract import Activity, ExecutionEvent, ExecutionState
from runbooks.storage.store import Store
from runbooks.telemetry.metrics import observe_approval_wait

log = logging.getLogger("runbooks.activities")


class RecordActivities:
    def __init__(self, store: Store):
        self.store = store

    @activity.defn(name=Activity.SAVE_STATE)
    def save_state(self, state: ExecutionState) -> None:
        # Observed only for decisions this call inserted: a retried save does not count one twice.
        for st in self.store.save_state(state):
            if st.decision is not None and not state.drill:  # a drill's answers are its score, not the fleet's
                observe_approval_wait(st.risk.value, st.decision.approved, st.waiting_since, st.decision.decided_at)

    @activity.defn(name=Activity.RECORD_EVENT)
    def record_event(self, event: ExecutionEvent) -> None:
        log.info("%s: %s", event.kind.value, event.message,
                 extra={"execution_id": event.execution_id, "step_id": event.step_id})
        self.store.add_event(event)

    @activity.defn(name=Activity.ESCALATE)
    def escalate(self, event: ExecutionEvent) -> None:
        """Nobody answered in time: tell the next person. Logged and recorded; Slack comes later."""
        log.warning("ESCALATION to %s: %s", event.target or "on-call", event.message,
                    extra={"execution_id": event.execution_id, "step_id": event.step_id})
        self.store.add_event(event)

    def all(self) -> list:
        return [self.save_state, self.record_event, self.escalate]
