"""Every way a runbook comes in: pasted text, an uploaded file, a folder, a git repository.

All paths end in the same place: parse (prose or structured), optionally let the LLM help with
prose that has no commands, lint, and store a new immutable version only if the content changed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from runbooks.authoring.lint import Quality, lint
from runbooks.authoring.reader import parse_text
from runbooks.errors import RunbookParseError
from runbooks.model import Runbook
from runbooks.settings import LlmSettings
from runbooks.storage.store import Origin, Store

RUNBOOK_SUFFIXES = (".md", ".markdown", ".yaml", ".yml")
SKIPPED_NAMES = {"readme.md", "index.md", "license.md", "changelog.md", "source.md", "_index.md"}


class ImportResult(BaseModel):
    id: str
    version: int
    created: bool
    title: str
    format: str
    steps: int
    commands: int
    source_path: str | None
    quality: Quality
    state: str = "live"  # live | pending_review | rejected (runbooks/review.py)
    review_reasons: list[str] = Field(default_factory=list)
    live_version: int | None = None

    @classmethod
    def of(cls, runbook: Runbook, version: int, created: bool, state: str = "live",
           reasons: list[str] | None = None, live_version: int | None = None) -> "ImportResult":
        return cls(id=runbook.id, version=version, created=created, title=runbook.title, format=runbook.format,
                   steps=len(runbook.steps), commands=sum(1 for s in runbook.steps if s.command),
                   source_path=runbook.source_path, quality=lint(runbook), state=state,
                   review_reasons=reasons or [], live_version=live_version)


@dataclass
class ImportReport:
    results: list[ImportResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    commit: str | None = None

    @property
    def new_versions(self) -> list[str]:
        return [f"{r.id}@v{r.version}" for r in self.results if r.created]


Gate = Callable[[Runbook], list[str]]


def import_text(store: Store, text: str, *, path: str | None = None, default_id: str | None = None,
                author: str = "api", source_kind: str = "paste", commit: str | None = None,
                llm: LlmSettings | None = None, gate: Gate | None = None, origin: Origin | None = None) -> ImportResult:
    """Parse and store one runbook. Raises RunbookParseError (with the line) for a bad one.

    `gate`, called with the parsed runbook before it is stored, may refuse it (by raising) and
    returns why the version must wait for review ([] : live at once). Without a gate (what the
    operator deploys: a folder, a git branch) every version is live at once.
    """
    runbook = parse_text(text, path, default_id, llm)
    reasons = gate(runbook) if gate is not None else []
    version, created = store.save_runbook(runbook, text, author=author, source_kind=source_kind, commit=commit,
                                          review_reasons=reasons, origin=origin)
    row, stored = store.runbook_row(runbook.id), store.version_row(runbook.id, version)
    return ImportResult.of(runbook, version, created, stored.state if stored else "live",
                           stored.review_reasons if stored else reasons, row.live_version if row else None)


def _runbook_files(paths: list[PurePosixPath]) -> list[PurePosixPath]:
    return sorted(p for p in paths if p.suffix in RUNBOOK_SUFFIXES and p.name.lower() not in SKIPPED_NAMES)


def import_directory(store: Store, root: Path, author: str = "operator", llm: LlmSettings | None = None) -> ImportReport:
    """Every runbook under `root`; ids default to the path relative to `root` without the suffix."""
    report = ImportReport()
    files = _runbook_files([PurePosixPath(p.relative_to(root).as_posix()) for p in root.rglob("*") if p.is_file()])
    for rel in files:
        _import_one(store, report, (root / rel).read_text(encoding="utf-8", errors="replace"), rel, author,
                    "directory", None, llm)
    return report


def import_git(store: Store, repo: Path, branch: str = "main", subdir: str = "", author: str = "git",
               llm: LlmSettings | None = None) -> ImportReport:
    """Runbooks at the tip of `branch` in a local git repository, read without a checkout.

    The commit id is recorded on every version, so a runbook version points at its source.
    """
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise ValueError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
        return done.stdout

    commit = git("rev-parse", "--verify", f"{branch}^{{commit}}").strip()
    prefix = subdir.strip("/")
    listed = git("ls-tree", "-r", "--name-only", commit, *([prefix] if prefix else [])).splitlines()
    report = ImportReport(commit=commit)
    for full in _runbook_files([PurePosixPath(p) for p in listed]):
        rel = full.relative_to(prefix) if prefix else full
        _import_one(store, report, git("show", f"{commit}:{full}"), rel, author, "git", commit, llm)
    return report


def _import_one(store: Store, report: ImportReport, text: str, rel: PurePosixPath, author: str, kind: str,
                commit: str | None, llm: LlmSettings | None) -> None:
    try:
        report.results.append(import_text(store, text, path=rel.as_posix(), default_id=rel.with_suffix("").as_posix(),
                                          author=author, source_kind=kind, commit=commit, llm=llm))
    except RunbookParseError as exc:
        report.failures.append(str(exc))
