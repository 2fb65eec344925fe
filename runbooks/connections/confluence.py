"""Confluence Cloud as a runbook source: the pages of one space, read through the REST API v2.

`spec.base_url` is the site (https://acme.atlassian.net, with or without `/wiki`); `spec.space` the
space key. The space key is resolved to its id (`GET /wiki/api/v2/spaces?keys=KEY`), then its pages are
read with their storage bodies (`GET /wiki/api/v2/spaces/{id}/pages?body-format=storage`), following
the `_links.next` cursor one batch at a time, so a large space is never held in memory at once.
`spec.title_prefix` keeps pages whose title starts with it (as written); `spec.label` keeps pages
carrying that label (`GET /wiki/api/v2/pages/{id}/labels`, asked only for pages the prefix kept).

The HTTP client is atlassian-python-api's `ConfluenceV2`, through its endpoint table and generic `get`
(its list helpers gather a whole listing before returning; here a listing streams). A token with a ':'
is `email:api_token` (basic auth, as Atlassian's API tokens are used), anything else a Bearer token. The
token sits in the session's auth handler, never in a header the client logs, nor in any message.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlparse

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from runbooks.connections.base import MAX_PAGE_BYTES, ConnectionFailed, ConnectionSpec, SourcePage
from runbooks.connections.confluence_storage import UnreadableStorage, storage_to_markdown, unreadable_page
from runbooks.model import slugify

BATCH = 25  # pages per request: bodies come with them, so this bounds what one answer holds
_MB = 1024 * 1024


class _Bearer(AuthBase):
    """`Authorization: Bearer ...` added as the request is sent, so it never appears in the client's logs."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def pages(spec: ConnectionSpec) -> Iterator[SourcePage]:
    """Every page of `spec.space` that passes the filters, as Markdown (or refused, or kept unreadable)."""
    if spec.kind != "confluence":
        raise ConnectionFailed(f"not a Confluence connection (kind {spec.kind!r})")
    if not (spec.space or "").strip():
        raise ConnectionFailed("a Confluence connection needs the key of the space to read (space:)")
    site = site_url(spec.base_url)
    client = _client(spec, site)
    try:
        space_id = _space_id(client, spec, site)
        for page, base in _listed(client, space_id, site, spec):
            if spec.title_prefix and not str(page.get("title") or "").startswith(spec.title_prefix):
                continue
            if spec.label and not _labelled(client, str(page["id"]), spec.label, site, spec):
                continue
            yield _source_page(page, base or site, spec)
    finally:
        client.close()


def site_url(base_url: str) -> str:
    """The Confluence site's root, ending in `/wiki` (where Cloud serves the API), however it was written."""
    site = base_url.strip().rstrip("/")
    return site if site.endswith("/wiki") else f"{site}/wiki"


def _client(spec: ConnectionSpec, site: str) -> Any:
    from atlassian import ConfluenceV2  # the maintained v2 client; imported when a Confluence sync runs

    token = spec.token.get_secret_value().strip()
    session = requests.Session()
    if ":" in token:
        email, _, api_token = token.partition(":")
        session.auth = HTTPBasicAuth(email.strip(), api_token.strip())
    else:
        session.auth = _Bearer(token)
    with warnings.catch_warnings():  # the client warns about its v1 methods on every construction; we use v2
        warnings.simplefilter("ignore", DeprecationWarning)
        client = ConfluenceV2(site, session=session, cloud=True, api_version=2)
    client.timeout = spec.timeout_seconds  # the constructor rounds it to whole seconds
    return client


def _get(client: Any, path: str, params: dict[str, Any], site: str, spec: ConnectionSpec) -> dict[str, Any]:
    """One GET; every failure becomes one line naming the site, never the token."""
    try:
        answer = client.get(path, params=params)
    except requests.HTTPError as exc:
        raise _refusal(exc, path, site) from None
    except requests.Timeout:
        raise ConnectionFailed(f"Confluence at {site} did not answer within {spec.timeout_seconds:g} s") from None
    except requests.ConnectionError as exc:
        raise ConnectionFailed(f"cannot connect to Confluence at {site} ({_why(exc)})") from None
    except requests.RequestException as exc:
        raise ConnectionFailed(f"cannot read Confluence at {site} ({type(exc).__name__})") from None
    if not isinstance(answer, dict):
        raise ConnectionFailed(f"Confluence at {site} did not answer {path} with JSON: is this the site's URL?")
    return answer


def _refusal(exc: requests.HTTPError, path: str, site: str) -> ConnectionFailed:
    response = exc.response
    status = response.status_code if response is not None else 0
    reason = (response.reason if response is not None else "") or ""
    said = f"{status} {reason}".strip()
    if status in (401, 403):
        return ConnectionFailed(f"Confluence refused the token ({said}) at {site}")
    if status == 404:
        return ConnectionFailed(f"Confluence has no {path} at {site} (404): is this the site's URL?")
    return ConnectionFailed(f"Confluence answered {said} to {path} at {site}")


def _why(exc: Exception) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "resolve" in text:
        return "unknown host"
    return type(exc).__name__


def _space_id(client: Any, spec: ConnectionSpec, site: str) -> str:
    key = (spec.space or "").strip()
    answer = _get(client, client.get_endpoint("spaces"), {"keys": key, "limit": 1}, site, spec)
    found = [s for s in answer.get("results") or [] if isinstance(s, dict) and s.get("key") == key]
    if not found:
        raise ConnectionFailed(f"Confluence has no space '{key}' that this token can see at {site}")
    return str(found[0]["id"])


def _paged(client: Any, path: str, params: dict[str, Any], site: str,
           spec: ConnectionSpec) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Each result of a v2 list with the answer's `_links.base`, following `_links.next` cursors.

    The next link is relative to the site and carries the whole query; only its query is taken, as the
    client's own pagination does, so a gateway URL (api.atlassian.com/ex/confluence/...) keeps its prefix.
    """
    while True:
        answer = _get(client, path, params, site, spec)
        links = answer.get("_links") if isinstance(answer.get("_links"), dict) else {}
        for item in answer.get("results") or []:
            if isinstance(item, dict) and item.get("id") is not None:
                yield item, links.get("base")
        following = links.get("next")
        if not following:
            return
        query = dict(parse_qsl(urlparse(str(following)).query, keep_blank_values=True))
        if not query.get("cursor") or query == params:
            return  # no way forward: stop rather than ask for the same batch again
        params = query


def _listed(client: Any, space_id: str, site: str,
            spec: ConnectionSpec) -> Iterator[tuple[dict[str, Any], str | None]]:
    path = f"{client.get_endpoint('spaces')}/{space_id}/pages"
    yield from _paged(client, path, {"body-format": "storage", "limit": BATCH}, site, spec)


def _labelled(client: Any, page_id: str, label: str, site: str, spec: ConnectionSpec) -> bool:
    wanted = label.strip().lower()
    path = client.get_endpoint("page_labels", id=page_id)
    return any(str(item.get("name") or "").lower() == wanted
               for item, _ in _paged(client, path, {"limit": 200}, site, spec))


def _source_page(page: dict[str, Any], base: str, spec: ConnectionSpec) -> SourcePage:
    """One listed page as found: refused when too large, else converted (or kept as one manual step)."""
    page_id, title = str(page["id"]), str(page.get("title") or "")
    version = page.get("version") if isinstance(page.get("version"), dict) else {}
    links = page.get("_links") if isinstance(page.get("_links"), dict) else {}
    webui = str(links.get("webui") or f"/pages/viewpage.action?pageId={page_id}")
    body = page.get("body") if isinstance(page.get("body"), dict) else {}
    value = (body.get("storage") or {}).get("value") if isinstance(body.get("storage"), dict) else None
    storage = value if isinstance(value, str) else ""
    found = SourcePage(key=page_id, title=title, url=base.rstrip("/") + webui, version=str(version.get("number", "")),
                       text="", runbook_id=runbook_id(spec.space or "", title, page_id),
                       author=str(version["authorId"]) if version.get("authorId") else None)
    size = len(storage.encode("utf-8"))
    if size > MAX_PAGE_BYTES:
        return replace(found, refused=f"page is {size / _MB:.1f} MB; the limit is {MAX_PAGE_BYTES / _MB:g} MB")
    try:
        return replace(found, text=storage_to_markdown(storage, title))
    except UnreadableStorage as exc:
        return replace(found, text=unreadable_page(title, storage, str(exc)), unreadable=str(exc))


def runbook_id(space_key: str, title: str, page_id: str) -> str:
    """`ops/host-disk-almost-full`: the space key and the title's slug, for a page seen the first time."""
    space = "".join(c for c in space_key.lower() if c.isalnum() or c in "._-") or "confluence"
    slug = slugify(title) if re.search(r"[a-z0-9]", title.lower()) else f"page-{page_id}"
    return f"{space}/{slug}"
