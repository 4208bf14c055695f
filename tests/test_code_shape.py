"""The shape of the product code, read with `ast` (issue 19).

No function or method is longer than 80 lines, and a component's constructor reads like a table
of contents: at most 50 lines, the rest in named private steps. Those steps are methods of a
`pulumi.ComponentResource`, so none may take a name `pulumi.Resource` keeps its own state under
(`_name`, `_provider`, ...): that would silently replace the SDK's value.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import pulumi
import pytest

from tests.support import ROOT, parse

MAX_FUNCTION_LINES = 80
MAX_CONSTRUCTOR_LINES = 50
# The product: the program, its components and stacks, the policy pack (with its generated copy of
# infra/catalog.py, held to the same rule), the review tool, the ops tool, CI helpers, the docs generator.
PRODUCT_DIRS = ("infra", "stacks", "policies", "review", "ops", "cicd")
PRODUCT_FILES = ("__main__.py", "docs/generate.py")


def product_files() -> list[Path]:
    files = [ROOT / f for f in PRODUCT_FILES]
    for directory in PRODUCT_DIRS:
        files += (p for p in (ROOT / directory).rglob("*.py") if "__pycache__" not in p.parts)
    return sorted(files)


def function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function from its first decorator (or `def`) to its last line, docstring included."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return node.end_lineno - first + 1


def long_functions(source: str, limit: int) -> list[tuple[str, int, int]]:
    """(name, line, length) of every function or method, nested ones too, longer than `limit` lines."""
    return [(n.name, n.lineno, function_lines(n)) for n in ast.walk(parse(source))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and function_lines(n) > limit]


def _is_component(node: ast.ClassDef) -> bool:
    return any((isinstance(b, ast.Attribute) and b.attr == "ComponentResource")
               or (isinstance(b, ast.Name) and b.id == "ComponentResource") for b in node.bases)


def component_classes() -> list[tuple[str, ast.ClassDef]]:
    """(path relative to the root, class) of every ComponentResource subclass in infra/."""
    found = []
    for path in sorted((ROOT / "infra").rglob("*.py")):
        for node in parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and _is_component(node):
                found.append((str(path.relative_to(ROOT)), node))
    return found


def _resource_state_names() -> set[str]:
    """Attributes `pulumi.Resource` and its bases define or assign on `self` (its own state)."""
    bases = pulumi.ComponentResource.__mro__
    names = {n for cls in bases for n in vars(cls)}
    tree = parse(Path(inspect.getsourcefile(pulumi.Resource)).read_text())
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name in {b.__name__ for b in bases}):
        names |= {n.attr for n in ast.walk(cls) if isinstance(n, ast.Attribute)
                  and isinstance(n.value, ast.Name) and n.value.id == "self" and isinstance(n.ctx, ast.Store)}
    return names


# --- the measure itself -----------------------------------------------------------------------

def _function_of(body_lines: int, decorated: bool = False) -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(body_lines))
    return ("@decorator\n" if decorated else "") + "def f():\n" + body


@pytest.mark.parametrize("decorated", [False, True])
def test_the_measure_flags_81_lines_and_passes_80(decorated):
    header = 2 if decorated else 1
    assert long_functions(_function_of(MAX_FUNCTION_LINES - header, decorated), MAX_FUNCTION_LINES) == []
    assert long_functions(_function_of(MAX_FUNCTION_LINES + 1 - header, decorated), MAX_FUNCTION_LINES) == [
        ("f", 1 + decorated, MAX_FUNCTION_LINES + 1)]


def test_the_measure_sees_methods_and_nested_functions():
    source = textwrap.dedent("""\
        class C:
            def method(self):
                def inner():
                    return 1
                return inner
        """)
    assert {name for name, *_ in long_functions(source, 1)} == {"method", "inner"}


def test_the_scan_covers_every_product_area():
    files = {str(p.relative_to(ROOT)) for p in product_files()}
    for directory in PRODUCT_DIRS:
        assert any(f.startswith(directory + "/") for f in files), f"no Python file found under {directory}/"
    assert set(PRODUCT_FILES) <= files
    assert "policies/ara_policies/catalog.py" in files and "infra/storage.py" in files


def test_every_component_of_infra_is_found():
    names = {node.name for _, node in component_classes()}
    assert {"ObjectStorage", "RepositoryGuardrails", "Monitoring", "Database", "WebProject"} <= names


# --- the product ------------------------------------------------------------------------------

def test_no_function_in_the_product_is_longer_than_80_lines():
    offenders = [f"{path.relative_to(ROOT)}:{line} {name} ({length} lines)"
                 for path in product_files() for name, line, length in long_functions(path.read_text(),
                                                                                      MAX_FUNCTION_LINES)]
    assert offenders == [], f"longer than {MAX_FUNCTION_LINES} lines: split into named steps:\n" + \
        "\n".join(offenders)


def test_every_component_constructor_is_at_most_50_lines():
    offenders = []
    for path, cls in component_classes():
        init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
        if function_lines(init) > MAX_CONSTRUCTOR_LINES:
            offenders.append(f"{path}:{init.lineno} {cls.name}.__init__ ({function_lines(init)} lines)")
    assert offenders == [], f"a constructor is a table of contents (at most {MAX_CONSTRUCTOR_LINES} lines):\n" + \
        "\n".join(offenders)


def test_no_component_step_takes_a_name_pulumi_resource_keeps_its_state_under():
    reserved = _resource_state_names()
    assert {"_name", "_provider", "_providers", "register_outputs"} <= reserved
    clashes = []
    for path, cls in component_classes():
        methods = {n.name for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        assigned = {n.attr for n in ast.walk(cls) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)
                    and isinstance(n.value, ast.Name) and n.value.id == "self"}
        clashes += [f"{path} {cls.name}.{name}" for name in sorted((methods | assigned) - {"__init__"})
                    if name in reserved]
    assert clashes == [], "these replace pulumi.Resource's own attributes:\n" + "\n".join(clashes)
