"""What route handlers need, taken from the application state set up at start."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import Request
from temporalio.client import Client

from api.launcher import Launcher
from runbooks.model import Runbook
from runbooks.settings import Settings
from runbooks.store import Store


@dataclass
class Catalog:
    """The latest version of every runbook, kept in memory for matching; refreshed after a load."""

    store: Store
    runbooks: list[tuple[Runbook, int]] = field(default_factory=list)

    async def refresh(self) -> None:
        self.runbooks = await asyncio.to_thread(self.store.latest_runbooks)


@dataclass
class Services:
    settings: Settings
    store: Store
    client: Client
    catalog: Catalog
    launcher: Launcher


def services(request: Request) -> Services:
    return request.app.state.services
