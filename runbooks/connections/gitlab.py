"""GitLab (gitlab.com or self-managed) as a runbook source: push webhooks in, REST API v4 reads out.

A push webhook is trusted only when `X-Gitlab-Token` equals the configured secret; what it changed
is then read at the pushed commit, never at the moving branch tip. A full sync pins the branch to
one commit first, then follows GitLab's `X-Next-Page` through the tree listing.
`spec.base_url` is the instance root (https://gitlab.com); `spec.repo` a project path or numeric id.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from runbooks.connections.base import ConnectionFailed, ConnectionSpec, SourcePage
from runbooks.connections.git_push import (
    FileTooLarge, HostApi, Push, ZERO_SHA, blob_sha, file_page, header, is_runbook, net_changes, refused_page,
)

HOST = "GitLab"
_SHA = re.compile(r"[0-9a-f]{40}")


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """True when `X-Gitlab-Token` equals `secret` (constant time). GitLab does not sign the body."""
    given = header(headers, "X-Gitlab-Token")
    if not secret or given is None:
        return False
    return hmac.compare_digest(secret.encode(), given.encode("utf-8", "replace"))


def parse_push(headers: Mapping[str, str], payload: dict[str, Any]) -> Push | None:
    """The push a webhook describes; None for other events, tag pushes and malformed payloads.

    GitLab lists at most 20 commits (`total_commits_count` says how many there were), and none at
    all for a push touching many refs; a shortened list, or a new branch, asks for a resync.
    """
    event = header(headers, "X-Gitlab-Event")
    if (event is not None and event != "Push Hook") or payload.get("object_kind") != "push":
        return None
    ref, after, before = payload.get("ref"), payload.get("after"), payload.get("before")
    if not isinstance(ref, str) or not ref.startswith("refs/heads/") or not isinstance(after, str):
        return None
    before = before if isinstance(before, str) else ZERO_SHA
    commits = [c for c in payload.get("commits") or [] if isinstance(c, dict)]
    added, modified, removed = net_changes(commits)
    deleted = after == ZERO_SHA
    total = payload.get("total_commits_count")
    shortened = isinstance(total, int) and total > len(commits)
    author = next((n for n in (payload.get("user_username"), payload.get("user_name")) if isinstance(n, str) and n),
                  None)
    return Push(branch=ref.removeprefix("refs/heads/"), commit=after, before=before, author=author,
                added=added, modified=modified, removed=removed, deleted=deleted,
                resync=not deleted and (before == ZERO_SHA or shortened))


def fetch(spec: ConnectionSpec, path: str, ref: str) -> str | None:
    """The file's text at `ref` (branch, tag or sha); None when absent. Over MAX_PAGE_BYTES: FileTooLarge."""
    with _api(spec) as api:
        data = _read(api, spec, path, ref)
    return None if data is None else data.decode("utf-8", errors="replace")


def protected(spec: ConnectionSpec, branch: str) -> bool:
    """Whether GitLab protects `branch`, by its own name or by a wildcard rule (`release/*`).

    `protected_branches/:name` knows only rules by exact name, so a 404 there is confirmed with the
    branch itself, whose `protected` field applies wildcard rules too; a missing branch is unprotected.
    """
    with _api(spec) as api:
        if api.get(f"/projects/{_project(spec)}/protected_branches/{quote(branch, safe='')}",
                   missing_ok=True) is not None:
            return True
        response = api.get(f"/projects/{_project(spec)}/repository/branches/{quote(branch, safe='')}",
                           missing_ok=True)
    return bool(response is not None and response.json().get("protected"))


def page(spec: ConnectionSpec, path: str, ref: str) -> SourcePage | None:
    """One file at `ref` (the pushed commit) as a SourcePage; None when it is not there.

    The version is the git blob sha computed from the bytes: what a full sync reads from the tree.
    """
    with _api(spec) as api:
        url = _web_root(api, spec) + _blob_path(path, ref)
        try:
            data = _read(api, spec, path, ref)
        except FileTooLarge as exc:
            return refused_page(spec, path, url, ref, str(exc))
    if data is None:
        return None
    return file_page(spec, path, url, blob_sha(data), data)


def pages(spec: ConnectionSpec, ref: str | None = None) -> Iterator[SourcePage]:
    """Every runbook file under `spec.subdir` at one commit: the tip of `ref` (default: `spec.branch`).

    GitLab's tree gives no sizes, so a file over MAX_PAGE_BYTES is refused while it is read.
    """
    label = ref or spec.branch
    with _api(spec) as api:
        commit = _commit(api, spec, label)
        root = _web_root(api, spec)
        for path, sha in _blobs(api, spec, commit):
            url = root + _blob_path(path, label)
            try:
                data = _read(api, spec, path, commit)
            except FileTooLarge as exc:
                yield refused_page(spec, path, url, sha, str(exc))
                continue
            if data is not None:
                yield file_page(spec, path, url, sha, data)


def _api(spec: ConnectionSpec) -> HostApi:
    if not spec.repo:
        raise ConnectionFailed("GitLab connection has no project (group/project path or id)")
    root = spec.base_url.rstrip("/").removesuffix("/api/v4") + "/api/v4"
    return HostApi(spec, HOST, {"PRIVATE-TOKEN": spec.token.get_secret_value()}, root)


def _project(spec: ConnectionSpec) -> str:
    return quote((spec.repo or "").strip("/"), safe="")


def _read(api: HostApi, spec: ConnectionSpec, path: str, ref: str) -> bytes | None:
    return api.read(f"/projects/{_project(spec)}/repository/files/{quote(path, safe='')}/raw", {"ref": ref})


def _web_root(api: HostApi, spec: ConnectionSpec) -> str:
    """The project's web address: from the path, or asked of GitLab when the project is a numeric id."""
    repo = (spec.repo or "").strip("/")
    if not repo.isdigit():
        return f"{spec.base_url.rstrip('/').removesuffix('/api/v4')}/{quote(repo, safe='/')}"
    response = api.get(f"/projects/{repo}")
    assert response is not None
    return str(response.json()["web_url"]).rstrip("/")


def _blob_path(path: str, ref: str) -> str:
    return f"/-/blob/{quote(ref, safe='/')}/{quote(path, safe='/')}"


def _commit(api: HostApi, spec: ConnectionSpec, ref: str) -> str:
    """The commit sha `ref` names now; a missing branch and a missing project say which."""
    if _SHA.fullmatch(ref):
        return ref
    response = api.get(f"/projects/{_project(spec)}/repository/branches/{quote(ref, safe='')}", missing_ok=True)
    if response is None:
        api.get(f"/projects/{_project(spec)}")  # raises "no repository" when that is the cause
        raise ConnectionFailed(f"GitLab project {spec.repo} has no branch {ref!r} (404)")
    return str(response.json()["commit"]["id"])


def _blobs(api: HostApi, spec: ConnectionSpec, commit: str) -> Iterator[tuple[str, str]]:
    """(path, blob sha) of every runbook file at `commit`, sorted by path, following `X-Next-Page`.

    A configured folder that is not there fails rather than yielding nothing: an empty sync could
    otherwise read as "every runbook was deleted".
    """
    params: dict[str, str | int] = {"recursive": "true", "ref": commit, "per_page": 100, "page": 1}
    subdir = spec.subdir.strip("/")
    if subdir:
        params["path"] = subdir
    found: list[tuple[str, str]] = []
    seen_any = False
    while True:
        response = api.get(f"/projects/{_project(spec)}/repository/tree", params, missing_ok=True)
        if response is None:
            break
        entries = response.json()
        seen_any = seen_any or bool(entries)
        found += [(e["path"], e["id"]) for e in entries if e.get("type") == "blob" and is_runbook(spec, e["path"])]
        following = response.headers.get("x-next-page", "").strip()
        if not following.isdigit():
            break
        params["page"] = int(following)
    if subdir and not seen_any:
        raise ConnectionFailed(f"GitLab project {spec.repo} has no folder {subdir!r} at {commit[:12]}")
    yield from sorted(found)
