"""The typed, validated configuration of one stack (`from infra.config import StackConfig, load_config`).

`load_config` reads every key declared in Pulumi.yaml (types and defaults come from there), checks
all of them, and raises one `ConfigError` that lists every problem by key. Split by job:

- `model`: `StackConfig`, the plan limits and value types, `pr-<n>` names, `config_key`;
- `checks`: per-key checks (`CHECKS`, `SECRET_CHECKS`) and their validators;
- `rules`: cross-key rules and keys nobody reads;
- `load`: `load_config`, the only module here that imports the Pulumi SDK.

The package imports no component (infra.web, infra.rate_limit, …) and no provider SDK (only the
Pulumi SDK, for `load`), so the tools that need the model or the `pr-<n>` rule (review, the PR-stack
writer) start without the provider SDKs; tests/infra/test_config_boundaries.py keeps it so.
"""

from infra.config.checks import (
    CHECKS,
    DEPLOYMENT_PROTECTION,
    MIN_DB_SERVER_MAJOR_VERSION,
    MIN_SECRET_LENGTH,
    MULTILINE_SECRETS,
    NOT_SHOWN,
    ONE_YEAR,
    R2_JURISDICTIONS,
    R2_LOCATIONS,
    SECRET_CHECKS,
    SSL_MODES,
    clerk_key_host,
    git_branch_problem,
    https_origin_problem,
    is_public_suffix,
    weak_secret_problem,
)
from infra.config.load import all_config_keys, cfg_is_secret, load_config
from infra.config.model import (
    CONFIG_FIELDS,
    FRAMEWORKS,
    MIN_RATE_LIMIT_WINDOW_SECONDS,
    PLAN_LIMITS,
    PR_STACK,
    PR_UNREAD_SECRETS,
    SKEW_PROTECTION,
    STACKS,
    VERCEL_PLANS,
    ConfigError,
    Framework,
    ManagedRulesMode,
    PlanLimits,
    SkewProtection,
    StackConfig,
    VercelPlan,
    branch_slug,
    config_key,
    edge_rate_limit,
    pr_number,
)
from infra.config.rules import CONFIG_NAMESPACES, undeclared_key_problems

__all__ = [
    # model
    "CONFIG_FIELDS", "FRAMEWORKS", "MIN_RATE_LIMIT_WINDOW_SECONDS", "PLAN_LIMITS", "PR_STACK", "PR_UNREAD_SECRETS",
    "SKEW_PROTECTION", "STACKS", "VERCEL_PLANS", "ConfigError", "Framework", "ManagedRulesMode", "PlanLimits",
    "SkewProtection", "StackConfig", "VercelPlan", "branch_slug", "config_key", "edge_rate_limit", "pr_number",
    # checks
    "CHECKS", "DEPLOYMENT_PROTECTION", "MIN_DB_SERVER_MAJOR_VERSION", "MIN_SECRET_LENGTH", "MULTILINE_SECRETS",
    "NOT_SHOWN", "ONE_YEAR", "R2_JURISDICTIONS", "R2_LOCATIONS", "SECRET_CHECKS", "SSL_MODES", "clerk_key_host",
    "git_branch_problem", "https_origin_problem", "is_public_suffix", "weak_secret_problem",
    # rules
    "CONFIG_NAMESPACES", "undeclared_key_problems",
    # load
    "all_config_keys", "cfg_is_secret", "load_config",
]
