"""`runbooks agent --name NAME`: runs the steps of runbooks whose target is `agent:NAME`, inside the
network they act on.

An agent polls task queue `agent-NAME` for command activities only: no workflows, no database (it
never imports the storage layer, and needs no database settings), outbound connections to
Temporal only (TLS/mTLS from the TEMPORAL_TLS_* settings). What a step did goes back to the main
worker as the activity's result, masked here before it leaves the host; the main worker records it.
SIGTERM drains: no new steps are taken and running ones get AGENT_DRAIN_SECONDS to finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.commands import CommandActivities
from runbooks.masking import register_secrets
from runbooks.settings import Settings
from runbooks.targets import AGENT_NAME, agent_queue
from workers.metrics import serve_worker_metrics
from workflows.client import connect

log = logging.getLogger("runbooks.agent")
MAX_CONCURRENT_STEPS = 16


def check_name(name: str) -> str:
    """The name as a target writes it (`agent:<name>`), or SystemExit saying what is allowed."""
    if not AGENT_NAME.fullmatch(name):
        raise SystemExit(f"agent name {name!r}: lower-case letters, digits and inner dashes, at most 63")
    return name


async def run_agent(settings: Settings, name: str, stop: asyncio.Event | None = None,
                    handle_signals: bool = True) -> None:
    """Poll `agent-<name>` until `stop` is set (or SIGINT/SIGTERM), then drain."""
    queue = agent_queue(check_name(name))
    register_secrets(settings.secret_values())
    client = await connect(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM) if handle_signals else ():
        loop.add_signal_handler(sig, stop.set)
    metrics = serve_worker_metrics(settings.worker_metrics_port)  # its steps' durations, and the healthcheck
    try:
        await _poll(client, settings, name, queue, stop)
    finally:
        if metrics is not None:
            server, _thread = metrics
            server.shutdown()
            server.server_close()


async def _poll(client: Client, settings: Settings, name: str, queue: str, stop: asyncio.Event) -> None:
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_STEPS) as executor:
        worker = Worker(
            client, task_queue=queue, activities=[CommandActivities(settings, agent=name).run_command],
            activity_executor=executor, max_concurrent_activities=MAX_CONCURRENT_STEPS,
            identity=f"agent {name} ({socket.gethostname()})",
            max_heartbeat_throttle_interval=timedelta(seconds=2),  # the output so far reaches Temporal every 2 s
            graceful_shutdown_timeout=timedelta(seconds=settings.agent_drain_seconds))
        log.info("agent %s: worker polling task queue %r on %s", name, queue, settings.temporal_address)
        async with worker:
            await stop.wait()
            log.info("agent %s draining: no new steps, up to %gs for the running ones", name,
                     settings.agent_drain_seconds)
        log.info("agent %s stopped", name)
