"""Component contracts, table-driven (after stelvio's test_type_urns).

Every component: a pinned `ara:<area>:<Class>` token from the catalog, the one constructor
signature, frozen keyword-only Args whose fields document their default, children that are
parented and prefixed, `register_outputs` last, and no resource created inside `.apply()`.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import itertools
import re
import sys
import textwrap
import typing

import pulumi
import pytest

from infra import catalog
from review import wire
from tests.support import ROOT, parse

# (module, class, Args class, token) - the token is spelled out so that changing it in the
# catalog fails here: a new token replaces every deployed resource unless aliased.
COMPONENTS = [
    ("infra.web", "WebProject", "WebProjectArgs", "ara:vercel:WebProject"),
    ("infra.environment", "AppEnvironment", "AppEnvironmentArgs", "ara:vercel:AppEnvironment"),
    ("infra.deployment", "AppDeployment", "AppDeploymentArgs", "ara:vercel:AppDeployment"),
    ("infra.rate_limit", "RateLimit", "RateLimitArgs", "ara:edge:RateLimit"),
    ("infra.security_headers", "SecurityHeaders", "SecurityHeadersArgs", "ara:edge:SecurityHeaders"),
    ("infra.keys", "GeneratedKeys", "GeneratedKeysArgs", "ara:secrets:GeneratedKeys"),
    ("infra.storage", "ObjectStorage", "ObjectStorageArgs", "ara:storage:ObjectStorage"),
    ("infra.database", "Database", "DatabaseArgs", "ara:database:Database"),
    ("infra.dns", "AppDomain", "AppDomainArgs", "ara:dns:AppDomain"),
    ("infra.monitoring", "Monitoring", "MonitoringArgs", "ara:monitoring:Monitoring"),
    ("infra.vercel_team", "VercelTeam", "VercelTeamArgs", "ara:vercel:VercelTeam"),
    ("infra.repository", "RepositoryGuardrails", "RepositoryGuardrailsArgs", "ara:github:RepositoryGuardrails"),
]
IDS = [c[1] for c in COMPONENTS]
PROVIDER_MODULES = {"pulumiverse_vercel", "pulumi_cloudflare", "pulumi_postgresql", "pulumi_random", "pulumi_github"}


def _source(module: str) -> ast.Module:
    return parse((ROOT / (module.replace(".", "/") + ".py")).read_text())


def _class_def(module: str, name: str) -> ast.ClassDef:
    return next(n for n in _source(module).body if isinstance(n, ast.ClassDef) and n.name == name)


def _init_def(module: str, name: str) -> ast.FunctionDef:
    return next(n for n in _class_def(module, name).body if isinstance(n, ast.FunctionDef) and n.name == "__init__")


def _is_component_base(base: ast.expr) -> bool:
    return (isinstance(base, ast.Attribute) and base.attr == "ComponentResource") or (
        isinstance(base, ast.Name) and base.id == "ComponentResource"
    )


def _discovered_components() -> set[tuple[str, str]]:
    found = set()
    for path in sorted((ROOT / "infra").glob("*.py")):
        text = path.read_text()
        if "ComponentResource" not in text:
            continue
        for node in parse(text).body:
            if isinstance(node, ast.ClassDef) and any(_is_component_base(b) for b in node.bases):
                found.add((f"infra.{path.stem}", node.name))
    return found


def _load(module: str, name: str):
    return getattr(importlib.import_module(module), name)


# --- tokens -------------------------------------------------------------------------------

def test_every_component_class_in_infra_is_in_the_table():
    assert _discovered_components() == {(m, c) for m, c, _, _ in COMPONENTS}


def test_every_catalog_component_token_belongs_to_exactly_one_component():
    tokens = {v for k, v in vars(catalog).items() if k.startswith("TOKEN_")}
    assert sorted(tokens) == sorted(t for *_, t in COMPONENTS)


@pytest.mark.parametrize(("module", "cls", "args_cls", "token"), COMPONENTS, ids=IDS)
def test_token_is_ara_area_class_and_names_the_class(module, cls, args_cls, token):
    assert re.fullmatch(r"ara:[a-z]+:[A-Z][A-Za-z]+", token)
    assert token.rsplit(":", 1)[1] == cls
    assert _load(module, cls).__name__ == cls


@pytest.mark.parametrize(("module", "cls", "args_cls", "token"), COMPONENTS, ids=IDS)
def test_first_statement_registers_the_catalog_token(module, cls, args_cls, token):
    first = _init_def(module, cls).body[0]
    call = first.value
    assert isinstance(first, ast.Expr) and isinstance(call, ast.Call)
    assert isinstance(call.func, ast.Attribute) and call.func.attr == "__init__"
    assert isinstance(call.func.value, ast.Call) and call.func.value.func.id == "super"
    token_arg, name_arg, props_arg, opts_arg = call.args
    assert isinstance(token_arg, ast.Attribute) and token_arg.value.id == "catalog"
    assert getattr(catalog, token_arg.attr) == token
    assert (name_arg.id, props_arg.value, opts_arg.id) == ("name", None, "opts")


def test_real_stacks_register_every_component_token(prod, preview, prod_with_guardrails):
    registered = {r.type for cap in (prod, preview, prod_with_guardrails) for r in cap.resources if not r.custom}
    assert registered - {wire.STACK_TYPE} == {t for *_, t in COMPONENTS}


# --- constructor and Args ----------------------------------------------------------------

@pytest.mark.parametrize(("module", "cls", "args_cls", "token"), COMPONENTS, ids=IDS)
def test_constructor_signature_is_name_args_opts(module, cls, args_cls, token):
    init = _load(module, cls).__init__
    params = list(inspect.signature(init).parameters.values())
    assert [p.name for p in params] == ["self", "name", "args", "opts"]
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
    assert params[3].default is None
    assert params[1].default is inspect.Parameter.empty and params[2].default is inspect.Parameter.empty
    hints = typing.get_type_hints(init)
    assert hints["name"] is str
    assert hints["args"] is _load(module, args_cls)
    assert hints["opts"] == (pulumi.ResourceOptions | None)
    assert hints["return"] is type(None)


@pytest.mark.parametrize(("module", "cls", "args_cls", "token"), COMPONENTS, ids=IDS)
def test_args_are_a_frozen_keyword_only_dataclass(module, cls, args_cls, token):
    args = _load(module, args_cls)
    assert dataclasses.is_dataclass(args)
    assert args.__dataclass_params__.frozen
    assert all(f.kw_only for f in dataclasses.fields(args))


def _field_docstrings(module: str, cls: str) -> dict[str, str]:
    body = _class_def(module, cls).body
    docs = {}
    for stmt, nxt in itertools.pairwise(body):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)):
            docs[stmt.target.id] = nxt.value.value
    return docs


@pytest.mark.parametrize(("module", "cls", "args_cls", "token"), COMPONENTS, ids=IDS)
def test_every_args_field_documents_its_default_or_that_it_is_required(module, cls, args_cls, token):
    docs = _field_docstrings(module, args_cls)
    for field in dataclasses.fields(_load(module, args_cls)):
        assert field.name in docs, f"{args_cls}.{field.name} has no docstring"
        doc = docs[field.name].lower()
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            assert "required" in doc, f"{args_cls}.{field.name}: say it is required"
        else:
            assert "default" in doc, f"{args_cls}.{field.name}: state the default"


# --- outputs -------------------------------------------------------------------------------

def _register_outputs_call(stmt: ast.stmt) -> ast.Call | None:
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        if isinstance(func, ast.Attribute) and func.attr == "register_outputs" and func.value.id == "self":
            return stmt.value
    return None


@pytest.mark.parametrize(("module", "cls", "args_cls", "token"), COMPONENTS, ids=IDS)
def test_register_outputs_is_the_last_statement_of_init(module, cls, args_cls, token):
    body = _init_def(module, cls).body
    assert _register_outputs_call(body[-1]) is not None
    assert sum(_register_outputs_call(s) is not None for s in body) == 1


@pytest.mark.parametrize(("module", "cls", "args_cls", "token"), COMPONENTS, ids=IDS)
def test_registered_output_keys_are_the_declared_output_attributes(module, cls, args_cls, token):
    declared = {
        n.target.id for n in _class_def(module, cls).body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    outputs = _register_outputs_call(_init_def(module, cls).body[-1]).args[0]
    assert isinstance(outputs, ast.Dict)
    assert {k.value for k in outputs.keys} == declared


# --- children in the real stacks -----------------------------------------------------------

@pytest.fixture(params=["prod", "preview", "prod_with_guardrails"])
def stack(request):
    return request.getfixturevalue(request.param)


def test_every_custom_resource_is_parented_by_a_component(stack):
    for resource in (r for r in stack.declared if r.custom):
        parent = stack.by_urn(resource.parent)
        assert parent.type != wire.STACK_TYPE, f"{resource.name} sits at the stack root"
        assert not parent.custom, f"{resource.name} is parented by a custom resource"


def test_every_child_name_starts_with_its_component_name(stack):
    root = stack.root
    children = [r for r in stack.resources if r.parent and r.parent != root.urn]
    assert children
    for child in children:
        parent = stack.by_urn(child.parent)
        assert child.name.startswith(parent.name + "-"), f"{child.name} under {parent.name}"
        assert child.urn.split("::")[2].startswith(parent.type + "$")


def test_components_sit_at_the_stack_root(stack):
    for component in (r for r in stack.resources if not r.custom and r.type != wire.STACK_TYPE):
        assert component.parent == stack.root.urn


# --- no resource inside apply ----------------------------------------------------------------

def _provider_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Module aliases of the provider SDKs, and classes imported from them by name."""
    modules, classes = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PROVIDER_MODULES:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PROVIDER_MODULES:
            for alias in node.names:
                (classes if alias.name[:1].isupper() else modules).add(alias.asname or alias.name)
    return modules, classes


def resources_created_in_apply(source: str) -> list[str]:
    """Provider resource constructors reachable from a callback passed to `.apply(...)`."""
    tree = parse(source)
    modules, classes = _provider_names(tree)
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def constructors(node: ast.AST, seen: set[str]) -> list[str]:
        found = []
        for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
            func = call.func
            if (isinstance(func, ast.Attribute) and func.attr[:1].isupper()
                    and isinstance(func.value, ast.Name) and func.value.id in modules):
                found.append(f"{func.value.id}.{func.attr}")
            elif isinstance(func, ast.Name) and func.id in classes:
                found.append(func.id)
            callee = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if callee in functions and callee not in seen:
                found += constructors(functions[callee], seen | {callee})
        return found

    hits = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "apply"):
            continue
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            if isinstance(arg, ast.Lambda):
                hits += constructors(arg.body, set())
            else:
                name = arg.id if isinstance(arg, ast.Name) else arg.attr if isinstance(arg, ast.Attribute) else None
                if name in functions:
                    hits += constructors(functions[name], {name})
    return hits


def test_apply_detector_finds_resources_in_lambdas_and_named_callbacks():
    source = textwrap.dedent('''
        import pulumi_cloudflare as cloudflare
        from pulumi_random import RandomPassword

        def _record(zone_id):
            return cloudflare.DnsRecord("r", zone_id=zone_id)

        def _indirect(x):
            return _record(x)

        zone.id.apply(lambda z: cloudflare.R2Bucket("b", name=z))
        zone.id.apply(_indirect)
        zone.id.apply(func=lambda z: RandomPassword("p", length=32))
        zone.id.apply(lambda z: z.upper())
        cloudflare.DnsRecord("fine", zone_id=zone.id)
    ''')
    assert sorted(resources_created_in_apply(source)) == [
        "RandomPassword", "cloudflare.DnsRecord", "cloudflare.R2Bucket"
    ]


# Modules that can declare resources: those importing a provider SDK, and the stacks.
PROGRAM_FILES = sorted(
    p.relative_to(ROOT).as_posix()
    for d in ("infra", "stacks")
    for p in (ROOT / d).glob("*.py")
    if d == "stacks" or any(m in p.read_text() for m in PROVIDER_MODULES)
)


@pytest.mark.parametrize("path", PROGRAM_FILES)
def test_no_resource_is_created_inside_apply(path):
    assert resources_created_in_apply((ROOT / path).read_text()) == []


def test_the_apply_scan_covers_every_component_module():
    assert {m.replace(".", "/") + ".py" for m, *_ in COMPONENTS} <= set(PROGRAM_FILES)


def _requirement_modules() -> set[str]:
    # requirements.txt names distributions; their import names differ by case and separators.
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[<>=!~ \[]", line, maxsplit=1)[0].lower().replace("-", "_"))
    return {"yaml" if n == "pyyaml" else n for n in names}


def test_infra_imports_nothing_beyond_requirements_txt():
    # `pulumi up` installs requirements.txt only: a dev-only import here would break a real deployment.
    allowed = _requirement_modules() | set(sys.stdlib_module_names) | {"infra", "google"}
    for path in sorted((ROOT / "infra").rglob("*.py")):
        for node in ast.walk(parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in allowed, f"{path.name} imports {root}, which requirements.txt does not install"


def test_python_m_infra_is_not_the_review_tool():
    # The deployable package has no command line; the review tool is `python -m review`.
    assert not (ROOT / "infra" / "__main__.py").exists()
    assert (ROOT / "review" / "__main__.py").exists()


# --- typed nested inputs ----------------------------------------------------------------------

# Inputs whose SDK type is a map of strings (or of file hashes): a dict is their typed form.
# Inputs the SDKs type as Mapping[str, ...] (keys chosen by the caller), e.g. a custom alert
# rule's metrics by alias and its formulas (pulumiverse_vercel _inputs.py CustomAlertRuleEvaluationQueryArgs).
MAP_INPUTS = frozenset({"keepers", "headers", "environment", "meta", "files", "tags", "metrics", "formulas"})


def _has_dict_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Dict):
        return True
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(_has_dict_literal(e) for e in node.elts)
    return False


def untyped_nested_inputs(source: str) -> list[str]:
    """`module.Class(key={...})` or `module.get_x(key={...})` on a provider SDK: a nested input
    written as a plain dict, which accepts a misspelt key without a word."""
    tree = parse(source)
    modules, classes = _provider_names(tree)
    hits = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in modules:
            name = f"{func.value.id}.{func.attr}"
        elif isinstance(func, ast.Name) and func.id in classes:
            name = func.id
        else:
            continue
        hits += [f"{name}({k.arg}=...)" for k in call.keywords
                 if k.arg not in MAP_INPUTS and _has_dict_literal(k.value)]
    return hits


def test_untyped_input_detector_finds_dicts_and_lists_of_dicts_but_not_maps():
    source = textwrap.dedent('''
        import pulumi_cloudflare as cloudflare
        import pulumiverse_vercel as vercel

        cloudflare.R2BucketCors("c", rules=[{"id": "x"}])
        cloudflare.get_zone_output(filter={"name": "z", "match": "all"})
        vercel.Project("p", git_repository={"repo": "a/b", "type": "github"})
        vercel.ProjectRoute("r", route=vercel.ProjectRouteRouteArgs(src="/", headers={"A": "1"}))
        vercel.Deployment("d", environment={"A": "1"})
    ''')
    assert sorted(untyped_nested_inputs(source)) == [
        "cloudflare.R2BucketCors(rules=...)", "cloudflare.get_zone_output(filter=...)",
        "vercel.Project(git_repository=...)",
    ]


@pytest.mark.parametrize("path", PROGRAM_FILES)
def test_every_nested_provider_input_uses_the_sdks_typed_args_class(path):
    assert untyped_nested_inputs((ROOT / path).read_text()) == []


def test_a_misspelt_nested_key_is_refused_at_construction():
    import pulumiverse_vercel as vercel

    with pytest.raises(TypeError, match="windw"):
        vercel.FirewallConfigRulesRuleActionRateLimitArgs(
            algo="fixed_window", windw=600, limit=17, keys=["ip"], action="rate_limit"
        )


def test_the_same_misspelling_in_a_plain_dict_passes_the_mocks_silently():
    # Why the rule above exists: the SDK forwards a dict as it is, and the mocks accept it.
    import pulumiverse_vercel as vercel

    from tests.support import run_component

    cap = run_component(lambda: vercel.FirewallConfig("fw", project_id="prj", rules={"rules": [
        {"name": "r", "conditionGroups": [], "action": {"action": "rate_limit", "rateLimit": {"windw": 600}}}]}))
    assert cap.one(catalog.VERCEL_FIREWALL_CONFIG).props["rules"]["rules"][0]["action"]["rateLimit"] == {"windw": 600}
