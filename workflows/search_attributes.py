"""Search attributes that make executions findable in the Temporal Web UI (registered at start-up)."""

from temporalio.common import SearchAttributeKey

RUNBOOK_ID = SearchAttributeKey.for_keyword("RunbookId")
ALERT_NAME = SearchAttributeKey.for_keyword("AlertName")
SERVICE = SearchAttributeKey.for_keyword("Service")
SEVERITY = SearchAttributeKey.for_keyword("Severity")
EXECUTION_STATUS = SearchAttributeKey.for_keyword("RunbookStatus")

ALL = (RUNBOOK_ID, ALERT_NAME, SERVICE, SEVERITY, EXECUTION_STATUS)


def dev_server_flags() -> list[str]:
    """`temporal server start-dev` arguments that register every key as a Keyword."""
    return [arg for key in ALL for arg in ("--search-attribute", f"{key.name}=Keyword")]
