"""The pack as a whole: inventory, naming, README, config examples, runtime behaviour."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import grpc
import jsonschema
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer

import ara_policies
from infra import catalog
from tests.support import parse

from .conftest import (
    ALL_POLICIES,
    PACK_DIR,
    PLANTED,
    UNKNOWN_BOOL,
    config_schema_json,
    is_wire_secret,
    secret,
)

VERBS = {"require", "disallow", "enable", "disable", "restrict"}
NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")
LEVELS = {"advisory", "mandatory", "remediate", "disabled"}
CATALOG_TYPES = {v for k, v in vars(catalog).items() if k.isupper() and isinstance(v, str) and ":" in v}


def test_pack_has_at_least_25_policies_with_unique_names():
    names = [p.name for p in ALL_POLICIES]
    assert len(names) >= 25
    assert len(names) == len(set(names))


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=lambda p: p.name)
def test_policy_name_is_kebab_with_verb_after_area(policy):
    assert NAME.match(policy.name), policy.name
    tokens = policy.name.split("-")
    assert len(tokens) >= 4 and tokens[2] in VERBS, policy.name


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=lambda p: p.name)
def test_policy_has_level_severity_and_valid_config_defaults(policy):
    assert policy.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY,
                                        EnforcementLevel.REMEDIATE)
    assert policy.severity is not None and policy.description
    if policy.config_schema:
        defaults = {k: v["default"] for k, v in policy.config_schema.properties.items()}
        jsonschema.validate(defaults, config_schema_json(policy))


@pytest.mark.parametrize("policy", [p for p in ALL_POLICIES if p.enforcement_level == EnforcementLevel.REMEDIATE],
                         ids=lambda p: p.name)
def test_remediate_policies_are_resource_policies_with_a_fix(policy):
    assert isinstance(policy, ResourceValidationPolicy) and policy.has_remediation() and policy.has_validation()


def test_resource_policies_only_use_catalog_type_tokens():
    for policy in ALL_POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            assert policy.resource_types and policy.resource_types <= CATALOG_TYPES, policy.name


def test_pack_sources_import_type_tokens_instead_of_copying_them():
    token = re.compile(r"""["'](?:vercel|cloudflare|postgresql|random):index/|["']pulumi:providers:""")
    for path in (PACK_DIR / "ara_policies").glob("*.py"):
        if path.name != "catalog.py":
            assert not token.search(path.read_text()), f"{path.name} hard-codes a type token; use catalog"


def test_pack_sources_never_reach_outside_the_pack():
    # `pulumi policy publish` packs only policies/: an import of the repository would break there.
    for path in PACK_DIR.rglob("*.py"):
        if "venv" in path.parts:
            continue
        text = path.read_text()
        assert "sys.path" not in text, path
        assert not re.search(r"^\s*(?:from|import) (?:infra|stacks|review)\b", text, re.M), path


def test_the_program_imports_the_real_catalog_and_the_pack_holds_its_generated_copy():
    from cicd import pack
    from infra import catalog

    source = PACK_DIR.parent / "infra" / "catalog.py"
    copy = PACK_DIR / "ara_policies" / "catalog.py"
    assert Path(catalog.__file__).resolve() == source
    assert source.read_text().count("VERCEL_PROJECT =") == 1
    # The pack's file is the header, then the source byte for byte (`make pack`).
    assert copy.read_bytes() == pack.HEADER + source.read_bytes()
    assert copy.read_text().startswith("# GENERATED from infra/catalog.py by `make pack`")
    assert ara_policies.catalog.VERCEL_PROJECT == catalog.VERCEL_PROJECT


def test_main_only_builds_the_pack():
    tree = parse((PACK_DIR / "__main__.py").read_text())
    statements = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom, ast.Expr))
                  or (isinstance(n, ast.Expr) and not isinstance(n.value, (ast.Call, ast.Constant)))]
    assert statements == []
    calls = [n.value for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    assert len(calls) == 1 and calls[0].func.id == "PolicyPack"
    kwargs = {k.arg: k.value for k in calls[0].keywords}
    assert ast.literal_eval(kwargs["name"]) == "ara-security"
    assert kwargs["policies"].id == "ALL_POLICIES"


def test_pack_metadata_files():
    meta = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert meta["runtime"]["name"] == "python" and meta["version"] == "1.0.0"
    assert meta["description"]
    # The CLI builds the pack's own virtualenv from its requirements.txt.
    assert meta["runtime"]["options"]["virtualenv"] == "venv"
    reqs = (PACK_DIR / "requirements.txt").read_text()
    assert "pulumi-policy>=1.21,<2" in reqs and "pulumi>=3.200,<4" in reqs
    assert not re.search(r"^pulumi[-_](?:cloudflare|postgresql|random)|^pulumiverse", reqs, re.M)


def readme_table_ids() -> list[str]:
    text = (PACK_DIR / "README.md").read_text()
    return re.findall(r"^\| `([a-z0-9-]+)` \|", text, re.M)


def test_every_policy_is_listed_in_the_readme_table():
    listed = readme_table_ids()
    assert sorted(listed) == sorted(p.name for p in ALL_POLICIES)


def test_readme_rows_state_each_policy_level_and_severity():
    text = (PACK_DIR / "README.md").read_text()
    for policy in ALL_POLICIES:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{policy.name}` |"))
        cells = [c.strip() for c in row.split("|")]
        assert cells[3].startswith(policy.enforcement_level.value), policy.name
        assert cells[4] == policy.severity.value, policy.name


@pytest.mark.parametrize("name", ["prod.json", "preview.json"])
def test_example_config_files_match_the_schemas(name):
    config = json.loads((PACK_DIR / "config" / name).read_text())
    by_name = {p.name: p for p in ALL_POLICIES}
    for key, value in config.items():
        if key == "all":
            assert value in LEVELS
            continue
        assert key in by_name, f"{name}: unknown policy {key}"
        props = dict(value)
        level = props.pop("enforcementLevel", None)
        assert level is None or level in LEVELS
        jsonschema.validate(props, config_schema_json(by_name[key]))


@pytest.mark.parametrize("policy", [p for p in ALL_POLICIES if p.name in ara_policies.ARA_ARCHITECTURE_POLICIES],
                         ids=lambda p: p.name)
def test_architecture_rules_are_advisory_in_the_pack_and_mandatory_in_aras_configs(policy):
    # Another program is told about ARA's choices, not blocked by them; ARA's own stacks are.
    assert policy.enforcement_level == EnforcementLevel.ADVISORY
    prod = json.loads((PACK_DIR / "config" / "prod.json").read_text())
    preview = json.loads((PACK_DIR / "config" / "preview.json").read_text())
    assert prod[policy.name]["enforcementLevel"] == "mandatory"
    relaxed = {"vercel-firewall-require-api-rate-limit", "cloudflare-r2-require-backup-lifecycle"}
    assert preview[policy.name]["enforcementLevel"] == ("advisory" if policy.name in relaxed else "mandatory")


def test_architecture_rules_are_marked_in_the_readme_table():
    text = (PACK_DIR / "README.md").read_text()
    for name in ara_policies.ARA_ARCHITECTURE_POLICIES:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        assert "advisory (ARA: mandatory)" in row, name


def test_preview_config_turns_off_the_protected_stack():
    config = json.loads((PACK_DIR / "config" / "preview.json").read_text())
    assert config["stateful-resources-require-protect"]["protectedStack"] is False


# --- the real runtime code path (in-process servicer) --------------------------------------

def servicer() -> _PolicyAnalyzerServicer:
    s = _PolicyAnalyzerServicer("ara-security", "1.0.0", ALL_POLICIES, EnforcementLevel.ADVISORY)
    s.Configure(analyzer_pb2.ConfigureAnalyzerRequest(), None)
    return s


def request(cls, type_, props, name="openai"):
    struct = struct_pb2.Struct()
    struct.update(props)
    return cls(type=type_, urn=f"urn:pulumi:test::ara-infra::{type_}::{name}", name=name, properties=struct)


def env_var(**overrides):
    props = {"projectId": "prj_1", "key": "OPENAI_API_KEY", "value": secret(PLANTED), "targets": ["production"],
             "sensitive": False}
    props.update(overrides)
    return props


def test_runtime_reports_unsensitive_secret_as_mandatory_without_the_value():
    response = servicer().Analyze(request(analyzer_pb2.AnalyzeRequest, catalog.VERCEL_ENV_VAR, env_var()), None)
    diags = [d for d in response.diagnostics if d.policyName == "vercel-env-require-sensitive-secrets"]
    assert len(diags) == 1 and diags[0].enforcementLevel == analyzer_pb2.MANDATORY
    assert all(PLANTED not in d.message for d in response.diagnostics)


def test_runtime_turns_unknown_values_into_advisories():
    response = servicer().Analyze(
        request(analyzer_pb2.AnalyzeRequest, catalog.VERCEL_ENV_VAR, env_var(sensitive=UNKNOWN_BOOL)), None)
    diags = [d for d in response.diagnostics if d.policyName == "vercel-env-require-sensitive-secrets"]
    assert len(diags) == 1 and diags[0].enforcementLevel == analyzer_pb2.ADVISORY
    assert "during preview" in diags[0].message


def test_runtime_remediation_sets_sensitive_and_keeps_the_value_secret():
    response = servicer().Remediate(request(analyzer_pb2.AnalyzeRequest, catalog.VERCEL_ENV_VAR, env_var()), None)
    fixes = [r for r in response.remediations if r.policyName == "vercel-env-require-sensitive-secrets"]
    assert len(fixes) == 1
    props = json_format.MessageToDict(fixes[0].properties)
    assert props["sensitive"] is True and is_wire_secret(props["value"])


def test_runtime_config_reaches_policies_as_floats():
    s = servicer()
    config = analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.MANDATORY)
    config.properties.update({"minMaxAge": 100000000, "requirePreload": False})
    s.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={"web-headers-require-hsts": config}), None)
    props = {"route": {"src": "/(.*)", "headers": {"Strict-Transport-Security": "max-age=63072000; includeSubDomains"}}}
    response = s.Analyze(request(analyzer_pb2.AnalyzeRequest, catalog.VERCEL_PROJECT_ROUTE, props, "hdrs"), None)
    diags = [d for d in response.diagnostics if d.policyName == "web-headers-require-hsts"]
    assert len(diags) == 1 and "below 100000000" in diags[0].message


def test_analyzer_info_lists_every_policy_with_its_schema():
    info = servicer().GetAnalyzerInfo(empty_pb2.Empty(), None)
    assert [p.name for p in info.policies] == [p.name for p in ALL_POLICIES]
    hsts = next(p for p in info.policies if p.name == "web-headers-require-hsts")
    assert "minMaxAge" in json_format.MessageToDict(hsts.configSchema)["properties"]


# --- the pack starts the way the engine starts it ------------------------------------------

def test_pack_starts_as_the_engine_runs_it_and_serves_analyzer_info():
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."], cwd=PACK_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = proc.stdout.readline().strip()
        assert port.isdigit(), proc.stderr.read() if proc.poll() is not None else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=20)
        assert info.name == "ara-security"
        assert len(info.policies) == len(ALL_POLICIES) >= 25
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
