"""No import cycle among the project's modules: the dev stack depends on the worker and never
the reverse, every command depends on one CLI runner, and so on.

The graph is read from the source (no import runs): an edge for every ``import`` and
``from ... import`` of a project module, at the top of a module or inside a function (a
deferred import is still a dependency), except those under ``if TYPE_CHECKING:`` (types
only). ``from package import name`` counts as importing ``package.name`` when that is a
module, else ``package``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "workflows", "activities", "khuyencong", "migrations")
SCRIPTS = ("worker.py", "starter.py")


def project_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    for script in SCRIPTS:
        modules[script.removesuffix(".py")] = ROOT / script
    return modules


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def resolve(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for other in node.orelse:
                visit(other)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = resolve(alias.name)
                if target:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                target = resolve(f"{base}.{alias.name}") if base else resolve(alias.name)
                if target:
                    found.add(target)
        for inner in ast.iter_child_nodes(node):
            visit(inner)

    visit(tree)
    found.discard(name)
    # A module depends on its own package's __init__ by being imported; that is no cycle.
    return {t for t in found if not name.startswith(t + ".")}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle (its modules, the first repeated at the end), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt, BLACK) == GREY:
                return [*stack[stack.index(nxt) :], nxt]
            if colour.get(nxt) == WHITE:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_names_it() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_sees_deferred_imports_and_skips_type_checking_ones(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from khuyencong import settings\n"
        "if TYPE_CHECKING:\n"
        "    import worker\n"
        "def later() -> None:\n"
        "    from khuyencong.cli_runner import run\n",
        encoding="utf-8",
    )
    found = imports_of("example", source, project_modules())
    assert found == {"khuyencong.settings", "khuyencong.cli_runner"}
    assert "worker" in import_graph()["khuyencong.devstack"]  # imported inside run_dev


def test_no_import_cycle_among_the_projects_modules() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])
