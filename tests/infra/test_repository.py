"""RepositoryGuardrails: the ruleset that makes the PR checks binding, and deployment environments
that only the production branch reaches, production behind reviewers."""

import pytest

from infra import catalog
from infra.repository import RepositoryGuardrails, RepositoryGuardrailsArgs
from review import wire
from tests.support import run_component


def _guardrails(**kwargs):
    args = {"owner": "appstoagents", "repository": "ara", "branch": "main", "reviewer_team_ids": (4242,),
            **kwargs}
    return run_component(lambda: RepositoryGuardrails("gh", RepositoryGuardrailsArgs(**args)))


def test_the_ruleset_requires_a_reviewed_pull_request_and_the_checks_on_the_production_branch():
    ruleset = _guardrails().one(catalog.GH_RULESET)
    props = ruleset.props
    assert (props["repository"], props["target"], props["enforcement"]) == ("ara", "branch", "active")
    assert props["conditions"]["refName"] == {"includes": ["refs/heads/main"], "excludes": []}
    rules = props["rules"]
    assert rules["pullRequest"]["requiredApprovingReviewCount"] == 1
    assert rules["pullRequest"]["dismissStaleReviewsOnPush"] is True
    assert rules["pullRequest"]["requireLastPushApproval"] is True
    # The pack, its config and the workflows are code-owned (.github/CODEOWNERS): their owners approve.
    assert rules["pullRequest"]["requireCodeOwnerReview"] is True
    checks = rules["requiredStatusChecks"]
    assert [c["context"] for c in checks["requiredChecks"]] == list(catalog.REQUIRED_CHECKS)
    assert checks["strictRequiredStatusChecksPolicy"] is True
    assert rules["deletion"] is True and rules["nonFastForward"] is True
    assert "bypassActors" not in props  # nobody, admins included, skips the gate


def test_production_needs_a_reviewer_who_is_not_the_author_and_admins_cannot_bypass():
    env = _guardrails(reviewer_user_ids=(1001,)).one(catalog.GH_ENVIRONMENT, "gh-env-production")
    assert env.props["environment"] == catalog.ENV_PRODUCTION
    assert env.props["reviewers"] == [{"users": [1001], "teams": [4242]}]
    assert env.props["preventSelfReview"] is True and env.props["canAdminsBypass"] is False


def test_every_environment_deploys_from_the_production_branch_only():
    cap = _guardrails()
    envs = {e.props["environment"]: e for e in cap.of_type(catalog.GH_ENVIRONMENT)}
    assert set(envs) == {catalog.ENV_PRODUCTION, *catalog.MAIN_ONLY_ENVIRONMENTS, catalog.ENV_BACKUPS}
    for env in envs.values():
        assert env.props["deploymentBranchPolicy"] == {"customBranchPolicies": True, "protectedBranches": False}
        assert env.props["canAdminsBypass"] is False
    policies = cap.of_type(catalog.GH_ENVIRONMENT_POLICY)
    assert sorted(p.props["environment"] for p in policies) == sorted(envs)
    assert {p.props["branchPattern"] for p in policies} == {"main"}
    assert all("reviewers" not in e.props for n, e in envs.items() if n != catalog.ENV_PRODUCTION)


def test_backup_secrets_stay_secrets_in_the_backups_environment():
    cap = _guardrails(backup_secrets={"BACKUP_DATABASE_URL": "postgresql://u:p@h/db?sslmode=require"},
                      backup_variables={"BACKUP_BUCKET": "ara-prod-backups"})
    (secret,) = cap.of_type(catalog.GH_ENVIRONMENT_SECRET)
    assert secret.props["environment"] == catalog.ENV_BACKUPS and secret.props["secretName"] == "BACKUP_DATABASE_URL"
    assert wire.is_secret(secret.props["value"])
    assert "plaintextValue" not in secret.props  # deprecated in pulumi-github 6 in favour of value
    (variable,) = cap.of_type(catalog.GH_ENVIRONMENT_VARIABLE)
    assert (variable.props["variableName"], variable.props["value"]) == ("BACKUP_BUCKET", "ara-prod-backups")


def test_every_resource_uses_the_component_provider_for_the_repositorys_owner():
    cap = _guardrails()
    provider = cap.one("pulumi:providers:github")
    assert provider.props["owner"] == "appstoagents"
    for r in cap.declared:
        if r.custom and r.type.startswith("github:index/"):
            assert r.provider.startswith(provider.urn + "::"), r.name


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"reviewer_team_ids": ()}, "needs at least one reviewer"),
    ({"reviewer_user_ids": tuple(range(1, 8))}, "at most 6"),
    ({"required_checks": ()}, "at least one required check"),
    ({"required_approvals": 0}, "required_approvals must be at least 1"),
    ({"backup_secrets": {"GITHUB_TOKEN": "x"}}, "GITHUB_TOKEN: Actions secret and variable names"),
    ({"backup_variables": {"bad-name": "x"}}, "bad-name"),
])
def test_unsafe_or_impossible_guardrails_are_refused(kwargs, expected):
    with pytest.raises(ValueError, match=expected):
        _guardrails(**kwargs)

