"""The review tool as a pull-request gate: user errors exit 2 naming the path or key, no secret the
run was given reaches any output in any form, and no traceback without --debug."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from review import render
from tests.review.test_cli_helpers import copy_program, run, run_subprocess
from tests.support import ROOT, offline_secrets

# Starts real processes (the policy pack, the CLI, git): left out of `make test-fast`.
pytestmark = pytest.mark.slow

# Canaries planted as every secret of the run; a multi-line PEM, whose escaped form (`\n`) is
# what repr() and JSON print, among them.
CANARIES = {
    "clerkSecretKey": "sk_test_CANARYclerk7a1",
    "clerkJwtKey": "-----BEGIN PUBLIC KEY-----\nQ0FOQVJZY2xlcmtKd3RLZXk3YTI=\n-----END PUBLIC KEY-----",
    "openaiApiKey": "sk-proj-CANARY-openai-7a3",
    "upstashRedisUrl": "rediss://default:CANARYredis7a4@canary.upstash.io:6379",
    "posthogApiKey": "phc_CANARYposthog7a5",
    "sentryDsn": "https://CANARYsentry7a6@o0.ingest.sentry.io/7",
    "dbAdminPassword": "CANARY-db-admin-password-7a7",
}
CANARY_ARGS = [a for k, v in CANARIES.items() for a in ("--config", f"{k}={v}")]


def leaked(text: str) -> list[str]:
    """Canaries found in `text` in any form a message may carry them (raw, repr, JSON, one line)."""
    return sorted({key for key, value in CANARIES.items()
                   for form in render.escaped_forms(value) if form in text})


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    root = copy_program(tmp_path_factory.mktemp("gate") / "repo")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    return root


# --------------------------------------------------------------------------- secrets


COMMANDS = [
    *[("plan", f) for f in ("text", "json", "markdown")],
    *[("check", f) for f in ("text", "json", "markdown")],
    *[("diff", f) for f in ("text", "json", "markdown")],
    *[("graph", f) for f in ("mermaid", "dot", "text", "json")],
]


@pytest.mark.parametrize(("command", "fmt"), COMMANDS, ids=[f"{c}-{f}" for c, f in COMMANDS])
def test_planted_canaries_reach_no_output_of_any_command_or_format(repo, command, fmt):
    extra = ["--base", "HEAD"] if command == "diff" else []
    res = run(command, "--stack", "prod", "--program", str(repo), "--format", fmt, *extra, *CANARY_ARGS)
    assert res.code == 0, res.all
    assert leaked(res.all) == []
    assert "appeared outside a secret" not in res.all


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_planted_canaries_reach_no_output_of_a_cross_stack_check(repo, fmt):
    res = run("check", "--stack", "prod", "--stack", "preview", "--program", str(repo), "--format", fmt,
              *CANARY_ARGS)
    assert res.code == 0, res.all
    assert leaked(res.all) == [] and "appeared outside a secret" not in res.all


def test_planted_canaries_reach_no_written_file(tmp_path):
    manifest, graph = tmp_path / "m.json", tmp_path / "g.mmd"
    assert run("plan", "--stack", "preview", "--out", str(manifest), "--quiet", *CANARY_ARGS).code == 0
    assert run("graph", "--stack", "preview", "--out", str(graph), *CANARY_ARGS).code == 0
    assert leaked(manifest.read_text()) == [] and leaked(graph.read_text()) == []


def test_only_the_event_loop_finaliser_is_silenced_at_shutdown(monkeypatch):
    from types import SimpleNamespace

    from review import cli

    seen = []
    monkeypatch.setattr("sys.__unraisablehook__", seen.append)

    class BaseEventLoop:  # the object Python reports for `Exception ignored in: BaseEventLoop.__del__`
        def __del__(self) -> None: ...

    cli._quiet_event_loop_finaliser(SimpleNamespace(object=BaseEventLoop.__del__))
    other = SimpleNamespace(object=len)
    cli._quiet_event_loop_finaliser(other)
    assert seen == [other]


def test_canaries_in_a_program_exception_are_scrubbed_in_every_escaped_form(tmp_path):
    # The program quotes a secret the way real failures do: the value, its repr, JSON, one PEM line.
    program = copy_program(tmp_path / "program")
    (program / "__main__.py").write_text(textwrap.dedent('''
        import json
        import pulumi
        cfg = pulumi.Config()
        password, pem = cfg.get("dbAdminPassword"), cfg.get("clerkJwtKey")
        raise RuntimeError(f"cannot connect with password {password}; key {pem!r} "
                           f"{json.dumps(pem)} line {pem.splitlines()[1]}")
    '''))
    res = run("plan", "--stack", "prod", "--program", str(program), *CANARY_ARGS)
    assert res.code == 3, res.all
    assert "RuntimeError: cannot connect with password [secret]" in res.err
    assert leaked(res.all) == []
    assert "Traceback" not in res.all


LEAKY_PACK = '''
import json
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

def quote(args, report_violation):
    if args.resource_type == "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable":
        value = args.props.get("value")
        report_violation(f"value {value} repr {value!r} json {json.dumps(value)}")

PolicyPack(name="leaky", enforcement_level=EnforcementLevel.ADVISORY, policies=[
    ResourceValidationPolicy(name="quote-secrets", description="Quotes every variable value.",
                             validate=quote)])
'''


def test_canaries_quoted_by_a_policy_violation_are_scrubbed(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("description: quotes secrets\nruntime: python\nversion: 0.1.0\n")
    (pack / "__main__.py").write_text(LEAKY_PACK)
    for fmt in ("text", "json", "markdown"):
        res = run("check", "--stack", "prod", "--policy-pack", str(pack), "--format", fmt, *CANARY_ARGS)
        assert res.code == 0, res.all
        assert "quote-secrets" in res.out
        assert leaked(res.all) == []


def test_a_secret_equal_to_a_public_value_is_reported_weak_not_turned_into_secret_text():
    # The program refuses it by key (too short to be a credential); the review does not scrub it,
    # which would turn the public admin user into [secret] and so show where the secret occurs.
    res = run("plan", "--stack", "prod", "--config", "dbAdminPassword=ara_admin")
    assert res.code == 2, res.all
    assert "ara-infra:dbAdminPassword: is too short to be a credential" in res.err
    assert "secret ara-infra:dbAdminPassword is weak: its value is the public value of ara-infra:dbAdminUser" \
        in res.err
    assert "[secret]" not in res.all and "appeared outside a secret" not in res.err


# --------------------------------------------------------------------------- user errors: exit 2


def _program_with(tmp_path: Path, name: str, text: str | bytes) -> Path:
    program = copy_program(tmp_path / "program")
    target = program / name
    target.write_bytes(text) if isinstance(text, bytes) else target.write_text(text)
    return program


def _stack_file_is_a_directory(tmp_path: Path) -> tuple[list[str], str]:
    program = copy_program(tmp_path / "program")
    (program / "Pulumi.prod.yaml").unlink()
    (program / "Pulumi.prod.yaml").mkdir()
    return ["plan", "--stack", "prod", "--program", str(program)], "Pulumi.prod.yaml: is a directory"


def _project_file(text: str | bytes, expected: str):
    def make(tmp_path: Path) -> tuple[list[str], str]:
        program = _program_with(tmp_path, "Pulumi.yaml", text)
        return ["plan", "--stack", "prod", "--program", str(program)], expected
    return make


def _stack_file(text: str, expected: str):
    def make(tmp_path: Path) -> tuple[list[str], str]:
        program = _program_with(tmp_path, "Pulumi.prod.yaml", text)
        return ["check", "--stack", "prod", "--program", str(program)], expected
    return make


def _args(*argv: str, expected: str):
    return lambda tmp_path: ([a.replace("TMP", str(tmp_path)) for a in argv], expected)


PROJECT = (ROOT / "Pulumi.yaml").read_text()
PROD = (ROOT / "Pulumi.prod.yaml").read_text()

USER_ERRORS = {
    "--out into a missing directory": _args("plan", "--stack", "prod", "--out", "TMP/no/such/dir/m.json",
                                            expected="--out TMP/no/such/dir/m.json: cannot write it"),
    "--out that is a directory": _args("graph", "--stack", "prod", "--out", "TMP",
                                       expected="--out TMP: cannot write it"),
    "two stacks for plan": _args("plan", "--stack", "prod", "--stack", "preview",
                                 expected="--stack: plan handles one stack (got prod, preview)"),
    "two stacks for graph": _args("graph", "--stack", "prod,preview", expected="graph handles one stack"),
    "two stacks for diff": _args("diff", "--stack", "prod", "--stack", "preview", "--base", "HEAD",
                                 expected="diff handles one stack"),
    "--config without =": _args("plan", "--stack", "prod", "--config", "openaiApiKey sk-proj-CANARY-openai-7a3",
                                expected="--config expects KEY=VALUE, got no ="),
    "--config without a key": _args("plan", "--stack", "prod", "--config", "=sk-proj-CANARY-openai-7a3",
                                    expected="--config expects KEY=VALUE, got no key"),
    "null --config value": _args("plan", "--stack", "prod", "--config", "dbHost=null",
                                 expected="--config dbHost: null is not a value"),
    "misspelt --config key": _args("plan", "--stack", "prod", "--config", "dbSslmode=disable",
                                   expected="ara-infra:dbSslmode: not a key of this program"),
    "stack file that is a directory": _stack_file_is_a_directory,
    "Pulumi.yaml not UTF-8": _project_file(PROJECT.encode() + b"# caf\xe9\n", "Pulumi.yaml: not UTF-8 text"),
    "config: [] in Pulumi.yaml": _project_file(PROJECT.split("config:")[0] + "config: []\n",
                                               "'config' must be a mapping"),
    "integer key in Pulumi.yaml": _project_file(PROJECT + "  7: {type: string}\n", "mapping keys must be strings"),
    "null key in Pulumi.yaml": _project_file(PROJECT + "  ~: {type: string}\n", "mapping keys must be strings"),
    "Pulumi.yaml that is a list": _project_file("- a\n", "Pulumi.yaml: must be a mapping"),
    "plain secret in the stack file": _stack_file(PROD + "  ara-infra:openaiApiKey: sk-proj-CANARY-openai-7a3\n",
                                                  "ara-infra:openaiApiKey: must be encrypted as it's secret"),
    "duplicate key in the stack file": _stack_file(PROD + "  ara-infra:dbSslMode: require\n",
                                                   "key 'ara-infra:dbSslMode' is defined twice"),
}


@pytest.mark.parametrize("case", list(USER_ERRORS), ids=list(USER_ERRORS))
def test_a_user_error_exits_2_naming_the_path_or_key(tmp_path, case):
    argv, expected = USER_ERRORS[case](tmp_path)
    res = run(*argv)
    assert res.code == 2, res.all
    assert expected.replace("TMP", str(tmp_path)) in res.err
    assert "Traceback" not in res.all and "unexpected" not in res.all
    assert leaked(res.all) == []


# --------------------------------------------------------------------------- no tracebacks


def test_a_crashing_pack_is_relayed_in_one_line_with_how_to_see_more():
    res = run_subprocess("check", "--stack", "prod", "--policy-pack", str(ROOT / "tests/fixtures/policypack_crash"))
    assert res.code == 3, res.all
    assert "ModuleNotFoundError: No module named 'policypack_crash_missing_dependency'" in res.err
    assert "rerun with --debug" in res.err
    assert "Traceback" not in res.all and "Exception ignored" not in res.all
    debug = run_subprocess("check", "--stack", "prod", "--policy-pack",
                           str(ROOT / "tests/fixtures/policypack_crash"), "--debug")
    assert "Traceback (most recent call last):" in debug.err


def test_a_plan_run_as_a_user_runs_it_prints_nothing_on_stderr():
    res = run_subprocess("plan", "--stack", "preview", "--format", "json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["stack"] == "preview"
    assert res.err == ""


# --------------------------------------------------------------------------- markdown comments


@pytest.fixture(scope="module")
def prod_manifest() -> dict:
    from review import evaluate
    from review import manifest as mf

    return mf.build(evaluate.evaluate(evaluate.load_source("prod", ROOT, offline_secrets())).capture)


def _blown_up(m: dict, copies: int) -> dict:
    # The real prod manifest with its custom resources repeated under new names: a plan far
    # larger than any comment.
    extra = [{**r, "urn": f"{r['urn']}-{i}", "name": f"{r['name']}-{i}"}
             for i in range(copies) for r in m["resources"] if r["custom"]]
    return {**m, "resources": m["resources"] + extra}


def test_a_huge_plan_comment_stays_under_githubs_limit_summary_first_and_says_it_was_cut(prod_manifest):
    from review import plan

    text = plan.markdown(_blown_up(prod_manifest, 200))
    assert len(text) < render.COMMENT_LIMIT
    assert text.startswith("#### Plan `ara-infra/prod`") and "| provider | resources | types |" in text
    assert text.index("| provider |") < text.index("<details><summary>Resource tree</summary>")
    assert "**Truncated:**" in text and "python -m review plan --stack prod" in text
    assert text.count("<details") == text.count("</details>")
    small = plan.markdown(prod_manifest)
    assert "Truncated" not in small and len(small) < render.COMMENT_LIMIT


def _fence_intact(text: str) -> bool:
    """The tree's fenced block closes with its own fence after the hostile name, and nothing of
    the name is outside it."""
    lines = text.splitlines()
    opening = next(i for i, line in enumerate(lines) if line.startswith("```") and line.strip("`"))
    fence = lines[opening][: len(lines[opening]) - len(lines[opening].lstrip("`"))]
    closing = next(i for i in range(opening + 1, len(lines)) if lines[i] == fence)
    inside = "\n".join(lines[opening:closing])
    outside = "\n".join(lines[:opening] + lines[closing:])
    return "EVIL" in inside and "EVIL" not in outside and all(line.isprintable() for line in lines)


def test_values_cannot_break_out_of_a_code_block_or_a_table(prod_manifest):
    from review import plan

    evil = "x```\n</details>\n# EVIL | col"
    m = {**prod_manifest, "resources": [{**r, "name": evil} if r["type"] == "vercel:index/project:Project" else r
                                        for r in prod_manifest["resources"]]}
    text = plan.markdown(m)
    assert _fence_intact(text)
    cell = render.md_escape(evil)
    assert "\n" not in cell and "|" not in cell.replace("\\|", "") and "<" not in cell
    assert cell.count("`") == cell.count("\\`")  # an odd backtick cannot open a code span
    code = render.md_code(evil)
    assert code.startswith("````") and "\n" not in code and "|" not in code.replace("\\|", "")


def test_check_and_diff_markdown_keep_the_summary_and_cut_long_details():
    from review import check, diff

    row = "| advisory | `p` | prod | `r` | problem " + "x" * 200 + " | fix |"
    text = render.fit_comment(["#### Policy check: ✅", ""], [render.Section(
        "Violations (2000)", [row] * 2000, open=True, head=["| level | policy | stack | resource | problem | fix |",
                                                            "|---|---|---|---|---|---|"])], "python -m review check")
    assert len(text) < render.COMMENT_LIMIT and text.startswith("#### Policy check")
    assert "| level | policy |" in text and "**Truncated:**" in text
    assert callable(check.markdown) and callable(diff.markdown)  # both build on fit_comment (see above)


# --------------------------------------------------------------------------- diff


@pytest.fixture
def edited(repo: Path):
    """The committed program; edits made by a test are reverted afterwards."""
    yield repo
    git(repo, "checkout", "--", ".")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_an_aliased_rename_reports_no_secret_change(edited):
    _edit(edited / "stacks" / "common.py", 'database = Database("ara-db", database_args(cfg, cfg.db_name))',
          'database = Database("ara-database", database_args(cfg, cfg.db_name), '
          'pulumi.ResourceOptions(aliases=[pulumi.Alias(name="ara-db")]))')
    res = run("diff", "--stack", "prod", "--base", "HEAD", "--program", str(edited))
    assert res.code == 0, res.all
    assert "[secret] changed" not in res.out
    assert re.search(r"0 changed \(0 replaced\), [1-9]\d* renamed with alias; 0 flagged", res.out)
    assert "secret value(s) derived from resources renamed with an alias are kept by the engine" in res.out


def test_keepers_that_change_replace_the_password_and_what_it_feeds_changes_with_it(edited):
    prod = edited / "Pulumi.prod.yaml"
    prod.write_text(prod.read_text() + "  ara-infra:generatedKeysVersion: 2\n")
    res = run("diff", "--stack", "prod", "--base", "HEAD", "--program", str(edited))
    assert res.code == 0, res.all
    assert "  +- random:RandomPassword ara-keys-jwt-secret (replaced: props.keepers.version: 1 → 2)" in res.out
    assert "props.value: [secret] changed (derives from ara-keys-jwt-secret, which is replaced)" in res.out
    data = json.loads(run("diff", "--stack", "prod", "--base", "HEAD", "--program", str(edited),
                          "--format", "json").out)
    replaced = {c["urn"].rsplit("::", 1)[1]: c.get("replaced") for c in data["changed"]}
    assert replaced["ara-keys-jwt-secret"] and replaced["ara-env-jwt-secret"] is None


def test_an_added_resource_shows_its_settings_and_config_overrides_are_said_to_apply_to_both(edited):
    # A branch database and its scoped variable added to preview in the working tree.
    _edit(edited / "stacks" / "preview.py", "    plane = common.data_plane(cfg)\n",
          "    plane = common.data_plane(cfg)\n"
          "    extra = common.Database('ara-extra-db', common.database_args(cfg, 'ara_extra'))\n"
          "    common.AppEnvironment('ara-extra-env', common.AppEnvironmentArgs(project_id=project_id, "
          "target='preview', git_branch='feature/x', database_url=extra.database_url), in_team)\n")
    res = run("diff", "--stack", "preview", "--base", "HEAD", "--program", str(edited),
              "--config", "dbHost=db.example.com")
    assert res.code == 0, res.all
    assert "(--config dbHost applied to both the base revision and the working tree" in res.out
    lines = res.out.splitlines()
    role = next(i for i, line in enumerate(lines) if line.startswith("  + postgresql:Role "))
    assert "attributes=login" in lines[role + 1]
    variables = [line for line in lines if line.startswith("  + vercel:ProjectEnvironmentVariable")]
    assert variables and "key=" in lines[lines.index(variables[0]) + 1]
    assert "~ pulumi:providers:postgresql ara-db-provider" not in res.out  # applied to both sides: no change


# --------------------------------------------------------------------------- the docs' examples


def test_the_docs_example_error_message_is_what_the_program_prints():
    readme = (ROOT / "docs" / "reference" / "resources.md").read_text()
    example = readme.split("```\nerror: invalid config for stack 'prod'", 1)[1].split("```", 1)[0]
    res = run("plan", "--stack", "prod", "--config", "r2Location=auto",
              "--config", "upstashRedisUrl=redis://default:CANARYredis@eu1.upstash.io:6379")
    assert res.code == 2
    assert res.err == "error: invalid config for stack 'prod'" + example
    assert "CANARYredis" not in res.err


def test_the_docs_short_example_of_a_refused_key_is_what_the_program_prints():
    res = run("plan", "--stack", "prod", "--config", "dbSslMode=disable")
    assert res.code == 2
    assert "ara-infra:dbSslMode: must be one of require, verify-ca, verify-full" in res.err
    review_tool_page = (ROOT / "docs" / "explanation" / "review-tool.md").read_text()
    assert "`ara-infra:dbSslMode: must be one of require, verify-ca, verify-full`" in review_tool_page


def test_even_a_summary_of_thousands_of_rows_stays_under_the_limit():
    summary = ["#### Desired-state diff", "", "| ⚠️ stateful | resource | why |", "|---|---|---|"]
    summary += [f"| `R2Bucket` | `bucket-{i}` | removed from the desired state: the engine deletes it |"
                for i in range(5000)]
    text = render.fit_comment(summary, [render.Section("All changes", ["x"] * 10)], "python -m review diff")
    assert len(text) < render.COMMENT_LIMIT
    assert text.startswith("#### Desired-state diff") and "**Truncated:**" in text
