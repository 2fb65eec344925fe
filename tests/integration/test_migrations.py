"""Alembic migrations of the application database, on SQLite and on a real PostgreSQL database."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect, text
from sqlmodel import Session, SQLModel

from cli import db_commands
from runbooks.settings import Settings
from runbooks.storage import migrate
from runbooks.storage.engine import make_engine
from runbooks.storage.migrate import create_schema
from runbooks.storage.tables import RunbookRow, utcnow
from support.paths import REPO



@pytest.fixture
def engine(database_url: str):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def revisions() -> list[str]:
    """Every revision, base first."""
    return [s.revision for s in reversed(list(migrate.script_directory().walk_revisions()))]


def app_tables(engine: sqlalchemy.Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def schema_differences(engine: sqlalchemy.Engine) -> list:
    # Nothing is ignored: the migrated schema must be exactly what the models declare (tables,
    # columns, types, nullability, indexes, unique constraints). alembic_version is not a difference:
    # autogenerate always leaves its own version table out.
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)


def version_rows(engine: sqlalchemy.Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]


def test_upgrade_from_empty_to_head(database_url: str, engine) -> None:
    assert migrate.current(database_url) is None
    migrate.upgrade(database_url)
    assert migrate.current(database_url) == migrate.head_revision()
    assert app_tables(engine) == set(SQLModel.metadata.tables)
    assert version_rows(engine) == [migrate.head_revision()]


def test_migrated_schema_matches_the_models(database_url: str, engine) -> None:
    migrate.upgrade(database_url)
    assert schema_differences(engine) == []


def test_every_migration_steps_down_and_back_up(database_url: str, engine) -> None:
    revs = revisions()
    assert revs[0] == migrate.BASELINE_REVISION
    previous: str | None = None
    for rev in revs:
        migrate.upgrade(database_url, rev)
        assert migrate.current(database_url) == rev
        migrate.downgrade(database_url, "-1")
        assert migrate.current(database_url) == previous
        migrate.upgrade(database_url, "+1")
        assert migrate.current(database_url) == rev
        previous = rev
    assert rev == migrate.head_revision()
    assert schema_differences(engine) == []
    migrate.downgrade(database_url, "base")  # all the way down: nothing of ours is left
    assert migrate.current(database_url) is None
    assert app_tables(engine) == set()
    migrate.upgrade(database_url)
    assert schema_differences(engine) == []


def test_baseline_tables_are_what_0001_creates(database_url: str, engine) -> None:
    migrate.upgrade(database_url, migrate.BASELINE_REVISION)
    assert app_tables(engine) == migrate.BASELINE_TABLES


def test_create_schema_migrates_and_a_second_call_changes_nothing(engine) -> None:
    create_schema(engine)
    assert migrate.current_engine(engine) == migrate.head_revision()
    with Session(engine) as session:
        session.add(RunbookRow(id="kept", title="Kept", created_at=utcnow(), updated_at=utcnow()))
        session.commit()

    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    create_schema(engine)
    ddl = [s for s in statements if s.lstrip().upper().startswith(("CREATE", "ALTER", "DROP", "INSERT", "UPDATE"))]
    assert ddl == []
    assert version_rows(engine) == [migrate.head_revision()]
    with Session(engine) as session:
        assert session.get(RunbookRow, "kept") is not None


def test_auto_migrate_off_refuses_an_empty_database(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTO_MIGRATE", "false")
    with pytest.raises(migrate.SchemaError, match=r"is empty.*run `runbooks db upgrade`"):
        create_schema(engine, auto_migrate=Settings().auto_migrate)
    assert app_tables(engine) == set()  # nothing was changed
    assert migrate.current_engine(engine) is None

    migrate.upgrade_engine(engine)  # what `runbooks db upgrade` does; then the start goes through
    create_schema(engine, auto_migrate=Settings().auto_migrate)


def test_auto_migrate_off_refuses_a_database_behind_head(database_url: str, engine,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTO_MIGRATE", "false")
    SQLModel.metadata.create_all(engine)  # pre-migrations database: not at head until adopted
    with pytest.raises(migrate.SchemaError, match="no migration history.*runbooks db upgrade"):
        create_schema(engine, auto_migrate=Settings().auto_migrate)
    assert migrate.current_engine(engine) is None


def test_database_made_by_create_all_is_adopted(database_url: str, engine) -> None:
    """Before migrations, create_schema was SQLModel.metadata.create_all: such a database (all the
    tables, data, no alembic_version) is stamped at the baseline and keeps its data. Revision 0001
    is exactly what create_all made then; its version table dropped, it is such a database."""
    migrate.upgrade(database_url, migrate.BASELINE_REVISION)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DROP TABLE alembic_version"))
        conn.execute(sqlalchemy.text("INSERT INTO runbooks (id, title, latest_version) "
                                     "VALUES ('old', 'From before migrations', 1)"))

    create_schema(engine)

    assert migrate.current(database_url) == migrate.head_revision()
    assert version_rows(engine) == [migrate.head_revision()]
    assert schema_differences(engine) == []
    with Session(engine) as session:
        old = session.get(RunbookRow, "old")
        assert old.title == "From before migrations" and old.live_version == 1, "its latest version is live"


def test_partial_pre_migrations_database_is_refused(engine) -> None:
    SQLModel.metadata.create_all(engine, tables=[RunbookRow.__table__])
    with pytest.raises(migrate.SchemaError, match="lacks .*runbook_versions"):
        create_schema(engine)
    assert migrate.current_engine(engine) is None


def test_unrelated_tables_do_not_count_as_a_pre_migrations_database(database_url: str, engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE someone_elses (id INTEGER PRIMARY KEY)"))
    create_schema(engine)
    assert migrate.current(database_url) == migrate.head_revision()
    assert app_tables(engine) == set(SQLModel.metadata.tables) | {"someone_elses"}


def test_database_from_a_newer_release_is_refused(engine) -> None:
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    for auto in (True, False):
        with pytest.raises(migrate.SchemaError, match="9999, which this release does not know"):
            create_schema(engine, auto_migrate=auto)


def test_cli_upgrade_current_downgrade(database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    parser = argparse.ArgumentParser()
    db_commands.add_parsers(parser.add_subparsers(dest="command"))
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    head = migrate.head_revision()

    def run(*argv: str) -> tuple[int, str, str]:
        code = db_commands.run(parser.parse_args(["db", *argv]), settings)
        out, err = capsys.readouterr()
        return code, out.strip(), err.strip()

    assert run("current") == (0, f"none (empty database) (head is {head})", "")
    assert run("upgrade") == (0, f"{head} (head)", "")
    assert run("current") == (0, f"{head} (head)", "")
    assert run("downgrade", "base") == (0, f"none (empty database) (head is {head})", "")
    code, _, err = run("upgrade", "nosuchrevision")
    assert code == 1 and "nosuchrevision" in err


CHILD = """
import sys
from runbooks.storage import migrate
print("ready", flush=True)
migrate.upgrade(sys.argv[1])
print(migrate.current(sys.argv[1]), flush=True)
"""


def test_concurrent_upgrades_in_separate_processes(database_url: str, engine) -> None:
    """Replicas starting together: while the test holds the migration lock, N processes start their
    upgrade and queue on it; released, each one either migrates or finds the work done."""
    n = 4
    with engine.connect() as holder:
        if engine.dialect.name == "postgresql":
            holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": migrate._signed64(migrate.PG_LOCK_KEY)})
        else:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        children = [subprocess.Popen([sys.executable, "-c", CHILD, database_url], cwd=REPO, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(n)]
        try:
            for child in children:
                assert child.stdout.readline().strip() == "ready", child.communicate()[1]
            if engine.dialect.name == "postgresql":  # every child is queued on the advisory lock
                _wait_for(lambda: _advisory_waiters(engine) == n, "children waiting on the advisory lock")
            else:
                time.sleep(1.0)
            assert all(child.poll() is None for child in children), "a child did not wait for the lock"
            assert migrate.current_engine(engine) is None
        finally:
            if engine.dialect.name == "postgresql":
                holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": migrate._signed64(migrate.PG_LOCK_KEY)})
                holder.commit()
            else:
                holder.rollback()
        results = [child.communicate(timeout=60) for child in children]
    head = migrate.head_revision()
    for child, (out, err) in zip(children, results):
        assert child.returncode == 0, err
        assert out.strip().splitlines()[-1] == head
    assert version_rows(engine) == [head]  # at head once
    assert schema_differences(engine) == []


def test_concurrent_upgrades_in_threads(database_url: str, engine) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: migrate.upgrade(database_url), range(4)))
        list(pool.map(lambda _: create_schema(engine), range(4)))
    assert version_rows(engine) == [migrate.head_revision()]


def test_new_revision_from_unchanged_models_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`runbooks db revision -m ...` on a copy of the migrations folder: the next number, chained to
    head, and no operations, since migrations and models agree."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    head = migrate.head_revision()

    path = migrate.new_revision("nothing changed")

    assert path.parent == copy / "versions"
    assert path.name == f"{int(head) + 1:04d}_nothing_changed.py"
    source = path.read_text()
    assert f"down_revision: str | Sequence[str] | None = {head!r}" in source
    assert "op." not in source.split("def upgrade")[1]
    url = f"sqlite:///{tmp_path / 'new.db'}"
    migrate.upgrade(url)
    assert migrate.current(url) == f"{int(head) + 1:04d}"


def _advisory_waiters(engine: sqlalchemy.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalar_one()


def _wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
