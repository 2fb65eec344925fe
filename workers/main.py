"""The main worker: polls the runbooks task queue and runs workflow tasks and step activities."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.commands import CommandActivities
from activities.connections import ConnectionActivities
from activities.gate import GateActivities
from activities.records import RecordActivities
from activities.rerender import render_with_values
from activities.slack_notifier import SlackNotifier
from runbooks.masking import register_secrets
from runbooks.settings import Settings
from runbooks.storage.audit import AuditLog, audit_key
from runbooks.storage.engine import make_engine
from runbooks.storage.migrate import create_schema
from runbooks.storage.store import Store
from workflows.client import connect
from workflows.connection_sync import ConnectionSync
from workflows.incident_report import IncidentReport
from workflows.runbook_execution import RunbookExecution
from workflows.runbook_gate import RunbookGate
from workers.metrics import serve_worker_metrics

log = logging.getLogger("runbooks.worker")
WORKFLOWS = [RunbookExecution, IncidentReport, RunbookGate, ConnectionSync]  # every workflow a worker runs (and the replay tests replay)


def build_worker(client: Client, settings: Settings, store: Store, executor: ThreadPoolExecutor) -> Worker:
    register_secrets(settings.secret_values())
    records = RecordActivities(store)
    commands = CommandActivities(settings, store)  # shows a running step's output so far
    # Always registered: an execution started with notify on may land on a worker without Slack
    # settings, where "notify" is then a logged no-op instead of an unknown activity.
    slack = SlackNotifier(settings, store)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[commands.run_command, render_with_values, *records.all(), slack.notify, slack.post_report,
                    GateActivities(client, settings.task_queue).enter_gate,
                    ConnectionActivities(settings, store, AuditLog(store.engine, audit_key(settings, create=False))
                                         ).sync_connection],
        activity_executor=executor,
        max_concurrent_activities=32,
        graceful_shutdown_timeout=timedelta(seconds=30),
    )


async def run_worker(settings: Settings, stop: asyncio.Event | None = None, handle_signals: bool = True,
                     metrics_port: int = 0) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM); in-flight steps get time to finish.

    `metrics_port` serves Prometheus /metrics from this process (`runbooks worker`); 0 when an API
    in the same process serves them already (`runbooks dev`).
    """
    engine = make_engine(settings.resolved_database_url)
    create_schema(engine, auto_migrate=settings.auto_migrate)
    client = await connect(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM) if handle_signals else ():
        loop.add_signal_handler(sig, stop.set)
    metrics = serve_worker_metrics(metrics_port)
    try:
        with ThreadPoolExecutor(max_workers=32) as executor:
            worker = build_worker(client, settings, Store(engine), executor)
            log.info("worker polling task queue %r on %s", settings.task_queue, settings.temporal_address)
            async with worker:
                await stop.wait()
            log.info("worker stopped")
    finally:
        if metrics is not None:
            server, _thread = metrics
            server.shutdown()
            server.server_close()
