"""The review tool on programs that are not ours: small typical programs, each written for its test."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.review.test_cli_helpers import run, run_subprocess


def program(tmp_path: Path, main: str, *, project: str = "demo", config: str = "", stack: str = "dev",
            stack_config: str = "") -> Path:
    """A Pulumi Python project in `tmp_path`: Pulumi.yaml, Pulumi.<stack>.yaml and __main__.py."""
    (tmp_path / "Pulumi.yaml").write_text(f"name: {project}\nruntime: python\n" + textwrap.dedent(config))
    (tmp_path / f"Pulumi.{stack}.yaml").write_text("config:\n" + textwrap.indent(textwrap.dedent(stack_config), "  ")
                                                    if stack_config.strip() else "config: {}\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(main))
    return tmp_path


def outputs(result) -> dict:
    assert result.code == 0, result.all
    return json.loads(result.out)["outputs"]


@pytest.mark.slow
def test_plain_invokes_run_with_the_lazily_imported_sdks(tmp_path):
    # Only the real CLI process installs the lazy importer, which once turned `get_zone` into a module.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>hi</h1>")
    prog = program(tmp_path, """
        import pulumi
        import pulumi_cloudflare as cloudflare
        import pulumiverse_vercel as vercel

        zone = cloudflare.get_zone(filter={"name": "example.com"})
        site = vercel.get_project_directory(path="site")
        pulumi.export("zoneName", zone.name)
        pulumi.export("files", len(site.files))
    """)
    result = run_subprocess("plan", "--stack", "dev", "--program", str(prog), "--format", "json")
    assert outputs(result) == {"zoneName": "example.com", "files": 1.0}


def test_project_level_values_are_accepted_and_only_typed_entries_are_declarations(tmp_path):
    # What `pulumi new` writes: values without a type, namespaced or not; a stack file overrides them.
    prog = program(tmp_path, config="""
        config:
          pulumi:tags:
            value:
              owner: platform
          region:
            value: weur
          greeting: hello
          size:
            type: integer
            default: 3
    """, stack_config="demo:region: enam\n", main="""
        import pulumi
        cfg = pulumi.Config()
        pulumi.export("region", cfg.require("region"))
        pulumi.export("greeting", cfg.require("greeting"))
        pulumi.export("size", cfg.require_int("size"))
        pulumi.export("tags", pulumi.Config("pulumi").require_object("tags"))
    """)
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json")
    assert outputs(result) == {"region": "enam", "greeting": "hello", "size": 3.0, "tags": {"owner": "platform"}}


STACK_REFERENCE = """
    import pulumi
    network = pulumi.StackReference("acme/network/prod")
    pulumi.export("vpc", network.get_output("vpcId"))
"""


def test_a_stack_reference_without_answers_reads_empty_and_says_so(tmp_path):
    result = run("plan", "--stack", "dev", "--program", str(program(tmp_path, STACK_REFERENCE)), "--format", "json")
    assert outputs(result) == {}
    assert "stack reference 'acme/network/prod' has no outputs offline" in result.err
    assert "--answers" in result.err and "Traceback" not in result.all


def test_stack_reference_outputs_come_from_the_answers_file(tmp_path):
    prog = program(tmp_path, STACK_REFERENCE)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"stackReferences": {"acme/network/prod": {"vpcId": "vpc-123"}}}))
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json", "--answers", str(answers))
    assert outputs(result) == {"vpc": "vpc-123"}
    assert "warning" not in result.err


INVOKE = """
    import pulumi
    region = pulumi.runtime.invoke("aws:index/getRegion:getRegion", {})
    pulumi.export("region", region.value["name"])
"""


def test_an_invoke_without_an_answer_names_the_token_and_the_remedy(tmp_path):
    result = run("plan", "--stack", "dev", "--program", str(program(tmp_path, INVOKE)))
    assert result.code == 3
    assert "aws:index/getRegion:getRegion" in result.err and "--answers FILE" in result.err
    assert "Traceback" not in result.all and len(result.err.splitlines()) <= 3


def test_an_invoke_answer_from_the_file_is_what_the_program_gets(tmp_path):
    prog = program(tmp_path, INVOKE)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"invokes": {"aws:index/getRegion:getRegion": {"name": "eu-west-1"}}}))
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json", "--answers", str(answers))
    assert outputs(result) == {"region": "eu-west-1"}


@pytest.mark.parametrize("content,expected", [
    ("{not json", "not valid JSON"),
    ('{"invoke": {}}', "unknown keys: invoke"),
    ('{"invokes": {"x:index/y:y": 3}}', "invokes must map each name to an object"),
])
def test_a_bad_answers_file_is_a_usage_error_naming_the_file(tmp_path, content, expected):
    prog = program(tmp_path, INVOKE)
    answers = tmp_path / "answers.json"
    answers.write_text(content)
    result = run("plan", "--stack", "dev", "--program", str(prog), "--answers", str(answers))
    assert result.code == 2 and str(answers) in result.err and expected in result.err


PROVIDER_CONFIG = """
    import pulumi_postgresql as postgresql
    postgresql.Role("app", name="app", login=True)
"""


@pytest.mark.slow
def test_provider_config_in_the_stack_file_reaches_the_default_provider_and_is_judged(tmp_path):
    # The engine configures a default provider from `<package>:` keys; offline they were never seen.
    prog = program(tmp_path, PROVIDER_CONFIG, stack_config="postgresql:sslmode: disable\npostgresql:host: db.internal\n")
    result = run("check", "--stack", "dev", "--program", str(prog))
    assert result.code == 1, result.all
    assert "postgresql-provider-require-tls" in result.out and "default_3_18_2" in result.out


def test_the_default_provider_carries_the_package_config_and_version(tmp_path):
    prog = program(tmp_path, PROVIDER_CONFIG, stack_config="postgresql:sslmode: verify-full\n")
    manifest = json.loads(run("plan", "--stack", "dev", "--program", str(prog), "--format", "json").out)
    provider = next(r for r in manifest["resources"] if r["type"] == "pulumi:providers:postgresql")
    role = next(r for r in manifest["resources"] if r["type"] == "postgresql:index/role:Role")
    assert provider["name"] == "default_3_18_2" and provider["parent"] is None
    assert provider["props"] == {"sslmode": "verify-full", "version": "3.18.2"}
    assert role["provider"].startswith(provider["urn"] + "::")


def test_a_secret_provider_config_value_stays_secret(tmp_path):
    prog = program(tmp_path, PROVIDER_CONFIG, stack_config="postgresql:password:\n  secure: AAABAKv8dGVzdA==\n")
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json")
    provider = next(r for r in json.loads(result.out)["resources"] if r["type"] == "pulumi:providers:postgresql")
    assert provider["props"]["password"] == {"secret": True}


def test_additional_secret_outputs_keep_an_exported_password_secret(tmp_path):
    prog = program(tmp_path, """
        import pulumi
        import pulumi_random as random
        password = random.RandomPassword("pw", length=24)
        pulumi.export("password", password.result)
    """)
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json")
    # A preview: the password is generated when the engine runs, so it is an unknown, still secret.
    assert outputs(result) == {"password": {"secret": True, "unknown": True}}
    assert "Stack outputs:\n  password: [secret]" in run("plan", "--stack", "dev", "--program", str(prog)).out


@pytest.mark.parametrize("call", ["sys.exit(0)", "sys.exit(2)", "raise SystemExit"])
def test_sys_exit_inside_the_program_fails_the_run_instead_of_passing_it(tmp_path, call):
    prog = program(tmp_path, f"""
        import sys
        import pulumi_random as random
        random.RandomPassword("pw", length=24)
        {call}
    """)
    for command in ("plan", "check"):
        result = run(command, "--stack", "dev", "--program", str(prog))
        assert result.code == 3, (command, result.all)
        assert "called sys.exit(" in result.err and "nothing was checked" in result.err
