"""Which module reads which kind of connection: a new source is one module and one line here.

Modules are imported when first used, so a process that never syncs Notion never imports its client.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

from runbooks.connections.base import ConnectionSpec, SourcePage

READERS = {  # pages(spec) -> Iterator[SourcePage]
    "confluence": "runbooks.connections.confluence",
    "notion": "runbooks.connections.notion",
    "github": "runbooks.connections.github",
    "gitlab": "runbooks.connections.gitlab",
}
GIT_HOSTS = ("github", "gitlab")  # these also take push webhooks: verify, parse_push, page, protected


def reader(kind: str) -> ModuleType:
    return importlib.import_module(READERS[kind])


def pages(spec: ConnectionSpec) -> Iterator[SourcePage]:
    return reader(spec.kind).pages(spec)
