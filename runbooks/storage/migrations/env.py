"""Alembic environment for the application database.

Run through `runbooks.storage.migrate` (or `runbooks db ...`), never the `alembic` command: the caller hands
over an open connection in `config.attributes["connection"]` on which it already holds the
migration lock (PostgreSQL advisory lock, SQLite write lock), so this file opens no engine of its
own and does not touch logging.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import runbooks.storage.tables  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Autogenerate writes plain SQLAlchemy types: SQLModel's AutoString is rendered as sa.String so
    migration files never depend on SQLModel internals."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length is not None else "sa.String()"
    return False


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through runbooks.storage.migrate or `runbooks db upgrade`, not the alembic CLI")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite's ALTER TABLE is too weak: copy-and-move
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) mode is not supported; migrations run against a live connection")
run_migrations_online()
