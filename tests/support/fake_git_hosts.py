"""Local stand-ins for the GitHub and GitLab REST APIs, and the push webhooks they send.

Real HTTP servers on 127.0.0.1 (free port, a thread each), used as context managers; `url` is what a
connection's `base_url` would be. Each holds one repository with branches, commits and protected
branches, serves exactly the endpoints the connectors call, with the hosts' documented JSON shapes,
status codes and error bodies (GitLab's pagination headers included), and builds the webhook a push
would deliver. Blob shas are computed the way git does, so versions agree with the real thing.

    with FakeGitHub() as hub:
        first = hub.commit({"runbooks/disk.md": "# Disk full\n..."}, author="alice")
        second = hub.commit({"runbooks/disk.md": None}, author="bob")  # None deletes
        payload = hub.push_payload(first, second)
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, quote, unquote, urlsplit

TOKEN = "ghp_fake-token-0123456789"
ZERO = "0" * 40

Reply = tuple[int, dict[str, str], bytes]


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sign(body: bytes, secret: str) -> str:
    """GitHub's `X-Hub-Signature-256` value for a delivery of `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Commit:
    sha: str
    parent: str | None
    files: dict[str, bytes]
    author: str
    message: str
    timestamp: str
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, json.dumps(body).encode()


class _FakeGitHost:
    """A repository and an HTTP server; subclasses speak one host's API and webhook."""

    def __init__(self, repo: str, token: str):
        self.repo, self.token = repo, token
        self.commits: dict[str, Commit] = {}
        self.branches: dict[str, str] = {}
        self.protected: set[str] = set()  # branch names or wildcard rules ("release/*")
        self.requests: list[str] = []  # path?query of every request, in order
        self._lock = threading.Lock()
        self._clock = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                with fake._lock:
                    fake.requests.append(self.path)
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                status, headers, body = fake.answer(parts.path, query, self.headers)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- the repository -------------------------------------------------------------------------

    def commit(self, files: dict[str, str | bytes | None], author: str = "alice", branch: str = "main",
               message: str | None = None) -> str:
        """A new commit on `branch` (created from the default branch's tip if new); None deletes a file."""
        with self._lock:
            parent = self.branches.get(branch) or self.branches.get("main")
            tree = dict(self.commits[parent].files) if parent else {}
            added, modified, removed = [], [], []
            for path, text in files.items():
                if text is None:
                    if tree.pop(path, None) is not None:
                        removed.append(path)
                    continue
                data = text.encode() if isinstance(text, str) else text
                if path not in tree:
                    added.append(path)
                elif tree[path] != data:
                    modified.append(path)
                tree[path] = data
            self._clock += 1
            sha = hashlib.sha1(f"{parent}:{self._clock}:{sorted(tree.items())}".encode()).hexdigest()
            stamp = f"2024-05-01T10:{self._clock // 60 % 60:02d}:{self._clock % 60:02d}Z"
            self.commits[sha] = Commit(sha, parent, tree, author, message or f"change {self._clock}", stamp,
                                       added, modified, removed)
            self.branches[branch] = sha
            return sha

    def delete_branch(self, branch: str) -> None:
        self.branches.pop(branch, None)

    def between(self, before: str, after: str) -> list[Commit]:
        """The commits a push from `before` to `after` brings, oldest first."""
        found, sha = [], after
        while sha and sha != before and sha in self.commits:
            found.append(self.commits[sha])
            sha = self.commits[sha].parent or ""
        return found[::-1]

    def resolve(self, ref: str) -> Commit | None:
        sha = self.branches.get(ref, ref)
        return self.commits.get(sha)

    def is_protected(self, branch: str) -> bool:
        return any(fnmatch.fnmatchcase(branch, rule) for rule in self.protected)

    def answer(self, path: str, query: dict[str, str], headers: Any) -> Reply:
        raise NotImplementedError


class FakeGitHub(_FakeGitHost):
    """GitHub's REST API (2022-11-28) for one repository: repo, branches, contents, git trees.

    `tree_limit` makes a recursive tree listing longer than that come back `truncated`, as GitHub
    does for very large repositories.
    """

    def __init__(self, repo: str = "acme/ops", token: str = TOKEN, tree_limit: int | None = None):
        super().__init__(repo, token)
        self.tree_limit = tree_limit
        self._trees: dict[str, tuple[str, str]] = {}  # tree sha -> (commit sha, folder)

    def answer(self, path: str, query: dict[str, str], headers: Any) -> Reply:
        auth = headers.get("Authorization")
        if auth is not None and auth not in (f"Bearer {self.token}", f"token {self.token}"):
            return _json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                               "status": "401"})
        prefix = f"/repos/{self.repo}"
        if auth is None or not (path == prefix or path.startswith(prefix + "/")):
            return self._not_found()
        rest = path[len(prefix):].lstrip("/")
        with self._lock:
            if rest == "":
                return _json(200, self._repository())
            if rest.startswith("branches/"):
                return self._branch(unquote(rest.removeprefix("branches/")))
            if rest.startswith("contents/"):
                raw = "raw" in (headers.get("Accept") or "")
                return self._contents(unquote(rest.removeprefix("contents/")), query.get("ref"), raw)
            if rest.startswith("git/trees/"):
                return self._tree(unquote(rest.removeprefix("git/trees/")), "recursive" in query)
        return self._not_found()

    @staticmethod
    def _not_found(message: str = "Not Found") -> Reply:
        return _json(404, {"message": message,
                           "documentation_url": "https://docs.github.com/rest", "status": "404"})

    def _repository(self) -> dict[str, Any]:
        owner, name = self.repo.split("/", 1)
        return {"id": 1296269, "name": name, "full_name": self.repo, "private": True,
                "owner": {"login": owner, "id": 1, "type": "Organization"},
                "html_url": f"https://github.com/{self.repo}", "default_branch": "main",
                "url": f"https://api.github.com/repos/{self.repo}"}

    def _branch(self, name: str) -> Reply:
        if name not in self.branches:
            return self._not_found("Branch not found")
        commit = self.commits[self.branches[name]]
        api = f"https://api.github.com/repos/{self.repo}"
        return _json(200, {
            "name": name,
            "commit": {"sha": commit.sha, "url": f"{api}/commits/{commit.sha}",
                       "html_url": f"https://github.com/{self.repo}/commit/{commit.sha}",
                       "commit": {"message": commit.message, "tree": {"sha": self._tree_sha(commit.sha, "")},
                                  "author": {"name": commit.author, "email": f"{commit.author}@example.com",
                                             "date": commit.timestamp}},
                       "author": {"login": commit.author},
                       "parents": [{"sha": commit.parent}] if commit.parent else []},
            "_links": {"self": f"{api}/branches/{name}", "html": f"https://github.com/{self.repo}/tree/{name}"},
            "protected": self.is_protected(name),
            "protection": {"enabled": self.is_protected(name),
                           "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []}},
            "protection_url": f"{api}/branches/{name}/protection"})

    def _contents(self, path: str, ref: str | None, raw: bool) -> Reply:
        commit = self.resolve(ref or "main")
        if commit is None:
            return self._not_found(f"No commit found for the ref {ref}")
        if path not in commit.files:
            return self._not_found()
        data = commit.files[path]
        if raw:
            return 200, {"Content-Type": "application/vnd.github.raw+json; charset=utf-8"}, data
        return _json(200, {"type": "file", "encoding": "base64", "size": len(data), "name": path.rsplit("/", 1)[-1],
                           "path": path, "content": base64.b64encode(data).decode(), "sha": git_blob_sha(data)})

    def _tree_sha(self, commit: str, folder: str) -> str:
        sha = hashlib.sha1(f"tree:{commit}:{folder}".encode()).hexdigest()
        self._trees[sha] = (commit, folder)
        return sha

    def _tree(self, ref: str, recursive: bool) -> Reply:
        if ref in self._trees:
            commit_sha, folder = self._trees[ref]
        else:
            commit = self.resolve(ref)
            if commit is None:
                return self._not_found()
            commit_sha, folder = commit.sha, ""
        files = self.commits[commit_sha].files
        base = f"{folder}/" if folder else ""
        entries: dict[str, dict[str, Any]] = {}
        for path in sorted(files):
            if not path.startswith(base):
                continue
            parts = path[len(base):].split("/")
            for depth in range(1, len(parts)):  # the folders on the way
                sub = "/".join(parts[:depth])
                if recursive or depth == 1:
                    entries.setdefault(sub, {"path": sub, "mode": "040000", "type": "tree",
                                             "sha": self._tree_sha(commit_sha, base + sub)})
            if recursive or len(parts) == 1:
                rel = "/".join(parts)
                sha = git_blob_sha(files[path])
                entries[rel] = {"path": rel, "mode": "100644", "type": "blob", "sha": sha, "size": len(files[path]),
                                "url": f"https://api.github.com/repos/{self.repo}/git/blobs/{sha}"}
        listed = sorted(entries.values(), key=lambda e: e["path"])
        truncated = recursive and self.tree_limit is not None and len(listed) > self.tree_limit
        sha = self._tree_sha(commit_sha, folder)
        return _json(200, {"sha": sha, "url": f"https://api.github.com/repos/{self.repo}/git/trees/{sha}",
                           "tree": listed[: self.tree_limit] if truncated else listed, "truncated": truncated})

    # --- webhooks ----------------------------------------------------------------------------------

    def push_payload(self, before: str, after: str, *, branch: str = "main", pusher: str | None = None,
                     ref: str | None = None, forced: bool = False) -> dict[str, Any]:
        """The `push` webhook GitHub delivers when `branch` moves from `before` to `after` (ZERO: created/deleted)."""
        commits = [] if after == ZERO else [self._hook_commit(c) for c in self.between(before, after)]
        who = pusher or (commits[-1]["author"]["username"] if commits else "alice")
        return {
            "ref": ref or f"refs/heads/{branch}", "before": before, "after": after,
            "created": before == ZERO, "deleted": after == ZERO, "forced": forced, "base_ref": None,
            "compare": f"https://github.com/{self.repo}/compare/{before[:12]}...{after[:12]}",
            "commits": commits, "head_commit": commits[-1] if commits else None,
            "repository": {**self._repository(), "pushed_at": 1714557600},
            "pusher": {"name": who, "email": f"{who}@example.com"},
            "sender": {"login": who, "id": 583231, "type": "User"},
        }

    def _hook_commit(self, commit: Commit) -> dict[str, Any]:
        person = {"name": commit.author.title(), "email": f"{commit.author}@example.com", "username": commit.author}
        return {"id": commit.sha, "tree_id": self._tree_sha(commit.sha, ""), "distinct": True,
                "message": commit.message, "timestamp": commit.timestamp,
                "url": f"https://github.com/{self.repo}/commit/{commit.sha}", "author": person, "committer": person,
                "added": list(commit.added), "removed": list(commit.removed), "modified": list(commit.modified)}

    @staticmethod
    def ping_payload() -> dict[str, Any]:
        return {"zen": "Keep it logically awesome.", "hook_id": 109948940,
                "hook": {"type": "Repository", "id": 109948940, "name": "web", "active": True, "events": ["push"],
                         "config": {"content_type": "json", "insecure_ssl": "0", "url": "https://example.com/hook"}}}

    @staticmethod
    def headers(body: bytes, secret: str, event: str = "push") -> dict[str, str]:
        """The headers of a delivery of `body`, signed with `secret`."""
        return {"X-GitHub-Event": event, "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                "X-Hub-Signature-256": sign(body, secret), "Content-Type": "application/json",
                "User-Agent": "GitHub-Hookshot/044aadd"}


class FakeGitLab(_FakeGitHost):
    """GitLab's REST API v4 for one project: project, branches, protected branches, raw files, tree."""

    def __init__(self, repo: str = "acme/ops", token: str = "glpat-fake-token-0123", project_id: int = 42):
        super().__init__(repo, token)
        self.project_id = project_id

    def answer(self, path: str, query: dict[str, str], headers: Any) -> Reply:
        given = headers.get("PRIVATE-TOKEN") or (headers.get("Authorization") or "").removeprefix("Bearer ") or None
        if given is not None and given != self.token:
            return _json(401, {"message": "401 Unauthorized"})
        parts = path.split("/")  # "", "api", "v4", "projects", id, ...
        if parts[:4] != ["", "api", "v4", "projects"] or len(parts) < 5:
            return _json(404, {"error": "404 Not Found"})
        if given is None or unquote(parts[4]) not in (self.repo, str(self.project_id)):
            return _json(404, {"message": "404 Project Not Found"})
        rest = parts[5:]
        with self._lock:
            if not rest:
                return _json(200, self._project())
            if rest[:2] == ["repository", "branches"] and len(rest) > 2:
                return self._branch(unquote("/".join(rest[2:])))
            if rest[0] == "protected_branches" and len(rest) > 1:
                return self._protected(unquote("/".join(rest[1:])))
            if rest[:2] == ["repository", "files"] and len(rest) == 4 and rest[3] == "raw":
                return self._raw(unquote(rest[2]), query.get("ref"))
            if rest == ["repository", "tree"]:
                return self._tree(query)
        return _json(404, {"error": "404 Not Found"})

    @property
    def web_url(self) -> str:
        return f"{self.url}/{self.repo}"

    def _project(self) -> dict[str, Any]:
        namespace, _, name = self.repo.rpartition("/")
        return {"id": self.project_id, "name": name, "path": name, "path_with_namespace": self.repo,
                "name_with_namespace": f"{namespace} / {name}", "default_branch": "main", "web_url": self.web_url,
                "http_url_to_repo": f"{self.web_url}.git", "visibility": "private"}

    def _branch(self, name: str) -> Reply:
        if name not in self.branches:
            return _json(404, {"message": "404 Branch Not Found"})
        commit = self.commits[self.branches[name]]
        return _json(200, {
            "name": name, "merged": False, "protected": self.is_protected(name), "default": name == "main",
            "developers_can_push": False, "developers_can_merge": False, "can_push": True,
            "web_url": f"{self.web_url}/-/tree/{quote(name, safe='/')}",
            "commit": {"id": commit.sha, "short_id": commit.sha[:8], "created_at": commit.timestamp,
                       "parent_ids": [commit.parent] if commit.parent else [], "title": commit.message,
                       "message": commit.message, "author_name": commit.author,
                       "author_email": f"{commit.author}@example.com", "authored_date": commit.timestamp,
                       "committer_name": commit.author, "committer_email": f"{commit.author}@example.com",
                       "committed_date": commit.timestamp, "web_url": f"{self.web_url}/-/commit/{commit.sha}"}})

    def _protected(self, name: str) -> Reply:
        if name not in self.protected:  # by the rule's own name: wildcard rules are looked up as written
            return _json(404, {"message": "404 Not found"})
        level = [{"id": 1, "access_level": 40, "access_level_description": "Maintainers", "user_id": None,
                  "group_id": None}]
        return _json(200, {"id": 1, "name": name, "push_access_levels": level, "merge_access_levels": level,
                           "unprotect_access_levels": [], "allow_force_push": False,
                           "code_owner_approval_required": False})

    def _raw(self, path: str, ref: str | None) -> Reply:
        if not ref:
            return _json(400, {"error": "ref is missing"})
        commit = self.resolve(ref)
        if commit is None:
            return _json(404, {"message": "404 Commit Not Found"})
        if path not in commit.files:
            return _json(404, {"message": "404 File Not Found"})
        data = commit.files[path]
        return 200, {"Content-Type": "text/plain; charset=utf-8", "X-Gitlab-Blob-Id": git_blob_sha(data)}, data

    def _tree(self, query: dict[str, str]) -> Reply:
        commit = self.resolve(query.get("ref") or "main")
        if commit is None:
            return _json(404, {"message": "404 Tree Not Found"})
        folder = query.get("path", "").strip("/")
        base = f"{folder}/" if folder else ""
        recursive = query.get("recursive") == "true"
        entries: dict[str, dict[str, Any]] = {}
        for path in sorted(commit.files):
            if not path.startswith(base):
                continue
            parts = path[len(base):].split("/")
            for depth in range(1, len(parts)):
                if recursive or depth == 1:
                    sub = base + "/".join(parts[:depth])
                    entries.setdefault(sub, {"id": hashlib.sha1(f"tree:{commit.sha}:{sub}".encode()).hexdigest(),
                                             "name": parts[depth - 1], "type": "tree", "path": sub, "mode": "040000"})
            if recursive or len(parts) == 1:
                entries[path] = {"id": git_blob_sha(commit.files[path]), "name": parts[-1], "type": "blob",
                                 "path": path, "mode": "100644"}
        if folder and not entries:
            return _json(404, {"message": "404 Tree Not Found"})
        listed = sorted(entries.values(), key=lambda e: e["path"])
        per_page = max(1, min(int(query.get("per_page") or 20), 100))
        page_no = max(1, int(query.get("page") or 1))
        total_pages = max(1, -(-len(listed) // per_page))
        chunk = listed[(page_no - 1) * per_page: page_no * per_page]
        following = str(page_no + 1) if page_no < total_pages else ""
        return _json(200, chunk, {
            "X-Page": str(page_no), "X-Per-Page": str(per_page), "X-Next-Page": following,
            "X-Prev-Page": str(page_no - 1) if page_no > 1 else "", "X-Total": str(len(listed)),
            "X-Total-Pages": str(total_pages)})

    # --- webhooks ----------------------------------------------------------------------------------

    def push_payload(self, before: str, after: str, *, branch: str = "main", pusher: str | None = None,
                     ref: str | None = None) -> dict[str, Any]:
        """The `Push Hook` GitLab delivers when `branch` moves from `before` to `after` (ZERO: created/deleted).

        Like GitLab, it lists only the 20 most recent commits; `total_commits_count` counts them all.
        """
        pushed = [] if after == ZERO else self.between(before, after)
        who = pusher or (pushed[-1].author if pushed else "alice")
        tag = (ref or "").startswith("refs/tags/")
        project = {**self._project(), "git_http_url": f"{self.web_url}.git", "namespace": self.repo.rpartition("/")[0]}
        return {
            "object_kind": "tag_push" if tag else "push", "event_name": "tag_push" if tag else "push",
            "before": before, "after": after, "ref": ref or f"refs/heads/{branch}",
            "ref_protected": self.is_protected(branch), "checkout_sha": None if after == ZERO else after,
            "message": None, "user_id": 4, "user_name": who.title(), "user_username": who,
            "user_email": "", "user_avatar": "", "project_id": self.project_id, "project": project,
            "commits": [self._hook_commit(c) for c in pushed[-20:]], "total_commits_count": len(pushed),
            "repository": {"name": project["name"], "url": project["http_url_to_repo"],
                           "homepage": self.web_url, "visibility_level": 0},
        }

    def _hook_commit(self, commit: Commit) -> dict[str, Any]:
        return {"id": commit.sha, "message": commit.message, "title": commit.message, "timestamp": commit.timestamp,
                "url": f"{self.web_url}/-/commit/{commit.sha}",
                "author": {"name": commit.author.title(), "email": f"{commit.author}@example.com"},
                "added": list(commit.added), "modified": list(commit.modified), "removed": list(commit.removed)}

    @staticmethod
    def headers(secret: str, event: str = "Push Hook") -> dict[str, str]:
        return {"X-Gitlab-Event": event, "X-Gitlab-Token": secret, "Content-Type": "application/json",
                "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e", "User-Agent": "GitLab/17.0.0"}
