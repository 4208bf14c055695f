"""The GitHub repository's guardrails: what makes the CI gate binding, owned by the prod stack.

A ruleset on the production branch (pull request with an approval, a code owner's approval of
changes to code-owned paths (.github/CODEOWNERS), the checks of `catalog.REQUIRED_CHECKS`, no
force-push or deletion, nobody bypasses), the `production`
environment (required reviewers, no self-review, no admin bypass, deployable from the production
branch only), the environments only that branch may use, and the backup job's environment with
its secrets and variables taken from the stack's own outputs, never copied by hand.

Provider: pulumi-github (integrations/github), configured with the repository's owner; its token
comes from GITHUB_TOKEN, which must be allowed to administer the repository (docs/how-to/repository-guardrails.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_github as github

from infra import catalog

MAX_REVIEWERS = 6
"""GitHub takes up to 6 user and 6 team ids per environment (pulumi_github RepositoryEnvironmentReviewerArgs)."""
_SECRET_NAME = re.compile(r"^(?!GITHUB_)[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True, kw_only=True)
class RepositoryGuardrailsArgs:
    """Inputs of `RepositoryGuardrails`."""

    owner: str
    """Organization or user that owns the repository; required."""
    repository: str
    """Repository name without the owner; required."""
    branch: str
    """The production branch the ruleset protects and the environments deploy from; required."""
    reviewer_user_ids: tuple[int, ...] = ()
    """GitHub user ids who may approve production deployments; defaults to none (then teams)."""
    reviewer_team_ids: tuple[int, ...] = ()
    """GitHub team ids who may approve production deployments; defaults to none (then users)."""
    required_checks: tuple[str, ...] = catalog.REQUIRED_CHECKS
    """Status checks a pull request must pass; defaults to the checks every pull request runs."""
    required_approvals: int = 1
    """Approving reviews a pull request needs; defaults to 1."""
    backup_secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Secrets of the backups environment by name; defaults to none."""
    backup_variables: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Variables of the backups environment by name; defaults to none."""


def _kebab(name: str) -> str:
    return name.lower().replace("_", "-")


class RepositoryGuardrails(pulumi.ComponentResource):
    """The ruleset and the deployment environments of the repository."""

    environments: pulumi.Output[list[str]]
    """The environments declared."""

    def __init__(self, name: str, args: RepositoryGuardrailsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_REPOSITORY_GUARDRAILS, name, None, opts)
        _check(name, args)
        provider = github.Provider(f"{name}-provider", owner=args.owner, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self._ruleset(name, args, child)
        names = [catalog.ENV_PRODUCTION, *catalog.MAIN_ONLY_ENVIRONMENTS, catalog.ENV_BACKUPS]
        environments = {env_name: self._environment(name, args, child, env_name) for env_name in names}
        self._backups_secrets_and_variables(name, args, child, environments[catalog.ENV_BACKUPS].environment)
        self.environments = pulumi.Output.from_input(names)
        self.register_outputs({"environments": self.environments})

    # -- steps ----------------------------------------------------------------------------------
    def _ruleset(self, name: str, args: RepositoryGuardrailsArgs, child: pulumi.ResourceOptions) -> None:
        github.RepositoryRuleset(
            f"{name}-ruleset",
            name=f"{args.branch}: pull request and checks",
            repository=args.repository,
            target="branch",
            enforcement="active",
            conditions=github.RepositoryRulesetConditionsArgs(
                ref_name=github.RepositoryRulesetConditionsRefNameArgs(includes=[f"refs/heads/{args.branch}"],
                                                                       excludes=[]),
            ),
            rules=github.RepositoryRulesetRulesArgs(
                deletion=True,
                non_fast_forward=True,
                pull_request=github.RepositoryRulesetRulesPullRequestArgs(
                    required_approving_review_count=args.required_approvals,
                    dismiss_stale_reviews_on_push=True,
                    require_last_push_approval=True,
                    # The pack, its config, the workflows and the review tool are code-owned.
                    require_code_owner_review=True,
                ),
                required_status_checks=github.RepositoryRulesetRulesRequiredStatusChecksArgs(
                    required_checks=[github.RepositoryRulesetRulesRequiredStatusChecksRequiredCheckArgs(context=c)
                                     for c in args.required_checks],
                    strict_required_status_checks_policy=True,
                ),
            ),
            opts=child,
        )

    def _environment(self, name: str, args: RepositoryGuardrailsArgs, child: pulumi.ResourceOptions,
                     env_name: str) -> github.RepositoryEnvironment:
        """One environment, deployable from the production branch only; production needs a reviewer."""
        production = env_name == catalog.ENV_PRODUCTION
        environment = github.RepositoryEnvironment(
            f"{name}-env-{env_name}",
            repository=args.repository,
            environment=env_name,
            reviewers=[github.RepositoryEnvironmentReviewerArgs(users=list(args.reviewer_user_ids),
                                                                teams=list(args.reviewer_team_ids))]
            if production else None,
            prevent_self_review=True if production else None,
            can_admins_bypass=False,
            # Custom policies, not "protected branches": only the branch named below may deploy.
            deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                custom_branch_policies=True, protected_branches=False),
            opts=child,
        )
        github.RepositoryEnvironmentDeploymentPolicy(
            f"{name}-env-{env_name}-branch",
            repository=args.repository,
            environment=environment.environment,
            branch_pattern=args.branch,
            opts=child,
        )
        return environment

    def _backups_secrets_and_variables(self, name: str, args: RepositoryGuardrailsArgs,
                                       child: pulumi.ResourceOptions, backups: pulumi.Output[str]) -> None:
        for secret_name, value in args.backup_secrets.items():
            github.ActionsEnvironmentSecret(
                f"{name}-backups-{_kebab(secret_name)}",
                repository=args.repository,
                environment=backups,
                secret_name=secret_name,
                value=pulumi.Output.secret(value),
                opts=child,
            )
        for variable_name, value in args.backup_variables.items():
            github.ActionsEnvironmentVariable(
                f"{name}-backups-var-{_kebab(variable_name)}",
                repository=args.repository,
                environment=backups,
                variable_name=variable_name,
                value=value,
                opts=child,
            )


def _check(name: str, args: RepositoryGuardrailsArgs) -> None:
    """Refuse, before any resource is declared, what GitHub would refuse or what would not guard anything."""
    if not (args.reviewer_user_ids or args.reviewer_team_ids):
        raise ValueError(f"{name}: the {catalog.ENV_PRODUCTION} environment needs at least one reviewer")
    if len(args.reviewer_user_ids) > MAX_REVIEWERS or len(args.reviewer_team_ids) > MAX_REVIEWERS:
        raise ValueError(f"{name}: GitHub takes at most {MAX_REVIEWERS} user and {MAX_REVIEWERS} team reviewers")
    if not args.required_checks:
        raise ValueError(f"{name}: the ruleset needs at least one required check")
    if args.required_approvals < 1:
        raise ValueError(f"{name}: required_approvals must be at least 1")
    bad = [n for n in (*args.backup_secrets, *args.backup_variables) if not _SECRET_NAME.match(n)]
    if bad:
        raise ValueError(f"{name}: {', '.join(bad)}: Actions secret and variable names are A-Z, 0-9 and _, "
                         "not starting with GITHUB_")
