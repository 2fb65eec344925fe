"""The rooms and the one-way doors between them, read from the code's own import statements.

doors (api, cli) -> services -> workflows, activities -> runbooks; workers run workflows and
activities. Nothing but the CLI that starts it imports api/, and no module imports itself back
through others (an import cycle).
"""

from __future__ import annotations

import ast

import pytest

from support.paths import REPO

# what each top-level package may import (besides the standard library and third parties)
ALLOWED = {
    "runbooks": {"runbooks"},
    "activities": {"activities", "runbooks"},
    "workflows": {"workflows", "runbooks"},
    "services": {"services", "workflows", "runbooks"},
    "workers": {"workers", "activities", "workflows", "runbooks"},
    "api": {"api", "services", "runbooks"},
    "cli": {"cli", "api", "services", "workers", "workflows", "activities", "runbooks"},
}


def modules() -> dict[str, ast.Module]:
    found = {}
    for package in ALLOWED:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue  # run by Alembic by path, not imported
            name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def imports(name: str, tree: ast.Module, known: set[str], package: bool) -> set[str]:
    """Our modules that `name` imports (the longest known prefix of each imported name)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".")[: len(name.split(".")) - node.level + (1 if package else 0)]
                base = ".".join([*parts, base] if base else parts)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                out.add(target)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    packages = {n for n in found if (REPO / n.replace(".", "/") / "__init__.py").exists()}
    return {name: imports(name, tree, known, name in packages) for name, tree in found.items()}


def test_every_import_points_down_the_layers(graph: dict[str, set[str]]) -> None:
    wrong = sorted(f"{m} imports {t}" for m, targets in graph.items() for t in targets
                   if t.split(".")[0] not in ALLOWED[m.split(".")[0]])
    assert not wrong, "\n".join(wrong)


def test_there_is_no_import_cycle(graph: dict[str, set[str]]) -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_the_checker_sees_the_imports_it_judges(graph: dict[str, set[str]]) -> None:
    """The rules above are only worth something if the graph is real."""
    assert "services.launch" in graph["api.routes.runbooks"]
    assert "runbooks.targets" in graph["activities.commands"]
    assert "runbooks.risk.nested" in graph["runbooks.risk.kube"]
    assert "api.app" in graph["cli.main"]
