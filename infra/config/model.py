"""The config model: `StackConfig` (the typed config of one stack), the types and limits its fields
take (Vercel plans and their limits, frameworks, Skew Protection, managed-rules modes), the
`pr-<n>` stack names and `config_key` (field -> config key).

Nothing here reads config or declares resources: components, stacks and the review tool import
these names without loading a provider SDK (a test keeps it so).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Literal, get_args

from infra import catalog

if TYPE_CHECKING:  # only for annotations: the model itself runs without the Pulumi SDK
    import pulumi


class ConfigError(Exception):
    """Invalid or missing stack config; the message lists every problem by key."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid config for stack '{stack}' ({len(problems)} problem(s)):\n{lines}")


STACKS = ("prod", "preview")
PR_STACK = re.compile(r"^pr-([1-9][0-9]{0,8})$")
"""Pull-request stacks `pr-<number>` (stacks.prstack): a GitHub PR number, no leading zero, one name per PR."""
PR_UNREAD_SECRETS = frozenset({"clerk_secret_key", "clerk_jwt_key", "openai_api_key", "upstash_redis_url",
                               "posthog_api_key", "sentry_dsn"})
"""Secrets a pull-request stack does not read: its branch takes them from the preview target. The
CLI still requires them (declared without a default), so the workflows set each to a stand-in
(stacks.prstack.UNREAD_SECRET_VALUE); the program never reads, checks or echoes it."""

# The firewall component (infra/rate_limit.py) takes these; they live here so the model needs no component.
ManagedRulesMode = Literal["log", "enforce"]
"""How the managed rulesets act: "log" records matches only, "enforce" challenges or denies."""

# --- Vercel plan limits ------------------------------------------------------------------
# The provider validates none of these (the firewall `window` is a bare Int64,
# terraform-provider-vercel vercel/resource_firewall_config.go:277-280; the timeout allows
# 1-900, resource_project.go:668-675), so the API or the deployment refuses them at apply.
VercelPlan = Literal["hobby", "pro", "enterprise"]
VERCEL_PLANS: tuple[str, ...] = get_args(VercelPlan)
SkewProtection = Literal["off", "30 minutes", "12 hours", "1 day", "7 days"]
"""How long clients of an older deployment keep reaching it: the provider's `skew_protection` values
(terraform-provider-vercel resource_project.go, OneOf) present in every v5 release ("4 hours" came in
v5.2.0, newer than what the pinned SDK is known to bridge), or off."""
SKEW_PROTECTION: tuple[str, ...] = get_args(SkewProtection)


@dataclass(frozen=True, kw_only=True)
class PlanLimits:
    """What one Vercel plan allows of the settings this program declares."""

    max_rate_limit_window_seconds: int
    """Longest WAF rate-limit counting window (vercel.com/docs/vercel-firewall/vercel-waf/rate-limiting,
    "Limits": Hobby and Pro 10 s-10 min, Enterprise 10 s-1 h)."""
    multiple_function_regions: bool
    """Whether functions may run in more than one region (vercel.com/docs/functions/limitations:
    "Pro and Enterprise teams can set multiple regions"; Hobby deployments fail with "Deploying
    Serverless Functions to multiple regions is restricted to the Pro and Enterprise plans")."""
    max_function_duration_seconds: int
    """Longest configurable function duration (vercel.com/docs/functions/limitations: Hobby up to
    300 s, Pro and Enterprise up to 800 s)."""
    team: bool
    """Whether the plan belongs to a team, so resources need the team scope (`vercelTeam`)."""
    skew_protection: bool
    """Whether Skew Protection is available (vercel.com/docs/skew-protection, "Limitations": "only
    available for Pro and Enterprise, not for Hobby teams")."""


MIN_RATE_LIMIT_WINDOW_SECONDS = catalog.RATE_LIMIT_MIN_WINDOW_SECONDS
_WINDOW = catalog.RATE_LIMIT_MAX_WINDOW_SECONDS
PLAN_LIMITS: dict[str, PlanLimits] = {
    "hobby": PlanLimits(max_rate_limit_window_seconds=_WINDOW["hobby"], multiple_function_regions=False,
                        max_function_duration_seconds=300, team=False, skew_protection=False),
    "pro": PlanLimits(max_rate_limit_window_seconds=_WINDOW["pro"], multiple_function_regions=True,
                      max_function_duration_seconds=800, team=True, skew_protection=True),
    "enterprise": PlanLimits(max_rate_limit_window_seconds=_WINDOW["enterprise"], multiple_function_regions=True,
                             max_function_duration_seconds=800, team=True, skew_protection=True),
}


def edge_rate_limit(requests: int, window_seconds: int, plan: str) -> tuple[int, int]:
    """The edge rule (limit, window) closest to `requests` per `window_seconds` the plan allows.

    A window the plan allows is kept exactly. A longer one is shortened to the plan's longest
    window and the limit scaled in proportion, rounded up: a client spreading the budget evenly
    is never refused, while a burst of the whole budget inside one short window is, which is
    what an abuse limit is for. 100 per hour becomes 17 per 10 minutes on Hobby and Pro.
    """
    longest = PLAN_LIMITS[plan].max_rate_limit_window_seconds
    if window_seconds <= longest:
        return requests, window_seconds
    return math.ceil(requests * longest / window_seconds), longest


# Vercel's framework presets: the slugs of @vercel/frameworks 3.34.0 (npm, dist/frameworks.js),
# the list the provider validates `framework` against (terraform-provider-vercel
# vercel/validator_framework.go, fetched from api-frameworks.zeit.sh).
Framework = Literal[
    "actix-web", "angular", "ash", "astro", "axum", "blitzjs", "brunch", "bun", "container",
    "create-react-app", "django", "docusaurus", "docusaurus-2", "dojo", "eleventy", "elysia", "ember",
    "eve", "express", "factory-eve", "fastapi", "fasthtml", "fastify", "flask", "gatsby", "go",
    "gridsome", "h3", "hexo", "hono", "hugo", "hydrogen", "ionic-angular", "ionic-react", "jekyll",
    "koa", "mastra", "middleman", "nestjs", "nextjs", "nitro", "node", "nuxtjs", "parcel", "polymer",
    "preact", "python", "react-router", "redwoodjs", "remix", "ruby", "rust", "saber", "sanity",
    "sanity-v2", "sapper", "scully", "services", "solidstart", "solidstart-1", "stencil", "storybook",
    "svelte", "sveltekit", "sveltekit-1", "tanstack-start", "tanstack-start-lovable", "umijs", "vite",
    "vitepress", "vue", "vuepress", "xmcp", "zola",
]
FRAMEWORKS: tuple[str, ...] = get_args(Framework)


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Everything the program reads from config, typed. Keys are the camelCase field names."""

    stack: str
    vercel_plan: VercelPlan
    vercel_team: str
    cloudflare_account_id: str
    vercel_project_name: str
    git_repository: str
    github_infra_repository: str
    production_branch: str
    framework: Framework
    build_command: str
    output_directory: str
    install_command: str
    dev_command: str
    function_regions: tuple[str, ...]
    function_max_duration: int
    deployment_protection: str
    skew_protection: SkewProtection
    rate_limit_requests: int
    rate_limit_window_seconds: int
    rate_limit_path: str
    firewall_managed_rules: ManagedRulesMode
    hsts_max_age: int
    hsts_preload: bool
    clerk_frontend_api: str
    preview_clerk_frontend_api: str
    csp_connect_sources: tuple[str, ...]
    csp_script_hashes: tuple[str, ...]
    domain: str
    dns_zone: str
    domain_git_branch: str
    reports_bucket_name: str
    backups_bucket_name: str
    r2_location: str
    r2_jurisdiction: str
    backup_retention_days: int
    db_host: str
    db_port: int
    db_admin_user: str
    db_admin_password: pulumi.Output[str]
    db_admin_database: str
    db_ssl_mode: str
    db_name: str
    db_connection_limit: int
    db_rotation_connections: int
    db_password_version: int
    # Database server: what the program may assume of it.
    db_server_major_version: int
    db_ssl_root_cert: str
    # The app secrets are None only in a pull-request stack, which reads none of them
    # (PR_UNREAD_SECRETS); every other stack must set them.
    clerk_secret_key: pulumi.Output[str] | None
    clerk_jwt_key: pulumi.Output[str] | None
    clerk_publishable_key: str
    openai_api_key: pulumi.Output[str] | None
    upstash_redis_url: pulumi.Output[str] | None
    posthog_api_key: pulumi.Output[str] | None
    sentry_dsn: pulumi.Output[str] | None
    generated_keys_version: int
    protect_stateful_resources: bool
    app_directory: str
    extra_preview_environments: tuple[str, ...]
    vercel_observability_plus: bool
    pull_request_number: int
    pull_request_branch: str
    github_guardrails: bool
    github_reviewer_user_ids: tuple[str, ...]
    github_reviewer_team_ids: tuple[str, ...]

    @property
    def app_url(self) -> str:
        """Public base URL of the app."""
        return f"https://{self.domain}"

    @property
    def is_prod(self) -> bool:
        return self.stack == "prod"

    @property
    def edge_rate_limit(self) -> tuple[int, int]:
        """(limit, window seconds) of the edge rule: the configured budget, fitted to the plan."""
        return edge_rate_limit(self.rate_limit_requests, self.rate_limit_window_seconds, self.vercel_plan)

    @property
    def is_pull_request(self) -> bool:
        """A `pr-<number>` stack (see stacks.prstack)."""
        return pr_number(self.stack) is not None


def pr_number(stack: str) -> int | None:
    """The pull-request number of a `pr-<n>` stack name, else None."""
    match = PR_STACK.match(stack)
    return int(match.group(1)) if match else None


def branch_slug(branch: str) -> str:
    """A name-safe form of a git branch: lowercase letters, digits and hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", branch.lower()).strip("-")


def config_key(field_name: str) -> str:
    """snake_case field -> camelCase config key."""
    head, *rest = field_name.split("_")
    return head + "".join(part.capitalize() for part in rest)


CONFIG_FIELDS = tuple(f.name for f in fields(StackConfig) if f.name != "stack")
"""Every StackConfig field backed by a config key."""
