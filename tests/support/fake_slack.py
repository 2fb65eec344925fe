"""A local stand-in for the Slack Web API, spoken to by the real slack_sdk WebClient in tests.

`POST /api/<method>` on 127.0.0.1 (free port), form or JSON body, `Authorization: Bearer <token>`.
Implements what the product uses (chat.postMessage, chat.update, chat.postEphemeral, views.open,
auth.test, and conversations.replies over the threads a test puts in `threads`, two messages a page
with a `next_cursor`) with Slack's response shapes, and records every call so tests can read what
was posted.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs

TOKEN = "xoxb-test-token"


@dataclass
class Call:
    method: str
    args: dict[str, Any]


class FakeSlack:
    def __init__(self, token: str = TOKEN):
        self.token = token
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._ts = 1_700_000_000.000100
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (channel, thread ts) -> its messages
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode()
                if "json" in (self.headers.get("content-type") or ""):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks", "view", "attachments"):
                        if isinstance(args.get(key), str):
                            args[key] = json.loads(args[key])
                self._reply(self.path.rsplit("/", 1)[-1], args)

            def do_GET(self) -> None:  # noqa: N802  (slack_sdk reads conversations.* with GET)
                path, _, query = self.path.partition("?")
                self._reply(path.rsplit("/", 1)[-1], {k: v[0] for k, v in parse_qs(query).items()})

            def _reply(self, method: str, args: dict[str, Any]) -> None:
                body = fake.answer(method, args, self.headers.get("authorization", ""))
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def answer(self, method: str, args: dict[str, Any], auth: str) -> dict[str, Any]:
        if auth != f"Bearer {self.token}":
            return {"ok": False, "error": "invalid_auth"}
        with self._lock:
            self.calls.append(Call(method, args))
            self._ts += 0.0001
            ts = f"{self._ts:.6f}"
        channel = args.get("channel", "C0TEST")
        if method == "chat.postMessage":
            return {"ok": True, "channel": channel, "ts": ts,
                    "message": {"type": "message", "text": args.get("text", ""), "ts": ts}}
        if method == "chat.update":
            return {"ok": True, "channel": channel, "ts": args.get("ts"), "text": args.get("text", "")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V0TEST", **(args.get("view") or {})}}
        if method == "conversations.replies":
            found = self.threads.get((channel, str(args.get("ts"))))
            if found is None:
                return {"ok": False, "error": "thread_not_found"}
            start = int(args.get("cursor") or 0)
            more = start + 2 < len(found)
            return {"ok": True, "messages": found[start:start + 2], "has_more": more,
                    "response_metadata": {"next_cursor": str(start + 2) if more else ""}}
        if method == "auth.test":
            return {"ok": True, "user_id": "U0BOT", "team_id": "T0TEST"}
        return {"ok": False, "error": "unknown_method"}

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c.args for c in self.calls if c.method == method]

    def wait_for(self, method: str, predicate=lambda args: True, timeout: float = 10.0) -> dict[str, Any]:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for args in self.of(method):
                if predicate(args):
                    return args
            time.sleep(0.02)
        raise AssertionError(f"no {method} call matching; calls: {[c.method for c in self.calls]}")

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
