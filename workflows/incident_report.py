"""IncidentReport: post an ended incident's report to the Slack threads of its executions.

A workflow rather than a call from the API, so a Slack outage or a restart between the alert that
ended the incident and the post loses nothing: the activity is retried, and the workflow id (the
incident and the moment it ended) makes each ending post once.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from runbooks.contract import REPORT_WORKFLOW, Activity, IncidentReportPost

POST_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5),
                         maximum_attempts=50, non_retryable_error_types=["SlackConfigError"])


@workflow.defn(name=REPORT_WORKFLOW)
class IncidentReport:
    @workflow.run
    async def run(self, post: IncidentReportPost) -> None:
        await workflow.execute_activity(Activity.POST_REPORT, post, start_to_close_timeout=timedelta(minutes=1),
                                        retry_policy=POST_RETRY)
