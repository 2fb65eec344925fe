"""The audit trail's chain: each entry carries the hash of the one before it, and every N-th entry
(and the head) a keyed checkpoint, so that editing, deleting or reordering any entry shows, and
rewriting the whole chain to hide it needs the key.

Pure: the storage (runbooks/storage/audit.py) appends and reads rows; this module says what an
entry's hash is and whether a sequence of entries is intact.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

GENESIS = "0" * 64  # the "previous hash" of the first entry
CHECKPOINT_EVERY = 100


def canonical_time(at: datetime) -> str:
    """The instant as hashed: UTC, microseconds (what SQLite and PostgreSQL both keep exactly)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, target: str,
               detail: dict[str, Any]) -> str:
    body = json.dumps({"seq": seq, "at": canonical_time(at), "actor": actor, "action": action, "target": target,
                       "detail": detail}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def mac(key: bytes, seq: int, digest: str, label: str = "entry") -> str:
    """The keyed checkpoint of entry `seq`, or (label "head") of the head: HMAC-SHA256 over what it is,
    its position and hash. The labels differ so that a checkpoint cannot be copied into the head."""
    return hmac.new(key, f"{label}:{seq}:{digest}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str
    checkpoint: str | None = None


@dataclass(frozen=True)
class Head:
    """The last entry's position and hash, with their MAC: cutting entries off the end shows too."""

    seq: int
    hash: str
    mac: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    checkpoints: int
    first_bad: int | None = None
    problem: str = ""
    keyed: bool = True  # False: no key was given, only the hash chain was checked

    def __str__(self) -> str:
        if not self.ok:
            return f"audit log NOT intact: entry {self.first_bad}: {self.problem}"
        keyed = f", {self.checkpoints} keyed checkpoints and the head verified" if self.keyed else (
            " (hash chain only: no key, so checkpoints were not checked)")
        return f"audit log intact: {self.entries} entries{keyed}"


def verify(entries: Iterable[Entry], key: bytes | None, head: Head | None, every: int = CHECKPOINT_EVERY) -> Verdict:
    """Walk the entries in `seq` order: each links to the one before, hashes to what it says, and
    carries a valid checkpoint where one is due; the last is the head. Stops at the first bad one."""
    prev, expected, count, checkpoints = GENESIS, 1, 0, 0

    def bad(seq: int, problem: str) -> Verdict:
        return Verdict(False, count, checkpoints, seq, problem, key is not None)

    for e in entries:
        if e.seq != expected:
            return bad(expected, f"missing (the next entry found is {e.seq}): deleted or reordered")
        if e.prev_hash != prev:
            return bad(e.seq, "does not link to the entry before it (edited, deleted or reordered)")
        if entry_hash(e.prev_hash, e.seq, e.at, e.actor, e.action, e.target, e.detail) != e.hash:
            return bad(e.seq, "its content does not match its hash (edited)")
        if key is not None:
            if e.seq % every == 0:
                if not e.checkpoint or not hmac.compare_digest(e.checkpoint, mac(key, e.seq, e.hash)):
                    return bad(e.seq, "its keyed checkpoint is missing or wrong (the chain was rewritten)")
                checkpoints += 1
            elif e.checkpoint is not None:
                return bad(e.seq, "carries a checkpoint where none is due")
        prev, expected, count = e.hash, expected + 1, count + 1
    last = expected - 1
    if head is None:
        if last:
            return bad(last, "the log has entries but no head record")
    elif head.seq != last or head.hash != prev:
        return bad(min(head.seq, last) + 1 if head.seq != last else last,
                   f"the head says the log ends at entry {head.seq}, but it ends at {last} (entries cut or added)")
    elif key is not None and not hmac.compare_digest(head.mac, mac(key, head.seq, head.hash, "head")):
        return bad(last, "the head's keyed checkpoint is wrong (the chain was rewritten)")
    return Verdict(True, count, checkpoints, keyed=key is not None)
