"""What a push to GitHub or GitLab changed, and the plumbing both connectors share.

A webhook says which files each pushed commit added, modified or removed; `Push` folds those lists
into one net change per path so that the service re-imports only what moved. Both hosts' REST APIs
are read through `HostApi`, which turns every failure (bad token, unknown repository, unreachable
host) into the one-line `ConnectionFailed` a person can act on, and refuses files over
`MAX_PAGE_BYTES` before reading them whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel, Field

from runbooks.authoring.importer import RUNBOOK_SUFFIXES, SKIPPED_NAMES
from runbooks.connections.base import MAX_PAGE_BYTES, ConnectionFailed, ConnectionSpec, SourcePage

ZERO_SHA = "0" * 40  # `before` of a branch just created, `after` of a branch deleted


class Push(BaseModel):
    """One push to one branch, as both hosts' webhooks describe it.

    `added`/`modified`/`removed` are the net effect of the pushed commits taken oldest first, where
    the last action on a path wins: added then modified counts as modified, added then removed as
    removed (removing a runbook that was never imported is a no-op), removed then added as added.
    Either way the file is re-read at `commit`, so only "read it" versus "it is gone" matters.

    `resync` says the lists cannot be trusted as the whole change (a branch just created, a force
    push, more commits than the webhook lists): read the branch in full with `pages()` instead.
    """

    branch: str
    commit: str  # the `after` sha: the branch tip once pushed
    before: str = ZERO_SHA
    author: str | None = None  # who pushed (username), else the head commit's author
    added: list[str] = Field(default_factory=list)
    modified: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    deleted: bool = False  # the branch itself was deleted (`after` is all zeros)
    resync: bool = False


def net_changes(commits: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str], list[str]]:
    """(added, modified, removed) over webhook commits, oldest first, the last action on a path winning."""
    last: dict[str, str] = {}
    for commit in commits:
        for action in ("added", "modified", "removed"):
            for path in commit.get(action) or []:
                if isinstance(path, str):
                    last.pop(path, None)  # re-insert so the dict order follows the latest action
                    last[path] = action
    by = {action: [p for p, a in last.items() if a == action] for action in ("added", "modified", "removed")}
    return by["added"], by["modified"], by["removed"]


def is_runbook(spec: ConnectionSpec, path: str) -> bool:
    """A runbook file under the connection's folder, by the importer's own rule (suffix, skipped names)."""
    pure = PurePosixPath(path)
    prefix = spec.subdir.strip("/")
    if prefix and not path.startswith(prefix + "/"):
        return False
    return pure.suffix in RUNBOOK_SUFFIXES and pure.name.lower() not in SKIPPED_NAMES


def runbook_id(spec: ConnectionSpec, path: str) -> str:
    """The id a file gets on first import: its path relative to `spec.subdir`, without the suffix."""
    prefix = spec.subdir.strip("/")
    rel = PurePosixPath(path)
    if prefix and path.startswith(prefix + "/"):
        rel = rel.relative_to(prefix)
    return rel.with_suffix("").as_posix()


def changes(spec: ConnectionSpec, push: Push) -> tuple[list[str], list[str]]:
    """(paths to (re)import at `push.commit`, paths removed), runbook files under `spec.subdir` only.

    A push to another branch changes nothing. Nor does deleting the branch: that is more often a
    slip or a rename than a wish to retire every runbook, so the service decides, not this function.
    """
    if push.branch != spec.branch or push.deleted:
        return [], []
    read = [p for p in [*push.added, *push.modified] if is_runbook(spec, p)]
    return read, [p for p in push.removed if is_runbook(spec, p)]


def blob_sha(data: bytes) -> str:
    """Git's own id of a file's content, so a file read alone has the version the tree listing gives it."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (a plain dict from a test, or a framework's headers)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


class FileTooLarge(Exception):
    """A file over MAX_PAGE_BYTES: refused before it is read whole, never imported."""


def refused_page(spec: ConnectionSpec, path: str, url: str, version: str, why: str) -> SourcePage:
    return SourcePage(key=path, title=PurePosixPath(path).stem, url=url, version=version, text="",
                      runbook_id=runbook_id(spec, path), refused=why)


def file_page(spec: ConnectionSpec, path: str, url: str, version: str, data: bytes) -> SourcePage:
    """A runbook file as read from either host; the importer reads its real title from the text."""
    return SourcePage(key=path, title=PurePosixPath(path).stem, url=url, version=version,
                      text=data.decode("utf-8", errors="replace"), runbook_id=runbook_id(spec, path))


def too_large(size: int | None = None) -> str:
    seen = f"{size} bytes" if size is not None else "more than that"
    return f"file too large ({seen}; the limit is {MAX_PAGE_BYTES} bytes)"


class HostApi:
    """A sync httpx client for one connection; every failure becomes one line, never with the token."""

    def __init__(self, spec: ConnectionSpec, host: str, auth: dict[str, str], root: str, *, redirects: bool = False):
        """`redirects` only where the auth header is one httpx drops across origins (`Authorization`)."""
        self.spec, self.host, self.root = spec, host, root.rstrip("/")
        self._secret = spec.token.get_secret_value()
        self._client = httpx.Client(headers=auth, timeout=spec.timeout_seconds, follow_redirects=redirects)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._client.close()

    def get(self, path: str, params: Mapping[str, str | int] | None = None, *, accept: str | None = None,
            missing_ok: bool = False) -> httpx.Response | None:
        """GET `root + path`; a 404 is None when `missing_ok`, any other answer but 2xx raises ConnectionFailed."""
        headers = {"Accept": accept} if accept else None
        try:
            response = self._client.get(self.root + path, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if response.status_code == 404 and missing_ok:
            return None
        if not response.is_success:
            raise ConnectionFailed(self.describe(response))
        return response

    def read(self, path: str, params: Mapping[str, str | int] | None = None, *,
             accept: str | None = None) -> bytes | None:
        """A file's bytes, streamed and capped: None on 404, FileTooLarge past MAX_PAGE_BYTES."""
        headers = {"Accept": accept} if accept else None
        try:
            with self._client.stream("GET", self.root + path, params=params, headers=headers) as response:
                if response.status_code == 404:
                    return None
                if not response.is_success:
                    response.read()
                    raise ConnectionFailed(self.describe(response))
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > MAX_PAGE_BYTES:
                    raise FileTooLarge(too_large(int(length)))
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_PAGE_BYTES:
                        raise FileTooLarge(too_large())
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None

    def describe(self, response: httpx.Response) -> str:
        """One line for a refusal: who refused what, with the host's own reason."""
        status = response.status_code
        reason = self._clean(self.message(response) or response.reason_phrase)
        if status in (401, 403):
            if status == 403 and response.headers.get("x-ratelimit-remaining") == "0":
                return f"{self.host} rate limit reached for {self.spec.repo} ({status} {reason})"
            return f"{self.host} refused the token ({status} {reason})"
        if status == 404:
            return f"{self.host} has no repository {self.spec.repo!r} this token can read ({status} {reason})"
        return f"{self.host} answered {status} for {self.spec.repo} ({reason})"

    @staticmethod
    def message(response: httpx.Response) -> str:
        """The host's error text: GitHub and GitLab both answer {"message": ...} (GitLab may prefix the status)."""
        try:
            body = json.loads(response.content[:4096] or b"null")
        except ValueError:
            return ""
        if not isinstance(body, dict):
            return ""
        text = body.get("message") or body.get("error_description") or body.get("error") or ""
        text = text if isinstance(text, str) else json.dumps(text)
        head, _, rest = text.partition(" ")
        return rest if head == str(response.status_code) and rest else text

    def _clean(self, text: str) -> str:
        """One line, short, with the token cut out should a host ever echo it."""
        line = " ".join(text.split())
        if self._secret:
            line = line.replace(self._secret, "***")
        return line[:200]

    def _unreachable(self, exc: httpx.HTTPError) -> ConnectionFailed:
        where = f"{self.host} at {self.root}"
        if isinstance(exc, httpx.TimeoutException):
            return ConnectionFailed(f"{where} did not answer within {self.spec.timeout_seconds:g}s")
        if isinstance(exc, httpx.ConnectError):
            return ConnectionFailed(f"cannot reach {where} ({self._clean(str(exc)) or 'connection refused'})")
        return ConnectionFailed(f"{where} failed: {self._clean(str(exc)) or type(exc).__name__}")
