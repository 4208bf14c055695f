"""cicd.approval and `python -m cicd`: a code owner's approval of exactly the commit judged, from
the reviews GitHub returns; never the author's, never of an older commit, never a withdrawn one."""

import json
import subprocess
import sys

import pytest

from cicd import approval, codeowners
from tests.support import ROOT

HEAD = "a" * 40
OLD = "b" * 40
OWNERS = codeowners.parse("/policies/ @alice @bob\n/.github/ @org/owners\n/review/ @Carol\n")


def review(user, state, commit=HEAD):
    return {"user": {"login": user}, "state": state, "commit_id": commit, "submitted_at": "2026-12-01T00:00:00Z"}


@pytest.mark.parametrize(("reviews", "expected"), [
    ([review("alice", "APPROVED")], {"alice"}),
    ([review("alice", "APPROVED", OLD)], set()),                                       # a push needs a new one
    ([review("alice", "APPROVED"), review("alice", "COMMENTED")], {"alice"}),          # a comment keeps it
    ([review("alice", "APPROVED"), review("alice", "CHANGES_REQUESTED")], set()),
    ([review("alice", "APPROVED"), review("alice", "DISMISSED")], set()),
    ([review("alice", "CHANGES_REQUESTED"), review("alice", "APPROVED")], {"alice"}),
    ([review("mallory", "APPROVED")], set()),                                          # the author
    ([review("Alice", "APPROVED")], {"alice"}),
])
def test_only_the_latest_deciding_approval_of_this_commit_by_someone_else_counts(reviews, expected):
    assert approval.approvers(reviews, HEAD, "Mallory") == expected


def test_a_change_outside_owned_paths_needs_nobody():
    verdict = approval.owned_changes(["stacks/prod.py", "infra/web.py"], OWNERS, frozenset())
    assert verdict.ok and "no changed file is code-owned" in verdict.text()


def test_a_pack_config_change_needs_one_of_its_owners():
    assert not approval.owned_changes(["policies/config/prod.json"], OWNERS, frozenset({"carol"})).ok
    assert approval.owned_changes(["policies/config/prod.json"], OWNERS, frozenset({"bob"})).ok


def test_each_owned_path_needs_its_own_owner():
    verdict = approval.owned_changes(["policies/x.py", "review/cli.py"], OWNERS, frozenset({"alice"}))
    assert not verdict.ok and "line 3" in verdict.text() and "review/cli.py" in verdict.text()
    assert "policies/x.py" not in verdict.text()


def test_a_team_owned_path_fails_closed_and_says_why():
    verdict = approval.owned_changes([".github/workflows/x.yml"], OWNERS, frozenset({"alice", "bob"}))
    assert not verdict.ok and "cannot be checked with GITHUB_TOKEN" in verdict.text()


@pytest.mark.parametrize("name", ["::error::forged\nx", "a\x1b[31mb", "`closing", "\u2028::warning::x"])
def test_a_hostile_file_name_cannot_start_a_workflow_command_or_break_the_summary(name):
    text = approval.owned_changes([f"policies/{name}"], OWNERS, frozenset()).text()
    assert all(not line.startswith("::") for line in text.splitlines())
    assert "\x1b" not in text and "\u2028" not in text and text.count("`") % 2 == 0


def pull(**changes):
    data = {"state": "open", "user": {"login": "mallory"},
            "head": {"sha": HEAD, "ref": "feature/x", "repo": {"full_name": "appstoagents/ara-infra"}},
            "base": {"ref": "main", "repo": {"full_name": "appstoagents/ara-infra"}}}
    for key, value in changes.items():
        target = data
        *path, last = key.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    return data


def test_an_approved_head_commit_is_released_with_its_branch():
    verdict, outputs = approval.approved_head(pull(), [review("bob", "APPROVED")], OWNERS,
                                              "appstoagents/ara-infra", "main")
    assert verdict.ok and outputs == {"sha": HEAD, "branch": "feature/x"}


@pytest.mark.parametrize(("changes", "reviews", "expected"), [
    ({}, [], "no code owner"),
    ({}, [review("bob", "APPROVED", OLD)], "no code owner"),
    ({}, [review("mallory", "APPROVED")], "no code owner"),
    ({"user__login": "bob"}, [review("bob", "APPROVED")], "no code owner"),             # self-approval
    ({"head__repo": {"full_name": "mallory/ara-infra"}}, [review("bob", "APPROVED")], "forks never run"),
    ({"head__repo": None}, [review("bob", "APPROVED")], "forks never run"),
    ({"state": "closed"}, [review("bob", "APPROVED")], "not open"),
    ({"base__ref": "release"}, [review("bob", "APPROVED")], "merges into release"),
])
def test_anything_else_is_not_run_with_credentials(changes, reviews, expected):
    verdict, outputs = approval.approved_head(pull(**changes), reviews, OWNERS, "appstoagents/ara-infra", "main")
    assert not verdict.ok and outputs == {} and expected in verdict.text()


def test_a_malformed_head_commit_is_bad_input():
    with pytest.raises(approval.ApprovalInputError, match="head.sha"):
        approval.approved_head(pull(head__sha="$(id)"), [], OWNERS, "appstoagents/ara-infra", "main")


# --- the command line, as the workflows run it --------------------------------------------------

def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "cicd", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=60)


def _gate_files(tmp_path, changed, reviews, codeowners_text="/policies/ @alice\n"):
    base = tmp_path / "base"
    (base / ".github").mkdir(parents=True, exist_ok=True)
    if codeowners_text is not None:
        (base / ".github" / "CODEOWNERS").write_text(codeowners_text)
    (tmp_path / "changed").write_bytes(b"\0".join(p.encode() for p in changed) + b"\0")
    (tmp_path / "reviews").write_text("".join(json.dumps(r) + "\n" for r in reviews))
    return ["gate", "--base", str(base), "--changed", str(tmp_path / "changed"), "--reviews",
            str(tmp_path / "reviews"), "--head-sha", HEAD, "--author", "mallory"]


def test_the_gate_command_passes_an_approved_pack_change_and_fails_an_unapproved_one(tmp_path):
    ok = _cli(*_gate_files(tmp_path, ["policies/config/prod.json"], [review("alice", "APPROVED")]))
    assert ok.returncode == 0 and "approved on this commit" in ok.stdout
    refused = _cli(*_gate_files(tmp_path, ["policies/config/prod.json"], [review("alice", "APPROVED", OLD)]))
    assert refused.returncode == 1 and "policies/config/prod.json" in refused.stdout


def test_without_a_codeowners_on_the_base_branch_nothing_is_owned(tmp_path):
    result = _cli(*_gate_files(tmp_path, ["policies/x.py"], [], codeowners_text=None))
    assert result.returncode == 0 and "no CODEOWNERS" in result.stdout


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda t: (t / "reviews").write_text("{not json\n"), "reviews line 1: not JSON"),
    (lambda t: (t / "reviews").write_text('{"user": {}}\n'), "not a review object"),
    (lambda t: (t / "changed").unlink(), "--changed"),
])
def test_bad_input_exits_2_naming_it(tmp_path, mutate, expected):
    args = _gate_files(tmp_path, ["policies/x.py"], [])
    mutate(tmp_path)
    result = _cli(*args)
    assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr


def test_approved_head_writes_the_commit_and_branch_for_the_next_jobs(tmp_path):
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("/policies/ @alice\n")
    (tmp_path / "pull.json").write_text(json.dumps(pull()))
    (tmp_path / "reviews").write_text(json.dumps(review("alice", "APPROVED")) + "\n")
    out = tmp_path / "out"
    args = ["approved-head", "--base", str(tmp_path), "--pull", str(tmp_path / "pull.json"), "--reviews",
            str(tmp_path / "reviews"), "--repository", "appstoagents/ara-infra", "--github-output", str(out)]
    result = _cli(*args)
    assert result.returncode == 0 and out.read_text() == f"sha={HEAD}\nbranch=feature/x\n"
    (tmp_path / "pull.json").write_text(json.dumps(pull(head__ref="x\nsha=" + OLD)))
    out.unlink()
    result = _cli(*args)
    assert result.returncode == 2 and "line break" in result.stderr and not out.exists()
