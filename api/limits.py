"""Request bodies bounded before they are read: a 50 MB webhook gets 413 at once, memory stays bounded.

A pure ASGI middleware: a declared Content-Length over the limit is refused before the app runs;
a chunked body is counted as it streams and refused as soon as it passes the limit, so nothing
past the limit is ever held in memory. (Starlette's RequestBodyLimitMiddleware answers a declared
oversize body in plain text, outside the one error shape; this one answers problem details.)
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem

log = logging.getLogger("runbooks.api")

MiB = 1024 * 1024
WEBHOOK_LIMIT = 16 * MiB  # Alertmanager groups of thousands of alerts fit with room
DEFAULT_LIMIT = 2 * MiB  # a runbook is at most 1,000,000 characters; Slack sends a few KB


def limit_for(path: str) -> int:
    return WEBHOOK_LIMIT if path.startswith("/api/v1/alerts/") else DEFAULT_LIMIT


class TooLargeBody(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await problem(400, "Content-Length is not a number")(scope, receive, send)
            return
        if declared is not None and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen, started = 0, False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLargeBody
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except TooLargeBody:
            if started:  # the route answered before reading it all: its answer stands
                log.info("%s %s: body passed %d bytes after the response started", scope["method"], scope["path"], limit)
                return
            await problem(413, f"request body larger than {limit} bytes")(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        await problem(413, f"request body larger than {limit} bytes (Content-Length)")(scope, receive, send)
