"""Live pages: Server-Sent Events that carry the re-rendered part of a page when it changed.

Fed by the change feed (services/live.py): when an execution is written anywhere (a decision
from Slack, REST or another browser, a step's output, a new execution), the open pages that show
it get its new HTML within a poll interval, and htmx's SSE extension swaps it in. A fragment
identical to the last one sent is not sent again; a comment every 15 s keeps proxies from closing
a quiet stream.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from api.deps import services
from api.web.render import fragment
from api.web.session import Viewer, page
from runbooks.access import Permission
from services import agents, cockpit
from services.context import Services
from services.errors import NotFound

router = APIRouter(include_in_schema=False)
KEEPALIVE = 15.0
AGENT_POLL = 2.0  # an agent's output so far is in its heartbeats (Temporal), not in the database


def digest(html: str) -> str:
    """What a page shows, in short: its SSE stream sends nothing at connect when they agree."""
    return hashlib.sha256(html.encode()).hexdigest()[:16]


def sse(event: str, html: str) -> str:
    """One SSE message: every line of the data prefixed, as the format requires."""
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in html.splitlines() or [""]) + "\n"


async def _stream(request: Request, svc: Services, event: str, render: Callable[[], Awaitable[str]],
                  concerns: Callable[[set[str]], bool], shown: str,
                  polling: Callable[[], bool] = lambda: False) -> AsyncIterator[str]:
    """Render again on each change that concerns the page; while `polling()` (something shown is not
    in the database, like an agent's output so far) also every AGENT_POLL seconds."""
    assert svc.live is not None
    async with svc.live.subscribe() as changes:
        last = await render()  # what changed between the page's load and this connection is not missed
        yield "retry: 1000\n\n" + (sse(event, last) if digest(last) != shown else "")
        while not await request.is_disconnected():
            try:
                changed = await asyncio.wait_for(changes.get(), AGENT_POLL if polling() else KEEPALIVE)
            except asyncio.TimeoutError:
                if not polling():
                    yield ": keep-alive\n\n"
                    continue
                changed = None
            if changed is not None and not concerns(changed):
                continue
            html = await render()
            if html != last:
                last = html
                yield sse(event, html)
            elif changed is None:
                yield ": keep-alive\n\n"  # polled, nothing new: still say the stream is alive


async def now_fragment(svc: Services, viewer: Viewer) -> str:
    mine, others = await cockpit.now(svc, viewer.principal)
    return fragment("_now_list.html", viewer=viewer, mine=mine, others=others)


def execution_fragment(viewer: Viewer, shown: cockpit.ExecutionPage, error: dict | None = None) -> str:
    return fragment("_execution_live.html", viewer=viewer, page=shown, error=error or {})


def _events(stream: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/live/now")
async def live_now(request: Request, shown: str = "", viewer: Viewer = Depends(page(Permission.read, stream=True)),
                   svc: Services = Depends(services)) -> StreamingResponse:
    async def render() -> str:
        return await now_fragment(svc, viewer)

    return _events(_stream(request, svc, "now", render, lambda changed: True, shown))


@router.get("/live/executions/{execution_id}")
async def live_execution(request: Request, execution_id: str, shown: str = "", viewer: Viewer = Depends(page(Permission.read, stream=True)),
                         svc: Services = Depends(services)) -> StreamingResponse:
    if await asyncio.to_thread(svc.store.execution_status, execution_id) is None:
        raise NotFound(f"no execution {execution_id!r}")

    on_agent = [False]

    async def render() -> str:
        shown_page = await cockpit.execution_page(svc, viewer.principal, execution_id)
        on_agent[0] = any(agents.on_agent(c.step.target, c.step.status) for c in shown_page.steps)
        return execution_fragment(viewer, shown_page)

    return _events(_stream(request, svc, "execution", render, lambda changed: execution_id in changed, shown,
                           polling=lambda: on_agent[0]))
