"""Bounded capture of a command's output.

A runbook command can print gigabytes (a stray `cat` of a log file), but its output is stored in
the workflow history and the database, so we keep only the first and the last `max_bytes / 2`:
the head shows what the command started doing, the tail shows how it ended (the error, usually).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

DEFAULT_MAX_OUTPUT = 64 * 1024
PROGRESS_INTERVAL = 0.5


def omitted_marker(omitted: int) -> str:
    return f"\n... [{omitted} bytes omitted] ...\n"


class OutputCollector:
    """Accumulates chunks of bytes in memory bounded by `max_bytes` (thread-safe)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_OUTPUT) -> None:
        self.max_bytes = max(0, max_bytes)
        self._head_cap = self.max_bytes // 2
        self._tail_cap = self.max_bytes - self._head_cap
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            self._total += len(data)
            room = self._head_cap - len(self._head)
            if room > 0:
                self._head += data[:room]
                data = data[room:]
            if data and self._tail_cap:
                self._tail += data[-self._tail_cap :]
                excess = len(self._tail) - self._tail_cap
                if excess > 0:
                    del self._tail[:excess]

    @property
    def total_bytes(self) -> int:
        return self._total

    @property
    def truncated(self) -> bool:
        return self._total > self.max_bytes

    def text(self) -> str:
        """The kept output decoded as UTF-8, with a marker where bytes were dropped."""
        with self._lock:
            head, tail = bytes(self._head), bytes(self._tail)
            omitted = self._total - len(head) - len(tail)
        if omitted <= 0:
            return (head + tail).decode("utf-8", errors="replace")
        return (
            head.decode("utf-8", errors="replace")
            + omitted_marker(omitted)
            + tail.decode("utf-8", errors="replace")
        )


class OutputProgress:
    """Hands a running command's output so far to `progress`, for people to watch it live.

    At most every `interval` seconds and only when it changed: each report may be written to the
    database, and a quiet command (a long `sleep`) should cost nothing. `tick` is called from the
    executor's wait loop, which also wakes at `due`; without a `progress` callback it does nothing.
    """

    def __init__(self, collector: OutputCollector, progress: Callable[[str], None] | None,
                 interval: float = PROGRESS_INTERVAL) -> None:
        self.collector, self.progress, self.interval = collector, progress, interval
        self.due = time.monotonic() + interval if progress is not None else math.inf
        self._seen = 0
        self._last = ""

    def tick(self, now: float) -> None:
        if self.progress is None or now < self.due:
            return
        self.due = now + self.interval
        total = self.collector.total_bytes
        if total == self._seen:
            return
        self._seen = total
        text = self.collector.text()  # may already hold bytes that came after `total`: never sent twice
        if text != self._last:
            self._last = text
            self.progress(text)


HEARTBEAT_INTERVAL = 2.0  # seconds between an executor's heartbeats (the activity's heartbeat timeout is longer)


class Pacer:
    """The clock of an executor's wait loop: heartbeats, the output so far, the step's deadline.

    Every executor (local, SSH, HTTP) waits on something of its own (a process, a channel, a thread)
    in short slices; between slices `tick` does what fell due and says whether the deadline passed,
    and `wait` says how long the next slice may block before something else falls due.
    """

    def __init__(self, collector: OutputCollector, heartbeat: Callable[[], None] | None,
                 progress: Callable[[str], None] | None, deadline: float, first_beat: float | None = None) -> None:
        self.heartbeat, self.deadline = heartbeat, deadline
        self.reporter = OutputProgress(collector, progress)
        self.next_beat = time.monotonic() if first_beat is None else first_beat

    def tick(self) -> bool:
        """Heartbeat and report the output when due; True once the deadline has passed."""
        now = time.monotonic()
        if self.heartbeat is not None and now >= self.next_beat:
            self.heartbeat()
            self.next_beat = now + HEARTBEAT_INTERVAL
        self.reporter.tick(now)
        return now >= self.deadline

    def wait(self) -> float:
        """Seconds the loop may block before the next heartbeat, report or the deadline (at least 10 ms)."""
        beat = self.next_beat if self.heartbeat is not None else self.deadline
        return max(min(self.deadline, beat, self.reporter.due) - time.monotonic(), 0.01)
