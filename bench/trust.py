"""What identity and the audit trail cost: authentication per request, and verifying the audit log.

1. Authentication overhead: two routes served by uvicorn over real HTTP, identical but for their
   rule: one `needs(Permission.read)` (the product's dependency: Bearer token looked up by its
   SHA-256 in the application database, among 1,000 tokens), its twin `public(...)`. Requests
   alternate between them; median and p99 of each, and the difference.
2. Audit verification: 100,000 entries (chained and checkpointed exactly as `AuditLog.append`
   does, written in bulk), then `AuditLog.verify()` over all of them and `runbooks audit verify`
   end to end; also the rate of single appends.

    .venv/bin/python bench/trust.py [--requests 2000] [--entries 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import uvicorn
from fastapi import Depends, FastAPI

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from api.auth import needs, public  # noqa: E402
from runbooks.access import Permission  # noqa: E402
from runbooks.audit import CHECKPOINT_EVERY, GENESIS, entry_hash, mac  # noqa: E402
from runbooks.settings import Settings  # noqa: E402
from runbooks.storage.audit import AuditLog  # noqa: E402
from runbooks.storage.engine import make_engine  # noqa: E402
from runbooks.storage.identity import IdentityStore  # noqa: E402
from runbooks.storage.migrate import create_schema  # noqa: E402
from runbooks.storage.tables import AuditHeadRow, AuditRow, utcnow  # noqa: E402
from services import accounts  # noqa: E402

KEY = b"bench-audit-key"
PAYLOAD = {"runbooks": [{"id": f"rb-{n}", "title": "x" * 40} for n in range(20)]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


async def authentication(url: str, requests: int) -> None:
    engine = make_engine(url)
    create_schema(engine)
    identity, audit = IdentityStore(engine), AuditLog(engine, KEY)
    for n in range(1000):
        accounts.add_user(identity, audit, "bench", f"user-{n}", ["viewer"], ["default"])
        secret, _ = accounts.create_token(identity, audit, "bench", f"user-{n}")
    app = FastAPI()
    app.state.services = SimpleNamespace(settings=Settings(), identity=identity, audit_log=audit)

    @app.get("/closed", dependencies=[Depends(needs(Permission.read))])
    async def closed() -> dict:
        return PAYLOAD

    @app.get("/open", dependencies=[Depends(public("the twin without authentication"))])
    async def opened() -> dict:
        return PAYLOAD

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    times: dict[str, list[float]] = {"/open": [], "/closed": []}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {secret}"},
                                 trust_env=False) as http:
        for path in ("/open", "/closed"):  # warm up
            for _ in range(50):
                assert (await http.get(path)).status_code == 200
        for _ in range(requests):
            for path in ("/open", "/closed"):
                began = time.perf_counter()
                resp = await http.get(path)
                times[path].append((time.perf_counter() - began) * 1000)
                assert resp.status_code == 200
    server.should_exit = True
    await task
    engine.dispose()
    med = {p: statistics.median(t) for p, t in times.items()}
    p99 = {p: _pct(t, 0.99) for p, t in times.items()}
    print(f"authentication ({engine.url.get_backend_name()}, 1,000 tokens, {requests} requests each, real HTTP):")
    print(f"  without  median {med['/open']:.2f} ms  p99 {p99['/open']:.2f} ms")
    print(f"  with     median {med['/closed']:.2f} ms  p99 {p99['/closed']:.2f} ms")
    print(f"  overhead median {med['/closed'] - med['/open']:+.2f} ms  p99 {p99['/closed'] - p99['/open']:+.2f} ms")


def audit_verification(url: str, entries: int, work: Path) -> None:
    engine = make_engine(url)
    create_schema(engine)
    log = AuditLog(engine, KEY)
    began = time.perf_counter()
    for n in range(1000):
        log.append(f"user-{n % 7}", "step.approve", f"execution:bench-{n}", step="restart", risk="yellow")
    appends = 1000 / (time.perf_counter() - began)
    existing = list(log.entries())
    prev, seq = existing[-1].hash, existing[-1].seq
    rows = []
    for n in range(seq + 1, entries + 1):
        at = utcnow()
        detail = {"step": "restart", "risk": "yellow", "n": n}
        digest = entry_hash(prev, n, at, f"user-{n % 7}", "step.approve", f"execution:bench-{n}", detail)
        rows.append(AuditRow(seq=n, at=at, actor=f"user-{n % 7}", action="step.approve",
                             target=f"execution:bench-{n}", detail=detail, prev_hash=prev, hash=digest,
                             checkpoint=mac(KEY, n, digest) if n % CHECKPOINT_EVERY == 0 else None))
        prev = digest
    with log.session() as s:
        s.add_all(rows)
        head = s.get(AuditHeadRow, 1)
        head.seq, head.hash, head.mac = entries, prev, mac(KEY, entries, prev, "head")
        s.add(head)
        s.commit()
    began = time.perf_counter()
    verdict = log.verify()
    in_process = time.perf_counter() - began
    assert verdict.ok, verdict
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(work), "AUDIT_KEY": KEY.decode(),
           "LOG_LEVEL": "WARNING"}
    began = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "runbooks"), "audit", "verify"], env=env,
                          capture_output=True, text=True)
    cli = time.perf_counter() - began
    assert done.returncode == 0, done.stdout + done.stderr
    engine.dispose()
    print(f"audit log ({engine.url.get_backend_name()}):")
    print(f"  single appends      {appends:,.0f} per second (each its own transaction, head row locked)")
    print(f"  verify {entries:,} entries  {in_process:.2f} s in process ({entries / in_process:,.0f} entries/s)")
    print(f"  runbooks audit verify  {cli:.2f} s end to end: {done.stdout.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        asyncio.run(authentication(args.database_url or f"sqlite:///{work / 'auth.db'}", args.requests))
        audit_verification(args.database_url or f"sqlite:///{work / 'audit.db'}", args.entries, work)


if __name__ == "__main__":
    main()
