"""Notion as a runbook source, read through the official API with the maintained `notion-client`.

`spec.database` names either a database (its pages are the runbooks) or a page (it and the pages
below it, a page tree: how teams without a database keep runbooks). notion-client 3.x speaks API
version 2025-09-03, where a database holds data sources and pages are queried per data source:
`GET /v1/databases/{id}` then `POST /v1/data_sources/{id}/query`; a page is `GET /v1/pages/{id}` and
its content `GET /v1/blocks/{id}/children`, one level per call, so nested blocks cost a call each.

A page's blocks are measured as they arrive and reading stops past MAX_PAGE_BYTES, so one huge page
can neither exhaust memory nor become a runbook. Failures that concern the whole connection (token,
unknown id, Notion unreachable) raise `ConnectionFailed` with one line and never the token; a page
that fails on its own comes back `refused`, so a full sync does not mistake it for a deleted page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
from notion_client import Client
from notion_client.errors import APIResponseError, HTTPResponseError, NotionClientErrorBase, RequestTimeoutError

from runbooks.connections.base import MAX_PAGE_BYTES, ConnectionFailed, ConnectionSpec, SourcePage
from runbooks.connections.notion_blocks import UnreadableBlocks, blocks_to_markdown, plain_text, unreadable_page
from runbooks.model import slugify

MAX_BLOCK_DEPTH = 12  # nested blocks below this are not fetched (Notion's UI rarely goes past a few levels)
MAX_TREE_DEPTH = 20  # child pages deeper than this in a page tree are not read
PAGE_SIZE = 100  # Notion's maximum per request
_LOG = logging.getLogger(__name__)


class _TooLarge(Exception):
    def __init__(self, size: int):
        self.size = size


class _PageFailed(Exception):
    """One page could not be read (Notion answered an error for it); the others still can."""


def pages(spec: ConnectionSpec) -> Iterator[SourcePage]:
    """Every page of the database, or of the page tree, that `spec.database` names, as runbook Markdown."""
    if spec.kind != "notion":
        raise ConnectionFailed(f"not a Notion connection: {spec.kind}")
    root = (spec.database or "").strip()
    if not root:
        raise ConnectionFailed("the Notion connection needs a database id or a page id")
    reader = _Reader(spec)
    try:
        yield from reader.read(root)
    finally:
        reader.close()


class _Reader:
    """One sync's client and the pages already yielded (a page reached twice in a tree is read once)."""

    def __init__(self, spec: ConnectionSpec):
        self.spec = spec
        self._secret = spec.token.get_secret_value()
        base = spec.base_url.rstrip("/")
        base = base.removesuffix("/v1")  # the client adds /v1/ itself; people often paste the versioned root
        self.client = Client(auth=self._secret, base_url=base,
                             timeout_ms=max(1, int(spec.timeout_seconds * 1000)), logger=_LOG,
                             log_level=logging.ERROR)  # its failures come back as ConnectionFailed or refused
        self.seen: set[str] = set()

    def close(self) -> None:
        self.client.close()

    def read(self, root: str) -> Iterator[SourcePage]:
        """A database id reads its pages; anything else is tried as a page id, the root of a tree."""
        try:
            database = self.client.databases.retrieve(database_id=root)
        except APIResponseError as exc:
            if exc.code not in ("object_not_found", "validation_error"):  # a page id: 400 "is a page, not a database"
                raise self._failed(exc, root) from None
            database = None
        except Exception as exc:
            raise self._failed(exc, root) from None
        if database is not None:
            yield from self._database(database, root)
            return
        try:
            page = self.client.pages.retrieve(page_id=root)
        except Exception as exc:
            raise self._failed(exc, root) from None
        yield from self._tree(page, 0)

    # --- listing --------------------------------------------------------------------------------------

    def _database(self, database: dict[str, Any], what: str) -> Iterator[SourcePage]:
        for source in database.get("data_sources") or []:
            cursor: str | None = None
            while True:
                try:
                    answer = self.client.data_sources.query(data_source_id=source["id"], page_size=PAGE_SIZE,
                                                            start_cursor=cursor)
                except Exception as exc:
                    raise self._failed(exc, what) from None
                for page in answer.get("results") or []:
                    if page.get("object") == "page":
                        yield from self._one(page)
                cursor = answer.get("next_cursor")
                if not answer.get("has_more") or not cursor:
                    break

    def _tree(self, page: dict[str, Any], depth: int) -> Iterator[SourcePage]:
        """The page, then the pages below it (child pages and inline databases), depth first."""
        children: list[tuple[str, str]] = []
        yield from self._one(page, children)
        if depth >= MAX_TREE_DEPTH:
            return
        for kind, ident in children:
            if kind == "child_page":
                try:
                    child = self.client.pages.retrieve(page_id=ident)
                except APIResponseError as exc:
                    if exc.code == "unauthorized":
                        raise self._failed(exc, ident) from None
                    continue  # not shared with the integration, or trashed meanwhile
                except Exception as exc:
                    raise self._failed(exc, ident) from None
                yield from self._tree(child, depth + 1)
            else:
                try:
                    database = self.client.databases.retrieve(database_id=ident)
                except APIResponseError as exc:
                    if exc.code == "unauthorized":
                        raise self._failed(exc, ident) from None
                    continue
                except Exception as exc:
                    raise self._failed(exc, ident) from None
                yield from self._database(database, ident)

    # --- one page -------------------------------------------------------------------------------------

    def _one(self, page: dict[str, Any], children: list[tuple[str, str]] | None = None) -> Iterator[SourcePage]:
        page_id = str(page.get("id") or "")
        if not page_id or page_id in self.seen or page.get("in_trash") or page.get("archived"):
            return
        self.seen.add(page_id)
        title = _title(page)
        prefix = self.spec.title_prefix
        if prefix and not title.startswith(prefix) and children is None:
            return  # in a database nothing lies below a page: no need to read what is filtered out
        base = dict(key=page_id, title=title, url=str(page.get("url") or ""),
                    version=str(page.get("last_edited_time") or ""),
                    author=(page.get("last_edited_by") or {}).get("id"),
                    runbook_id=f"notion/{slugify(title or page_id)}")
        wanted = not prefix or title.startswith(prefix)
        try:
            blocks = self._blocks(page_id, 0, [0], children)
        except _TooLarge as big:
            if wanted:
                yield SourcePage(**base, text="", refused=f"page is over {_megabytes(big.size)} MB; "
                                                          f"the limit is {MAX_PAGE_BYTES // (1024 * 1024)} MB")
            return
        except _PageFailed as exc:
            if wanted:
                yield SourcePage(**base, text="", refused=str(exc))
            return
        if not wanted:
            return
        try:
            text = blocks_to_markdown(title, blocks)
        except (UnreadableBlocks, RecursionError) as exc:
            reason = str(exc) if isinstance(exc, UnreadableBlocks) else "blocks nested too deeply"
            yield SourcePage(**base, text=unreadable_page(title, plain_text(blocks), reason), unreadable=reason)
            return
        yield SourcePage(**base, text=text)

    def _blocks(self, block_id: str, depth: int, size: list[int],
                children: list[tuple[str, str]] | None) -> list[dict[str, Any]]:
        """The block's children, each with its own under `children`; `size` counts the bytes read for the page."""
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            try:
                answer = self.client.blocks.children.list(block_id=block_id, page_size=PAGE_SIZE, start_cursor=cursor)
            except APIResponseError as exc:
                if exc.code in ("unauthorized", "rate_limited"):
                    raise self._failed(exc, block_id) from None
                raise _PageFailed(f"could not be read: Notion answered {exc.status} {exc.code}") from None
            except Exception as exc:
                raise self._failed(exc, block_id) from None
            results = answer.get("results") or []
            size[0] += len(json.dumps(results, ensure_ascii=False).encode())
            if size[0] > MAX_PAGE_BYTES:
                raise _TooLarge(size[0])
            out += results
            cursor = answer.get("next_cursor")
            if not answer.get("has_more") or not cursor:
                break
        for block in out:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind in ("child_page", "child_database"):
                if children is not None and isinstance(block.get("id"), str):
                    children.append((str(kind), block["id"]))
            elif block.get("has_children") and depth + 1 < MAX_BLOCK_DEPTH and isinstance(block.get("id"), str):
                block["children"] = self._blocks(block["id"], depth + 1, size, children)
        return out

    # --- failures -------------------------------------------------------------------------------------

    def _failed(self, exc: BaseException, what: str) -> ConnectionFailed:
        """One line naming the problem; the token is never in it, whatever the error says."""
        where = self.spec.base_url.rstrip("/")
        if isinstance(exc, RequestTimeoutError) or isinstance(exc, httpx.TimeoutException):
            line = f"Notion at {where} did not answer within {self.spec.timeout_seconds:g} s"
        elif isinstance(exc, APIResponseError) and exc.code == "unauthorized":
            line = "Notion refused the token (401 unauthorized): check the integration's token"
        elif isinstance(exc, APIResponseError) and exc.code == "object_not_found":
            line = (f"Notion has no database or page {what} that the integration can see (404 object_not_found): "
                    f"check the id and share the page or database with the integration")
        elif isinstance(exc, APIResponseError) and exc.code == "restricted_resource":
            line = f"the integration may not read {what} (403 restricted_resource): give it read content access"
        elif isinstance(exc, HTTPResponseError):
            line = f"Notion answered {exc.status} {exc.code} for {what}: {exc}"
        elif isinstance(exc, httpx.TransportError):
            line = f"cannot reach Notion at {where}: {type(exc).__name__}: {exc}"
        elif isinstance(exc, NotionClientErrorBase):
            line = f"Notion client error for {what}: {exc}"
        else:
            line = f"reading Notion failed for {what}: {type(exc).__name__}: {exc}"
        return ConnectionFailed(self._scrub(line))

    def _scrub(self, text: str) -> str:
        text = " ".join(text.split())
        return text.replace(self._secret, "***") if self._secret else text


def _title(page: dict[str, Any]) -> str:
    """The text of the page's `title`-type property (whatever the database calls it)."""
    for prop in (page.get("properties") or {}).values():
        if isinstance(prop, dict) and prop.get("type") == "title":
            return "".join(str(r.get("plain_text") or "") for r in prop.get("title") or [] if isinstance(r, dict))
    return ""


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
