"""GitHub (and GitHub Enterprise Server) as a runbook source: push webhooks in, REST API reads out.

A push webhook is trusted only with a valid `X-Hub-Signature-256`; what it changed is then read at
the pushed commit, never at the moving branch tip, so a later push cannot slip content into an
earlier import. A full sync pins the branch to one commit first for the same reason.
`spec.base_url` is the API root: https://api.github.com, or https://ghe.example.com/api/v3.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from runbooks.connections.base import MAX_PAGE_BYTES, ConnectionFailed, ConnectionSpec, SourcePage
from runbooks.connections.git_push import (
    FileTooLarge, HostApi, Push, ZERO_SHA, blob_sha, file_page, header, is_runbook, net_changes, refused_page,
    too_large,
)

HOST = "GitHub"
RAW = "application/vnd.github.raw+json"
JSON = "application/vnd.github+json"
MAX_COMMITS = 2048  # a webhook lists at most this many commits; at the cap, the rest are unknown
MAX_FILES = 3000  # GitHub caps each commit's file lists (documented 3000-5000); at the cap, resync
_SHA = re.compile(r"[0-9a-f]{40}")


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """True when `X-Hub-Signature-256` is the HMAC-SHA256 of the raw body under `secret` (constant time)."""
    given = header(headers, "X-Hub-Signature-256")
    if not secret or not given:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))


def parse_push(headers: Mapping[str, str], payload: dict[str, Any]) -> Push | None:
    """The push a webhook describes; None for other events (`ping`...), tag pushes and malformed payloads."""
    event = header(headers, "X-GitHub-Event")
    if event is not None and event != "push":
        return None
    ref, after, before = payload.get("ref"), payload.get("after"), payload.get("before")
    if not isinstance(ref, str) or not ref.startswith("refs/heads/") or not isinstance(after, str):
        return None
    before = before if isinstance(before, str) else ZERO_SHA
    commits = [c for c in payload.get("commits") or [] if isinstance(c, dict)]
    added, modified, removed = net_changes(commits)
    deleted = bool(payload.get("deleted")) or after == ZERO_SHA
    capped = len(commits) >= MAX_COMMITS or any(
        len(c.get(k) or []) >= MAX_FILES for c in commits for k in ("added", "modified", "removed"))
    created = bool(payload.get("created")) or before == ZERO_SHA
    return Push(branch=ref.removeprefix("refs/heads/"), commit=after, before=before, author=_author(payload),
                added=added, modified=modified, removed=removed, deleted=deleted,
                resync=not deleted and (created or bool(payload.get("forced")) or capped))


def _author(payload: dict[str, Any]) -> str | None:
    def part(value: object, key: str) -> dict[str, Any]:
        found = value.get(key) if isinstance(value, dict) else None
        return found if isinstance(found, dict) else {}

    pusher, who = part(payload, "pusher"), part(part(payload, "head_commit"), "author")
    for name in (pusher.get("name"), who.get("username"), who.get("name")):
        if isinstance(name, str) and name:
            return name
    return None


def fetch(spec: ConnectionSpec, path: str, ref: str) -> str | None:
    """The file's text at `ref` (branch, tag or sha); None when absent. Over MAX_PAGE_BYTES: FileTooLarge."""
    with _api(spec) as api:
        data = _read(api, spec, path, ref)
    return None if data is None else data.decode("utf-8", errors="replace")


def protected(spec: ConnectionSpec, branch: str) -> bool:
    """Whether GitHub protects `branch`; a branch that does not exist protects nothing."""
    with _api(spec) as api:
        response = api.get(f"/repos/{_repo(spec)}/branches/{quote(branch, safe='')}", accept=JSON, missing_ok=True)
    return bool(response is not None and response.json().get("protected"))


def page(spec: ConnectionSpec, path: str, ref: str) -> SourcePage | None:
    """One file at `ref` (the pushed commit) as a SourcePage; None when it is not there.

    The version is the file's git blob sha, computed from its bytes: the same value a full sync
    reads from the tree, so a file re-read after a push is recognised as unchanged.
    """
    url = web_url(spec, path, ref)
    with _api(spec) as api:
        try:
            data = _read(api, spec, path, ref)
        except FileTooLarge as exc:
            return refused_page(spec, path, url, ref, str(exc))
    if data is None:
        return None
    return file_page(spec, path, url, blob_sha(data), data)


def pages(spec: ConnectionSpec, ref: str | None = None) -> Iterator[SourcePage]:
    """Every runbook file under `spec.subdir` at one commit: the tip of `ref` (default: `spec.branch`).

    The branch is first resolved to a commit so that the listing and every file read agree even if
    someone pushes meanwhile. Files over MAX_PAGE_BYTES (by the tree's size) come back refused.
    """
    label = ref or spec.branch
    with _api(spec) as api:
        commit = _commit(api, spec, label)
        for path, sha, size in _blobs(api, spec, commit):
            url = web_url(spec, path, label)
            if size is not None and size > MAX_PAGE_BYTES:
                yield refused_page(spec, path, url, sha, too_large(size))
                continue
            try:
                data = _read(api, spec, path, commit)
            except FileTooLarge as exc:
                yield refused_page(spec, path, url, sha, str(exc))
                continue
            if data is not None:
                yield file_page(spec, path, url, sha, data)


def web_url(spec: ConnectionSpec, path: str, ref: str) -> str:
    """Where a person reads the file: github.com for api.github.com, the GHE host for `<host>/api/v3`."""
    parts = urlsplit(spec.base_url.rstrip("/"))
    host, route = parts.netloc, parts.path.removesuffix("/api/v3")
    if host.startswith("api."):
        host = host.removeprefix("api.")
    root = urlunsplit((parts.scheme, host, route, "", ""))
    return f"{root}/{_repo(spec)}/blob/{quote(ref, safe='/')}/{quote(path, safe='/')}"


def _api(spec: ConnectionSpec) -> HostApi:
    if not spec.repo:
        raise ConnectionFailed("GitHub connection has no repository (owner/name)")
    auth = {"Authorization": f"Bearer {spec.token.get_secret_value()}", "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "living-runbooks"}
    return HostApi(spec, HOST, auth, spec.base_url, redirects=True)  # a renamed repository answers 301


def _repo(spec: ConnectionSpec) -> str:
    return quote((spec.repo or "").strip("/"), safe="/")


def _read(api: HostApi, spec: ConnectionSpec, path: str, ref: str) -> bytes | None:
    return api.read(f"/repos/{_repo(spec)}/contents/{quote(path, safe='/')}", {"ref": ref}, accept=RAW)


def _commit(api: HostApi, spec: ConnectionSpec, ref: str) -> str:
    """The commit sha `ref` names now; a missing branch and a missing repository say which."""
    if _SHA.fullmatch(ref):
        return ref
    response = api.get(f"/repos/{_repo(spec)}/branches/{quote(ref, safe='')}", accept=JSON, missing_ok=True)
    if response is None:
        api.get(f"/repos/{_repo(spec)}", accept=JSON)  # raises "no repository" when that is the cause
        raise ConnectionFailed(f"GitHub repository {spec.repo} has no branch {ref!r} (404)")
    return str(response.json()["commit"]["sha"])


def _blobs(api: HostApi, spec: ConnectionSpec, commit: str) -> Iterator[tuple[str, str, int | None]]:
    """(path, blob sha, size) of every runbook file at `commit`, sorted by path.

    One recursive tree read usually suffices; when GitHub truncates it (very large repositories)
    the folders are walked one by one. A configured folder that is not there fails rather than
    yielding nothing: an empty sync could otherwise read as "every runbook was deleted".
    """
    body = api.get(f"/repos/{_repo(spec)}/git/trees/{commit}", {"recursive": "1"}, accept=JSON)
    assert body is not None
    tree = body.json()
    entries = _walk(api, spec, tree["sha"], "") if tree.get("truncated") else tree.get("tree", [])
    listed = [(e["path"], e["sha"], e.get("size")) for e in entries if e.get("type") == "blob"]
    subdir = spec.subdir.strip("/")
    if subdir and not any(path.startswith(subdir + "/") for path, _, _ in listed):
        raise ConnectionFailed(f"GitHub repository {spec.repo} has no folder {subdir!r} at {commit[:12]}")
    yield from sorted(entry for entry in listed if is_runbook(spec, entry[0]))


def _walk(api: HostApi, spec: ConnectionSpec, sha: str, prefix: str) -> Iterator[dict[str, Any]]:
    body = api.get(f"/repos/{_repo(spec)}/git/trees/{sha}", accept=JSON)
    assert body is not None
    subdir = spec.subdir.strip("/")
    for entry in body.json().get("tree", []):
        path = f"{prefix}{entry['path']}"
        if entry.get("type") == "tree":
            inside = not subdir or subdir == path or subdir.startswith(path + "/") or path.startswith(subdir + "/")
            if inside:
                yield from _walk(api, spec, entry["sha"], path + "/")
        else:
            yield {**entry, "path": path}
