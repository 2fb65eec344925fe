"""What every connector gives back, whatever the system behind it.

A connector reads; it never stores. It yields one `SourcePage` per page (or file) it finds,
already converted to Markdown, so that the importer, the linter and the review rules treat a
Confluence page exactly like a pasted file. A page it cannot convert still comes back, as a
runbook of one manual step holding the original text (`unreadable` says why); a page too large to
read comes back `refused`. A connection that cannot be read at all (bad token, unknown space)
raises `ConnectionFailed` with one line a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

MAX_PAGE_BYTES = 10 * 1024 * 1024  # a page larger than this is refused, never read into a runbook

Kind = Literal["confluence", "notion", "github", "gitlab"]


class ConnectionFailed(Exception):
    """The connection as a whole cannot be read; the message is one line, never the token."""


class ConnectionSpec(BaseModel):
    """One configured connection, with its token resolved (the token never leaves this object)."""

    kind: Kind
    base_url: str
    token: SecretStr
    space: str | None = None  # Confluence: space key
    database: str | None = None  # Notion: a database id, or a page id whose tree is read
    repo: str | None = None  # GitHub: owner/name; GitLab: group/project path or numeric id
    branch: str = "main"  # GitHub/GitLab: the branch whose runbooks count
    subdir: str = ""  # GitHub/GitLab: only files under this folder
    label: str | None = None  # Confluence: only pages with this label
    title_prefix: str | None = None  # Confluence/Notion: only pages whose title starts with this
    timeout_seconds: float = Field(default=30.0, gt=0)


@dataclass(frozen=True)
class SourcePage:
    """One page (or file) as found, converted to Markdown the runbook reader understands."""

    key: str  # the source's own stable id: Confluence/Notion page id, file path in the repository
    title: str
    url: str  # where a person reads it
    version: str  # Confluence version number, Notion last_edited_time, git blob sha
    text: str  # Markdown (a `# Title` heading first); "" when refused
    runbook_id: str  # suggested id for a page seen for the first time (a slug, or the path without suffix)
    author: str | None = None
    unreadable: str | None = None  # the converter failed: why (text is then one manual step)
    refused: str | None = None  # not read at all (too large...): why
