"""repository.py: GitHub rulesets must make the pull-request checks binding; production needs a reviewer."""

import dataclasses

import pytest

from ara_policies import repository
from infra import catalog
from review import packrun
from tests.support import ROOT, stack_config

from .conftest import UNKNOWN_STR, assert_metadata, run_resource

RULES = repository.REQUIRE_PULL_REQUEST_CHECKS
ENVS = repository.REQUIRE_ENVIRONMENT_REVIEWERS
CHECK = "tests and offline policy check"


def ruleset(**changes):
    props = {"name": "main: pull request and checks", "repository": "ara", "target": "branch",
             "enforcement": "active",
             "conditions": {"refName": {"includes": ["refs/heads/main"], "excludes": []}},
             "rules": {"deletion": True, "nonFastForward": True,
                       "pullRequest": {"requiredApprovingReviewCount": 1, "requireCodeOwnerReview": True},
                       "requiredStatusChecks": {"requiredChecks": [{"context": CHECK}]}}}
    props.update(changes)
    return props


def environment(**changes):
    props = {"repository": "ara", "environment": "production", "reviewers": [{"teams": [4242], "users": []}],
             "canAdminsBypass": False, "preventSelfReview": True}
    props.update(changes)
    return props


def test_metadata():
    assert_metadata(RULES, "mandatory", "high", {"requiredChecks", "minApprovals", "requireCodeOwnerReview"})
    assert_metadata(ENVS, "mandatory", "high", {"protectedEnvironments"})


def test_the_declared_ruleset_passes_with_prods_required_check():
    run_resource(RULES, catalog.GH_RULESET, ruleset(), config={"requiredChecks": [CHECK]}).assert_clean()


@pytest.mark.parametrize(("changes", "expected"), [
    ({"enforcement": "evaluate"}, "is not enforced"),
    ({"enforcement": "disabled"}, "is not enforced"),
    ({"bypassActors": [{"actorId": 5, "actorType": "RepositoryRole", "bypassMode": "always"}]}, "bypass"),
    ({"rules": {"requiredStatusChecks": {"requiredChecks": [{"context": CHECK}]}}}, "approving review"),
    ({"rules": {"pullRequest": {"requiredApprovingReviewCount": 0},
                "requiredStatusChecks": {"requiredChecks": [{"context": CHECK}]}}}, "approving review"),
    ({"rules": {"pullRequest": {"requiredApprovingReviewCount": 1, "requireCodeOwnerReview": True}}},
     "does not require the pull-request checks"),
    ({"rules": {"pullRequest": {"requiredApprovingReviewCount": 1, "requireCodeOwnerReview": True},
                "requiredStatusChecks": {"requiredChecks": [{"context": "lint"}]}}}, CHECK),
    # Without a code owner's review a pull request could loosen the pack that judges it.
    ({"rules": {"pullRequest": {"requiredApprovingReviewCount": 1},
                "requiredStatusChecks": {"requiredChecks": [{"context": CHECK}]}}}, "code owner's review"),
    ({"rules": {"pullRequest": {"requiredApprovingReviewCount": 1, "requireCodeOwnerReview": False},
                "requiredStatusChecks": {"requiredChecks": [{"context": CHECK}]}}}, "require_code_owner_review"),
])
def test_a_weak_ruleset_is_refused(changes, expected):
    out = run_resource(RULES, catalog.GH_RULESET, ruleset(**changes), name="gh-ruleset",
                       config={"requiredChecks": [CHECK]})
    assert len(out.messages) == 1 and "'gh-ruleset'" in out.text and expected in out.text


def test_any_check_satisfies_the_default_config_but_none_does_not():
    run_resource(RULES, catalog.GH_RULESET, ruleset()).assert_clean()
    rules = {"pullRequest": {"requiredApprovingReviewCount": 1}, "requiredStatusChecks": {"requiredChecks": []}}
    assert run_resource(RULES, catalog.GH_RULESET, ruleset(rules=rules)).messages


def test_tag_and_push_rulesets_are_not_judged():
    run_resource(RULES, catalog.GH_RULESET, ruleset(target="tag", enforcement="disabled", rules={})).assert_clean()


def test_production_environment_with_a_reviewer_passes_and_others_are_not_judged():
    run_resource(ENVS, catalog.GH_ENVIRONMENT, environment()).assert_clean()
    run_resource(ENVS, catalog.GH_ENVIRONMENT, environment(environment="preview", reviewers=[],
                                                           canAdminsBypass=True)).assert_clean()


@pytest.mark.parametrize(("changes", "expected"), [
    ({"reviewers": []}, "without a required reviewer"),
    ({"reviewers": [{"teams": [], "users": []}]}, "without a required reviewer"),
    ({"canAdminsBypass": True}, "admins deploy without review"),
    ({"canAdminsBypass": None}, "admins deploy without review"),
    ({"preventSelfReview": False}, "approve it"),
])
def test_a_production_environment_anyone_can_deploy_is_refused(changes, expected):
    props = {k: v for k, v in environment(**changes).items() if v is not None}
    out = run_resource(ENVS, catalog.GH_ENVIRONMENT, props, name="gh-env-production")
    assert "'gh-env-production'" in out.text and expected in out.text


def test_an_unknown_enforcement_during_preview_becomes_the_runtimes_advisory_not_a_violation():
    out = run_resource(RULES, catalog.GH_RULESET, ruleset(enforcement=UNKNOWN_STR))
    assert not out.messages and out.unknown is not None


# --- the whole pack over gRPC, on prod with its guardrails (tests/conftest.py) ------------

def _judge(capture):
    source = stack_config("prod")
    return packrun.run_policy_pack(ROOT / "policies", capture, config=source.values, secret_keys=source.secret_keys,
                                   policy_config=ROOT / "policies" / "config" / "prod.json")


@pytest.mark.slow
def test_prods_declared_guardrails_pass_the_pack(prod_with_guardrails):
    result = _judge(prod_with_guardrails)
    assert result.mandatory == [], result.summary()


@pytest.mark.slow
def test_an_unenforced_ruleset_in_prod_is_a_mandatory_violation(prod_with_guardrails):
    broken = dataclasses.replace(prod_with_guardrails, resources=[
        dataclasses.replace(r, props={**r.props, "enforcement": "evaluate"}) if r.type == catalog.GH_RULESET else r
        for r in prod_with_guardrails.resources])
    flagged = {d.policy_name for d in _judge(broken).mandatory}
    assert flagged == {RULES.name}
