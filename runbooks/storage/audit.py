"""The audit log in the application database: appended under the chain's rules (runbooks/audit.py),
read back in order for verification, filtered for people and exported as JSON lines for a SIEM.

Appends from several processes (API replicas, the CLI) serialise on the head row (locked FOR
UPDATE on PostgreSQL, the write lock on SQLite); should two still race (the very first entry), the
primary key lets one win and the other reads the new last entry and tries again.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from runbooks.audit import CHECKPOINT_EVERY, GENESIS, Entry, Head, Verdict, entry_hash, mac, verify
from runbooks.masking import mask_mapping
from runbooks.settings import Settings
from runbooks.storage.tables import AuditHeadRow, AuditRow, utcnow

log = logging.getLogger("runbooks.audit")


def audit_key(settings: Settings, create: bool = True) -> bytes | None:
    """AUDIT_KEY, else AUDIT_KEY_FILE, else DATA_DIR/audit.key (made with mode 0600 on first use)."""
    if settings.audit_key is not None:
        return settings.audit_key.get_secret_value().encode()
    path = settings.audit_key_file or settings.data_dir / "audit.key"
    if not path.exists():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    return Path(path).read_text().strip().encode()


def _entry(row: AuditRow) -> Entry:
    return Entry(seq=row.seq, at=row.at, actor=row.actor, action=row.action, target=row.target,
                 detail=row.detail, prev_hash=row.prev_hash, hash=row.hash, checkpoint=row.checkpoint)


class AuditLog:
    def __init__(self, engine: Engine, key: bytes | None, every: int = CHECKPOINT_EVERY):
        self.engine, self.key, self.every = engine, key, every

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def append(self, actor: str, action: str, target: str = "", **detail: Any) -> int:
        """Append one entry (its detail masked first); returns its sequence number."""
        if self.key is None:
            raise RuntimeError("the audit log needs its key to append")
        detail = mask_mapping(detail)
        for attempt in range(50):
            with self.session() as s:
                # The head row, locked (PostgreSQL): appends queue here instead of racing for `seq`.
                head = s.exec(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()).first()
                last = s.exec(select(AuditRow).order_by(col(AuditRow.seq).desc()).limit(1)).first()
                seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
                at = utcnow()
                digest = entry_hash(prev, seq, at, actor, action, target, detail)
                head = head or AuditHeadRow(id=1, seq=0, hash=GENESIS, mac="")
                head.seq, head.hash, head.mac = seq, digest, mac(self.key, seq, digest, "head")
                s.add(AuditRow(seq=seq, at=at, actor=actor, action=action, target=target, detail=detail,
                               prev_hash=prev, hash=digest,
                               checkpoint=mac(self.key, seq, digest) if seq % self.every == 0 else None))
                s.add(head)
                try:
                    s.commit()
                    return seq
                except IntegrityError:  # another process appended entry `seq` first: read again
                    s.rollback()
        raise RuntimeError(f"could not append to the audit log after {attempt + 1} tries")

    def entries(self, batch: int = 5000) -> Iterator[Entry]:
        """Every entry in order, read in batches (a long log is not held in memory)."""
        after = 0
        while True:
            with self.session() as s:
                rows = list(s.exec(select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(batch)))
            if not rows:
                return
            yield from (_entry(r) for r in rows)
            after = rows[-1].seq

    def head(self) -> Head | None:
        with self.session() as s:
            row = s.get(AuditHeadRow, 1)
        return Head(row.seq, row.hash, row.mac) if row else None

    def verify(self) -> Verdict:
        return verify(self.entries(), self.key, self.head(), self.every)

    def query(self, *, actor: str | None = None, action: str | None = None, target: str | None = None,
              since: datetime | None = None, until: datetime | None = None, after: int = 0,
              limit: int = 100) -> list[AuditRow]:
        """Entries matching every filter given, oldest first, from `after` on; `action` may end in `*`."""
        q = select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(limit)
        if actor:
            q = q.where(AuditRow.actor == actor)
        if action:
            q = q.where(col(AuditRow.action).startswith(action[:-1])) if action.endswith("*") else q.where(
                AuditRow.action == action)
        if target:
            q = q.where(AuditRow.target == target)
        if since:
            q = q.where(AuditRow.at >= since)
        if until:
            q = q.where(AuditRow.at < until)
        with self.session() as s:
            return list(s.exec(q))
