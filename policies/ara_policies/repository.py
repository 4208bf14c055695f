"""The GitHub repository's guardrails (pulumi-github): the ruleset that makes pull-request checks
binding, and reviewers on the environments that deploy production."""

from __future__ import annotations

from pulumi_policy import PolicyConfigSchema

from . import catalog
from ._common import (
    EnforcementLevel,
    Severity,
    as_bool,
    as_list,
    as_number,
    get,
    resource_policy,
    string_list,
    subject,
    violation,
)

_RULESET_CONFIG = PolicyConfigSchema(properties={
    "requiredChecks": string_list("Status-check contexts every ruleset on a branch must require "
                                  "(at least one is always required)."),
    "minApprovals": {"type": "number", "default": 1, "description": "Approving reviews a pull request needs."},
    "requireCodeOwnerReview": {"type": "boolean", "default": True,
                               "description": "Whether a change to a code-owned path (CODEOWNERS) needs one of its "
                                              "owners' approval."},
})


def _check_ruleset(args, cfg, report) -> None:
    props = args.props
    if get(props, "target") != "branch":
        return
    who = subject("GitHub ruleset", args.name)
    if get(props, "enforcement") != "active":
        report(violation(who, "is not enforced, so pull requests can merge without its rules.",
                         "set enforcement='active'."))
    if as_list(get(props, "bypassActors")):
        report(violation(who, "lets some actors bypass it, which makes the gate optional for them.",
                         "remove bypass_actors."))
    approvals = as_number(get(props, "rules", "pullRequest", "requiredApprovingReviewCount", default=0)) or 0
    if get(props, "rules", "pullRequest") is None or approvals < float(cfg["minApprovals"]):
        report(violation(who, f"does not require a pull request with at least {int(cfg['minApprovals'])} "
                              "approving review(s).",
                         "set rules.pull_request.required_approving_review_count."))
    elif cfg["requireCodeOwnerReview"] and as_bool(
            get(props, "rules", "pullRequest", "requireCodeOwnerReview")) is not True:
        report(violation(who, "does not require a code owner's review, so a pull request can change the policy pack, "
                              "its config or the workflows that judge it with anyone's approval.",
                         "set rules.pull_request.require_code_owner_review=True."))
    checks = {get(c, "context") for c in as_list(get(props, "rules", "requiredStatusChecks", "requiredChecks"))}
    missing = sorted(set(cfg["requiredChecks"]) - checks)
    if not checks or missing:
        report(violation(who, "does not require the pull-request checks"
                              + (f" ({', '.join(missing)})" if missing else "") + ", so a red check can merge.",
                         "list them in rules.required_status_checks.required_checks."))


REQUIRE_PULL_REQUEST_CHECKS = resource_policy(
    name="github-ruleset-require-pull-request-checks",
    description="Branch rulesets must be enforced, bypassed by nobody, and require a reviewed pull request, "
                "a code owner's review and the pull-request checks.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=[catalog.GH_RULESET],
    check=_check_ruleset,
    config=_RULESET_CONFIG,
    remediation_steps="Declare the ruleset with enforcement='active', rules.pull_request (with "
                      "require_code_owner_review=True) and rules.required_status_checks listing the checks of the "
                      "pull-request workflow.",
    url="https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/"
        "managing-rulesets/about-rulesets",
)

_ENVIRONMENT_CONFIG = PolicyConfigSchema(properties={
    "protectedEnvironments": string_list("Environments whose deployments need a reviewer.", ["production"]),
})


def _check_environment(args, cfg, report) -> None:
    name = get(args.props, "environment")
    if name not in cfg["protectedEnvironments"]:
        return
    who = subject("GitHub environment", args.name)
    reviewers = [i for r in as_list(get(args.props, "reviewers"))
                 for i in (*as_list(get(r, "users")), *as_list(get(r, "teams")))]
    if not reviewers:
        report(violation(who, "deploys without a required reviewer.", "add users or teams to reviewers."))
    # The provider's default for can_admins_bypass is true: only an explicit false holds.
    if as_bool(get(args.props, "canAdminsBypass")) is not False:
        report(violation(who, "lets repository admins deploy without review.", "set can_admins_bypass=False."))
    if reviewers and as_bool(get(args.props, "preventSelfReview")) is not True:
        report(violation(who, "lets whoever triggered a deployment approve it.", "set prevent_self_review=True."))


REQUIRE_ENVIRONMENT_REVIEWERS = resource_policy(
    name="github-environment-require-reviewers",
    description="Environments that deploy production must require a reviewer who is not the author, "
                "admins included.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=[catalog.GH_ENVIRONMENT],
    check=_check_environment,
    config=_ENVIRONMENT_CONFIG,
    remediation_steps="Give the environment reviewers, prevent_self_review=True and can_admins_bypass=False.",
    url="https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-deployments/"
        "managing-environments-for-deployment",
)


POLICIES = [REQUIRE_PULL_REQUEST_CHECKS, REQUIRE_ENVIRONMENT_REVIEWERS]
