"""A worker's or an agent's Prometheus /metrics, served from its own process."""

from __future__ import annotations

import logging

log = logging.getLogger("runbooks.worker")


def serve_worker_metrics(port: int) -> tuple | None:
    """The worker's /metrics on `port` (all interfaces): (server, thread), or None when disabled (0).

    A busy port is logged, not fatal: a worker that runs runbooks without metrics beats none.
    """
    if not port:
        return None
    from prometheus_client import start_http_server

    try:
        server = start_http_server(port)
    except OSError as exc:
        log.error("worker metrics not served: port %d: %s", port, exc)
        return None
    log.info("worker metrics on :%d/metrics", port)
    return server
