"""A local stand-in for the Anthropic Messages API, spoken to by the real `anthropic` SDK in tests.

`POST /v1/messages` on 127.0.0.1 (free port): checks the auth and `anthropic-version` headers, parses the
JSON body, records every request, and answers with the configured reply: a Message with a tool_use
block, an API error in the documented shape (`{"type": "error", "error": {"type", "message"}, ...}`),
a raw body, or any of these after a delay or dribbled out a byte at a time (to exercise time boxes).

The SDK sends the key as `x-api-key` in the published API docs and as `Authorization: Bearer` in recent
SDK releases; both are accepted, and the one used is recorded.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or the raw text when it was not JSON


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0  # wait this long before answering
    trickle: float = 0.0  # then send the body one byte every `trickle` seconds (defeats per-read timeouts)
    headers: dict[str, str] = field(default_factory=dict)


def message(content: list[dict[str, Any]], *, model: str = "claude-sonnet-4-5", stop_reason: str = "tool_use",
            input_tokens: int = 321, output_tokens: int = 123) -> dict[str, Any]:
    """A Message object as the API returns it."""
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def tool_use(name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": name, "input": tool_input}


def error_body(error_type: str, text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": text},
            "request_id": f"req_{uuid.uuid4().hex[:24]}"}


class FakeAnthropic:
    """Start with `with FakeAnthropic() as fake:`; point the SDK at `fake.base_url` with `fake.api_key`."""

    def __init__(self, api_key: str = "sk-ant-test-key"):
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self._replies: list[Reply] = []  # consumed in order; the last one repeats
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.reply_tool_use({"steps": []})

    # --- configuration -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def set_replies(self, *replies: Reply) -> None:
        with self._lock:
            self._replies = list(replies)

    def reply_json(self, status: int, payload: Any, *, delay: float = 0.0, trickle: float = 0.0) -> None:
        self.set_replies(Reply(status=status, body=json.dumps(payload).encode(), delay=delay, trickle=trickle))

    def reply_tool_use(self, tool_input: dict[str, Any], *, name: str = "record_steps", delay: float = 0.0,
                       trickle: float = 0.0, stop_reason: str = "tool_use") -> None:
        self.reply_json(200, message([tool_use(name, tool_input)], stop_reason=stop_reason), delay=delay,
                        trickle=trickle)

    def reply_message(self, content: list[dict[str, Any]], *, stop_reason: str = "end_turn",
                      delay: float = 0.0) -> None:
        self.reply_json(200, message(content, stop_reason=stop_reason), delay=delay)

    def reply_error(self, status: int, error_type: str, text: str = "error", *, delay: float = 0.0) -> None:
        self.reply_json(status, error_body(error_type, text), delay=delay)

    def reply_raw(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.set_replies(Reply(status=status, body=body, content_type=content_type))

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> FakeAnthropic:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-anthropic",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes delayed replies
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving -----------------------------------------------------------------------------------
    def _next_reply(self) -> Reply:
        with self._lock:
            return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]

    def _answer(self, request: RecordedRequest) -> Reply:
        """Header and body checks the real API makes, then the configured reply."""
        def err(status: int, kind: str, text: str) -> Reply:
            return Reply(status=status, body=json.dumps(error_body(kind, text)).encode())

        if request.method != "POST" or request.path.split("?")[0] != "/v1/messages":
            return err(404, "not_found_error", f"{request.method} {request.path} not found")
        h = request.headers
        if h.get("x-api-key") != self.api_key and h.get("authorization") != f"Bearer {self.api_key}":
            return err(401, "authentication_error", "invalid x-api-key")
        if not h.get("anthropic-version"):
            return err(400, "invalid_request_error", "anthropic-version: header is required")
        body = request.body
        if not isinstance(body, dict):
            return err(400, "invalid_request_error", "body is not a JSON object")
        for key in ("model", "max_tokens", "messages"):
            if key not in body:
                return err(400, "invalid_request_error", f"{key}: Field required")
        return self._next_reply()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                request = RecordedRequest(self.command, self.path,
                                          {k.lower(): v for k, v in self.headers.items()}, body)
                with fake._lock:
                    fake.requests.append(request)
                reply = fake._answer(request)
                if reply.delay and fake._stopping.wait(reply.delay):
                    return
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", reply.content_type)
                    self.send_header("content-length", str(len(reply.body)))
                    self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if not reply.trickle:
                        self.wfile.write(reply.body)
                    for i in range(len(reply.body) if reply.trickle else 0):
                        self.wfile.write(reply.body[i:i + 1])
                        self.wfile.flush()
                        if fake._stopping.wait(reply.trickle):
                            return
                except OSError:  # the client gave up (a time box fired): nothing to answer
                    self.close_connection = True

            do_POST = do_GET = _handle

        return Handler
