"""The pull-request workflows' own scripts, run with bash as the runner runs them (`bash -e -o
pipefail`), in copies of the repository: the step that writes a PR stack's file (pull-request-deploy.yml)
and the required check's diff step (pull-request.yml, in the layout its job makes: the pull request's
merge commit in pr/, the base branch's tree in base/). No Pulumi CLI is involved, so each whole step
runs here. The gate's own steps: test_gate.py."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.review.test_cli_helpers import copy_program
from tests.support import ROOT
from tests.workflows.workflows import WORKFLOWS, steps

# Runs the repository's tools and the policy pack: left out of `make test-fast`.
pytestmark = pytest.mark.slow


def _step():
    return next(s.step for s in steps(WORKFLOWS / "pull-request-deploy.yml") if s.step.get("id") == "stack")


def _run(tmp_path, number: str, branch: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    repo = copy_program(tmp_path / "repo")
    shutil.copytree(ROOT / "review", repo / "review", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / ".venv").symlink_to((ROOT / ".venv").resolve())
    files = {"GITHUB_OUTPUT": tmp_path / "output", "GITHUB_STEP_SUMMARY": tmp_path / "summary"}
    for f in files.values():
        f.write_text("")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PR_NUMBER": number, "HEAD_REF": branch,
           **{k: str(v) for k, v in files.items()}}
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _step()["run"]], cwd=repo,
                            env=env, capture_output=True, text=True, timeout=600, check=False)
    return result, {"repo": repo, **{k: v.read_text() for k, v in files.items()}}


def test_the_step_writes_the_stack_file_and_names_the_stack(tmp_path):
    result, out = _run(tmp_path, "42", "feature/search")
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((out["repo"] / "Pulumi.pr-42.yaml").read_text())["config"]
    assert config["ara-infra:pullRequestBranch"] == "feature/search"
    assert config["ara-infra:dbName"] == "ara_pr_42"
    assert out["GITHUB_OUTPUT"] == "name=pr-42\n"


@pytest.mark.parametrize("branch", ['$(touch "$HOME/pwned")', "`touch $HOME/pwned`", "x; touch $HOME/pwned"])
def test_a_hostile_branch_name_is_refused_and_never_executed(tmp_path, branch):
    result, out = _run(tmp_path, "42", branch)
    assert result.returncode == 2 and "--branch" in result.stderr
    assert not (tmp_path / "pwned").exists()
    assert out["GITHUB_OUTPUT"] == "" and not (out["repo"] / "Pulumi.pr-42.yaml").exists()


def _diff_step():
    return next(s.step for s in steps(WORKFLOWS / "pull-request.yml")
                if s.job_id == "offline" and "review diff" in s.step.get("run", ""))


def _run_diff_step(tmp_path, change):
    from tests.workflows.test_gate import pull_request_workspace

    ws, _ = pull_request_workspace(tmp_path, change)
    summary = tmp_path / "summary"
    summary.write_text("")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GITHUB_STEP_SUMMARY": str(summary)}
    step = _diff_step()
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                            cwd=ws / step["working-directory"], env=env, capture_output=True, text=True, timeout=600,
                            check=False)
    return result, summary.read_text()


def test_the_diff_step_passes_a_pull_request_that_replaces_nothing(tmp_path):
    result, summary = _run_diff_step(tmp_path, lambda repo: (repo / "Pulumi.prod.yaml").write_text(
        (repo / "Pulumi.prod.yaml").read_text() + "  ara-infra:rateLimitRequests: 200\n"))
    assert result.returncode == 0, result.stderr
    assert summary.count("ara-infra/prod") == 1 and summary.count("ara-infra/preview") == 1


def test_the_diff_step_fails_a_pull_request_that_would_replace_a_database(tmp_path):
    from tests.review.test_diff import RENAME_NEW, RENAME_OLD

    def rename(repo):
        common = repo / "stacks" / "common.py"
        common.write_text(common.read_text().replace(RENAME_OLD, RENAME_NEW))

    result, summary = _run_diff_step(tmp_path, rename)
    assert result.returncode == 1
    assert "ara-db-database" in summary and summary.count("ara-infra/") == 2  # both stacks still reported


def test_a_branch_name_git_accepts_but_a_shell_would_run_stays_text(tmp_path):
    branch = "fix/$(touch${IFS}$HOME/pwned)"  # no space: a legal git branch name
    result, out = _run(tmp_path, "42", branch)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "pwned").exists()
    config = yaml.safe_load((out["repo"] / "Pulumi.pr-42.yaml").read_text())["config"]
    assert config["ara-infra:pullRequestBranch"] == branch
    assert out["GITHUB_OUTPUT"] == "name=pr-42\n"
