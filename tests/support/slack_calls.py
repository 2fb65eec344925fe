"""Reading what the product posted to the local Slack Web API (tests/support/fake_slack.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from support.fake_slack import FakeSlack

CHANNEL = "C0APPROVALS"


def texts(value: Any) -> list[str]:
    """Every "text" string in a message's blocks (sections, fields, context, buttons, dialogs)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                found.append(item)
            else:
                found.extend(texts(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(texts(item))
    return found


def shown(args: dict) -> str:
    """What a reader sees: blocks and fallback text, with Slack's escaping undone."""
    joined = "\n".join([args.get("text", ""), *texts(args.get("blocks") or [])])
    return joined.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_of(args: dict, kind: str) -> list[dict]:
    return [b for b in args.get("blocks") or [] if b.get("type") == kind]


def buttons(args: dict) -> dict[str, dict]:
    return {e["action_id"]: e for b in blocks_of(args, "actions") for e in b["elements"]}


async def slack_call(fake: FakeSlack, method: str, predicate: Callable[[dict], bool], timeout: float = 15) -> dict:
    """fake.wait_for off the event loop: the in-process worker needs the loop meanwhile."""
    return await asyncio.to_thread(fake.wait_for, method, predicate, timeout)


def in_thread(root: dict, *words: str) -> Callable[[dict], bool]:
    return lambda a: a.get("thread_ts") == root["ts"] and all(w in shown(a) for w in words)


async def root_of(fake: FakeSlack, execution_id: str) -> dict:
    root = await slack_call(fake, "chat.postMessage", lambda a: not a.get("thread_ts") and execution_id in shown(a))
    ts = next(r for r in _posted_with_ts(fake) if r[0] is root)[1]
    return {**root, "ts": ts}


def _posted_with_ts(fake: FakeSlack) -> list[tuple[dict, str]]:
    """Pair each postMessage with the ts the fake answered: it numbers accepted calls in order."""
    with fake._lock:
        calls = list(fake.calls)
    out, ts = [], 1_700_000_000.000100
    for call in calls:
        ts += 0.0001
        if call.method == "chat.postMessage":
            out.append((call.args, f"{ts:.6f}"))
    return out


def ts_of(fake: FakeSlack, args: dict) -> str:
    return next(ts for posted, ts in _posted_with_ts(fake) if posted is args)
