"""A local stand-in for the Notion API, spoken to by the real `notion-client` in tests.

It answers exactly what runbooks/connections/notion.py calls, in Notion's documented wire format
(API version 2025-09-03, where a database holds data sources and pages are queried per data source):

- `GET /v1/databases/{id}`: the database with its `data_sources`; a page id is a 400 `validation_error`,
  an unknown id a 404 `object_not_found`
- `POST /v1/data_sources/{id}/query`: the data source's pages (not in the trash), paginated
- `GET /v1/pages/{id}`: a page object (`properties` with its `title` property, `url`, `last_edited_time`...)
- `GET /v1/blocks/{id}/children`: a page's or block's children, paginated

Every request needs `Authorization: Bearer <token>` (else a 401 `unauthorized`) and a `Notion-Version`
header. Pages are small (`page_size`, default 3) so that every pagination is exercised. Tests add
pages as block trees in the request shape Notion documents for appending children (`paragraph(...)`,
`code(...)`, `markdown_to_blocks(...)`), change them (`last_edited_time` moves on a minute) and trash them.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

TOKEN = "secret_notion-test-token-0123456789"
USER = "7f1c3f3e-1111-4c2e-9a53-000000000001"
_EPOCH = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
_MAX_TEXT = 2000  # Notion's limit on one rich text object's content


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"object": "error", "status": status, "code": code, "message": message,
                    "request_id": str(uuid.uuid4())}


class FakeNotion:
    """Databases, pages and blocks in memory behind a real HTTP server on 127.0.0.1 (a free port)."""

    def __init__(self, token: str = TOKEN, page_size: int = 3):
        self.token = token
        self.page_size = page_size
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.versions: list[str] = []  # the Notion-Version header of every request
        self._databases: dict[str, dict[str, Any]] = {}  # database id -> {title, source, pages}
        self._sources: dict[str, str] = {}  # data source id -> database id
        self._pages: dict[str, dict[str, Any]] = {}  # page id -> page object
        self._children: dict[str, list[dict[str, Any]]] = {}  # page or block id -> its child blocks
        self._clock = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._answer("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._answer("POST")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    status, answer = _error(400, "invalid_json", "Error parsing JSON body.")
                else:
                    status, answer = fake.answer(method, self.path, dict(self.headers.items()), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        """The base URL to give notion-client (it adds `/v1/`)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what tests do to the workspace ---------------------------------------------------------------

    def add_database(self, title: str = "Runbooks", *, parent: str | None = None) -> str:
        """A database with one data source (inline in page `parent`: a `child_database` block there)."""
        db, source = str(uuid.uuid4()), str(uuid.uuid4())
        with self._lock:
            self._databases[db] = {"title": title, "source": source, "pages": []}
            self._sources[source] = db
            if parent is not None:
                self._children.setdefault(parent, []).append(self._block(
                    {"type": "child_database", "child_database": {"title": title}}, parent, self._tick(), block_id=db))
        return db

    def add_page(self, title: str, blocks: list[dict[str, Any]] | None = None, *, database: str | None = None,
                 parent: str | None = None, author: str = USER) -> str:
        """A page in `database`, under page `parent` (it shows there as a `child_page` block) or at the top."""
        page_id = str(uuid.uuid4())
        with self._lock:
            now = self._tick()
            if database is not None:
                db = self._databases[database]
                where = {"type": "data_source_id", "data_source_id": db["source"], "database_id": database}
                prop = "Name"
                db["pages"].append(page_id)
            elif parent is not None:
                where, prop = {"type": "page_id", "page_id": parent}, "title"
                self._children.setdefault(parent, []).append(self._block(
                    {"type": "child_page", "child_page": {"title": title}}, parent, now, block_id=page_id))
            else:
                where, prop = {"type": "workspace", "workspace": True}, "title"
            self._pages[page_id] = {
                "object": "page", "id": page_id, "created_time": now, "last_edited_time": now,
                "created_by": {"object": "user", "id": author}, "last_edited_by": {"object": "user", "id": author},
                "cover": None, "icon": None, "parent": where, "archived": False, "in_trash": False,
                "properties": {prop: {"id": "title", "type": "title", "title": rich_text(title)}},
                "url": f"https://www.notion.so/{re.sub(r'[^A-Za-z0-9]+', '-', title).strip('-')}-"
                       f"{page_id.replace('-', '')}",
                "public_url": None,
            }
            self._put_children(page_id, blocks or [], now)
        return page_id

    def change_page(self, page_id: str, blocks: list[dict[str, Any]] | None = None, *, title: str | None = None,
                    author: str | None = None) -> None:
        """Edit a page: new blocks and/or title; its `last_edited_time` moves on."""
        with self._lock:
            page = self._pages[page_id]
            now = self._tick()
            page["last_edited_time"] = now
            if author:
                page["last_edited_by"] = {"object": "user", "id": author}
            if title is not None:
                prop = next(iter(page["properties"].values()))
                prop["title"] = rich_text(title)
            if blocks is not None:
                kept = [b for b in self._children.get(page_id, []) if b["type"] == "child_page"]
                self._children[page_id] = []
                self._put_children(page_id, blocks, now)
                self._children[page_id] += kept

    def delete_page(self, page_id: str) -> None:
        """Move a page to the trash, as the Notion UI does: gone from queries and from its parent's blocks."""
        with self._lock:
            page = self._pages[page_id]
            page.update(archived=True, in_trash=True, last_edited_time=self._tick())
            for kids in self._children.values():
                kids[:] = [b for b in kids if b["id"] != page_id]

    # --- the API ------------------------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        url = urlsplit(target)
        path, query = url.path, {k: v[0] for k, v in parse_qs(url.query).items()}
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            self.requests.append((method, path))
            self.versions.append(lowered.get("notion-version", ""))
            if lowered.get("authorization") != f"Bearer {self.token}":
                return _error(401, "unauthorized", "API token is invalid.")
            if not lowered.get("notion-version"):
                return _error(400, "missing_version", "Notion-Version header failed validation: "
                                                      "Notion-Version header should be defined.")
            if method == "GET" and (m := re.fullmatch(r"/v1/databases/([\w-]+)", path)):
                return self._database(m.group(1))
            if method == "POST" and (m := re.fullmatch(r"/v1/data_sources/([\w-]+)/query", path)):
                return self._query(m.group(1), body)
            if method == "GET" and (m := re.fullmatch(r"/v1/pages/([\w-]+)", path)):
                page = self._pages.get(m.group(1))
                return (200, page) if page else self._not_found("page", m.group(1))
            if method == "GET" and (m := re.fullmatch(r"/v1/blocks/([\w-]+)/children", path)):
                return self._block_children(m.group(1), query)
            return _error(400, "invalid_request_url", "Invalid request URL.")

    def _database(self, db_id: str) -> tuple[int, Any]:
        db = self._databases.get(db_id)
        if db is None:
            if db_id in self._pages:
                return _error(400, "validation_error", f"Provided ID {db_id} is a page, not a database. Use the "
                                                       "retrieve page API instead, or double-check the ID.")
            return self._not_found("database", db_id)
        return 200, {"object": "database", "id": db_id, "title": rich_text(db["title"]), "description": [],
                     "is_inline": False, "in_trash": False, "parent": {"type": "workspace", "workspace": True},
                     "data_sources": [{"id": db["source"], "name": db["title"]}],
                     "url": f"https://www.notion.so/{db_id.replace('-', '')}"}

    def _query(self, source: str, body: dict[str, Any]) -> tuple[int, Any]:
        db_id = self._sources.get(source)
        if db_id is None:
            return self._not_found("data source", source)
        pages = [self._pages[p] for p in self._databases[db_id]["pages"] if not self._pages[p]["in_trash"]]
        return self._paginated(pages, body.get("start_cursor"), body.get("page_size"), "page_or_data_source")

    def _block_children(self, block_id: str, query: dict[str, str]) -> tuple[int, Any]:
        known = block_id in self._pages or any(b["id"] == block_id for kids in self._children.values() for b in kids)
        if not known or self._pages.get(block_id, {}).get("in_trash"):
            return self._not_found("block", block_id)
        return self._paginated(self._children.get(block_id, []), query.get("start_cursor"), query.get("page_size"),
                               "block")

    def _paginated(self, items: list[dict[str, Any]], cursor: str | None, size: Any, kind: str) -> tuple[int, Any]:
        try:
            wanted = int(size) if size is not None else 100
        except (TypeError, ValueError):
            wanted = 0
        if not 1 <= wanted <= 100:
            return _error(400, "validation_error", "body failed validation: page_size should be ≤ `100`.")
        start = 0
        if cursor:
            ids = [i["id"] for i in items]
            if cursor not in ids:
                return _error(400, "validation_error", f"start_cursor {cursor} is not valid.")
            start = ids.index(cursor)
        chunk = items[start : start + min(wanted, self.page_size)]
        rest = items[start + len(chunk):]
        return 200, {"object": "list", "results": chunk, "next_cursor": rest[0]["id"] if rest else None,
                     "has_more": bool(rest), "type": kind, kind: {}, "request_id": str(uuid.uuid4())}

    def _not_found(self, what: str, ident: str) -> tuple[int, Any]:
        return _error(404, "object_not_found", f"Could not find {what} with ID: {ident}. Make sure the relevant "
                                               "pages and databases are shared with your integration.")

    # --- storage ------------------------------------------------------------------------------------------

    def _tick(self) -> str:
        self._clock += 1
        return (_EPOCH + timedelta(minutes=self._clock)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def _put_children(self, parent: str, blocks: list[dict[str, Any]], now: str) -> None:
        for spec in blocks:
            block = self._block(spec, parent, now)
            self._children.setdefault(parent, []).append(block)
            payload = spec.get(str(spec.get("type")))
            kids = spec.get("children") or (payload.get("children") if isinstance(payload, dict) else None) or []
            if kids:
                block["has_children"] = True
                self._put_children(block["id"], kids, now)

    def _block(self, spec: dict[str, Any], parent: str, now: str, block_id: str | None = None) -> dict[str, Any]:
        """A stored block object from a request-shaped one; `raw=True` in the spec stores it as given."""
        kind = spec.get("type")
        payload = spec.get(kind) if isinstance(kind, str) else None
        if isinstance(payload, dict):
            payload = {k: v for k, v in payload.items() if k != "children"}
            for key in ("rich_text", "caption"):
                if isinstance(payload.get(key), list):
                    payload[key] = [_full_rich(r) for r in payload[key]]
            if isinstance(payload.get("cells"), list):  # a table_row: a list of rich texts
                payload["cells"] = [[_full_rich(r) for r in cell] if isinstance(cell, list) else cell
                                    for cell in payload["cells"]]
        ptype = "page_id" if parent in self._pages else "block_id"
        block = {"object": "block", "id": block_id or str(uuid.uuid4()), "parent": {"type": ptype, ptype: parent},
                 "created_time": now, "last_edited_time": now, "created_by": {"object": "user", "id": USER},
                 "last_edited_by": {"object": "user", "id": USER}, "has_children": False, "archived": False,
                 "in_trash": False, "type": kind}
        if isinstance(kind, str):
            block[kind] = payload
        return block


# --- block builders (Notion's request shape) --------------------------------------------------------------

def rich_text(text: str, *, bold: bool = False, italic: bool = False, code: bool = False,
              link: str | None = None) -> list[dict[str, Any]]:
    """Rich text objects for `text`, split at Notion's 2000 characters per object."""
    parts = [text[i : i + _MAX_TEXT] for i in range(0, len(text), _MAX_TEXT)] or [""]
    return [_full_rich({"type": "text", "text": {"content": p, "link": {"url": link} if link else None},
                        "annotations": {"bold": bold, "italic": italic, "code": code}}) for p in parts if p]


def _full_rich(item: dict[str, Any]) -> dict[str, Any]:
    """A response-shaped rich text object: every annotation, `plain_text` and `href`."""
    if not isinstance(item, dict) or "plain_text" in item:
        return item
    text = item.get("text") or {}
    notes = {"bold": False, "italic": False, "strikethrough": False, "underline": False, "code": False,
             "color": "default", **(item.get("annotations") or {})}
    link = (text.get("link") or {}).get("url")
    return {"type": "text", "text": {"content": text.get("content", ""), "link": text.get("link")},
            "annotations": notes, "plain_text": text.get("content", ""), "href": link}


def block(kind: str, text: str | list[dict[str, Any]] = "", children: list[dict[str, Any]] | None = None,
          **payload: Any) -> dict[str, Any]:
    """Any block with rich text: `block("callout", "Careful", icon={"type": "emoji", "emoji": "⚠️"})`."""
    body = {"rich_text": rich_text(text) if isinstance(text, str) else text, **payload}
    spec: dict[str, Any] = {"object": "block", "type": kind, kind: body}
    if children:
        spec["children"] = children
    return spec


def paragraph(text: str | list[dict[str, Any]], children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return block("paragraph", text, children)


def heading(level: int, text: str) -> dict[str, Any]:
    return block(f"heading_{level}", text)


def numbered(text: str | list[dict[str, Any]], children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return block("numbered_list_item", text, children)


def bulleted(text: str | list[dict[str, Any]], children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return block("bulleted_list_item", text, children)


def code(text: str, language: str = "shell") -> dict[str, Any]:
    return block("code", text, caption=[], language=language)


# --- Markdown -> blocks, as pasting a Markdown runbook into Notion gives ------------------------------------

_MD = MarkdownIt("commonmark").enable("table")
# fence info -> Notion's language; Notion has no PromQL or console, people pick the nearest it offers
_TO_NOTION = {"sh": "shell", "bash": "bash", "shell": "shell", "console": "shell", "zsh": "shell",
              "shell-session": "shell", "yaml": "yaml", "yml": "yaml", "json": "json", "sql": "sql",
              "python": "python", "go": "go", "": "plain text", "text": "plain text", "promql": "plain text"}


def markdown_to_blocks(markdown: str) -> tuple[str, list[dict[str, Any]]]:
    """(title, blocks) for a Markdown runbook: front matter dropped, its first `# ` heading the page title,
    the other headings one level up (`##` -> heading_1), lists with their nested blocks as children."""
    text = re.sub(r"\A---\n.*?\n---\n", "", markdown, flags=re.DOTALL)
    tokens = _MD.parse(text)
    title = ""
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag == "h1":
            title = tokens[i + 1].content
            tokens = tokens[:i] + tokens[i + 3:]
            break
    blocks, _ = _blocks(tokens, 0, None)
    return title, blocks


def _blocks(tokens: list[Token], i: int, close: str | None) -> tuple[list[dict[str, Any]], int]:
    """Blocks from tokens[i:] up to the token of type `close` at this level; returns (blocks, index after)."""
    out: list[dict[str, Any]] = []
    while i < len(tokens):
        tok = tokens[i]
        if close is not None and tok.type == close:
            return out, i + 1
        if tok.type == "heading_open":
            level = min(max(int(tok.tag[1]) - 1, 1), 3)
            out.append(block(f"heading_{level}", _inline(tokens[i + 1])))
            i += 3
        elif tok.type == "paragraph_open":
            if tokens[i + 1].content.strip():
                out.append(paragraph(_inline(tokens[i + 1])))
            i += 3
        elif tok.type in ("fence", "code_block"):
            info = tok.info.strip().split()[0].lower() if tok.info.strip() else ""
            out.append(code(tok.content.rstrip("\n"), _TO_NOTION.get(info, "plain text")))
            i += 1
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            kind = "bulleted_list_item" if tok.type == "bullet_list_open" else "numbered_list_item"
            i += 1
            while tokens[i].type == "list_item_open":
                inner, i = _blocks(tokens, i + 1, "list_item_close")
                first = inner.pop(0) if inner and inner[0]["type"] == "paragraph" else None
                out.append(block(kind, first["paragraph"]["rich_text"] if first else [], inner or None))
            i += 1  # the list's close
        elif tok.type == "blockquote_open":
            inner, i = _blocks(tokens, i + 1, "blockquote_close")
            first = inner.pop(0) if inner and inner[0]["type"] == "paragraph" else None
            out.append(block("quote", first["paragraph"]["rich_text"] if first else [], inner or None))
        elif tok.type == "hr":
            out.append({"object": "block", "type": "divider", "divider": {}})
            i += 1
        elif tok.type == "html_block":
            inner_text = re.sub(r"<[^>]+>", "", tok.content).strip()
            if inner_text:
                out.append(paragraph(inner_text))
            i += 1
        elif tok.type == "table_open":
            rows: list[dict[str, Any]] = []
            j = i
            while tokens[j].type != "table_close":
                if tokens[j].type == "tr_open":
                    cells = []
                    j += 1
                    while tokens[j].type != "tr_close":
                        if tokens[j].type == "inline":
                            cells.append(_inline(tokens[j]))
                        j += 1
                    rows.append({"object": "block", "type": "table_row", "table_row": {"cells": cells}})
                j += 1
            width = max((len(r["table_row"]["cells"]) for r in rows), default=0)
            out.append({"object": "block", "type": "table", "children": rows,
                        "table": {"table_width": width, "has_column_header": True, "has_row_header": False}})
            i = j + 1
        else:
            i += 1
    return out, i


def _inline(tok: Token) -> list[dict[str, Any]]:
    """Inline tokens -> rich text: code spans, bold, italic and links kept as annotations."""
    out: list[dict[str, Any]] = []
    bold = italic = 0
    link: str | None = None
    for child in tok.children or []:
        if child.type == "strong_open":
            bold += 1
        elif child.type == "strong_close":
            bold -= 1
        elif child.type == "em_open":
            italic += 1
        elif child.type == "em_close":
            italic -= 1
        elif child.type == "link_open":
            link = str(child.attrs.get("href") or "") or None
        elif child.type == "link_close":
            link = None
        elif child.type in ("text", "code_inline", "html_inline"):
            out += rich_text(child.content, bold=bold > 0, italic=italic > 0, code=child.type == "code_inline",
                             link=link)
        elif child.type in ("softbreak", "hardbreak"):
            out += rich_text("\n", bold=bold > 0, italic=italic > 0, link=link)
        elif child.type == "image":
            out += rich_text(child.content, link=str(child.attrs.get("src") or "") or None)
    return out
