"""ConnectionSync: one scheduled sync of one connection (a Temporal schedule starts it).

The workflow only orchestrates: the activity reads the pages and imports them. A sync that fails
outright (the network) is retried by Temporal a few times; a bad token is not an error to retry
but a line in the import report, which the activity returns.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from runbooks.contract import CONNECTION_SYNC_WORKFLOW, Activity


@workflow.defn(name=CONNECTION_SYNC_WORKFLOW)
class ConnectionSync:
    @workflow.run
    async def run(self, connection_id: int) -> dict:
        return await workflow.execute_activity(
            Activity.SYNC_CONNECTION, connection_id, result_type=dict,
            start_to_close_timeout=timedelta(minutes=30), heartbeat_timeout=None,
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=30)),
            summary=f"sync connection {connection_id}")
