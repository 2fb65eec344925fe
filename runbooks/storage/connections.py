"""Connections, the pages each one found (and the runbook each became), and their import reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from runbooks.storage.tables import ConnectionPageRow, ConnectionRow, ConnectionSyncRow, RunbookRow, utcnow


class ConnectionStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def create(self, row: ConnectionRow, secrets: Callable[[int], tuple[str, str | None]] | None = None
               ) -> ConnectionRow:
        """Store a connection; `secrets(id)` gives its sealed token and webhook secret, which are bound
        to the id the row gets: both are written in the same transaction as the row."""
        with self.session() as s:
            row.created_at = utcnow()
            s.add(row)
            s.flush()
            if secrets is not None:
                assert row.id is not None
                row.token_sealed, row.webhook_secret_sealed = secrets(row.id)
            s.commit()
            s.refresh(row)
            return row

    def get(self, connection_id: int) -> ConnectionRow | None:
        with self.session() as s:
            return s.get(ConnectionRow, connection_id)

    def all(self) -> list[ConnectionRow]:
        with self.session() as s:
            return list(s.exec(select(ConnectionRow).order_by(col(ConnectionRow.id))))

    def delete(self, connection_id: int) -> bool:
        """The connection and what it found; its runbooks and their versions stay, its reports too."""
        with self.session() as s:
            row = s.get(ConnectionRow, connection_id)
            if row is None:
                return False
            for page in s.exec(select(ConnectionPageRow).where(ConnectionPageRow.connection_id == connection_id)):
                s.delete(page)
            s.delete(row)
            s.commit()
            return True

    def pages(self, connection_id: int) -> list[ConnectionPageRow]:
        with self.session() as s:
            return list(s.exec(select(ConnectionPageRow).where(ConnectionPageRow.connection_id == connection_id)
                               .order_by(col(ConnectionPageRow.title))))

    def page(self, connection_id: int, key: str) -> ConnectionPageRow | None:
        with self.session() as s:
            return s.exec(select(ConnectionPageRow).where(ConnectionPageRow.connection_id == connection_id,
                                                          ConnectionPageRow.key == key)).first()

    def page_for_runbook(self, runbook_id: str) -> ConnectionPageRow | None:
        with self.session() as s:
            return s.exec(select(ConnectionPageRow).where(ConnectionPageRow.runbook_id == runbook_id)).first()

    def free_runbook_id(self, connection_id: int, key: str, wanted: str) -> str:
        """`wanted`, or `wanted-2`... when another page (of any connection) or a runbook from
        elsewhere already has it: a page never overwrites a runbook it did not make."""
        with self.session() as s:
            candidate, n = wanted, 2
            while True:
                owner = s.exec(select(ConnectionPageRow).where(ConnectionPageRow.runbook_id == candidate)).first()
                if owner is not None:
                    if (owner.connection_id, owner.key) == (connection_id, key):
                        return candidate
                elif s.get(RunbookRow, candidate) is None:
                    return candidate
                candidate, n = f"{wanted}-{n}", n + 1

    def put_page(self, connection_id: int, key: str, **fields: Any) -> None:
        with self.session() as s:
            row = s.exec(select(ConnectionPageRow).where(ConnectionPageRow.connection_id == connection_id,
                                                         ConnectionPageRow.key == key)).first()
            row = row or ConnectionPageRow(connection_id=connection_id, key=key)
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            s.add(row)
            s.commit()

    def record_sync(self, connection_id: int, trigger: str, by: str, started_at: datetime,
                    report: dict[str, Any]) -> ConnectionSyncRow:
        with self.session() as s:
            row = ConnectionSyncRow(connection_id=connection_id, trigger=trigger, by=by, started_at=started_at,
                                    finished_at=utcnow(), report=report)
            conn = s.get(ConnectionRow, connection_id)
            if conn is not None:
                conn.last_sync_at = row.finished_at
                s.add(conn)
            s.add(row)
            s.commit()
            s.refresh(row)
            return row

    def syncs(self, connection_id: int, limit: int = 20) -> list[ConnectionSyncRow]:
        with self.session() as s:
            return list(s.exec(select(ConnectionSyncRow).where(ConnectionSyncRow.connection_id == connection_id)
                               .order_by(col(ConnectionSyncRow.id).desc()).limit(limit)))
