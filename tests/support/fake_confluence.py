"""A local stand-in for Confluence Cloud's REST API v2, spoken to by the real atlassian-python-api client.

A real HTTP server on 127.0.0.1 (free port, own thread) that answers the endpoints the connector uses,
in the documented v2 wire format (https://developer.atlassian.com/cloud/confluence/rest/v2/):

- `GET /wiki/api/v2/spaces?keys=KEY` -> `{"results": [space], "_links": {"base": ...}}`
- `GET /wiki/api/v2/spaces/{id}/pages?body-format=storage&limit=N[&cursor=C]` and
  `GET /wiki/api/v2/pages?space-id=ID...` -> pages with `version.number`, `version.authorId`,
  `body.storage.value`, `spaceId`, `_links.webui`; the list's `_links.next` is a relative cursor URL
- `GET /wiki/api/v2/pages/{id}[?body-format=storage]` -> one page
- `GET /wiki/api/v2/pages/{id}/labels` and `GET /wiki/api/v2/labels/{id}/pages`

Pages are served at most `page_size` at a time (default 10, whatever `limit` asks) so pagination is
always exercised. A wrong token gets 401 with Confluence's error JSON. Tests change the space with
`add_page`, `update_page` (version + 1), `delete_page` (trashed, no longer listed) and `label`.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, quote_plus, urlencode, urlparse

EMAIL = "ops@example.com"
TOKEN = "ATATT-test-token-0123456789"
AUTHOR = "5b10ac8d82e05b22cc7d4ef5"  # an Atlassian account id


@dataclass
class Page:
    id: str
    space_id: str
    space_key: str
    title: str
    storage: str
    version: int = 1
    author: str = AUTHOR
    labels: list[str] = field(default_factory=list)
    status: str = "current"
    created_at: str = "2024-05-01T09:00:00.000Z"


@dataclass
class Space:
    id: str
    key: str
    name: str


class FakeConfluence:
    """`with FakeConfluence() as fake:` serves at `fake.url` (the site; the API is under `/wiki`)."""

    def __init__(self, email: str = EMAIL, token: str = TOKEN, page_size: int = 10):
        self.email, self.token, self.page_size = email, token, page_size
        self.spaces: dict[str, Space] = {}
        self.pages: dict[str, Page] = {}
        self.requests: list[str] = []  # path?query of every request, in order
        self._lock = threading.Lock()
        self._next_id = 65536
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the client's session reuses its connection

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()  # no Nagle: headers and body leave at once, not 40 ms apart
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:  # noqa: N802
                with fake._lock:
                    fake.requests.append(self.path)
                    status, body = fake.answer(self.path, self.headers.get("authorization", ""))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json;charset=UTF-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- lifecycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what tests change ---------------------------------------------------------------------------------
    def add_space(self, key: str, name: str | None = None) -> Space:
        with self._lock:
            if key not in self.spaces:
                self.spaces[key] = Space(self._new_id(), key, name or key)
            return self.spaces[key]

    def add_page(self, space: str, title: str, storage: str, labels: list[str] | None = None,
                 author: str = AUTHOR) -> Page:
        owner = self.add_space(space)
        with self._lock:
            page = Page(self._new_id(), owner.id, owner.key, title, storage, author=author, labels=list(labels or []))
            self.pages[page.id] = page
            return page

    def update_page(self, page_id: str, storage: str, title: str | None = None, author: str | None = None) -> Page:
        with self._lock:
            page = self.pages[page_id]
            page.storage, page.version = storage, page.version + 1
            page.title, page.author = title or page.title, author or page.author
            return page

    def delete_page(self, page_id: str) -> None:
        with self._lock:
            self.pages[page_id].status = "trashed"

    def label(self, page_id: str, *labels: str) -> None:
        with self._lock:
            page = self.pages[page_id]
            page.labels += [name for name in labels if name not in page.labels]

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    # --- the wire format -------------------------------------------------------------------------------------
    def _authorized(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip() == self.token
        if scheme.lower() == "basic":
            try:
                return base64.b64decode(value).decode() == f"{self.email}:{self.token}"
            except ValueError:
                return False
        return False

    @staticmethod
    def _error(status: int, code: str, title: str, detail: str | None = None) -> tuple[int, dict[str, Any]]:
        return status, {"errors": [{"status": status, "code": code, "title": title, "detail": detail}]}

    def answer(self, raw_path: str, authorization: str) -> tuple[int, dict[str, Any]]:
        url = urlparse(raw_path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if not self._authorized(authorization):
            return self._error(401, "UNAUTHORIZED", "Unauthorized", "Current user not permitted to use Confluence")
        parts = url.path.rstrip("/").split("/")
        if parts[:4] != ["", "wiki", "api", "v2"]:
            return self._error(404, "NOT_FOUND", "Not Found")
        route = parts[4:]
        if route == ["spaces"]:
            keys = set(",".join(parse_qs(url.query).get("keys", [])).split(",")) - {""}
            found = [s for s in self.spaces.values() if not keys or s.key in keys]
            return 200, {"results": [self._space(s) for s in found], "_links": {"base": f"{self.url}/wiki"}}
        if len(route) == 3 and route[0] == "spaces" and route[2] == "pages":
            return self._list(url.path, query, [p for p in self.pages.values() if p.space_id == route[1]])
        if route == ["pages"]:
            space_ids = set(query.get("space-id", "").split(",")) - {""}
            return self._list(url.path, query,
                              [p for p in self.pages.values() if not space_ids or p.space_id in space_ids])
        if len(route) == 2 and route[0] == "pages":
            page = self.pages.get(route[1])
            if page is None or page.status != "current":
                return self._error(404, "NOT_FOUND", "Not Found")
            return 200, self._page(page, query.get("body-format", "none"))
        if len(route) == 3 and route[0] == "pages" and route[2] == "labels":
            page = self.pages.get(route[1])
            if page is None:
                return self._error(404, "NOT_FOUND", "Not Found")
            labels = [{"id": self._label_id(name), "name": name, "prefix": "global"} for name in page.labels]
            return self._paged(url.path, query, labels, lambda item: item["id"])
        if len(route) == 3 and route[0] == "labels" and route[2] == "pages":
            pages = [p for p in self.pages.values() if any(self._label_id(n) == route[1] for n in p.labels)]
            return self._list(url.path, query, pages)
        return self._error(404, "NOT_FOUND", "Not Found")

    def _list(self, path: str, query: dict[str, str], pages: list[Page]) -> tuple[int, dict[str, Any]]:
        status = query.get("status", "current")
        wanted = [p for p in pages if status == "any" or p.status in status.split(",")]
        if query.get("title"):
            wanted = [p for p in wanted if p.title == query["title"]]
        body_format = query.get("body-format", "none")
        return self._paged(path, query, [self._page(p, body_format) for p in wanted], lambda item: item["id"])

    def _paged(self, path: str, query: dict[str, str], items: list[dict[str, Any]],
               key: Any) -> tuple[int, dict[str, Any]]:
        """Cursor pagination as Confluence does it: an opaque cursor, `_links.next` relative to the site."""
        items = sorted(items, key=lambda item: int(key(item)))
        after = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if query.get("cursor") else -1
        limit = max(1, min(int(query.get("limit") or 25), self.page_size, 250))
        rest = [item for item in items if int(key(item)) > after]
        chunk = rest[:limit]
        links: dict[str, str] = {"base": f"{self.url}/wiki"}
        if len(rest) > limit:
            cursor = base64.urlsafe_b64encode(str(key(chunk[-1])).encode()).decode()
            links["next"] = f"{path}?{urlencode({**query, 'cursor': cursor})}"
        return 200, {"results": chunk, "_links": links}

    @staticmethod
    def _label_id(name: str) -> str:
        return str(1000 + sum(ord(c) * (i + 1) for i, c in enumerate(name)))

    def _space(self, space: Space) -> dict[str, Any]:
        return {"id": space.id, "key": space.key, "name": space.name, "type": "global", "status": "current",
                "authorId": AUTHOR, "createdAt": "2024-01-01T00:00:00.000Z", "homepageId": None,
                "description": None, "icon": None, "_links": {"webui": f"/spaces/{space.key}"}}

    @staticmethod
    def _page(page: Page, body_format: str) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if body_format == "storage":
            body = {"storage": {"representation": "storage", "value": page.storage}}
        return {
            "id": page.id, "status": page.status, "title": page.title, "spaceId": page.space_id,
            "parentId": None, "parentType": None, "position": None, "authorId": AUTHOR, "ownerId": AUTHOR,
            "lastOwnerId": None, "createdAt": page.created_at,
            "version": {"createdAt": page.created_at, "message": "", "number": page.version, "minorEdit": False,
                        "authorId": page.author},
            "body": body,
            "_links": {"webui": f"/spaces/{page.space_key}/pages/{page.id}/{quote_plus(page.title)}",
                       "editui": f"/pages/resumedraft.action?draftId={page.id}", "tinyui": f"/x/{page.id}"},
        }
