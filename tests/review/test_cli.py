"""`python -m review`: plan, check and graph on both stacks, exit codes, the manifest, secrets."""

from __future__ import annotations

import json
import re
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from infra import catalog, projectfile
from review import evaluate as ev
from review import manifest as mf
from review import render, wire
from tests.review.test_cli_helpers import copy_program, edit, run
from tests.support import ROOT, offline_secrets

STACKS = ("prod", "preview")

# Known values planted as the stack's secrets: none may appear in any output.
PLANTED = {
    "clerkSecretKey": "sk_test_PLANTEDclerkSecretKey0001",
    "clerkJwtKey": "-----BEGIN PUBLIC KEY-----\nUExBTlRFRGNsZXJrSnd0S2V5MDAwMg==\n-----END PUBLIC KEY-----",
    "openaiApiKey": "PLANTED-openai-api-key-0003",
    "upstashRedisUrl": "rediss://default:PLANTEDredis0004@planted.upstash.io:6379",
    "posthogApiKey": "PLANTED-posthog-api-key-0005",
    "sentryDsn": "https://PLANTEDsentry0006@o0.ingest.sentry.io/0",
    "dbAdminPassword": "PLANTED-db-admin-password-0007",
}
PLANTED_ARGS = [arg for key, value in PLANTED.items() for arg in ("--config", f"{key}={value}")]


@cache
def forbidden(stack: str, planted: bool) -> tuple[str, ...]:
    """Every secret of a run: planted values or placeholders, and the secret values the program derives."""
    overrides = PLANTED if planted else offline_secrets()
    source = ev.load_source(stack, ROOT, overrides)
    values = set(source.placeholders.values())
    values |= {source.values[k] for k in source.secret_keys}
    capture = ev.evaluate(source).capture
    derived: set[str] = set()
    for r in capture.resources:
        wire.secret_strings(r.props, derived)
    wire.secret_strings(capture.stack_outputs, derived)
    for value in capture.stack_outputs.values():
        if wire.is_secret(value):
            plain = str(wire.reveal(value))
            values.add(plain)
            password = re.search(r"://[^:/@]+:([^@]+)@", plain)
            if password:
                values.add(password.group(1))  # a generated role password inside a URL
    # Strings that are secret-wrapped only because the SDK wraps every env-var value are public.
    public = {"production", f"https://{source.values['ara-infra:domain']}"}
    # ...and so are the values of variables the program itself left non-sensitive (plan shows them).
    public |= set(render.plain_env_values(capture).values())
    values |= {d for d in derived
               if len(d) >= 12 and d not in public and not d.startswith("ara-") and d != wire.UNKNOWN}
    # An unknown is the engine's marker for "not known yet", not a value.
    return tuple(sorted(v for v in values if v and wire.UNKNOWN not in v))


def assert_no_secrets(text: str, stack: str, planted: bool = False) -> None:
    leaked = [v for v in forbidden(stack, planted) if v in text]
    assert not leaked, f"secret values in output: {[v[:12] + '…' for v in leaked]}"
    assert "appeared outside a secret" not in text  # the scrubber had nothing to remove


# --------------------------------------------------------------------------- plan


@pytest.mark.parametrize("stack", STACKS)
def test_plan_prints_the_tree_counts_and_outputs(stack):
    res = run("plan", "--stack", stack)
    assert res.code == 0, res.err
    out = res.out
    assert out.startswith(f"Plan ara-infra/{stack}: ")
    assert f"pulumi:pulumi:Stack ara-infra-{stack}" in out
    assert "├─ ara:database:Database ara-db" in out
    assert "postgresql:Database ara-db-database" in out  # short type names
    assert "Resources per provider:" in out
    for pkg in ("cloudflare", "postgresql", "random", "vercel"):
        assert re.search(rf"^  {pkg}\s+\d+  \(", out, re.M), pkg
    assert "databaseUrl: [secret]" in out
    assert "value=[secret]" in out
    assert_no_secrets(res.all, stack)


def test_plan_tree_shows_protection_of_stateful_resources_in_prod(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line per resource, whatever terminal runs the tests
    out = run("plan", "--stack", "prod").out
    assert re.search(r"R2Bucket ara-storage-backups \[protect, retain\]", out)
    assert re.search(r"Database ara-db-database \[protect, retain\]\s+name=ara_prod", out)


@pytest.mark.parametrize("stack", STACKS)
def test_plan_markdown_is_a_compact_pr_comment(stack):
    res = run("plan", "--stack", stack, "--format", "markdown")
    assert res.code == 0
    assert res.out.startswith(f"#### Plan `ara-infra/{stack}`")
    assert "| provider | resources | types |" in res.out
    assert "<details><summary>Resource tree</summary>" in res.out
    assert_no_secrets(res.all, stack)


def test_plan_json_is_the_manifest():
    res = run("plan", "--stack", "preview", "--format", "json")
    data = mf.validate(json.loads(res.out))
    assert data["stack"] == "preview"
    assert_no_secrets(res.all, "preview")


def test_manifest_round_trip(tmp_path):
    path = tmp_path / "prod.json"
    res = run("plan", "--stack", "prod", "--out", str(path))
    assert res.code == 0
    text = path.read_text()
    loaded = mf.load(path)
    assert mf.dumps(loaded) == text
    source = ev.load_source("prod", ROOT, offline_secrets())
    assert loaded == mf.build(ev.evaluate(source).capture)
    assert loaded["version"] == 1
    assert (loaded["project"], loaded["stack"]) == ("ara-infra", "prod")
    urns = [r["urn"] for r in loaded["resources"]]
    assert urns == sorted(urns)
    db = next(r for r in loaded["resources"] if r["type"] == catalog.PG_DATABASE)
    assert db["protect"] is True and db["retainOnDelete"] is True
    assert db["propertyDependencies"]["owner"] and db["dependencies"]
    assert db["provider"].startswith("urn:pulumi:prod::ara-infra::ara:database:Database$pulumi:providers:postgresql::")
    # The options the engine uses at delete time are all in the manifest.
    vector = next(r for r in loaded["resources"] if r["name"] == "ara-db-vector")
    assert vector["deletedWith"] == db["urn"]
    membership = next(r for r in loaded["resources"] if r["name"] == "ara-db-admin-owner-membership")
    assert membership["deleteBeforeReplace"] is True and membership["ignoreChanges"] == ["withAdminOption"]
    env = next(r for r in loaded["resources"] if r["name"] == "ara-env-database-url")
    # A preview of a stack never deployed: the URL holds a password generated when the engine runs.
    assert env["props"]["value"] == {"secret": True, "unknown": True}
    assert loaded["outputs"]["databaseUrl"] == {"secret": True, "unknown": True}
    assert not mf.contains_secret_value(loaded)
    for entry in loaded["resources"]:
        assert set(entry) == {"urn", "type", "name", "parent", "custom", "provider", "props", "dependencies",
                              "propertyDependencies", "protect", "retainOnDelete", "deleteBeforeReplace",
                              "deletedWith", "ignoreChanges", "replaceOnChanges", "customTimeouts",
                              "additionalSecretOutputs", "aliases"}
    assert_no_secrets(text, "prod")


def test_manifest_is_deterministic(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run("plan", "--stack", "prod", "--out", str(a), "--quiet").code == 0
    assert run("plan", "--stack", "prod", "--out", str(b), "--quiet").code == 0
    assert a.read_bytes() == b.read_bytes()


def test_prod_manifest_snapshot(tmp_path, snapshot):
    """Any change to prod's desired state shows up here in review (`pytest --snapshot-update`)."""
    path = tmp_path / "prod.json"
    assert run("plan", "--stack", "prod", "--out", str(path), "--quiet").code == 0
    assert json.loads(path.read_text()) == snapshot(extension_class=JSONSnapshotExtension)


def test_manifest_resolves_sdk_alias_specs_to_urns():
    data = json.loads(run("plan", "--stack", "prod", "--format", "json").out)
    grants = [r for r in data["resources"] if r["type"] == catalog.PG_DEFAULT_PRIVILEGES]
    assert grants
    for r in grants:
        legacy = r["urn"].replace("defaultPrivileges:DefaultPrivileges", "defaultPrivileg:DefaultPrivileg")
        assert r["aliases"] == [legacy]


# --------------------------------------------------------------------------- secrets


@pytest.mark.slow
def test_secrets_never_reach_any_output(tmp_path):
    outputs = []
    for stack in STACKS:
        manifest = tmp_path / f"{stack}.json"
        graph_file = tmp_path / f"{stack}.dot"
        for argv in (
            ("plan", "--stack", stack, "--out", str(manifest)),
            ("plan", "--stack", stack, "--format", "json"),
            ("plan", "--stack", stack, "--format", "markdown"),
            ("graph", "--stack", stack),
            ("graph", "--stack", stack, "--format", "dot", "--out", str(graph_file)),
            ("graph", "--stack", stack, "--format", "json"),
        ):
            res = run(*argv, *PLANTED_ARGS)
            assert res.code == 0, res.err
            outputs.append((stack, res.all))
        outputs += [(stack, manifest.read_text()), (stack, graph_file.read_text())]
    for fmt in ("text", "json", "markdown"):
        res = run("check", "--stack", "prod", "--stack", "preview", "--format", fmt, *PLANTED_ARGS)
        assert res.code == 0, res.all
        outputs += [("prod", res.all), ("preview", res.all)]
    # A failing program run: its error message must not carry secrets either.
    res = run("plan", "--stack", "prod", "--config", "dbSslMode=disable", *PLANTED_ARGS)
    assert res.code == 2
    outputs.append(("prod", res.all))
    for stack, text in outputs:
        assert_no_secrets(text, stack, planted=True)
        assert "PLANTED" not in text


def test_the_offline_stand_ins_are_secrets_and_never_printed():
    for stack in STACKS:
        source = ev.load_source(stack, ROOT, offline_secrets())
        assert {f"ara-infra:{k}" for k in offline_secrets()} <= set(source.secret_keys)
        assert all(projectfile.placeholder(k) == v for k, v in source.placeholders.items())
        res = run("plan", "--stack", stack, "--format", "json")
        assert res.code == 0
        assert_no_secrets(res.all, stack)


# --------------------------------------------------------------------------- check and exit codes


@pytest.mark.slow
def test_check_both_stacks_passes():
    res = run("check", "--stack", "prod", "--stack", "preview")
    assert res.code == 0, res.all
    assert re.search(r"^check ara-infra/prod: ara-security@\S+, \d+ policies over \d+ resources, "
                     r"policy config \S+prod\.json: 0 mandatory", res.out, re.M)
    assert re.search(r"^check ara-infra/preview: .*preview\.json: 0 mandatory", res.out, re.M)
    assert "result: PASS" in res.out


@pytest.mark.slow
def test_check_json_and_markdown():
    res = run("check", "--stack", "preview", "--format", "json")
    assert res.code == 0
    data = json.loads(res.out)
    assert data["ok"] is True and [s["stack"] for s in data["stacks"]] == ["preview"]
    res = run("check", "--stack", "prod", "--format", "markdown")
    assert res.code == 0
    assert res.out.startswith("#### Policy check (ara-security@") and "✅" in res.out


@pytest.fixture(scope="module")
def broken_program(tmp_path_factory) -> Path:
    """A copy of the program whose Vercel project lists directories (a mandatory policy)."""
    dest = copy_program(tmp_path_factory.mktemp("broken") / "program")
    edit(dest / "infra" / "web.py", "directory_listing=False", "directory_listing=True")
    return dest


@pytest.mark.slow
def test_check_broken_copy_fails_with_the_violation_and_its_fix(broken_program):
    res = run("check", "--stack", "prod", "--program", str(broken_program))
    assert res.code == 1, res.all
    assert "FAIL [mandatory" in res.out and "vercel-project-disallow-directory-listing" in res.out
    block = res.out.split("vercel-project-disallow-directory-listing", 1)[1]
    assert "prod: vercel:Project ara-web-project" in block
    assert "fix: " in block
    assert "result: FAIL (1 mandatory violations)" in res.out
    md = run("check", "--stack", "prod", "--program", str(broken_program), "--format", "markdown")
    assert md.code == 1 and "❌" in md.out and "`vercel-project-disallow-directory-listing`" in md.out


@pytest.mark.slow
def test_judging_another_program_leaves_this_one_intact(broken_program):
    assert run("check", "--stack", "prod", "--program", str(broken_program)).code == 1
    assert run("check", "--stack", "prod").code == 0
    import infra.web

    assert Path(infra.web.__file__).resolve().parent == ROOT / "infra"


def test_bad_stack_config_exits_2_naming_the_key():
    res = run("plan", "--stack", "prod", "--config", "dbSslMode=disable", "--config", "rateLimitRequests=0")
    assert res.code == 2
    assert "ara-infra:dbSslMode" in res.err and "ara-infra:rateLimitRequests" in res.err
    assert "Traceback" not in res.all
    res = run("check", "--stack", "preview", "--config", "r2Location=auto")
    assert res.code == 2 and "ara-infra:r2Location" in res.err


@pytest.mark.slow
def test_bad_stack_file_exits_2_naming_the_key(tmp_path):
    dest = copy_program(tmp_path / "program")
    edit(dest / "Pulumi.prod.yaml", "ara-infra:dbConnectionLimit: 40", "ara-infra:dbConnectionLimit: lots")
    res = run("check", "--stack", "prod", "--program", str(dest))
    assert res.code == 2
    assert "ara-infra:dbConnectionLimit" in res.err and "Traceback" not in res.all


def test_unknown_stack_and_bad_usage_exit_2():
    # The CLI runs a stack without a stack file on the project's defaults: here that misses keys.
    res = run("plan", "--stack", "staging")
    assert res.code == 2 and "Stack 'staging' is missing configuration values" in res.err
    assert "Pulumi.staging.yaml does not exist" in res.err and "stacks with a file: preview, prod" in res.err
    assert run("plan").code == 2
    assert run("frobnicate", "--stack", "prod").code == 2
    res = run("plan", "--stack", "prod", "--config", "no-equals-sign")
    assert res.code == 2 and "KEY=VALUE" in res.err


@pytest.mark.slow
def test_invalid_policy_config_exits_2_naming_policy_and_property(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"web-headers-require-hsts": {"minMaxAge": "two years"}}))
    res = run("check", "--stack", "prod", "--policy-config", str(bad))
    assert res.code == 2, res.all
    assert "web-headers-require-hsts" in res.err and "minMaxAge" in res.err
    assert "Traceback" not in res.all
    bad.write_text(json.dumps({"no-such-policy": "mandatory"}))
    res = run("check", "--stack", "prod", "--policy-config", str(bad))
    assert res.code == 2 and "no-such-policy" in res.err
    res = run("check", "--stack", "prod", "--policy-config", str(tmp_path / "missing.json"))
    assert res.code == 2 and "not found" in res.err


@pytest.mark.slow
def test_policy_config_can_raise_an_advisory_policy_to_mandatory(tmp_path, broken_program):
    cfg = tmp_path / "strict.json"
    cfg.write_text(json.dumps({"all": "mandatory"}))
    res = run("check", "--stack", "prod", "--program", str(broken_program), "--policy-config", str(cfg))
    assert res.code == 1
    assert "[mandatory" in res.out


@pytest.mark.slow
def test_program_crash_exits_3_without_traceback(tmp_path):
    dest = copy_program(tmp_path / "program")
    edit(dest / "stacks" / "common.py", "def data_plane(cfg: StackConfig) -> DataPlane:\n",
         "def data_plane(cfg: StackConfig) -> DataPlane:\n    raise ValueError('boom in data_plane')\n")
    res = run("plan", "--stack", "prod", "--program", str(dest))
    assert res.code == 3
    assert "ValueError: boom in data_plane" in res.err and "stacks/common.py" in res.err
    assert "Traceback" not in res.all


# --------------------------------------------------------------------------- graph


def _longest_chain(manifest: dict) -> int:
    urns = {r["urn"] for r in manifest["resources"]}
    preds: dict[str, set[str]] = {u: set() for u in urns}
    for r in manifest["resources"]:
        deps = set(r["dependencies"]) | {d for ds in r["propertyDependencies"].values() for d in ds}
        if r["parent"]:
            deps.add(r["parent"])
        if r["provider"]:
            deps.add(r["provider"].rsplit("::", 1)[0])
        preds[r["urn"]] = {d for d in deps if d in urns and d != r["urn"]}

    @cache
    def depth(u: str) -> int:
        return 1 + max((depth(p) for p in preds[u]), default=0)

    return max(depth(u) for u in urns)


@pytest.mark.parametrize("stack", STACKS)
def test_graph_critical_path_is_the_longest_chain(stack):
    manifest = json.loads(run("plan", "--stack", stack, "--format", "json").out)
    data = json.loads(run("graph", "--stack", stack, "--format", "json").out)
    assert data["criticalPathLength"] == _longest_chain(manifest) == len(data["criticalPath"])
    by = {r["urn"]: r for r in manifest["resources"]}
    path = data["criticalPath"]
    assert by[path[0]]["type"] == wire.STACK_TYPE
    for a, b in pairwise(path):
        r = by[b]
        linked = (a in r["dependencies"] or r["parent"] == a
                  or any(a in ds for ds in r["propertyDependencies"].values())
                  or (r["provider"] or "").startswith(a + "::"))
        assert linked, (a, b)
    assert sum(data["widths"]) == data["resources"] == len(manifest["resources"])


@pytest.mark.parametrize("stack", STACKS)
def test_graph_mermaid_and_dot_highlight_the_critical_path(stack, tmp_path):
    res = run("graph", "--stack", stack)
    assert res.code == 0
    length = int(re.search(r"^%% critical path: (\d+) resources", res.out, re.M).group(1))
    assert "\nflowchart LR\n" in res.out
    assert re.search(rf"^  class (n\d+,){{{length - 1}}}n\d+ critical;$", res.out, re.M)
    assert re.search(rf"^  linkStyle (\d+,){{{length - 2}}}\d+ stroke:#c00", res.out, re.M)
    out_file = tmp_path / "g.dot"
    res = run("graph", "--stack", stack, "--format", "dot", "--out", str(out_file))
    assert res.code == 0 and f"critical path: {length} resources" in res.out
    dot = out_file.read_text()
    assert dot.startswith(f"// critical path: {length} resources") and f'digraph "ara-infra/{stack}"' in dot
    assert dot.count("color=red") == length + (length - 1)
