"""Confluence import speed and fidelity: the 256 corpus runbooks served as a Confluence space.

Every corpus runbook is stored in a local server that speaks the Confluence Cloud REST API v2 as
storage format (fenced code as code macros, the way a migration to Confluence leaves it), then one
full sync of a real connection reads, converts, parses, classifies, lints and stores them all into
a fresh SQLite database, exactly as `POST /api/v1/connections/{id}/sync` does. The same files are
then imported as Markdown into another database, and each runbook's steps and commands compared.

    .venv/bin/python bench/confluence_import.py [--corpus DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from runbooks.authoring.importer import import_text  # noqa: E402
from runbooks.connections.sync import sync_connection  # noqa: E402
from runbooks.keyring import KeyRing, new_key, seal  # noqa: E402
from runbooks.model import Runbook  # noqa: E402
from runbooks.storage.connections import ConnectionStore  # noqa: E402
from runbooks.storage.engine import make_engine  # noqa: E402
from runbooks.storage.migrate import create_schema  # noqa: E402
from runbooks.storage.store import Store  # noqa: E402
from runbooks.storage.tables import ConnectionRow  # noqa: E402
from support.confluence_corpus import load_corpus  # noqa: E402
from support.fake_confluence import EMAIL, TOKEN, FakeConfluence  # noqa: E402


def _store(folder: Path, name: str) -> Store:
    engine = make_engine(f"sqlite:///{folder / name}")
    create_schema(engine)
    return Store(engine)


def _shape(rb: Runbook) -> list[tuple[str, str | None]]:
    return [(s.title, s.command) for s in rb.steps]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeConfluence(page_size=25) as fake:
        folder = Path(tmp)
        pages = load_corpus(fake, "OPS", args.corpus)
        print(f"{len(pages)} corpus runbooks served as Confluence storage format at {fake.url}")

        store, ring = _store(folder, "confluence.db"), KeyRing.parse(f"k1:{new_key()}")
        cstore = ConnectionStore(store.engine)
        row = cstore.create(ConnectionRow(kind="confluence", base_url=fake.url, config={"space": "OPS"},
                                          token_sealed="", created_by="bench"),
                            lambda cid: (seal(ring, f"{EMAIL}:{TOKEN}", f"connection:{cid}:token"), None))
        clock = time.perf_counter()
        report = sync_connection(store, cstore, ring, row.id or 0, trigger="manual", by="bench")
        took = time.perf_counter() - clock
        print(f"sync: {report.found} found, {report.imported} imported, {report.unchanged} unchanged, "
              f"{report.refused} refused, {report.flagged} flagged, error={report.error}")
        print(f"convert and import {report.found} pages: {took:.1f} s (target < 60 s)")
        clock = time.perf_counter()
        again = sync_connection(store, cstore, ring, row.id or 0, trigger="manual", by="bench")
        print(f"sync again, nothing changed: {time.perf_counter() - clock:.1f} s "
              f"({again.unchanged} unchanged, {again.imported} imported)")

        direct = _store(folder, "markdown.db")
        differ, steps, commands = [], 0, 0
        by_page = {p.key: p for p in report.pages}
        for page_id, path in pages.items():
            result = by_page.get(page_id)
            md = import_text(direct, path.read_text(encoding="utf-8"), path=path.name, default_id=path.stem)
            from_md = direct.get_runbook(md.id)
            if result is None or result.runbook_id is None:
                differ.append(f"{path.name}: not imported from Confluence ({result.reason if result else 'missing'})")
                continue
            from_page = store.get_runbook(result.runbook_id)
            assert from_md is not None and from_page is not None
            a, b = _shape(from_md[0]), _shape(from_page[0])
            steps += len(a)
            commands += sum(1 for _, c in a if c)
            if [c for _, c in a] != [c for _, c in b]:
                differ.append(f"{path.name}: commands differ")
            elif a != b:
                differ.append(f"{path.name}: same commands, step titles differ")
        print(f"same steps and commands as importing the Markdown directly: {len(pages) - len(differ)} of "
              f"{len(pages)} runbooks ({steps} steps, {commands} with a command)")
        for line in differ:
            print(f"  differs: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
