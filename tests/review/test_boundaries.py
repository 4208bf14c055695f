"""The review tool works on any Pulumi Python program: of this repository's program it imports only
the leaves `infra.catalog`, `infra.projectfile` and `infra.exitcodes`, everywhere but review/ara.py,
the one module that knows ARA's own program (`infra.config`, `stacks.prstack`).

Read off the source with ast, function-level imports included, so an import inside a function (the
way review/ara.py itself imports) cannot slip past."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, parse

LEAVES = {"infra.catalog", "infra.projectfile", "infra.exitcodes"}
GATEWAY = "review/ara.py"
REVIEW_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "review").rglob("*.py"))
# What a leaf may import beyond the standard library, and why.
LEAF_THIRD_PARTY = {
    "infra.projectfile": {"yaml"},  # it parses Pulumi.yaml and the stack files (PyYAML, in requirements.txt)
}


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) of every absolute import anywhere in `source`; `from pkg import name` gives
    `pkg.name` (a submodule, or an attribute of `pkg`: both reach into it)."""
    found = []
    for node in ast.walk(parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def reaches_beyond_the_leaves(module: str) -> bool:
    """True for an import of the program other than the leaves: `stacks…`, `infra.config…`, bare `infra`."""
    top = module.split(".")[0]
    if top == "stacks":
        return True
    if top != "infra":
        return False
    return ".".join(module.split(".")[:2]) not in LEAVES


def test_the_scan_sees_function_level_and_from_imports():
    source = ("from infra import catalog, config\nimport infra.exitcodes\n"
              "def f():\n    from stacks import prstack\n    import infra.config.rules\n"
              "class C:\n    def g(self):\n        from infra.projectfile import read_yaml\n        from . import x\n")
    found = imported_modules(source)
    assert [m for _, m in found if reaches_beyond_the_leaves(m)] == ["infra.config", "stacks.prstack",
                                                                     "infra.config.rules"]
    assert (2, "infra.exitcodes") in found and (8, "infra.projectfile.read_yaml") in found
    assert reaches_beyond_the_leaves("infra") and not reaches_beyond_the_leaves("pulumi.runtime")


@pytest.mark.parametrize("path", [p for p in REVIEW_FILES if p != GATEWAY])
def test_review_reaches_this_repositorys_program_only_through_review_ara(path):
    beyond = [(line, m) for line, m in imported_modules((ROOT / path).read_text()) if reaches_beyond_the_leaves(m)]
    assert beyond == [], f"{path}: import these through {GATEWAY} (line, module): {beyond}"


def test_review_ara_is_where_the_program_is_reached():
    # The gateway is real: if nothing needed it, the boundary above would test nothing about it.
    modules = {m for _, m in imported_modules((ROOT / GATEWAY).read_text())}
    assert {"infra.config", "stacks.prstack"} <= modules


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_the_leaves_import_only_the_standard_library(leaf):
    path = ROOT / Path(*leaf.split(".")).with_suffix(".py")
    allowed = set(sys.stdlib_module_names) | {"__future__"} | LEAF_THIRD_PARTY.get(leaf, set())
    outside = sorted({m for _, m in imported_modules(path.read_text()) if m.split(".")[0] not in allowed})
    assert outside == [], f"{leaf} imports {outside}: a leaf imports the standard library only"


def test_importing_a_leaf_loads_nothing_else_of_the_program():
    # `from infra import catalog` runs infra/__init__.py first.
    assert imported_modules((ROOT / "infra" / "__init__.py").read_text()) == []


def _review_module(name: str) -> str | None:
    """The review/ module an imported name resolves to (`review.diff.REPLACED_BY` -> `review.diff`)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        path = ROOT / Path(*candidate.split("."))
        if candidate.startswith("review") and (path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()):
            return candidate
    return None


def review_import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in REVIEW_FILES:
        module = path[:-3].replace("/", ".").removesuffix(".__init__")
        targets = {_review_module(m) for _, m in imported_modules((ROOT / path).read_text())}
        graph[module] = {t for t in targets if t and t != module and not module.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path per import cycle found by depth-first search (empty: the graph is acyclic)."""
    found, done, path = [], set(), []

    def visit(node: str) -> None:
        if node in path:
            found.append(path[path.index(node):] + [node])
            return
        if node in done:
            return
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        path.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)
    return found


def test_the_cycle_search_finds_a_function_level_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_review_modules_import_each_other_without_a_cycle():
    # A function-level import hides a cycle from the interpreter until the day the import moves up;
    # the layers (capture and packrun under diff, check and the commands) must stay one-way.
    assert cycles(review_import_graph()) == []
