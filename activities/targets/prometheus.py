"""The `prometheus` target kind: a verify step's PromQL query, asked of PROMETHEUS_URL.

The check passes when the query returns nothing (the condition it describes is gone): exit code 0;
otherwise 1, with the series it returned in the output. A query Prometheus refuses, or a Prometheus
that does not answer, is an error. `Verify: within ... every ...` asks again until it passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from runbooks.contract import CommandResult, RenderedCommand
from runbooks.settings import Settings
from runbooks.targets import Target

SHOWN = 20  # series listed in the output


def _series(item: dict) -> str:
    labels = item.get("metric") or {}
    name = labels.pop("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    value = (item.get("value") or [None, "?"])[1]
    return f"{name}{{{inner}}} {value}"


class PrometheusExecutor:
    def __init__(self, settings: Settings) -> None:
        self.url = (settings.prometheus_url or "").rstrip("/")

    def run(self, target: Target, command: RenderedCommand, timeout: float,
            heartbeat: Callable[[], None], progress: Callable[[str], None] | None = None) -> CommandResult:
        started = time.monotonic()

        def failed(error: str) -> CommandResult:
            return CommandResult(exit_code=None, error=error, duration_seconds=time.monotonic() - started)

        if not self.url:
            return failed("PROMETHEUS_URL is not set: a PromQL verify step has no Prometheus to ask")
        heartbeat()
        try:
            resp = httpx.get(f"{self.url}/api/v1/query", params={"query": command.script},
                             timeout=min(max(timeout, 1.0), 30.0))
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            return failed(f"Prometheus at {self.url} did not answer: {exc}")
        if body.get("status") != "success":
            return failed(f"Prometheus refused the query: {body.get('errorType', resp.status_code)}: "
                          f"{body.get('error', resp.text[:300])}")
        data = body.get("data") or {}
        result = data.get("result") or []
        if data.get("resultType") == "scalar" or not isinstance(result, list):
            return failed("the query returns a scalar: a verify query selects series (empty when all is well)")
        took = time.monotonic() - started
        if not result:
            return CommandResult(exit_code=0, output="the query returns nothing: verified\n", duration_seconds=took)
        listed = "\n".join(_series(dict(item)) for item in result[:SHOWN])
        more = f"\n... and {len(result) - SHOWN} more" if len(result) > SHOWN else ""
        return CommandResult(exit_code=1, output=f"still {len(result)} series:\n{listed}{more}\n",
                             duration_seconds=took)
