"""Fixtures for the integration tests (tests/integration/): a real Temporal dev server, real
databases, sshd on loopback, and the product with a real worker. Unit tests (tests/unit/) use none.

Every test under tests/integration/ is marked `integration`: `pytest -m "not integration"` (or
`pytest tests/unit`) runs the fast ones alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.devserver import temporal_binary
from support.fake_slack import FakeSlack
from support.harness import TEST_KEY_RING, Harness, make_settings, require, running_product, throwaway_postgres
from support.paths import TESTS
from support.sshd import Sshd, sshd_available
from workflows import search_attributes as sa
from workflows.client import data_converter
from workflows.codec import KeyRing


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    integration = TESTS / "integration"
    for item in items:
        if integration in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def sshd() -> Iterator[Sshd]:
    """A real OpenSSH server on loopback with its own host key and a key-only client."""
    require(sshd_available(), "OpenSSH server not installed (apt-get install openssh-server)")
    server = Sshd()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    """The session's dev server; its client encrypts with TEST_KEY_RING, like the product's (make_settings)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), search_attributes=sa.ALL,
        data_converter=data_converter(KeyRing.parse(TEST_KEY_RING)), dev_server_log_level="error")
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal_address(temporal: WorkflowEnvironment) -> str:
    return temporal.client.service_client.config.target_host


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database per test: a SQLite file, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    with throwaway_postgres("lr_test") as url:
        yield url


@pytest.fixture
async def harness(temporal: WorkflowEnvironment, temporal_address: str, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = make_settings(tmp_path, temporal_address)
    async with running_product(temporal.client, settings, tmp_path) as h:
        yield h


@pytest.fixture
def product_settings() -> dict:
    """Settings a test module's `product` runs with, beside the defaults: override it in the module."""
    return {}


@pytest.fixture
async def product(temporal: WorkflowEnvironment, temporal_address: str, tmp_path: Path,
                  product_settings: dict) -> AsyncIterator[Harness]:
    """The API and an in-process worker on an empty runbooks folder of the test's own: the test loads
    what it needs (`product.load(text)`), so nothing it adds changes what other tests match."""
    folder = tmp_path / "runbooks"
    folder.mkdir()
    settings = make_settings(tmp_path, temporal_address).model_copy(
        update={"runbooks_dir": folder, **product_settings})
    async with running_product(temporal.client, settings, tmp_path) as h:
        yield h


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A local server that speaks the Slack Web API; the real slack_sdk client is pointed at it."""
    with FakeSlack() as server:
        yield server
