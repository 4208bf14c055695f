"""Every property a policy reads exists in the pinned provider SDK of the types it judges.

A policy that reads a property the provider does not have never fires (a dead check). The engine
hands policies camelCase names (`@pulumi.getter(name=...)` in the SDK), so each literal path a
policy module reads with `get`/`peek` (or indexes on `.props`/`.container`) is compared with the
SDK's input and output property names of the catalog types that module refers to: a path read
from `<resource>.props` must walk from the resource's top level; any other path must walk from
one of those types' nested input types.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from functools import cache
from pathlib import Path

import pytest

from infra import catalog
from tests.support import parse

PACK_SOURCES = sorted((Path(__file__).resolve().parents[2] / "policies" / "ara_policies").glob("*.py"))
SDKS = {"vercel": "pulumiverse_vercel", "cloudflare": "pulumi_cloudflare", "postgresql": "pulumi_postgresql",
        "random": "pulumi_random", "github": "pulumi_github"}
TYPE_NAMES = {k: v for k, v in vars(catalog).items() if k.isupper() and isinstance(v, str)
              and (":index/" in v or v.startswith("pulumi:providers:"))}
ROOT_EXTRA = {"id", "urn"}  # stack policies see outputs: the engine adds the id


def _getters(cls) -> dict[str, tuple[str, ...]]:
    """camelCase property name -> names of the nested `*Args` types its annotation mentions."""
    found = {}
    for _, member in inspect.getmembers(cls):
        fget = getattr(member, "fget", None)
        if isinstance(member, property) and hasattr(fget, "_pulumi_name"):
            found[fget._pulumi_name] = tuple(re.findall(r"(\w+Args)\b", str(fget.__annotations__.get("return"))))
    return found


@cache
def _sdk(token: str):
    package = "postgresql" if token.startswith("pulumi:providers:") else token.split(":")[0]
    return importlib.import_module(SDKS[package])


@cache
def resource_class(token: str):
    sdk = _sdk(token)
    if token.startswith("pulumi:providers:"):
        return sdk.Provider
    name = token.rsplit(":", 1)[1]
    cls = getattr(sdk, name)
    assert cls.pulumi_type == token, token
    return cls


@cache
def schema(token: str) -> tuple[dict, dict]:
    """(top-level names -> nested type names, every nested type reachable -> its getters)."""
    sdk, cls = _sdk(token), resource_class(token)
    top = dict(_getters(getattr(sdk, f"{cls.__name__}Args")))
    for name, nested in _getters(cls).items():  # outputs (what stack policies see)
        top.setdefault(name, nested)
    try:
        inputs = importlib.import_module(f"{sdk.__name__}._inputs")
    except ModuleNotFoundError:  # pulumi_random has no nested input types
        inputs = None
    nested_types: dict[str, dict] = {}
    todo = [n for nested in top.values() for n in nested]
    while todo:
        name = todo.pop()
        if name in nested_types or inputs is None or not hasattr(inputs, name):
            continue
        nested_types[name] = _getters(getattr(inputs, name))
        todo += [n for nested in nested_types[name].values() for n in nested]
    return top, nested_types


def walks(path: tuple[str, ...], start: dict, nested_types: dict) -> bool:
    """True when each key of `path` is a property of the level before (lists are transparent)."""
    level = start
    for key in path:
        if key not in level:
            return False
        level = {}
        for name in start[key]:
            level.update(nested_types.get(name, {}))
        start = level
    return True


# --- what the pack reads ----------------------------------------------------------------------

def _literal_path(args: list[ast.expr]) -> tuple[str, ...]:
    path = []
    for a in args:
        if not (isinstance(a, ast.Constant) and isinstance(a.value, str)):
            break
        path.append(a.value)
    return tuple(path)


def _is_props(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "props"


def reads(source: Path) -> list[tuple[int, bool, tuple[str, ...]]]:
    """(line, read from a resource's top level?, literal path) for every read in a module."""
    found = []
    for node in ast.walk(parse(source.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("get", "peek") \
                and node.args:
            path = _literal_path(node.args[1:])
            if path:
                found.append((node.lineno, _is_props(node.args[0]), path))
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str) and (
                    _is_props(node.value)
                    or (isinstance(node.value, ast.Attribute) and node.value.attr == "container")):
            found.append((node.lineno, _is_props(node.value), (node.slice.value,)))
    return found


def types_referenced(source: Path) -> list[str]:
    names = {n.attr for n in ast.walk(parse(source.read_text()))
             if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "catalog"}
    return sorted(TYPE_NAMES[n] for n in names if n in TYPE_NAMES)


MODULES = [p for p in PACK_SOURCES if types_referenced(p) and reads(p)]


def test_the_comparison_sees_the_modules_and_types_that_matter():
    by_name = {p.stem: types_referenced(p) for p in MODULES}
    assert {"web", "environment", "security_headers", "rate_limit", "storage", "dns", "database"} <= set(by_name)
    assert catalog.VERCEL_PROJECT in by_name["web"] and catalog.VERCEL_FIREWALL_CONFIG in by_name["rate_limit"]
    top, nested = schema(catalog.VERCEL_PROJECT)
    assert "vercelAuthentication" in top and any("deploymentType" in g for g in nested.values())


def test_the_comparison_catches_a_misspelt_property():
    top, nested = schema(catalog.VERCEL_PROJECT)
    assert walks(("vercelAuthentication", "deploymentType"), top, nested)
    assert not walks(("vercelAuthentication", "deployment_type"), top, nested)
    assert not walks(("protectionBypassForAutomation",), top, nested)


@pytest.mark.parametrize("source", MODULES, ids=lambda p: p.stem)
def test_every_property_a_policy_reads_exists_in_the_pinned_sdk(source):
    schemas = [schema(t) for t in types_referenced(source)]
    dead = []
    for line, from_top, path in reads(source):
        if from_top:
            ok = any(walks(path, {**top, **dict.fromkeys(ROOT_EXTRA, ())}, nested) for top, nested in schemas)
        else:
            ok = any(walks(path, {**top}, nested) or any(walks(path, getters, nested) for getters in nested.values())
                     for top, nested in schemas)
        if not ok:
            dead.append(f"{source.name}:{line} reads {'.'.join(path)}")
    assert dead == [], "\n".join(dead)
