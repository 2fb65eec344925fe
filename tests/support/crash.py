"""Crash drills: a storm of distinct alerts, a kill -9 in the middle of it, a restart, a re-delivery.

Shared by the integration tests (tests/integration/test_crash_safety.py) and bench/crash.py, which
prints the same figures for a bigger storm. The runbook the alerts match (tests/runbooks/
crash-storm.md, autopilot) appends `look <n>` and `change <n>` to one log file, so a drill counts,
for every alert, how many executions it got in the database and in Temporal, and how often its
green and its yellow step ran.
"""

from __future__ import annotations

import collections
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import httpx
from temporalio.client import Client

from support.paths import REPO, TEST_RUNBOOKS
from support.processes import free_port

STORM_ALERT = "CrashStorm"
STORM_RUNBOOK = "crash-storm"
TERMINAL = {"succeeded", "failed", "rolled_back", "cancelled"}


def storm_payloads(n: int, log: Path, tag: str, pause: float = 0.3) -> list[dict]:
    """`n` distinct firing alerts, one per delivery; `pause`: how long each yellow step lasts."""
    starts = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc).isoformat()
    return [{
        "version": "4", "status": "firing", "receiver": "living-runbooks", "groupKey": f"{{}}:{tag}-{i}",
        "groupLabels": {"alertname": STORM_ALERT}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{"status": "firing", "fingerprint": f"{tag}-{i:04d}", "startsAt": starts,
                    "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph",
                    "labels": {"alertname": STORM_ALERT, "severity": "warning", "instance": f"node-{i}",
                               "n": str(i), "log": str(log), "pause": f"{pause:g}"},
                    "annotations": {"summary": f"storm alert {i}"}}],
    } for i in range(n)]


def send(api: str, payloads: list[dict], clients: int = 8, kill_after: int | None = None,
         kill: Callable[[], None] | None = None) -> list[int | None]:
    """Post every payload from `clients` threads; the status code per payload (None: no answer).

    With `kill_after`, `kill()` runs once, right after that many answers arrived, while the other
    clients are still sending: the crash lands in the middle of the storm.
    """
    todo: queue.Queue[int] = queue.Queue()
    for i in range(len(payloads)):
        todo.put(i)
    codes: list[int | None] = [None] * len(payloads)
    answered, lock, killed = [0], threading.Lock(), threading.Event()

    def client() -> None:
        with httpx.Client(base_url=api, timeout=30) as http:
            while not killed.is_set():
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    codes[i] = http.post("/api/v1/alerts/alertmanager", json=payloads[i]).status_code
                except httpx.TransportError:
                    continue
                with lock:
                    answered[0] += 1
                    crash = kill_after is not None and answered[0] == kill_after
                if crash and kill is not None:
                    kill()
                    killed.set()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def resend_until_accepted(api: str, payloads: list[dict], timeout: float = 60.0) -> list[int | None]:
    """Re-deliver every alert until each is accepted, as Alertmanager retries a failed delivery."""
    deadline = time.monotonic() + timeout
    pending = list(range(len(payloads)))
    codes: list[int | None] = [None] * len(payloads)
    while pending and time.monotonic() < deadline:
        answered = send(api, [payloads[i] for i in pending])
        for i, code in zip(pending, answered):
            codes[i] = code
        pending = [i for i in pending if codes[i] != 202]
        if pending:
            time.sleep(1)
    return codes


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (from /proc), to kill a process tree the way a crash does."""
    parents: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill9_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants at once: nothing gets to clean up."""
    for victim in [pid, *children(pid)]:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def dev_env(state: Path, runbooks: Path = TEST_RUNBOOKS) -> dict[str, str]:
    """The environment of one `runbooks dev` on free ports, its state in `state` (kept across restarts)."""
    return {**os.environ, "DATA_DIR": str(state), "RUNBOOKS_DIR": str(runbooks),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}", "TEMPORAL_UI_PORT": str(free_port()),
            "API_PORT": str(free_port()), "TASK_QUEUE": "crash-dev", "LOG_LEVEL": "WARNING"}


def start_dev(env: dict[str, str], log: Path, timeout: float = 90) -> subprocess.Popen[bytes]:
    """`runbooks dev` (what `make run` starts), returned once its API answers."""
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "dev"], cwd=REPO, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"runbooks dev exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{env['API_PORT']}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    kill9_tree(proc.pid)
    raise AssertionError(f"runbooks dev did not come up:\n{log.read_text()[-4000:]}")


def admin_headers(data_dir: Path) -> dict[str, str]:
    """Acting as the admin the product's first start made (its token is in DATA_DIR/admin-token)."""
    return {"Authorization": f"Bearer {(data_dir / 'admin-token').read_text().strip()}"}


def executions(api: str, headers: dict[str, str]) -> list[dict]:
    with httpx.Client(base_url=api, timeout=30, headers=headers) as http:
        resp = http.get("/api/v1/executions", params={"runbook_id": STORM_RUNBOOK, "limit": 1000})
        resp.raise_for_status()
        return resp.json()


def wait_finished(api: str, expected: int, timeout: float, headers: dict[str, str]) -> list[dict]:
    """Poll until `expected` storm executions exist and all are terminal; returns the last listing."""
    deadline = time.monotonic() + timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        try:
            rows = executions(api, headers)
        except httpx.HTTPError:
            rows = []
        if len(rows) >= expected and all(r["status"] in TERMINAL for r in rows):
            return rows
        time.sleep(0.5)
    return rows


async def temporal_workflows(address: str, namespace: str = "default") -> dict[str, list[str]]:
    """Workflow id -> the statuses of its runs, for the storm's runbook (read straight from Temporal)."""
    client = await Client.connect(address, namespace=namespace)
    runs: dict[str, list[str]] = collections.defaultdict(list)
    async for wf in client.list_workflows(f"RunbookId = '{STORM_RUNBOOK}'"):
        runs[wf.id].append(wf.status.name if wf.status else "UNKNOWN")
    return dict(runs)


def step_runs(log: Path) -> collections.Counter[tuple[str, str]]:
    """(step, alert n) -> how many times it ran."""
    text = log.read_text() if log.exists() else ""
    return collections.Counter(tuple(line.split()) for line in text.splitlines() if line.strip())


@dataclass
class DrillReport:
    """What a crash drill found: the figures the issue asks for, and the alerts behind each."""

    sent: int
    executions: int
    workflows: int
    lost: list[str] = field(default_factory=list)  # alerts with no execution, or one that never finished
    duplicated: list[str] = field(default_factory=list)  # alerts with more than one execution or run
    yellow_twice: list[str] = field(default_factory=list)
    green_repeats: int = 0
    not_succeeded: list[str] = field(default_factory=list)
    recover_seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.yellow_twice or self.not_succeeded)

    def line(self) -> str:
        return (f"alerts sent {self.sent}, executions {self.executions}, workflows {self.workflows}, "
                f"lost {len(self.lost)}, duplicated {len(self.duplicated)}, yellow steps run twice "
                f"{len(self.yellow_twice)}, green steps repeated {self.green_repeats}, not succeeded "
                f"{len(self.not_succeeded)}, recovered in {self.recover_seconds:.1f} s")


def judge(payloads: list[dict], rows: list[dict], workflows: dict[str, list[str]], log: Path,
          recover_seconds: float) -> DrillReport:
    """Every alert must have exactly one execution (database and Temporal), finished, its yellow step run once."""
    by_alert: dict[str, list[dict]] = collections.defaultdict(list)
    for row in rows:
        by_alert[row["alert_fingerprint"]].append(row)
    runs = step_runs(log)
    report = DrillReport(sent=len(payloads), executions=len(rows),
                         workflows=sum(len(workflows.get(r["id"], [])) for r in rows),
                         recover_seconds=recover_seconds)
    for p in payloads:
        alert = p["alerts"][0]
        fp, n = alert["fingerprint"], alert["labels"]["n"]
        mine = by_alert.get(fp, [])
        if len(mine) > 1 or any(len(workflows.get(r["id"], [])) > 1 for r in mine):
            report.duplicated.append(fp)
        if not mine or any(r["status"] not in TERMINAL or not workflows.get(r["id"]) for r in mine):
            report.lost.append(fp)
        elif any(r["status"] != "succeeded" for r in mine):
            report.not_succeeded.append(f"{fp}: {[r['reason'] for r in mine]}")
        if runs[("change", n)] > 1:
            report.yellow_twice.append(fp)
        report.green_repeats += max(runs[("look", n)] - 1, 0)
    return report
