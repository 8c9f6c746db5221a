"""The pipeline reads one way: no import cycles between tracker's modules, counting every import
(module level, inside functions, and under TYPE_CHECKING), and the stages never import the app."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tracker"
# The stages of a poll and what runs beside them: none may know the app that wires them.
STAGES = ("tracker.poll", "tracker.pages", "tracker.merge_step", "tracker.extraction", "tracker.parts",
          "tracker.digest", "tracker.reprocess", "tracker.fetch", "tracker.parse", "tracker.fulltext")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                # The deepest tracker module the import names (a name imported from a module is the module).
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    found.add(target)
        graph[name] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        v = todo.pop()
        if v == goal:
            return True
        if v not in seen:
            seen.add(v)
            todo.extend(graph.get(v, ()))
    return False


def test_no_import_cycles() -> None:
    graph = imports()
    assert "tracker.app" in graph and "tracker.poll" in graph  # the walk found the package
    # A package and its own private modules may import each other (an __init__ re-exports).
    found = [c for c in cycles(graph) if len({m.split(".")[1] for m in c}) > 1]
    assert found == []


def test_the_stages_never_import_the_app() -> None:
    graph = imports()
    for stage in STAGES:
        for module in [m for m in graph if m == stage or m.startswith(stage + ".")]:
            assert not reaches(graph, module, "tracker.app"), module
            assert not reaches(graph, module, "tracker.cli"), module
            assert not reaches(graph, module, "tracker.scheduler"), module


def test_the_check_sees_a_cycle() -> None:
    # The detector itself: a made-up graph with one cycle through three modules.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert reaches(graph, "d", "c") and not reaches(graph, "a", "d")
