"""`python -m review` on pull-request stacks: pr-<n> evaluates and is checked like prod and preview,
from its stack file when the workflow wrote one, else derived as `python -m stacks.prstack` would."""

from __future__ import annotations

import json
import re

import pytest

from review import evaluate as ev
from stacks import prstack
from tests.review.test_cli import assert_no_secrets
from tests.review.test_cli_helpers import copy_program, run
from tests.support import ROOT, offline_secrets


@pytest.mark.slow
def test_check_a_pr_stack_without_a_stack_file_passes_with_the_preview_policy_config():
    res = run("check", "--stack", "pr-123", "--format", "json")
    assert res.code == 0, res.all
    (report,) = json.loads(res.out)["stacks"]
    assert report["stack"] == "pr-123" and report["mandatory"] == 0
    assert report["policyConfig"].endswith("policies/config/preview.json")
    assert report["resources"] == len(ev.evaluate(ev.load_source("pr-123", ROOT, offline_secrets())).capture.resources)


def test_plan_of_a_pr_stack_shows_its_database_and_branch_scoped_variables():
    res = run("plan", "--stack", "pr-77", "--config", "pullRequestBranch=feature/search")
    assert res.code == 0, res.all
    assert res.out.startswith("Plan ara-infra/pr-77: ")
    assert "name=ara_pr_77 owner=ara_pr_77_owner" in res.out
    assert len(re.findall(r"gitBranch=feature/search", res.out)) == 3
    assert_no_secrets(res.all, "pr-77")


@pytest.mark.slow
def test_the_derived_config_matches_the_stack_file_the_workflow_writes(tmp_path):
    program = copy_program(tmp_path / "program")
    derived = ev.load_source("pr-9", program, {**offline_secrets(), "pullRequestBranch": "fix/x"})
    (program / "Pulumi.pr-9.yaml").write_text(prstack.render(9, "fix/x", program))
    from_file = ev.load_source("pr-9", program, offline_secrets())
    assert from_file.values == derived.values
    res = run("check", "--stack", "pr-9", "--program", str(program))
    assert res.code == 0, res.all


@pytest.mark.slow
def test_a_pr_stack_with_a_bad_branch_exits_2_naming_it():
    res = run("check", "--stack", "pr-5", "--config", "pullRequestBranch=main")
    assert res.code == 2
    assert "ara-infra:pullRequestBranch: 'main' is the production branch" in res.err
    res = run("plan", "--stack", "pr-5", "--config", "pullRequestBranch=bad branch")
    assert res.code == 2 and "pullRequestBranch (--config or --answers): must be a git branch name: 'bad branch'" \
        in res.err
    assert "--branch" not in res.err  # the key the reviewer gave, not prstack's flag


def test_names_that_are_not_pr_numbers_are_stacks_without_a_file():
    for stack in ("pr-0", "pr-012", "pr-x", "staging"):
        res = run("plan", "--stack", stack)
        assert res.code == 2 and f"Stack '{stack}' is missing configuration values" in res.err, stack
        assert f"Pulumi.{stack}.yaml does not exist" in res.err and "pr-<number>" in res.err, stack


def test_the_review_tool_reads_the_template_of_the_program_it_judges(tmp_path):
    program = copy_program(tmp_path / "program")
    (program / prstack.TEMPLATE).unlink()
    res = run("plan", "--stack", "pr-3", "--program", str(program))
    assert res.code == 2 and "pull_request.yaml: the pull-request stack template is missing" in res.err


@pytest.mark.slow
def test_diff_of_a_pr_stack_compares_it_with_the_base_revisions_derivation(tmp_path):
    from tests.review.test_diff import git  # the same committer settings

    repo = copy_program(tmp_path / "repo")
    template = repo / prstack.TEMPLATE
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    template.write_text(template.read_text().replace("dbConnectionLimit: 5", "dbConnectionLimit: 7"))
    res = run("diff", "--stack", "pr-5", "--base", "HEAD", "--program", str(repo), "--format", "json")
    assert res.code == 0, res.all
    data = json.loads(res.out)
    changed = {c["urn"].rpartition("::")[2]: [x["path"] for x in c["changes"]] for c in data["changed"]}
    # The runtime role takes the limit, the database the limit plus the owner's share.
    assert changed == {"ara-db-app": ["props.connectionLimit"], "ara-db-database": ["props.connectionLimit"]}
    assert not data["added"] and not data["removed"] and not data["flagged"]


@pytest.mark.slow
def test_diff_of_a_pr_stack_against_a_revision_without_the_template_says_everything_is_new(tmp_path):
    from tests.review.test_diff import git

    repo = copy_program(tmp_path / "repo")
    template = (repo / prstack.TEMPLATE).read_text()
    (repo / prstack.TEMPLATE).unlink()
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "before pull-request stacks")
    (repo / prstack.TEMPLATE).write_text(template)
    res = run("diff", "--stack", "pr-5", "--base", "HEAD", "--program", str(repo))
    assert res.code == 0, res.all
    assert "(stack 'pr-5' does not exist at HEAD: everything is new)" in res.out
