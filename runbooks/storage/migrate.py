"""Schema migrations of the application database (Alembic), usable from code and from `runbooks db`.

The Alembic configuration is built here, in code: `script_location` is the `runbooks/migrations`
folder shipped inside the package, so no alembic.ini is needed at run time. Every operation that
changes the schema holds a lock for its whole duration, so two processes starting at once (two API
replicas, an API and a worker) never migrate the same database twice:

- PostgreSQL: a session-level `pg_advisory_lock` on a fixed key, taken on the migration connection
  (released on exit, or by the server if the process dies);
- SQLite: `BEGIN IMMEDIATE`, the database file's write lock; the whole migration runs inside that
  transaction (SQLite DDL is transactional) and the second process waits on the busy timeout.

Inside one process a thread lock serialises runs as well: Alembic's `context`/`op` proxies are
module globals.

A database created before migrations existed (by `SQLModel.metadata.create_all`: all the baseline
tables, no `alembic_version`) is adopted by stamping it at the baseline revision, whose schema is
exactly what create_all made; later revisions then run on it as on any other database.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from runbooks.storage.engine import make_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Revision 0001 is the schema `SQLModel.metadata.create_all` produced before migrations existed.
BASELINE_REVISION = "0001"
BASELINE_TABLES = frozenset({
    "runbooks", "runbook_versions", "alerts", "executions", "group_claims", "rejected_deliveries",
    "slack_messages", "step_records", "approvals", "execution_events",
})

# Any fixed 64-bit key, the same in every process of every release: b"RUNBOOKS" as an integer.
PG_LOCK_KEY = int.from_bytes(b"RUNBOOKS", "big")
VERSION_TABLE = "alembic_version"  # Alembic's default, kept

log = logging.getLogger("runbooks.storage.migrate")
_thread_lock = threading.RLock()


class SchemaError(RuntimeError):
    """The database schema is not what this release needs, and it was not (or could not be) migrated."""


def make_config() -> Config:
    cfg = Config()  # no file: everything is set here
    # set_main_option goes through ConfigParser interpolation: a literal % must be doubled.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return cfg


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(make_config())


def head_revision() -> str:
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise SchemaError(f"migrations have {len(heads)} heads ({', '.join(heads)}): merge them into one")
    return heads[0]


# --------------------------------------------------------------------------------------------------
# The public API: a database URL in, the schema changed (under the lock) or its revision out.

def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision` (adopting a pre-migrations database first)."""
    with _engine(url) as engine:
        upgrade_engine(engine, revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` down to `revision` ("base" drops every table)."""
    with _engine(url) as engine:
        _run_locked(engine, lambda conn, cfg: command.downgrade(cfg, revision))


def current(url: str) -> str | None:
    """The revision the database is at; None for an empty (or never-migrated) database."""
    with _engine(url) as engine:
        return current_engine(engine)


# --------------------------------------------------------------------------------------------------
# The same on an engine the application already has.

def create_schema(engine: Engine, *, auto_migrate: bool = True) -> None:
    """What every process does at start: migrate to head under the lock (a database made by the
    pre-migrations `create_all` is adopted), or with AUTO_MIGRATE=false change nothing and raise
    SchemaError, telling the operator to run `runbooks db upgrade`, unless the schema is at head."""
    if auto_migrate:
        upgrade_engine(engine)
    else:
        check_at_head(engine)


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    def run(conn: Connection, cfg: Config) -> None:
        _refuse_unknown(_current_heads(conn), engine)
        _adopt_pre_migrations_database(conn, cfg)
        command.upgrade(cfg, revision)

    _run_locked(engine, run)


def current_engine(engine: Engine) -> str | None:
    with engine.connect() as conn:
        heads = _current_heads(conn)
    return ",".join(sorted(heads)) or None


def check_at_head(engine: Engine) -> None:
    """Raise SchemaError (telling the operator what to run) unless the database is at head."""
    with engine.connect() as conn:
        heads = _current_heads(conn)
        tables = set(inspect(conn).get_table_names())
    _refuse_unknown(heads, engine)
    head = head_revision()
    if heads == {head}:
        return
    if not heads and tables & BASELINE_TABLES:
        state = "has tables but no migration history (created before migrations existed)"
    elif not heads:
        state = "is empty"
    else:
        state = f"is at revision {', '.join(sorted(heads))}"
    raise SchemaError(
        f"the application database ({_display(engine)}) {state}; this release needs revision {head}. "
        "AUTO_MIGRATE is off, so nothing was changed: run `runbooks db upgrade` with the same "
        "DATABASE_URL, then start again (or set AUTO_MIGRATE=true to migrate at start).")


# --------------------------------------------------------------------------------------------------
# For developers: write a new revision file (see the README, "Changing the database schema").

def new_revision(message: str, autogenerate: bool = True) -> Path:
    """Write versions/NNNN_<slug>.py with the next number; with `autogenerate`, its operations are the
    difference between the models and a scratch SQLite database migrated to the current head."""
    numbers = [int(rev) for rev in (s.revision for s in script_directory().walk_revisions())
               if re.fullmatch(r"\d+", rev)]
    rev_id = f"{max(numbers, default=0) + 1:04d}"
    with tempfile.TemporaryDirectory() as tmp, _engine(f"sqlite:///{Path(tmp) / 'autogenerate.db'}") as engine:
        upgrade_engine(engine)
        cfg = make_config()
        with _thread_lock, engine.connect() as conn:
            cfg.attributes["connection"] = conn
            script = command.revision(cfg, message=message, autogenerate=autogenerate, rev_id=rev_id)
    assert script is not None and not isinstance(script, list)
    return Path(script.path)


# --------------------------------------------------------------------------------------------------

@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _run_locked(engine: Engine, fn: Callable[[Connection, Config], None]) -> None:
    cfg = make_config()
    with _thread_lock, engine.connect() as conn, _database_lock(conn):
        cfg.attributes["connection"] = conn
        fn(conn, cfg)


@contextmanager
def _database_lock(conn: Connection) -> Iterator[None]:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        # The write lock of the database file, held until commit: a second migrator waits in BEGIN
        # IMMEDIATE (busy timeout), then finds the work done. Alembic sees a transaction already open
        # and runs inside it, so the version check, the DDL and the version stamp are one unit.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
    elif dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _signed64(PG_LOCK_KEY)})
        conn.commit()  # the lock is session-level; Alembic then runs its own transaction (PostgreSQL DDL is transactional)
        try:
            yield
        finally:
            try:
                if conn.in_transaction():
                    conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _signed64(PG_LOCK_KEY)})
                conn.commit()
            except SQLAlchemyError:  # the connection is gone: so is the session, and with it the lock
                log.debug("advisory unlock failed; the session ended and released the lock", exc_info=True)
    else:  # other databases: no lock (not supported by the application; migrations still run)
        yield


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _current_heads(conn: Connection) -> set[str]:
    """What MigrationContext.get_current_heads() answers, read directly (a MigrationContext logs two
    INFO lines each time it is made, and this runs at every start)."""
    heads: set[str] = set()
    if inspect(conn).has_table(VERSION_TABLE):
        heads = {row[0] for row in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))}
    _settle(conn)
    return heads


def _settle(conn: Connection) -> None:
    """End the transaction our own queries autobegan, so Alembic owns the next one (PostgreSQL). On
    SQLite the BEGIN IMMEDIATE transaction must stay open: it is the lock."""
    if conn.dialect.name != "sqlite" and conn.in_transaction():
        conn.commit()


def _refuse_unknown(heads: set[str], engine: Engine) -> None:
    known = {s.revision for s in script_directory().walk_revisions()}
    unknown = heads - known
    if unknown:
        raise SchemaError(
            f"the application database ({_display(engine)}) is at revision {', '.join(sorted(unknown))}, which "
            "this release does not know: a newer release migrated it. Run that release, or downgrade the "
            "database with it (`runbooks db downgrade REV`) before starting this one.")


def _adopt_pre_migrations_database(conn: Connection, cfg: Config) -> None:
    """Tables of ours but no alembic_version: made by create_all before migrations. Stamp the baseline."""
    if _current_heads(conn):
        return
    present = set(inspect(conn).get_table_names()) & BASELINE_TABLES
    _settle(conn)
    if not present:
        return  # empty, or only tables that are not ours: a normal upgrade from nothing
    missing = BASELINE_TABLES - present
    if missing:
        raise SchemaError(
            f"the application database ({_display(conn.engine)}) has some of the application's tables but "
            f"no migration history, and lacks {', '.join(sorted(missing))}: it is not a database this release "
            "can adopt safely. Point DATABASE_URL at an empty database, or create the missing tables "
            "and run `runbooks db upgrade` again.")
    command.stamp(cfg, BASELINE_REVISION)


def _display(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
