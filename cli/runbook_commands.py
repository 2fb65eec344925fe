"""`runbooks import` and `runbooks parse`: bring runbooks in from the command line and inspect them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table


from runbooks.authoring.importer import ImportReport, import_directory, import_git
from runbooks.authoring.lint import lint
from runbooks.authoring.reader import parse_text
from runbooks.errors import RunbookParseError
from runbooks.settings import Settings
from runbooks.storage.audit import AuditLog, audit_key
from runbooks.storage.engine import make_engine
from runbooks.storage.migrate import create_schema
from runbooks.storage.store import Store

console = Console()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser("import", help="import runbooks from a folder or a git repository into the database")
    imp.add_argument("path", type=Path, help="a folder of runbooks, or a git repository with --git")
    imp.add_argument("--git", action="store_true", help="read PATH as a git repository at --branch")
    imp.add_argument("--branch", default="main")
    imp.add_argument("--subdir", default="", help="with --git: only runbooks under this folder")
    imp.add_argument("--author", default="operator",
                     help="recorded on each new version (deployed by the operator: live at once)")
    parse = sub.add_parser("parse", help="parse one runbook file and print it (no database)")
    parse.add_argument("file", type=Path)
    parse.add_argument("--json", action="store_true", help="the parsed runbook and its lints as JSON")


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.resolved_database_url)
    create_schema(engine, auto_migrate=settings.auto_migrate)
    store = Store(engine)
    if not args.path.exists():
        console.print(f"[red]{args.path}: no such folder[/red]")
        return 2
    try:
        report = (import_git(store, args.path, args.branch, args.subdir, args.author, settings.llm) if args.git
                  else import_directory(store, args.path, args.author, settings.llm))
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    audit = AuditLog(engine, audit_key(settings))
    for result in report.results:
        if result.created:
            audit.append(args.author, "runbook.deploy", f"runbook:{result.id}", version=result.version,
                         source=str(args.path), commit=report.commit)
    _print_report(report)
    return 1 if report.failures else 0


def _print_report(report: ImportReport) -> None:
    table = Table(title=f"{len(report.results)} runbooks" + (f" at commit {report.commit[:12]}" if report.commit else ""))
    for col in ("id", "version", "new", "format", "steps", "commands", "score", "lints"):
        table.add_column(col, overflow="fold")
    for r in report.results:
        table.add_row(r.id, str(r.version), "yes" if r.created else "", r.format, str(r.steps), str(r.commands),
                      str(r.quality.score), str(len(r.quality.lints)))
    console.print(table)
    for failure in report.failures:
        console.print(f"[red]rejected[/red] {failure}")


def run_parse(args: argparse.Namespace, settings: Settings) -> int:
    try:
        runbook = parse_text(args.file.read_text(encoding="utf-8"), args.file.name, args.file.stem, settings.llm)
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except RunbookParseError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    quality = lint(runbook)
    if args.json:
        print(json.dumps({"runbook": runbook.model_dump(mode="json"), "quality": quality.model_dump(mode="json")},
                         indent=2))
        return 0
    print(f"{runbook.id}: {runbook.title} ({runbook.format}, quality score {quality.score})")
    for s in runbook.steps:
        print(f"  {s.position}. [{s.risk.value}] {s.title}  ({s.risk_reason})")
        if s.command:
            print("       " + s.command.replace("\n", "\n       "))
    for item in quality.lints:
        print(f"  {item.severity.value}: {item.message}")
    return 0
