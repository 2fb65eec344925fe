"""One sync of a connection, page by page: what a person reads in its import report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runbooks.connections.base import ConnectionFailed, ConnectionSpec, SourcePage
from runbooks.connections.sync import sync_connection
from runbooks.keyring import KeyRing, KeyRingError, new_key, seal, unseal
from runbooks.storage.connections import ConnectionStore
from runbooks.storage.engine import make_engine
from runbooks.storage.migrate import create_schema
from runbooks.storage.store import Store
from runbooks.storage.tables import ConnectionRow

RING = KeyRing.parse(f"k1:{new_key()}")
CHECK = "# API checks\n\n## Steps\n\n1. **Is it up**\n   ```sh\n   curl -fsS http://127.0.0.1/healthz\n   ```\n"
RESTART = "# Restart web\n\n## Steps\n\n1. **Restart**\n   ```sh\n   systemctl restart web\n   ```\n"
BROKEN = "# Broken\n\n## Steps\n\n1. **Restart**\n   Risk: purple\n   ```sh\n   systemctl restart web\n   ```\n"


def page(key: str, title: str, text: str, version: str = "1", **extra: str) -> SourcePage:
    return SourcePage(key=key, title=title, url=f"https://wiki.example/pages/{key}", version=version, text=text,
                      runbook_id=f"ops/{title.lower().replace(' ', '-')}", **extra)


class Space:
    """What the connection reads this time; the test changes it between syncs."""

    def __init__(self, *pages: SourcePage) -> None:
        self.pages = list(pages)
        self.failure: str | None = None
        self.tokens: list[str] = []

    def read(self, spec: ConnectionSpec) -> Iterator[SourcePage]:
        self.tokens.append(spec.token.get_secret_value())
        if self.failure:
            raise ConnectionFailed(self.failure)
        yield from self.pages


@pytest.fixture
def stores(tmp_path: Path) -> tuple[Store, ConnectionStore, int]:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    create_schema(engine)
    cstore = ConnectionStore(engine)
    row = cstore.create(ConnectionRow(kind="confluence", base_url="https://wiki.example", config={"space": "OPS"},
                                      token_sealed="", created_by="admin"),
                        lambda cid: (seal(RING, "me@example.com:tok-123", f"connection:{cid}:token"), None))
    return Store(engine), cstore, row.id or 0


def sync(stores: tuple[Store, ConnectionStore, int], space: Space, tokens: dict[str, str] | None = None):  # noqa: ANN201
    store, cstore, connection_id = stores
    return sync_connection(store, cstore, RING, connection_id, trigger="manual", by="admin", read=space.read,
                           tokens=tokens)


def test_a_sealed_token_opens_only_for_its_own_purpose_and_key() -> None:
    sealed = seal(RING, "tok-123", "connection:1:token")
    assert "tok-123" not in sealed and unseal(RING, sealed, "connection:1:token") == "tok-123"
    with pytest.raises(KeyRingError):
        unseal(RING, sealed, "connection:2:token")  # another connection's token cannot be replayed here
    with pytest.raises(KeyRingError):
        unseal(KeyRing.parse(f"k2:{new_key()}"), sealed, "connection:1:token")


def test_each_page_is_imported_once_and_an_unchanged_page_is_no_new_version(stores) -> None:  # noqa: ANN001
    space = Space(page("1", "API checks", CHECK), page("2", "Restart web", RESTART))
    first = sync(stores, space)
    assert (first.found, first.imported, first.unchanged, first.error) == (2, 2, 0, None)
    assert space.tokens == ["me@example.com:tok-123"]
    states = {p.title: p.state for p in first.pages}
    assert states == {"API checks": "live", "Restart web": "pending_review"}  # a yellow step waits for review
    again = sync(stores, space)
    assert (again.imported, again.unchanged) == (0, 2)


def test_a_renamed_page_keeps_its_runbook_and_its_new_version_keeps_the_page_version(stores) -> None:  # noqa: ANN001
    store = stores[0]
    space = Space(page("1", "API checks", CHECK))
    runbook_id = sync(stores, space).pages[0].runbook_id
    space.pages = [page("1", "API health", CHECK.replace("healthz", "readyz"), version="7")]
    renamed = sync(stores, space).pages[0]
    assert (renamed.outcome, renamed.runbook_id, renamed.runbook_version) == ("imported", runbook_id, 2)
    stored = store.version_row(runbook_id or "", 2)
    assert stored is not None and (stored.source_version, stored.source_url) == ("7", "https://wiki.example/pages/1")


def test_a_page_with_a_wrong_line_is_refused_with_that_line_and_the_rest_imports(stores) -> None:  # noqa: ANN001
    report = sync(stores, Space(page("1", "Broken", BROKEN), page("2", "API checks", CHECK),
                                page("3", "Huge", "", refused="page is 12.0 MB; the limit is 10 MB")))
    outcomes = {p.title: (p.outcome, p.reason, p.line) for p in report.pages}
    assert outcomes["Broken"][0] == "refused" and "purple" in (outcomes["Broken"][1] or "")
    assert outcomes["Broken"][2] == 6
    assert outcomes["Huge"] == ("refused", "page is 12.0 MB; the limit is 10 MB", None)
    assert (report.imported, report.refused) == (1, 2)


def test_a_page_that_is_gone_is_flagged_once_and_its_runbook_stays(stores) -> None:  # noqa: ANN001
    store, cstore, connection_id = stores
    space = Space(page("1", "API checks", CHECK), page("2", "Restart web", RESTART))
    sync(stores, space)
    space.pages = space.pages[:1]
    gone = sync(stores, space)
    assert gone.flagged == 1 and gone.pages[-1].runbook_id == "ops/restart-web"
    assert store.runbook_row("ops/restart-web") is not None
    flagged = cstore.page_for_runbook("ops/restart-web")
    assert flagged is not None and flagged.state == "gone" and "no longer found" in (flagged.note or "")
    assert sync(stores, space).flagged == 0  # said once, not at every sync


def test_a_connection_that_cannot_be_read_flags_nothing_and_says_why_in_one_line(stores) -> None:  # noqa: ANN001
    space = Space(page("1", "API checks", CHECK))
    sync(stores, space)
    space.failure = "Confluence refused the token (401 Unauthorized) at https://wiki.example/wiki"
    failed = sync(stores, space)
    assert failed.error == space.failure and failed.flagged == 0  # a failed read is not "every page is gone"


def test_a_token_named_from_the_settings_is_used_and_a_missing_name_is_one_line(stores) -> None:  # noqa: ANN001
    store, cstore, connection_id = stores
    with cstore.session() as s:
        row = s.get(ConnectionRow, connection_id)
        assert row is not None
        row.config = {**row.config, "token_setting": "ops_wiki"}
        s.add(row)
        s.commit()
    space = Space(page("1", "API checks", CHECK))
    assert sync(stores, space, {"ops_wiki": "from-settings"}).error is None and space.tokens == ["from-settings"]
    assert sync(stores, space, {}).error == "CONNECTION_TOKENS has no token named 'ops_wiki' on this process"
