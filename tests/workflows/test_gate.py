"""The required check's gate, and the guards in front of credentials, run as the runner runs them.

The steps are taken from the workflow files and executed with bash in the layout their job makes:
the pull request's real merge commit (git) in pr/, the base branch's tree in base/ (made by the job's
own step). `gh` is a recording stand-in that answers the reviews API from a file: GitHub is the one
thing not here. The review tool, the policy pack and git are the real ones.

The case of issue 17: a pull request that breaks a policy and, in the same change, sets that
policy's `enforcementLevel` to `disabled` in policies/config. Judged by its own pack config it
passes (shown, so the test cannot pass vacuously); the required check judges it by the base
branch's config and fails it, and the gate fails it again for changing a code-owned path without
a code owner's approval.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.review.test_cli_helpers import copy_program
from tests.review.test_diff import git
from tests.support import ROOT
from tests.workflows.workflows import WORKFLOWS, load, steps

pytestmark = pytest.mark.slow

CODEOWNERS = "/.github/ @alice\n/policies/ @alice @bob\n/review/ @alice\n/cicd/ @alice\n"
REFERRER_POLICY = "web-headers-require-strict-referrer-policy"


def _offline_step(contains: str) -> dict:
    return next(s.step for s in steps(WORKFLOWS / "pull-request.yml")
                if s.job_id == "offline" and contains in (s.step.get("run") or ""))


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900, check=False)


def pull_request_workspace(tmp_path: Path, change, codeowners: str | None = CODEOWNERS) -> tuple[Path, str]:
    """The offline job's workspace: pr/ checked out at a real merge commit (^1 main, ^2 the pull
    request's head), base/ written by the job's own step. Returns it and the head commit."""
    ws = tmp_path / "ws"
    pr = copy_program(ws / "pr")
    for name in ("review", "cicd"):
        shutil.copytree(ROOT / name, pr / name, ignore=shutil.ignore_patterns("__pycache__"))
    (pr / ".github").mkdir()
    if codeowners is not None:
        (pr / ".github" / "CODEOWNERS").write_text(codeowners)
    (pr / ".gitignore").write_text(".venv\n__pycache__/\n")
    git(pr, "init", "-q")
    git(pr, "checkout", "-q", "-b", "main")
    git(pr, "add", "-A")
    git(pr, "commit", "-qm", "main")
    git(pr, "checkout", "-q", "-b", "feature")
    change(pr)
    git(pr, "add", "-A")
    git(pr, "commit", "-qm", "the pull request")
    head = git(pr, "rev-parse", "HEAD")
    git(pr, "checkout", "-q", "main")
    git(pr, "merge", "-q", "--no-ff", "feature", "-m", "merge")  # what refs/pull/<n>/merge holds
    made = _bash(_offline_step("archive --format=tar HEAD^1")["run"], ws, {"PATH": os.environ["PATH"]})
    assert made.returncode == 0, made.stderr
    (ws / "base" / ".venv").symlink_to((ROOT / ".venv").resolve())
    return ws, head


def _stand_ins(tmp_path: Path, reviews: list[dict], pull: dict | None = None) -> Path:
    """`gh` answering the reviews (and pull) API from files and logging its calls; `python` as setup-python's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (tmp_path / "gh-reviews").write_text("".join(json.dumps(r) + "\n" for r in reviews))
    (tmp_path / "gh-pull").write_text(json.dumps(pull or {}))
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/bash\necho "$*" >> {tmp_path}/gh.log\n'
                  f'case "$*" in *"/reviews"*) cat {tmp_path}/gh-reviews ;; *"/pulls/"*) cat {tmp_path}/gh-pull ;; '
                  f'*) exit 1 ;; esac\n')
    gh.chmod(0o755)
    if not (bin_dir / "python").exists():
        (bin_dir / "python").symlink_to((ROOT / ".venv" / "bin" / "python").resolve())
    return bin_dir


def _review(user: str, commit: str, state: str = "APPROVED") -> dict:
    return {"user": {"login": user}, "state": state, "commit_id": commit}


def _run_gate(tmp_path: Path, ws: Path, head: str, reviews: list[dict], author: str = "mallory"):
    bin_dir = _stand_ins(tmp_path, reviews)
    summary = tmp_path / "summary"
    summary.write_text("")
    step = _offline_step("python -m cicd gate")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "RUNNER_TEMP": str(tmp_path),
           "GITHUB_STEP_SUMMARY": str(summary), **{k: v for k, v in step["env"].items() if not v.startswith("${{")},
           "GH_TOKEN": "stand-in", "GH_REPO": "appstoagents/ara-infra", "PR_NUMBER": "42", "HEAD_SHA": head,
           "AUTHOR": author}
    return _bash(step["run"], ws, env), summary.read_text()


def _disable_and_break(repo: Path) -> None:
    for stack in ("prod", "preview"):
        path = repo / "policies" / "config" / f"{stack}.json"
        config = json.loads(path.read_text())
        config[REFERRER_POLICY] = {"enforcementLevel": "disabled"}
        path.write_text(json.dumps(config, indent=2) + "\n")
    headers = repo / "infra" / "headers.py"
    headers.write_text(headers.read_text().replace('"Referrer-Policy": "strict-origin-when-cross-origin"',
                                                   '"Referrer-Policy": "unsafe-url"'))


def _edit_program_only(repo: Path) -> None:
    path = repo / "Pulumi.prod.yaml"
    path.write_text(path.read_text() + "  ara-infra:rateLimitRequests: 200\n")


# --- the code-owner gate -------------------------------------------------------------------------

def test_a_change_to_the_pack_config_fails_the_gate_without_an_owners_approval(tmp_path):
    ws, head = pull_request_workspace(tmp_path, _disable_and_break)
    result, summary = _run_gate(tmp_path, ws, head, [_review("carol", head), _review("mallory", head)])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "policies/config/prod.json" in summary and "CODEOWNERS line 2" in summary
    assert "repos/appstoagents/ara-infra/pulls/42/reviews" in (tmp_path / "gh.log").read_text()


def test_an_owners_approval_of_this_very_commit_lets_it_through(tmp_path):
    ws, head = pull_request_workspace(tmp_path, _disable_and_break)
    result, summary = _run_gate(tmp_path, ws, head, [_review("bob", head)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "approved on this commit" in summary


def test_an_approval_of_an_earlier_commit_or_a_dismissed_one_does_not(tmp_path):
    ws, head = pull_request_workspace(tmp_path, _disable_and_break)
    earlier = git(ws / "pr", "rev-parse", "HEAD^1")
    assert _run_gate(tmp_path, ws, head, [_review("alice", earlier)])[0].returncode == 1
    dismissed = [_review("alice", head), _review("alice", head, "DISMISSED")]
    assert _run_gate(tmp_path, ws, head, dismissed)[0].returncode == 1


def test_a_change_to_the_program_alone_needs_no_owner(tmp_path):
    ws, head = pull_request_workspace(tmp_path, _edit_program_only)
    result, summary = _run_gate(tmp_path, ws, head, [])
    assert result.returncode == 0 and "no changed file is code-owned" in summary


def test_a_pull_request_cannot_approve_itself_by_editing_codeowners(tmp_path):
    # The head's CODEOWNERS names the author; the base branch's decides.
    def own_it(repo):
        (repo / ".github" / "CODEOWNERS").write_text("* @mallory\n")
        _disable_and_break(repo)

    ws, head = pull_request_workspace(tmp_path, own_it)
    result, summary = _run_gate(tmp_path, ws, head, [_review("mallory", head)])
    assert result.returncode == 1 and ".github/CODEOWNERS" in summary


def test_the_gate_refuses_reviews_of_another_commit_than_the_merge_it_judges(tmp_path):
    ws, head = pull_request_workspace(tmp_path, _edit_program_only)
    result, _ = _run_gate(tmp_path, ws, "f" * 40, [_review("alice", "f" * 40)])
    assert result.returncode == 1 and "not of the pull request's head commit" in result.stdout


def test_a_base_branch_without_the_gate_lets_the_first_one_in(tmp_path):
    def add_gate(repo):
        _edit_program_only(repo)

    ws, head = pull_request_workspace(tmp_path, add_gate)
    shutil.rmtree(ws / "base" / "cicd")  # main before this change
    result, summary = _run_gate(tmp_path, ws, head, [])
    assert result.returncode == 0 and "no code-owner gate yet" in summary


# --- the base branch's pack and config judge the program -----------------------------------------

def _run_check(ws: Path, tmp_path: Path, *, pack: str = "policies") -> tuple[subprocess.CompletedProcess[str], str]:
    step = _offline_step("review check")
    summary = tmp_path / "check-summary"
    summary.write_text("")
    script = step["run"].replace("--policy-pack policies", f"--policy-pack {pack}")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GITHUB_STEP_SUMMARY": str(summary)}
    return _bash(script, ws / step["working-directory"], env), summary.read_text()


def test_disabling_the_broken_policy_in_the_pull_request_does_not_loosen_the_required_check(tmp_path):
    ws, _ = pull_request_workspace(tmp_path, _disable_and_break)
    # Control: judged by its own pack and config, the pull request passes (what the old check did).
    own, _ = _run_check(ws, tmp_path, pack="../pr/policies")
    assert own.returncode == 0, own.stdout + own.stderr
    # The required check: the base branch's pack and config.
    result, summary = _run_check(ws, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert REFERRER_POLICY in summary


# --- the guards in front of credentials ----------------------------------------------------------

def _dispatch_step(contains: str) -> dict:
    return next(s.step for s in steps(WORKFLOWS / "pull-request-deploy.yml")
                if s.job_id == "approval" and contains in (s.step.get("run") or ""))


def _pull(sha: str, **changes) -> dict:
    pull = {"state": "open", "user": {"login": "mallory"},
            "head": {"sha": sha, "ref": "feature/search", "repo": {"full_name": "appstoagents/ara-infra"}},
            "base": {"ref": "main"}}
    pull.update(changes)
    return pull


def _run_approval(tmp_path: Path, pull: dict, reviews: list[dict], number: str = "42"):
    root = tmp_path / "main"
    (root / ".github").mkdir(parents=True)
    (root / ".github" / "CODEOWNERS").write_text(CODEOWNERS)
    shutil.copytree(ROOT / "cicd", root / "cicd", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "infra").mkdir()  # cicd reads its exit codes from the standard-library leaf infra/exitcodes.py
    for name in ("__init__.py", "exitcodes.py"):
        shutil.copy2(ROOT / "infra" / name, root / "infra" / name)
    bin_dir = _stand_ins(tmp_path, reviews, pull)
    output, summary = tmp_path / "output", tmp_path / "summary"
    output.write_text("")
    summary.write_text("")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "RUNNER_TEMP": str(tmp_path),
           "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary), "GH_TOKEN": "stand-in",
           "GH_REPO": "appstoagents/ara-infra", "PR_NUMBER": number}
    return _bash(_dispatch_step("approved-head")["run"], root, env), output.read_text()


def test_the_dispatch_releases_exactly_the_approved_head_commit(tmp_path):
    head = "c" * 40
    result, output = _run_approval(tmp_path, _pull(head), [_review("bob", head)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert output == f"sha={head}\nbranch=feature/search\nnumber=42\n"


@pytest.mark.parametrize(("pull_changes", "reviews", "expected"), [
    ({}, [], "no code owner"),
    ({}, [_review("bob", "d" * 40)], "no code owner"),                      # approved an older commit
    ({}, [_review("mallory", "c" * 40)], "no code owner"),                  # the author
    ({"head": {"sha": "c" * 40, "ref": "x", "repo": {"full_name": "mallory/ara-infra"}}},
     [_review("bob", "c" * 40)], "forks never run"),
    ({"state": "closed"}, [_review("bob", "c" * 40)], "not open"),
])
def test_the_dispatch_releases_nothing_else(tmp_path, pull_changes, reviews, expected):
    result, output = _run_approval(tmp_path, _pull("c" * 40, **pull_changes), reviews)
    assert result.returncode == 1 and expected in result.stdout and output == ""


@pytest.mark.parametrize("number", ["", "0", "42; id", "$(id)", "42\n43"])
def test_the_dispatch_refuses_a_number_that_is_not_one(tmp_path, number):
    result, output = _run_approval(tmp_path, _pull("c" * 40), [_review("bob", "c" * 40)], number)
    assert result.returncode == 1 and output == "" and not (tmp_path / "gh.log").exists()


@pytest.mark.parametrize(("path", "job", "contains"), [
    ("pull-request-deploy.yml", "approval", 'if [[ "$REF" != "refs/heads/main" ]]'),
    ("deploy.yml", "test", 'if [[ "$REF" != "refs/heads/main" ]]'),
])
@pytest.mark.parametrize("ref", ["refs/heads/feature", "refs/tags/v1", "refs/heads/main-x", "refs/pull/42/merge"])
def test_credentialed_workflows_refuse_a_dispatch_on_another_ref(path, job, contains, ref):
    step = next(s.step for s in steps(WORKFLOWS / path) if s.job_id == job and contains in (s.step.get("run") or ""))
    assert step["env"] == {"REF": "${{ github.ref }}"}
    refused = _bash(step["run"], Path("/"), {"PATH": "/usr/bin:/bin", "REF": ref})
    assert refused.returncode == 1 and "::error::" in refused.stdout
    assert _bash(step["run"], Path("/"), {"PATH": "/usr/bin:/bin", "REF": "refs/heads/main"}).returncode == 0
    jobs = load(WORKFLOWS / path)["jobs"]
    first = jobs[job]["steps"][0]
    assert first is step or contains in (first.get("run") or "")  # before anything else runs
