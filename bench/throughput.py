"""Throughput: executions completed per minute with 1 and with 2 worker processes.

For each worker count, a fresh product on this machine: a Temporal dev server, one `runbooks api`
and N `runbooks worker` processes on one task queue, sharing one application database (a SQLite
file by default; --database-url for PostgreSQL, reused by every run). M executions of a 5-step autopilot runbook of
trivial green commands are started as fast as the manual start API takes them (--concurrency
requests in flight), and the completions are counted in the database. Printed per run:

* completed per minute over the whole run (first start -> last finish), and the steady rate: steps
  finished per minute in the middle 80% of the run, divided by the steps of one execution (all M
  executions advance together, so most of them finish near the end: their finish times alone
  say little about the rate in between),
* CPU of every process over the run (user+system seconds, and % of one core; workers include the
  commands they ran), so you can see what saturates: Temporal, the workers, the API, the database,
* what one execution costs in Temporal (from a finished execution's history): events, bytes,
  workflow tasks, activities, local activities,
* what it costs in the application database: bytes per execution and per alert delivery, and the
  peak number of connections the processes held (PostgreSQL).

Usage: python bench/throughput.py [--executions 300] [--workers 1 2] [--steps 5]
                                  [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import sqlalchemy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from product import ROOT, free_port  # noqa: E402

from cli.devserver import start_dev_server, stop_dev_server  # noqa: E402
from workflows.codec import new_key  # noqa: E402

RUNBOOK_ID = "bench-throughput"
TICKS = os.sysconf("SC_CLK_TCK")


def runbook(steps: int) -> str:
    def item(i: int) -> str:
        pad = " " * (len(str(i)) + 2)
        return f"{i}. **Step {i}**\n{pad}Risk: green\n{pad}```sh\n{pad}true\n{pad}```"
    items = "\n".join(item(i) for i in range(1, steps + 1))
    return f"---\nid: {RUNBOOK_ID}\nmode: autopilot\n---\n# Bench: throughput\n\n## Steps\n\n{items}\n"


# -- CPU accounting ---------------------------------------------------------------------------------

def cpu_seconds(pid: int, children: bool = True) -> float:
    """User+system CPU of a process (and of the children it waited for): psutil if installed, else /proc."""
    try:
        import psutil  # noqa: PLC0415
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system + ((t.children_user + t.children_system) if children else 0.0)
    except ImportError:
        pass
    with open(f"/proc/{pid}/stat", "rb") as fh:
        fields = fh.read().rsplit(b")", 1)[1].split()
    # after the command name: state is fields[0], so utime/stime/cutime/cstime are fields[11..14]
    used = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return used / TICKS


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on this machine (shared with whatever else uses it)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


class CpuMeter:
    """CPU seconds of named processes between start() and stop()."""

    def __init__(self, procs: dict[str, int], postgres: bool):
        self.procs, self.postgres = procs, postgres
        self.before: dict[str, float] = {}

    def sample(self) -> dict[str, float]:
        out = {name: cpu_seconds(pid) for name, pid in self.procs.items()}
        if self.postgres:
            total = 0.0
            for pid in postgres_pids():
                with contextlib.suppress(OSError):
                    total += cpu_seconds(pid, children=False)
            out["postgres (all backends)"] = total
        out["bench client (this process)"] = cpu_seconds(os.getpid(), children=False)
        return out

    def start(self) -> None:
        self.before, self.t0 = self.sample(), time.monotonic()

    def stop(self) -> tuple[dict[str, float], float]:
        after, wall = self.sample(), time.monotonic() - self.t0
        return {k: after[k] - self.before.get(k, 0.0) for k in after}, wall


# -- the product -------------------------------------------------------------------------------------

@contextlib.contextmanager
def product(workers: int, database_url: str | None) -> Iterator[tuple[str, str, str, dict[str, int]]]:
    """Yield (API URL, database URL, Temporal address, {process name: pid})."""
    work = Path(tempfile.mkdtemp(prefix="lr-throughput-"))
    books = work / "runbooks"
    books.mkdir()
    (books / f"{RUNBOOK_ID}.md").write_text(runbook(ARGS.steps))
    db = database_url or f"sqlite:///{work / 'app.db'}"
    address, api_port = f"127.0.0.1:{free_port()}", free_port()
    env = {**os.environ, "RUNBOOKS_DIR": str(books), "DATABASE_URL": db, "TEMPORAL_ADDRESS": address,
           "TASK_QUEUE": f"throughput-{os.getpid()}-{workers}", "API_HOST": "127.0.0.1", "API_PORT": str(api_port),
           "LOG_LEVEL": "WARNING", "WORKER_METRICS_PORT": "0",
           "RUNBOOKS_ENCRYPTION_KEYS": f"bench:{new_key()}"}  # encrypted, as in production
    temporal = start_dev_server(work / "temporal", address, free_port(), "default")
    ok = False
    logs = open(work / "processes.log", "ab")
    exe = str(Path(sys.executable).parent / "runbooks")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        # the API first (it migrates the database and imports the runbook), then the workers
        procs["api"] = subprocess.Popen([exe, "api"], env={**env, "DATA_DIR": str(work / "api")}, cwd=ROOT,
                                        stdout=logs, stderr=subprocess.STDOUT)
        api = f"http://127.0.0.1:{api_port}"
        wait_until(lambda: httpx.get(f"{api}/healthz").status_code == 200, procs, work)
        for n in range(workers):
            procs[f"worker {n + 1}"] = subprocess.Popen(
                [exe, "worker"], env={**env, "DATA_DIR": str(work / f"worker-{n}")}, cwd=ROOT,
                stdout=logs, stderr=subprocess.STDOUT)
        time.sleep(3)  # the workers connect and poll
        if any(p.poll() is not None for p in procs.values()):
            raise SystemExit(f"a process exited; see {work / 'processes.log'}")
        pids = {"temporal dev server": temporal.pid, **{name: p.pid for name, p in procs.items()}}
        yield api, db, address, pids
        ok = True
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.wait(40)
        stop_dev_server(temporal)
        logs.close()
    if ok:  # kept after a failure: processes.log says what went wrong
        shutil.rmtree(work, ignore_errors=True)


def wait_until(ready, procs: dict[str, subprocess.Popen[bytes]], work: Path, timeout: float = 90) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.TransportError):
            if ready():
                return
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs.values()):
            raise SystemExit(f"the product did not come up; see {work / 'processes.log'}")
        time.sleep(0.2)


# -- the measurement ---------------------------------------------------------------------------------

def as_utc(value: object) -> datetime:
    ts = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts


def steps_finished(engine: sqlalchemy.Engine, ids: list[str]) -> list[datetime]:
    with engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text(
            "SELECT s.execution_id, s.finished_at FROM step_records s JOIN executions e ON e.id = s.execution_id "
            "WHERE e.runbook_id = :r AND s.finished_at IS NOT NULL"), {"r": RUNBOOK_ID}).all()
    wanted = set(ids)
    return sorted(as_utc(r.finished_at) for r in rows if r.execution_id in wanted)


def finished(engine: sqlalchemy.Engine, ids: list[str]) -> list[tuple[str, datetime, datetime]]:
    with engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text(
            "SELECT id, status, started_at, finished_at FROM executions WHERE runbook_id = :r AND finished_at IS NOT NULL"),
            {"r": RUNBOOK_ID}).all()
    wanted = set(ids)
    return [(r.status, as_utc(r.started_at), as_utc(r.finished_at)) for r in rows if r.id in wanted]


async def start_all(api: str, count: int, concurrency: int) -> tuple[list[str], float]:
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=api, timeout=60, limits=limits) as http:
        async def one(_: int) -> str:
            async with sem:
                resp = await http.post(f"/api/v1/runbooks/{RUNBOOK_ID}/executions",
                                       json={"mode": "autopilot", "started_by": "bench"})
                resp.raise_for_status()
                return resp.json()["id"]
        t0 = time.monotonic()
        ids = await asyncio.gather(*(one(i) for i in range(count)))
        return ids, time.monotonic() - t0


async def history_costs(address: str, execution_id: str) -> collections.Counter[str]:
    from temporalio.client import Client  # noqa: PLC0415

    client = await Client.connect(address)
    history = await client.get_workflow_handle(execution_id).fetch_history()
    kinds = collections.Counter()
    for event in history.events:
        kinds[event.WhichOneof("attributes")] += 1
    kinds["events"] = len(history.events)
    kinds["bytes"] = sum(event.ByteSize() for event in history.events)
    return kinds


def db_bytes(engine: sqlalchemy.Engine, table: str | None = None) -> int:
    """Size of the application database (or of one table with its indexes)."""
    if engine.dialect.name == "postgresql":
        sql = "SELECT pg_total_relation_size(:t)" if table else "SELECT pg_database_size(current_database())"
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(sql), {"t": table} if table else {}).scalar_one()
    path = Path(engine.url.database)
    return sum(f.stat().st_size for f in (path, path.with_name(path.name + "-wal")) if f.exists())


def connections(engine: sqlalchemy.Engine) -> int:
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as conn:
        return conn.execute(sqlalchemy.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")).scalar_one()


def delivery(n: int) -> dict:
    """An Alertmanager delivery no runbook matches: recorded, starts nothing."""
    return {"version": "4", "status": "firing", "receiver": "living-runbooks", "groupKey": "{}:{}",
            "groupLabels": {"alertname": "BenchUnmatched"}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "alerts": [{
                "status": "firing", "fingerprint": f"bench-{n:08d}",
                "labels": {"alertname": "BenchUnmatched", "severity": "warning", "instance": f"10.0.{n % 250}.{n % 7}:9100",
                           "job": "node", "namespace": "payments", "pod": f"api-{n:05d}"},
                "annotations": {"summary": "Disk usage above 90% on the data volume",
                                "description": "The data volume has been above 90% for 10 minutes."},
                "startsAt": datetime.now(timezone.utc).isoformat(), "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=disk_used_ratio%3E0.9"}]}


async def post_deliveries(api: str, count: int) -> None:
    async with httpx.AsyncClient(base_url=api, timeout=60) as http:
        for chunk in range(0, count, 20):
            rs = await asyncio.gather(*(http.post("/api/v1/alerts/alertmanager", json=delivery(n))
                                        for n in range(chunk, min(count, chunk + 20))))
            for r in rs:
                r.raise_for_status()


def measure(workers: int) -> dict:
    with product(workers, ARGS.database_url) as (api, db, address, pids):
        engine = sqlalchemy.create_engine(db)
        # warm-up: first workflow tasks, connections, caches
        warm, _ = asyncio.run(start_all(api, 5, 5))
        wait_done(engine, warm, 60)
        size_before = db_bytes(engine)
        meter = CpuMeter(pids, postgres=db.startswith("postgresql"))
        meter.start()
        ids, start_seconds = asyncio.run(start_all(api, ARGS.executions, ARGS.concurrency))
        done, peak_connections = wait_done(engine, ids, ARGS.timeout)
        cpu, wall = meter.stop()
        db_per_execution = (db_bytes(engine) - size_before) / len(ids)
        steps = steps_finished(engine, ids)
        costs = asyncio.run(history_costs(address, ids[0]))
        alerts_before = db_bytes(engine, "alerts") if engine.dialect.name == "postgresql" else db_bytes(engine)
        asyncio.run(post_deliveries(api, 500))
        alerts_after = db_bytes(engine, "alerts") if engine.dialect.name == "postgresql" else db_bytes(engine)
        engine.dispose()
    statuses = collections.Counter(s for s, _, _ in done)
    first_start = min(s for _, s, _ in done)
    last_finish = max(f for _, _, f in done)
    whole = (last_finish - first_start).total_seconds()
    lo, hi = first_start + (last_finish - first_start) * 0.1, first_start + (last_finish - first_start) * 0.9
    middle = sum(lo <= t <= hi for t in steps)
    steady = middle / ARGS.steps / max((hi - lo).total_seconds(), 1e-6) * 60
    latencies = sorted((f - s).total_seconds() for _, s, f in done)
    return {"workers": workers, "executions": len(done), "statuses": dict(statuses), "whole_seconds": whole,
            "per_minute": len(done) / whole * 60, "steady_per_minute": steady, "start_seconds": start_seconds,
            "median_latency": latencies[len(latencies) // 2], "cpu": cpu, "wall": wall, "costs": costs,
            "db_per_execution": db_per_execution, "db_per_delivery": (alerts_after - alerts_before) / 500,
            "peak_connections": peak_connections}


def wait_done(engine: sqlalchemy.Engine, ids: list[str], timeout: float) -> tuple[list[tuple[str, datetime, datetime]], int]:
    """The finished executions, and the most database connections seen meanwhile (PostgreSQL)."""
    deadline = time.monotonic() + timeout
    peak = 0
    while True:
        peak = max(peak, connections(engine))
        done = finished(engine, ids)
        if len(done) == len(ids):
            return done, peak
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(done)} of {len(ids)} executions finished within {timeout:g} s")
        time.sleep(0.5)


def report(r: dict) -> None:
    print(f"\n{r['workers']} worker process{'es' if r['workers'] > 1 else ''}: {r['executions']} executions of "
          f"{ARGS.steps} green steps, {r['statuses']}")
    print(f"  started in {r['start_seconds']:.1f} s ({r['executions'] / r['start_seconds']:.0f}/s through the API)")
    print(f"  completed per minute: {r['per_minute']:.0f} over the run ({r['whole_seconds']:.1f} s), "
          f"{r['steady_per_minute']:.0f} steady (steps finished in the middle 80% / {ARGS.steps})")
    print(f"  start -> finish per execution: median {r['median_latency']:.1f} s (queued behind the others)")
    print(f"  CPU over {r['wall']:.1f} s (user+system; 100% = one core of {os.cpu_count()}):")
    for name, used in sorted(r["cpu"].items(), key=lambda kv: -kv[1]):
        print(f"    {name:<28} {used:7.1f} s  {used / r['wall'] * 100:5.0f}%   "
              f"{used / r['executions'] * 1000:6.1f} ms per execution")
    total = sum(r["cpu"].values())
    print(f"    {'total':<28} {total:7.1f} s  {total / r['wall'] * 100:5.0f}%   "
          f"{total / r['executions'] * 1000:6.1f} ms per execution")
    c = r["costs"]
    print(f"  one execution in Temporal: {c['events']} history events ({c['bytes'] / 1024:.0f} KiB), "
          f"{c['workflow_task_completed_event_attributes']} workflow tasks, "
          f"{c['activity_task_scheduled_event_attributes']} activities, "
          f"{c['marker_recorded_event_attributes']} local activities (markers), "
          f"{c['upsert_workflow_search_attributes_event_attributes']} search-attribute upserts")
    sqlite = not (ARGS.database_url or "").startswith("postgresql")
    print(f"  application database: +{r['db_per_execution'] / 1024:.1f} KiB per execution, "
          f"+{r['db_per_delivery'] / 1024:.1f} KiB per alert delivery recorded"
          + (" (SQLite file growth, write-ahead log included: rough)" if sqlite else
             f"; peak {r['peak_connections']} connections held by the processes"))


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=300)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32, help="start requests in flight")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file per run")
    parser.add_argument("--timeout", type=float, default=600)
    ARGS = parser.parse_args()
    load = os.getloadavg()
    print(f"this machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} at start; database "
          f"{'PostgreSQL' if (ARGS.database_url or '').startswith('postgresql') else 'SQLite'}; Temporal dev server")
    results = [measure(n) for n in ARGS.workers]
    for r in results:
        report(r)
    if len(results) > 1:
        base = results[0]["steady_per_minute"]
        print("\nscaling: " + ", ".join(f"{r['workers']} workers {r['steady_per_minute'] / base:.2f}x"
                                        for r in results[1:]) + f" of {results[0]['workers']} worker")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()
