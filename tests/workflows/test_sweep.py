"""The sweep of pull-request stacks (sweep-pr-stacks.yml) and the destroy it shares with
pull-request-closed.yml (.github/scripts/destroy-pr-stack.sh), each step run with bash as the
runner runs it. `pulumi` and `gh` are recording stand-ins: they print what the real commands print
for the case at hand (`pulumi stack ls --json`, `stack export`'s state file, exit code 6 for a
missing stack; `gh pr list`, `gh pr view`, `gh issue list`) and log every call with its stdin, so
the tests see which commands the scripts issue, in which order, with which arguments."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.review.test_cli_helpers import copy_program
from tests.support import ROOT
from tests.workflows.workflows import WORKFLOWS, load, run_text, steps

SWEEP = WORKFLOWS / "sweep-pr-stacks.yml"
CLOSED = WORKFLOWS / "pull-request-closed.yml"
SCRIPT = ".github/scripts/destroy-pr-stack.sh"
SALT = "v1:c2FsdHNhbHQ=:v1:Zm9vYmFyYmF6"

# Each stand-in logs "argv<TAB>stdin" per call; its behaviour comes from files next to it.
STAND_IN = """#!/bin/bash
stdin=""
if [[ ! -t 0 ]]; then stdin=$(cat); fi
printf '%s\\t%s\\n' "$*" "$stdin" >> "{log}"
dir=$(dirname "$0")
key=$(printf '%s' "$1-$2" | tr -c 'a-z0-9-' '_')
if [[ "$1 $2" == "stack export" ]]; then
  code=$(cat "$dir/export.code" 2>/dev/null || echo 0)
  if [[ "$code" == 0 ]]; then
    file=""; prev=""
    for a in "$@"; do if [[ "$prev" == "--file" ]]; then file="$a"; fi; prev="$a"; done
    printf '%s' '{{"version": 3, "deployment": {{"secrets_providers": ' \\
      '{{"type": "passphrase", "state": {{"salt": "{salt}"}}}}}}}}' > "$file"
  fi
  exit "$code"
fi
if [[ -f "$dir/$key.out" ]]; then cat "$dir/$key.out"; fi
exit "$(cat "$dir/$key.code" 2>/dev/null || echo 0)"
"""


def stand_ins(bin_dir: Path) -> Path:
    """`pulumi` and `gh` in `bin_dir`; returns the log both write."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = bin_dir / "calls.log"
    for name in ("pulumi", "gh"):
        path = bin_dir / name
        path.write_text(STAND_IN.format(log=log, salt=SALT))
        path.chmod(0o755)
    return log


def calls(log: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t", 1)) for line in log.read_text().splitlines()] if log.exists() else []


def run(script: str, cwd: Path, tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict]:
    files = {"GITHUB_OUTPUT": tmp_path / "output", "GITHUB_STEP_SUMMARY": tmp_path / "summary"}
    for f in files.values():
        f.write_text("")
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir(exist_ok=True)
    base = {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "HOME": str(tmp_path), "RUNNER_TEMP": str(runner_temp),
            **{k: str(v) for k, v in files.items()}}
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                            env={**base, **env}, capture_output=True, text=True, timeout=300, check=False)
    return result, {k: v.read_text() for k, v in files.items()}


def step(path: Path, job_id: str, name_part: str) -> dict:
    return next(s.step for s in steps(path) if s.job_id == job_id and name_part in (s.step.get("name") or ""))


# --- the destroy both workflows run ---------------------------------------------------------------

@pytest.fixture
def program(tmp_path: Path) -> Path:
    repo = copy_program(tmp_path / "repo")
    (repo / ".venv").symlink_to((ROOT / ".venv").resolve())
    shutil.copytree(ROOT / ".github", repo / ".github")
    return repo


DESTROY_ENV = {"PR_NUMBER": "42", "HEAD_REF": "feature/search", "PULUMI_BACKEND_URL": "s3://ara-state",
               "DB_ADMIN_PASSWORD": "Admin-Secret-0123"}


@pytest.mark.parametrize("workflow, job_id", [(CLOSED, "destroy"), (SWEEP, "destroy")])
def test_both_workflows_run_the_one_destroy_script_with_the_same_credentials(workflow, job_id):
    destroy = step(workflow, job_id, "Destroy and remove")
    assert destroy["run"] == f"bash {SCRIPT}"
    closed = step(CLOSED, "destroy", "Destroy and remove")["env"]
    assert set(destroy["env"]) == set(closed)
    assert {k: v for k, v in destroy["env"].items() if k not in ("PR_NUMBER", "HEAD_REF")} == \
        {k: v for k, v in closed.items() if k not in ("PR_NUMBER", "HEAD_REF")}


@pytest.mark.slow
def test_the_destroy_rewrites_the_stack_file_with_its_salt_then_destroys_and_removes_pr_number(program, tmp_path):
    log = stand_ins(tmp_path / "bin")
    result, _ = run(f"bash {SCRIPT}", program, tmp_path, DESTROY_ENV)
    assert result.returncode == 0, result.stderr
    made = [argv for argv, _ in calls(log)]
    assert made == [
        "login --non-interactive s3://ara-state",
        f"stack export --stack pr-42 --file {tmp_path / 'runner' / 'pr-42.state.json'} --non-interactive",
        "config set --secret --stack pr-42 dbAdminPassword",
        made[3],
        "destroy --stack pr-42 --yes --non-interactive --suppress-outputs",
        "stack rm --stack pr-42 --yes --non-interactive",
    ]
    assert made[3].startswith("config set-all --stack pr-42 --secret clerkSecretKey=unread-by-pull-request-stacks")
    # The admin password reaches pulumi on stdin only, never on a command line.
    assert dict(calls(log))["config set --secret --stack pr-42 dbAdminPassword"] == "Admin-Secret-0123"
    assert all("Admin-Secret-0123" not in argv for argv in made)
    stack_file = yaml.safe_load((program / "Pulumi.pr-42.yaml").read_text())
    assert stack_file["encryptionsalt"] == SALT
    assert stack_file["config"]["ara-infra:pullRequestBranch"] == "feature/search"
    assert list((tmp_path / "runner").iterdir()) == []  # the exported state does not outlive the step


@pytest.mark.slow
def test_a_stack_that_is_already_gone_is_nothing_to_destroy(program, tmp_path):
    log = stand_ins(tmp_path / "bin")
    (tmp_path / "bin" / "export.code").write_text("6")
    result, _ = run(f"bash {SCRIPT}", program, tmp_path, DESTROY_ENV)
    assert result.returncode == 0 and "no stack pr-42: nothing to destroy" in result.stdout
    assert [argv.split(" --")[0] for argv, _ in calls(log)] == ["login", "stack export"]


@pytest.mark.slow
def test_a_failing_export_stops_the_destroy_with_its_exit_code(program, tmp_path):
    log = stand_ins(tmp_path / "bin")
    (tmp_path / "bin" / "export.code").write_text("255")
    result, _ = run(f"bash {SCRIPT}", program, tmp_path, DESTROY_ENV)
    assert result.returncode == 255
    assert not any(argv.startswith(("destroy", "stack rm")) for argv, _ in calls(log))


@pytest.mark.parametrize("number", ["", "0", "007", "prod", "1;true", "$(id)", "1\nprod", "12345678901"])
def test_the_destroy_refuses_any_number_before_any_pulumi_command(tmp_path, number):
    log = stand_ins(tmp_path / "bin")
    result, _ = run(f"bash {ROOT / SCRIPT}", tmp_path, tmp_path, {**DESTROY_ENV, "PR_NUMBER": number})
    assert result.returncode == 1 and "refusing" in result.stdout
    assert calls(log) == []


# --- the sweep's plan -------------------------------------------------------------------------------

def _plan(tmp_path: Path, stacks: list[dict], open_prs: list[dict], max_age: str = "") -> tuple:
    log = stand_ins(tmp_path / "bin")
    (tmp_path / "bin" / "stack-ls.out").write_text(json.dumps(stacks))
    (tmp_path / "bin" / "pr-list.out").write_text(json.dumps(open_prs))
    script = next(s.step["run"] for s in steps(SWEEP) if s.step.get("id") == "plan")
    result, out = run(script, ROOT, tmp_path, {"PULUMI_BACKEND_URL": "", "MAX_AGE_DAYS": max_age})
    return result, out, [argv for argv, _ in calls(log)]


def test_the_plan_lists_stacks_and_open_pull_requests_and_hands_over_what_to_destroy(tmp_path):
    stacks = [{"name": "pr-7", "current": False, "lastUpdate": "2026-01-02T03:04:05.000Z", "updateInProgress": False},
              {"name": "pr-8", "current": False, "lastUpdate": "2099-01-02T03:04:05.000Z"},
              {"name": "prod", "current": False}, {"name": "preview", "current": False}]
    result, out, made = _plan(tmp_path, stacks, [{"number": 8}])
    assert result.returncode == 0, result.stderr
    assert made == ["login --non-interactive", "stack ls --json --non-interactive",
                    "pr list --state open --json number --limit 1000"]
    assert out["GITHUB_OUTPUT"] == 'stacks=[{"number":7,"reason":"closed"}]\ncount=1\n'
    assert "### Pull-request stacks (age limit: 30 days)" in out["GITHUB_STEP_SUMMARY"]
    assert "| `prod` | keep |" in out["GITHUB_STEP_SUMMARY"]


def test_the_plans_age_limit_comes_from_the_variable(tmp_path):
    stacks = [{"name": "pr-9", "current": False, "lastUpdate": "2020-01-01T00:00:00.000Z"}]
    result, out, _ = _plan(tmp_path, stacks, [{"number": 9}], max_age="0")
    assert result.returncode == 0, result.stderr
    assert out["GITHUB_OUTPUT"] == "stacks=[]\ncount=0\n" and "(age limit: off)" in out["GITHUB_STEP_SUMMARY"]


def test_a_failing_listing_fails_the_plan_before_anything_is_decided(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "stack-ls.code").write_text("255")
    result, out, made = _plan(tmp_path, [], [])
    assert result.returncode == 255 and out["GITHUB_OUTPUT"] == ""
    assert not any(argv.startswith("pr list") for argv in made)


def test_the_destroy_job_runs_per_stack_in_that_pull_requests_concurrency_group():
    workflow = load(SWEEP)
    destroy = workflow["jobs"]["destroy"]
    assert destroy["needs"] == "plan" and destroy["if"] == "needs.plan.outputs.count != '0'"
    assert destroy["strategy"]["matrix"] == {"include": "${{ fromJSON(needs.plan.outputs.stacks) }}"}
    assert destroy["strategy"]["fail-fast"] is False
    # The same group as pull-request-deploy.yml's pr-stack job and pull-request-closed.yml.
    assert destroy["concurrency"] == {"group": "pull-request-${{ matrix.number }}-stack", "cancel-in-progress": False}
    assert destroy["permissions"] == {"contents": "read", "pull-requests": "read", "issues": "write"}
    assert workflow["jobs"]["plan"]["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert "PULUMI_CONFIG_PASSPHRASE" not in str(workflow["jobs"]["plan"])  # listing decrypts nothing


# --- right before a destroy, and after it ----------------------------------------------------------

@pytest.mark.parametrize("view, code, reason, expected", [
    ({"number": 42, "state": "CLOSED", "headRefName": "feature/x"}, 0, "closed", "destroy=true\nbranch=feature/x\n"),
    ({"number": 42, "state": "OPEN", "headRefName": "feature/x"}, 0, "closed", "destroy=false\n"),
    ({"number": 42, "state": "OPEN", "headRefName": "feature/x"}, 0, "stale", "destroy=true\nbranch=feature/x\n"),
    (None, 1, "closed", "destroy=true\nbranch=pr-42\n"),  # gh knows no such pull request
])
def test_the_confirm_step_keeps_a_reopened_pull_requests_stack(tmp_path, view, code, reason, expected):
    log = stand_ins(tmp_path / "bin")
    if view is not None:
        (tmp_path / "bin" / "pr-view.out").write_text(json.dumps(view))
    (tmp_path / "bin" / "pr-view.code").write_text(str(code))
    script = next(s.step["run"] for s in steps(SWEEP) if s.step.get("id") == "confirm")
    result, out = run(script, ROOT, tmp_path, {"PR_NUMBER": "42", "REASON": reason})
    assert result.returncode == 0, result.stderr
    assert out["GITHUB_OUTPUT"] == expected
    assert [argv for argv, _ in calls(log)] == ["pr view 42 --json number,state,headRefName"]


def test_the_destroy_runs_only_when_confirmed_with_the_confirmed_branch():
    destroy = step(SWEEP, "destroy", "Destroy and remove")
    assert destroy["if"] == "steps.confirm.outputs.destroy == 'true'"
    assert destroy["env"]["HEAD_REF"] == "${{ steps.confirm.outputs.branch }}"
    assert destroy["env"]["PR_NUMBER"] == "${{ matrix.number }}"


@pytest.mark.parametrize(("outcome", "open_issue", "expected"), [
    ("failure", "", ["label create pr-stack", "issue create --title Pull-request stack pr-42 was not destroyed "
                                              "--label pr-stack"]),
    ("failure", "41", ["issue comment 41 --body Failed again: https://run/1"]),
    ("cancelled", "", ["label create pr-stack", "issue create"]),
    ("success", "41", ["issue close 41"]),
    ("success", "", []),
])
def test_a_failed_destroy_opens_one_issue_per_stack_and_a_good_one_closes_it(tmp_path, outcome, open_issue, expected):
    log = stand_ins(tmp_path / "bin")
    (tmp_path / "bin" / "issue-list.out").write_text(open_issue)
    script = step(SWEEP, "destroy", "destroy-failure issue")["run"]
    result, _ = run(script, ROOT, tmp_path, {"PR_NUMBER": "42", "OUTCOME": outcome, "RUN_URL": "https://run/1"})
    assert result.returncode == 0, result.stderr
    made = [argv for argv, _ in calls(log) if not argv.startswith("issue list")]
    assert len(made) == len(expected), made
    for call, prefix in zip(made, expected, strict=True):
        assert call.startswith(prefix), (call, prefix)


def test_the_issue_step_refuses_a_number_that_is_not_one(tmp_path):
    log = stand_ins(tmp_path / "bin")
    script = step(SWEEP, "destroy", "destroy-failure issue")["run"]
    result, _ = run(script, ROOT, tmp_path, {"PR_NUMBER": "42; gh repo delete", "OUTCOME": "failure",
                                             "RUN_URL": "https://run/1"})
    assert result.returncode == 1 and calls(log) == []


def test_the_shared_script_can_only_name_a_pull_request_stack():
    text = (ROOT / SCRIPT).read_text()
    assert 'stack="pr-$PR_NUMBER"' in text
    assert "--stack prod" not in text and "--stack preview" not in text and "--stack \"$STACK\"" not in text
    inlined = run_text(step(CLOSED, "destroy", "Destroy and remove"))
    assert inlined == text
