"""The audit chain: editing, deleting, reordering, cutting or rewriting entries shows in `verify`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from runbooks.audit import GENESIS, Entry, Head, Verdict, entry_hash, mac, verify

KEY = b"audit-key-0123456789abcdef-0123456"
EVERY = 100  # checkpoints at 100 and 200 in a chain of 250
T0 = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)


def link(prev: str, seq: int, at: datetime, actor: str, action: str, target: str, detail: dict,
         key: bytes | None) -> Entry:
    """One entry as the appender writes it; without the key (an attacker) no checkpoint can be made."""
    digest = entry_hash(prev, seq, at, actor, action, target, detail)
    checkpoint = mac(key, seq, digest) if key is not None and seq % EVERY == 0 else None
    return Entry(seq, at, actor, action, target, detail, prev, digest, checkpoint)


def build(n: int = 250, key: bytes = KEY) -> tuple[list[Entry], Head]:
    entries, prev = [], GENESIS
    for seq in range(1, n + 1):
        entry = link(prev, seq, T0 + timedelta(seconds=seq), f"user{seq % 7}", "step.approve",
                     f"execution:ex-{seq}", {"step": "restart-api", "n": seq}, key)
        entries.append(entry)
        prev = entry.hash
    return entries, head_of(entries, key)


def head_of(entries: list[Entry], key: bytes) -> Head:
    last = entries[-1]
    return Head(last.seq, last.hash, mac(key, last.seq, last.hash, "head"))


def rewrite_from(entries: list[Entry], k: int) -> list[Entry]:
    """Edit entry k and recompute every hash after it, keeping the old checkpoints (no key to remake them)."""
    out, prev = list(entries[: k - 1]), entries[k - 2].hash if k > 1 else GENESIS
    for e in entries[k - 1:]:
        detail = {**e.detail, "approved": False} if e.seq == k else e.detail
        new = replace(link(prev, e.seq, e.at, e.actor, e.action, e.target, detail, None), checkpoint=e.checkpoint)
        out.append(new)
        prev = new.hash
    return out


@pytest.fixture
def chain() -> tuple[list[Entry], Head]:
    return build()


def check(entries: list[Entry], head: Head | None, key: bytes | None = KEY) -> Verdict:
    return verify(entries, key, head, every=EVERY)


def test_an_intact_chain_verifies(chain) -> None:
    verdict = check(*chain)
    assert (verdict.ok, verdict.entries, verdict.checkpoints, verdict.first_bad, verdict.keyed) == (
        True, 250, 2, None, True)
    assert str(verdict) == "audit log intact: 250 entries, 2 keyed checkpoints and the head verified"


def test_an_empty_log_without_a_head_verifies() -> None:
    assert verify([], KEY, None).ok


@pytest.mark.parametrize("field, value", [
    ("detail", {"step": "restart-api", "n": 137, "approved": False}),
    ("actor", "mallory"),
    ("at", T0 + timedelta(days=1)),
    ("action", "step.reject"),
])
def test_an_edited_entry_is_reported_as_the_first_bad_one(chain, field: str, value: object) -> None:
    entries, head = chain
    entries[136] = replace(entries[136], **{field: value})
    verdict = check(entries, head)
    assert not verdict.ok and verdict.first_bad == 137 and verdict.entries == 136
    assert "entry 137" in str(verdict) and "NOT intact" in str(verdict)


def test_a_deleted_middle_entry_is_reported(chain) -> None:
    entries, head = chain
    del entries[119]
    verdict = check(entries, head)
    assert not verdict.ok and verdict.first_bad == 120 and "missing" in verdict.problem


def test_two_swapped_entries_are_reported_at_the_first_of_them(chain) -> None:
    entries, head = chain
    entries[59], entries[60] = entries[60], entries[59]
    assert check(entries, head).first_bad == 60


def test_entries_cut_off_the_end_are_reported_by_the_head(chain) -> None:
    entries, head = chain
    verdict = check(entries[:245], head)
    assert not verdict.ok and verdict.first_bad == 246 and "head" in verdict.problem


def test_an_entry_added_at_the_end_without_updating_the_head_is_caught(chain) -> None:
    entries, head = chain
    entries.append(link(entries[-1].hash, 251, T0, "mallory", "user.create", "user:mallory", {}, None))
    verdict = check(entries, head)
    assert not verdict.ok and verdict.first_bad == 251


def test_a_log_with_entries_but_no_head_is_caught(chain) -> None:
    assert check(chain[0], None).first_bad == 250


@pytest.mark.parametrize("k, caught_at", [(137, 200), (230, 250)], ids=["by-checkpoint", "by-head-mac"])
def test_a_chain_rewritten_without_the_key_is_caught(chain, k: int, caught_at: int) -> None:
    entries, head = chain
    forged = rewrite_from(entries, k)
    forged_head = Head(250, forged[-1].hash, head.mac)  # the hash can be updated, its MAC cannot
    verdict = check(forged, forged_head)
    assert not verdict.ok and verdict.first_bad == caught_at and "rewritten" in verdict.problem
    assert check(forged, forged_head, key=None).ok  # the hashes alone are consistent: only the key tells


def test_the_wrong_key_fails_at_the_first_checkpoint(chain) -> None:
    verdict = check(*chain, key=b"not-the-key")
    assert not verdict.ok and verdict.first_bad == EVERY


def test_without_a_key_only_the_chain_is_checked(chain) -> None:
    verdict = check(*chain, key=None)
    assert verdict.ok and not verdict.keyed and verdict.checkpoints == 0 and verdict.entries == 250
    assert "hash chain only" in str(verdict)
    entries, head = chain
    entries[9] = replace(entries[9], actor="mallory")
    broken = check(entries, head, key=None)
    assert not broken.ok and broken.first_bad == 10 and not broken.keyed


def test_a_removed_checkpoint_is_caught(chain) -> None:
    entries, head = chain
    entries[199] = replace(entries[199], checkpoint=None)
    verdict = check(entries, head)
    assert not verdict.ok and verdict.first_bad == 200 and "checkpoint" in verdict.problem


def test_a_checkpoint_where_none_is_due_is_caught(chain) -> None:
    entries, head = chain
    entries[49] = replace(entries[49], checkpoint=mac(KEY, 50, entries[49].hash))
    assert check(entries, head).first_bad == 50


def test_cutting_the_log_back_to_a_checkpoint_and_forging_the_head_from_it_is_caught(chain) -> None:
    entries, _ = chain
    kept = entries[:200]
    forged_head = Head(200, kept[-1].hash, kept[-1].checkpoint)  # no key used: copied from entry 200
    assert not check(kept, forged_head).ok
