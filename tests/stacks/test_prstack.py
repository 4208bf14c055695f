"""Pull-request stacks: the stack file a workflow writes, and the config rules every pr-<n> obeys."""

from __future__ import annotations

import json
import runpy
import shutil
import subprocess
import sys

import pulumi
import pytest
import yaml

from review import capture
from stacks import prstack
from tests.support import ROOT, pull_request_config, run_program, run_pull_request


def _copy_program(tmp_path):
    for name in ("Pulumi.yaml", "Pulumi.preview.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / prstack.TEMPLATE, tmp_path / prstack.TEMPLATE)
    return tmp_path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stacks.prstack", *args], cwd=ROOT, capture_output=True, text=True,
                          check=False)


@pytest.mark.parametrize(("stack", "number"), [("pr-1", 1), ("pr-123", 123), ("pr-999999999", 999999999)])
def test_pr_stack_names_carry_the_pull_request_number(stack, number):
    assert prstack.pr_number(stack) == number
    assert prstack.stack_name(number) == stack


@pytest.mark.parametrize("stack", ["prod", "preview", "pr-0", "pr-0123", "pr-", "pr-12a", "pr-1234567890", "PR-1",
                                   "pr-1 ", "xpr-1"])
def test_other_names_are_not_pr_stacks(stack):
    assert prstack.pr_number(stack) is None


def test_derived_config_is_the_preview_file_plus_the_template_typed_by_pulumi_yaml():
    preview = yaml.safe_load((ROOT / "Pulumi.preview.yaml").read_text())["config"]
    derived = prstack.derive(42, "feature/search", ROOT)
    assert derived["ara-infra:dbName"] == "ara_pr_42"
    assert derived["ara-infra:pullRequestNumber"] == 42  # an integer, as Pulumi.yaml declares it
    assert derived["ara-infra:pullRequestBranch"] == "feature/search"
    assert derived["ara-infra:protectStatefulResources"] is False
    for key in ("ara-infra:dbHost", "ara-infra:cloudflareAccountId", "ara-infra:vercelProjectName"):
        assert derived[key] == preview[key], key


def test_the_base_stacks_encrypted_values_are_never_copied(tmp_path):
    program = _copy_program(tmp_path)
    base = program / "Pulumi.preview.yaml"
    data = yaml.safe_load(base.read_text())
    data["encryptionsalt"] = "v1:abc:def"
    data["config"]["ara-infra:dbAdminPassword"] = {"secure": "v1:AAAA:BBBB"}
    base.write_text(yaml.safe_dump(data))
    derived = prstack.derive(7, "fix/x", program)
    assert "ara-infra:dbAdminPassword" not in derived
    text = prstack.render(7, "fix/x", program)
    assert "secure" not in text and "encryptionsalt" not in text and "v1:" not in text


@pytest.mark.slow
def test_the_cli_writes_the_stack_file_the_program_accepts(tmp_path):
    out = tmp_path / "Pulumi.pr-9.yaml"
    result = _cli("--number", "9", "--branch", "feature/search", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(out.read_text())["config"] == prstack.derive(9, "feature/search", ROOT)


@pytest.mark.slow
@pytest.mark.parametrize(("args", "expected"), [
    (["--number", "0", "--branch", "x"], "--number: '0' is not a pull-request number"),
    (["--number", "12; rm -rf /", "--branch", "x"], "--number"),
    (["--number", "3", "--branch", "a b"], "--branch: must be a git branch name: 'a b' contains a space"),
    (["--number", "3", "--branch", "$(curl evil)"], "--branch"),
    (["--number", "3", "--branch", "x" * 101], "--branch"),
])
def test_bad_number_or_branch_exits_2_naming_the_argument_and_writes_nothing(tmp_path, args, expected):
    out = tmp_path / "out.yaml"
    result = _cli(*args, "--out", str(out))
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def _state(providers):
    return {"version": 3, "deployment": {"manifest": {}, "resources": [],
                                         **({"secrets_providers": providers} if providers else {})}}


def test_an_exported_passphrase_state_gives_back_its_salt():
    state = _state({"type": "passphrase", "state": {"salt": "v1:c2FsdA==:v1:bm9uY2U=:Y2lwaGVy"}})
    assert prstack.secrets_settings(state, "x") == {"encryptionsalt": "v1:c2FsdA==:v1:bm9uY2U=:Y2lwaGVy"}
    text = prstack.render(3, "fix/x", ROOT, prstack.secrets_settings(state, "x"))
    data = yaml.safe_load(text)
    assert data["encryptionsalt"] == "v1:c2FsdA==:v1:bm9uY2U=:Y2lwaGVy"
    assert data["config"] == prstack.derive(3, "fix/x", ROOT)


@pytest.mark.parametrize("providers", [None, {"type": "service", "state": {"url": "https://api.pulumi.com"}}])
def test_the_pulumi_cloud_and_a_stack_without_secrets_need_nothing_in_the_file(providers):
    assert prstack.secrets_settings(_state(providers), "x") == {}


@pytest.mark.parametrize(("state", "expected"), [
    ({"nothing": 1}, "not the output of `pulumi stack export`"),
    (_state({"type": "passphrase", "state": {}}), "has no salt"),
    (_state({"type": "cloud", "state": {"url": "awskms://alias/x"}}), "secrets provider 'cloud' is not restored"),
])
def test_a_state_the_tool_cannot_restore_is_refused_naming_why(state, expected):
    with pytest.raises(prstack.PullRequestStackError, match=expected):
        prstack.secrets_settings(state, "--state f")


@pytest.mark.slow
def test_the_cli_reads_the_exported_state_and_refuses_bad_json(tmp_path):
    good, bad, out = tmp_path / "state.json", tmp_path / "bad.json", tmp_path / "Pulumi.pr-8.yaml"
    good.write_text(json.dumps(_state({"type": "passphrase", "state": {"salt": "v1:YQ==:v1:Yg==:Yw=="}})))
    bad.write_text("{not json")
    assert _cli("--number", "8", "--branch", "x", "--state", str(good), "--out", str(out)).returncode == 0
    assert yaml.safe_load(out.read_text())["encryptionsalt"] == "v1:YQ==:v1:Yg==:Yw=="
    result = _cli("--number", "8", "--branch", "x", "--state", str(bad), "--out", str(tmp_path / "n.yaml"))
    assert result.returncode == 2 and "--state" in result.stderr and "not readable JSON" in result.stderr
    assert not (tmp_path / "n.yaml").exists()


def test_an_unwritable_out_is_refused_with_2_naming_it(tmp_path, capsys):
    out = tmp_path / "no-such-dir" / "Pulumi.pr-8.yaml"
    assert prstack.main(["--number", "8", "--branch", "x", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: cannot write it" in err and "Traceback" not in err


@pytest.mark.parametrize("debug", [False, True])
def test_a_bug_exits_5_in_one_line_unless_debug(tmp_path, capsys, monkeypatch, debug):
    def broken(*args):
        raise AttributeError("no such thing")

    monkeypatch.setattr(prstack, "render", broken)
    out = tmp_path / "Pulumi.pr-8.yaml"
    assert prstack.main([*(["--debug"] if debug else []), "--number", "8", "--branch", "x", "--out", str(out)]) == 5
    err = capsys.readouterr().err
    assert err.startswith("python -m stacks.prstack: internal error:") and not out.exists()
    assert ("Traceback (most recent call last)" in err) == debug


def test_a_missing_template_is_named(tmp_path):
    program = _copy_program(tmp_path)
    (program / prstack.TEMPLATE).unlink()
    with pytest.raises(prstack.PullRequestStackError, match="pull_request.yaml: the pull-request stack template"):
        prstack.derive(1, "x", program)


# --- infra/config/ rules for pr-<n> stacks -----------------------------------------------

def _refused(number: int, branch: str, overrides: dict) -> str:
    with pytest.raises(pulumi.RunError) as info:
        run_pull_request(number, branch, overrides)
    declared = [r for r in info.value.capture.resources if r.type != "pulumi:pulumi:Stack"]
    assert declared == []
    return str(info.value)


@pytest.mark.parametrize(("branch", "overrides", "expected"), [
    ("feature/x", {"pullRequestNumber": 8}, "pullRequestNumber: must be 7, the number in the stack name 'pr-7'"),
    ("feature/x", {"pullRequestBranch": ""}, "pullRequestBranch: required in a pull-request stack"),
    ("main", {}, "pullRequestBranch: 'main' is the production branch"),
    ("preview", {}, "the branch the preview domain follows"),
    ("feature/x", {"protectStatefulResources": True}, "protectStatefulResources: must be false"),
    ("feature/x", {"dbName": "ara_preview"}, "dbName: must end in _pr_7"),
    ("feature/x", {"extraPreviewEnvironments": ["feature/y"]}, "extraPreviewEnvironments: removed"),
])
def test_bad_pull_request_config_is_refused_naming_the_key(branch, overrides, expected):
    assert expected in _refused(7, branch, overrides)


def test_a_pr_stack_needs_only_the_database_admin_secret():
    source = pull_request_config(5, "feature/x")
    # The app secrets are absent from a real pr stack; the program must not require them.
    values = {k: v for k, v in source.values.items()
              if not k.endswith(("clerkSecretKey", "clerkJwtKey", "openaiApiKey", "upstashRedisUrl",
                                 "posthogApiKey", "sentryDsn"))}
    captured = capture.run(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"), stack="pr-5",
                          config=values, secret_keys=[k for k in source.secret_keys if k in values], program_dir=ROOT)
    assert captured.resources
    without_admin = {k: v for k, v in values.items() if not k.endswith("dbAdminPassword")}
    with pytest.raises(pulumi.RunError, match="dbAdminPassword: required"):
        capture.run(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"), stack="pr-5",
                    config=without_admin, secret_keys=[k for k in source.secret_keys if k in without_admin],
                    program_dir=ROOT)


@pytest.mark.parametrize(("key", "value"), [("pullRequestNumber", 3), ("pullRequestBranch", "feature/x")])
def test_long_lived_stacks_belong_to_no_pull_request(key, value):
    with pytest.raises(pulumi.RunError, match=f"{key}: only pull-request stacks"):
        run_program("preview", {key: value})
