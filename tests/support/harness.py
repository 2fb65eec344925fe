"""The product wired together for one test: the API (in-process ASGI), a worker, a database.

Also the rule for services a machine may lack: `require` skips on a developer's machine and fails
in CI, where every service must be there.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from pydantic import SecretStr
from temporalio.client import Client

from api.app import create_app
from runbooks.settings import Settings
from runbooks.storage.audit import AuditLog, audit_key
from runbooks.storage.engine import make_engine
from runbooks.storage.identity import IdentityStore
from runbooks.storage.store import Store
from services import accounts
from services.context import Services
from support.paths import TEST_RUNBOOKS
from workers.main import build_worker

# The key ring of the session's Temporal client (tests/conftest.py) and of make_settings: test data only.
TEST_KEY_RING = "test-k1:" + base64.b64encode(b"living-runbooks-test-key-32bytes").decode()
TEST_AUDIT_KEY = "living-runbooks-test-audit-key"
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def require(condition: bool, reason: str) -> None:
    """Skip on a developer machine without the service; in CI a missing service is a failure."""
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide this: {reason}")
        pytest.skip(reason)


def _postgres_available() -> bool:
    try:
        engine = sqlalchemy.create_engine(PG_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def throwaway_postgres(prefix: str) -> Iterator[str]:
    """A new empty PostgreSQL database, dropped afterwards (or a skip / CI failure without a server)."""
    require(_postgres_available(), f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Harness:
    """The product wired together for one test: API (in-process ASGI), a worker, a database."""

    http: httpx.AsyncClient  # authenticated as the first start's admin
    settings: Settings
    store: Store
    client: Client
    workdir: Path
    services: Services | None = None
    tokens: dict[str, str] = field(default_factory=dict, repr=False)

    def auth(self, name: str, *roles: str, teams: tuple[str, ...] = ("default",)) -> dict[str, str]:
        """Headers that act as user `name` (made on first use: role approver unless `roles` say otherwise)."""
        if name not in self.tokens:
            assert self.services is not None
            svc = self.services
            accounts.add_user(svc.identity, svc.audit_log, "test", name, list(roles or ("approver",)), list(teams))
            self.tokens[name], _ = accounts.create_token(svc.identity, svc.audit_log, "test", name)
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    async def load(self, text: str) -> dict:
        """Import a runbook as the admin; a version that needs review goes live once someone else reviews it."""
        resp = await self.http.post("/api/v1/runbooks", json={"text": text})
        assert resp.status_code == 201, resp.text
        created = resp.json()
        if created["state"] == "pending_review":
            reviewed = await self.http.post(
                f"/api/v1/runbooks/{created['id']}/versions/{created['version']}/review",
                json={"approve": True, "comment": "test"}, headers=self.auth("reviewer", "admin"))
            assert reviewed.status_code == 200, reviewed.text
        return created

    async def start(self, runbook_id: str, mode: str = "autopilot", **params: str) -> str:
        """Start the live version by hand, as the admin; the execution's id."""
        resp = await self.http.post(f"/api/v1/runbooks/{runbook_id}/executions", json={"mode": mode, "params": params})
        assert resp.status_code == 202, resp.text
        return resp.json()["id"]

    async def wait_waiting(self, execution_id: str, step_id: str, timeout: float = 20.0) -> dict:
        """Poll the API until the step says what it waits for (an agent, a breakpoint, the alert); the step."""
        deadline = asyncio.get_running_loop().time() + timeout
        body: dict = {}
        while asyncio.get_running_loop().time() < deadline:
            body = (await self.http.get(f"/api/v1/executions/{execution_id}")).json()
            step = next((s for s in body.get("steps", ()) if s["id"] == step_id), None)
            if step is not None and step["waiting_for"]:
                return step
            await asyncio.sleep(0.1)
        raise AssertionError(f"step {step_id} never showed what it waits for: {body}")

    async def wait_for(self, execution_id: str, *statuses: str, step: str | None = None,
                       timeout: float = 20.0) -> dict:
        """Poll the API until the execution (or one step) reaches one of `statuses`."""
        deadline = asyncio.get_running_loop().time() + timeout
        body: dict = {}
        while asyncio.get_running_loop().time() < deadline:
            resp = await self.http.get(f"/api/v1/executions/{execution_id}")
            if resp.status_code == 200:
                body = resp.json()
                current = body["status"] if step is None else next(
                    (s["status"] for s in body["steps"] if s["id"] == step), None)
                if current in statuses:
                    return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"{execution_id} never reached {statuses} (step {step}); last: {body}")


def grant(settings: Settings, name: str, *roles: str, teams: tuple[str, ...] = ("default",)) -> dict[str, str]:
    """Headers acting as a new user `name` (role approver unless `roles` say otherwise), made in the
    product's database directly: for tests that run the product as processes."""
    engine = make_engine(settings.resolved_database_url)
    try:
        store, audit = IdentityStore(engine), AuditLog(engine, audit_key(settings))
        if store.get_user(name) is None:
            accounts.add_user(store, audit, "test", name, list(roles or ("approver",)), list(teams))
        secret, _ = accounts.create_token(store, audit, "test", f"{name}-{uuid.uuid4().hex[:6]}", name)
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


def admin_token(settings: Settings) -> str:
    """The token the product's first start made for `admin` (written to DATA_DIR/admin-token)."""
    return (settings.data_dir / "admin-token").read_text().strip()


def make_settings(tmp_path: Path, temporal_address: str, database_url: str | None = None, **extra) -> Settings:
    """Encryption on, as in production: the session's key ring unless the test names its own (or none)."""
    if not {"runbooks_encryption_keys", "runbooks_encryption_key_file"} & set(extra):
        extra["runbooks_encryption_keys"] = SecretStr(TEST_KEY_RING)
    extra.setdefault("audit_key", SecretStr(TEST_AUDIT_KEY))
    return Settings(data_dir=tmp_path / "data", runbooks_dir=TEST_RUNBOOKS,
                    database_url=database_url or f"sqlite:///{tmp_path / 'app.db'}",
                    temporal_address=temporal_address, task_queue=f"tq-{uuid.uuid4().hex[:8]}",
                    heartbeat_timeout_seconds=5, **extra)


@contextlib.asynccontextmanager
async def running_product(client: Client, settings: Settings, workdir: Path,
                          with_worker: bool = True) -> AsyncIterator[Harness]:
    """The API app with its lifespan, plus (unless the test brings its own) an in-process worker."""
    app = create_app(settings, client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        svc: Services = app.state.services
        headers = {"Authorization": f"Bearer {admin_token(settings)}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as http:
            h = Harness(http=http, settings=settings, store=svc.store, client=client, workdir=workdir, services=svc)
            if not with_worker:
                yield h
                return
            with ThreadPoolExecutor(max_workers=32) as executor:
                async with build_worker(client, settings, h.store, executor):
                    yield h
