"""The typed, validated configuration of one stack.

`load_config` reads every key declared in Pulumi.yaml (types and defaults come from
there), checks all of them, and raises one `ConfigError` that lists every problem
by key. It runs from `__main__` before any resource is declared. Secrets are read
with `get_secret` and stay `Output`s; their shape is checked without echoing them.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import functools
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any, Literal, get_args

import pulumi

from infra import catalog, projectfile, regions
from infra.rate_limit import ManagedRulesMode


class ConfigError(Exception):
    """Invalid or missing stack config; the message lists every problem by key."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid config for stack '{stack}' ({len(problems)} problem(s)):\n{lines}")


DEPLOYMENT_PROTECTION = ("standard_protection_new", "standard_protection", "all_deployments",
                         "only_preview_deployments")
R2_LOCATIONS = ("apac", "eeur", "enam", "weur", "wnam", "oc")
R2_JURISDICTIONS = ("default", "eu", "fedramp")
SSL_MODES = ("require", "verify-ca", "verify-full")
ONE_YEAR = 31_536_000
STACKS = ("prod", "preview")
PR_STACK = re.compile(r"^pr-([1-9][0-9]{0,8})$")
"""Pull-request stacks `pr-<number>` (infra.prstack): a GitHub PR number, no leading zero, one name per PR."""
PR_UNREAD_SECRETS = frozenset({"clerk_secret_key", "clerk_jwt_key", "openai_api_key", "upstash_redis_url",
                               "posthog_api_key", "sentry_dsn"})
"""Secrets a pull-request stack does not read: its branch takes them from the preview target. The
CLI still requires them (declared without a default), so the workflows set each to a stand-in
(infra.prstack.UNREAD_SECRET_VALUE); the program never reads, checks or echoes it."""
CONFIG_NAMESPACES = ("pulumi", "cloudflare", "github", "postgresql", "random", "vercel")
"""Namespaces a stack file may use besides the project's: the CLI's own `pulumi:` keys (`pulumi:tags`)
and the packages of requirements.txt, whose default providers read `<package>:<key>` (the engine's
GetPackageConfig). Anything else reaches the program (the CLI passes every key) and is read by nothing."""

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
        """A `pr-<number>` stack (see infra.prstack)."""
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

# --- value checks: each returns an error message or None -------------------------------

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# GitHub: an owner (user or organization) is 1-39 letters, digits or single inner hyphens; a
# repository name 1-100 letters, digits, '.', '_' or '-', never '.' or '..'.
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_GITHUB_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
# An https URL's origin part: host (no userinfo) and an optional port, nothing after it.
_HTTPS_ORIGIN = re.compile(r"https://(?P<host>[^/:?#@\s]+)(?::(?P<port>[^/?#\s]*))?")
# CSP hash-source (CSP3 "hash-source": base64 or base64url of the digest) and each digest's size.
_SCRIPT_HASH = re.compile(r"(?P<alg>sha256|sha384|sha512)-(?P<b64>[A-Za-z0-9+/_-]+={0,2})")
_DIGEST_BYTES = {"sha256": 32, "sha384": 48, "sha512": 64}
# A Clerk publishable key: pk_live_/pk_test_ and the base64 (unpadded) of "<Frontend API host>$"
# (Clerk's SDKs decode it so: @clerk/shared keys.ts `parsePublishableKey`).
_CLERK_PUBLISHABLE_KEY = re.compile(r"pk_(?P<kind>live|test)_(?P<b64>[A-Za-z0-9+/]+={0,2})")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
# A team slug (the URL name) or a team id (team_...): provider.go:204-220 resolves either.
_VERCEL_TEAM = re.compile(r"^(team_[A-Za-z0-9]{1,64}|[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?)$")


NOT_SHOWN = "a value shaped like a credential, not shown"


def _show(value: Any, limit: int = 60) -> str:
    """repr() of a (non-secret) value for a message, cut short: messages name, they do not dump. A
    value shaped like a credential (catalog.contains_credential) is never shown, whatever key it is
    under: a secret pasted into a public key must not reach a log."""
    if any(catalog.contains_credential(v) for v in (value if isinstance(value, tuple) else (value,))):
        return NOT_SHOWN
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value))} characters)"


@functools.cache
def _public_suffixes() -> Any:
    from publicsuffixlist import PublicSuffixList  # noqa: PLC0415 - the list loads on first use

    return PublicSuffixList()


def is_public_suffix(host: str) -> bool:
    """True for a public suffix (Mozilla's Public Suffix List, ICANN and private: co.uk, vercel.app),
    under which anyone can register a site."""
    return bool(_public_suffixes().is_public(host))


def https_origin_problem(v: str, *, wildcard: bool, port: bool) -> str | None:
    """Why `v` is not an https origin (`https://host[:port]`, no path), or None. `wildcard`: allow
    `*` as the whole first label of a domain that is not a public suffix; `port`: allow 1-65535."""
    match = _HTTPS_ORIGIN.fullmatch(v)
    if "@" in v.partition("://")[2]:
        return f"must be an https origin without a user or password (got {_show(v)})"
    if not match:
        return f"must be an https origin without a path, such as https://api.example.com (got {_show(v)})"
    host, given_port = match["host"], match["port"]
    if given_port is not None and not port:
        return f"must name the host without a port (got {_show(v)})"
    if given_port is not None and not (re.fullmatch(r"[1-9][0-9]{0,4}", given_port) and int(given_port) <= 65535):
        return f"has port {given_port!r}: a port is a number from 1 to 65535 (got {_show(v)})" \
            if not catalog.contains_credential(v) else f"has a port that is not a number (got {_show(v)})"
    if "*" in host:
        base = host[2:]
        if not wildcard:
            return f"must name one host, without a wildcard (got {_show(v)})"
        if not host.startswith("*.") or "*" in base or not _HOST.fullmatch(base):
            return f"may hold a wildcard only as its whole first label, as in https://*.example.com (got {_show(v)})"
        if is_public_suffix(base):
            return (f"*.{base} matches every site under the public suffix {base!r} (Public Suffix List); "
                    f"name the site's own domain, as in https://*.example.{base} (got {_show(v)})")
        return None
    if not _HOST.fullmatch(host):
        return f"must be an https origin whose host is a lowercase DNS name (got {_show(v)})"
    return None


def clerk_key_host(key: str) -> str | None:
    """The Frontend API host a Clerk publishable key encodes, or None when it encodes none."""
    match = _CLERK_PUBLISHABLE_KEY.fullmatch(key)
    if not match:
        return None
    b64 = match["b64"].rstrip("=")
    try:
        decoded = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    host = decoded.removesuffix("$")
    return host if decoded.endswith("$") and _HOST.fullmatch(host) else None


def _clerk_publishable_key(v: str) -> str | None:
    if not _CLERK_PUBLISHABLE_KEY.fullmatch(v):
        return f"must be a Clerk publishable key (pk_live_... or pk_test_...) (got {_show(v)})"
    if clerk_key_host(v) is None:
        return (f"is not a Clerk publishable key: after pk_live_/pk_test_ comes the base64 of "
                f"\"<Frontend API host>$\" (got {_show(v)})")
    return None


def _repository(v: str) -> str | None:
    owner, sep, name = v.partition("/")
    if not sep or not _GITHUB_OWNER.fullmatch(owner) or not _GITHUB_NAME.fullmatch(name) or name in (".", ".."):
        return (f"must be a GitHub repository 'owner/name': owner 1-39 letters, digits or inner hyphens, name "
                f"1-100 letters, digits, '.', '_' or '-' and not '.' or '..' (got {_show(v)})")
    if name.lower().endswith(".git"):
        return f"must name the repository without .git (got {_show(v)})"
    return None


def _script_hash(v: str) -> str | None:
    match = _SCRIPT_HASH.fullmatch(v)
    example = "sha256-<44 characters of base64>, from `openssl dgst -sha256 -binary script.js | openssl base64`"
    if not match:
        return f"must be a CSP hash such as {example} (got {_show(v)})"
    body = match["b64"].rstrip("=")
    padding = len(match["b64"]) - len(body)
    b64 = body.replace("-", "+").replace("_", "/")
    try:
        digest = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    size = _DIGEST_BYTES[match["alg"]]
    if len(digest) != size or (padding and (len(body) + padding) % 4):
        return (f"must be the base64 of a {size}-byte {match['alg']} digest ({4 * ((size + 2) // 3)} characters "
                f"with padding), such as {example} (got {_show(v)})")
    return None


def _function_region(v: str) -> str | None:
    if v in regions.FUNCTION_REGIONS:
        return None
    return (f"must be a Vercel function region: one of {', '.join(regions.FUNCTION_REGIONS)} (pinned in "
            f"infra/regions.py on {regions.PINNED_ON}; `python -m infra.regions --refresh` updates it) "
            f"(got {_show(v)}{_did_you_mean(v, regions.FUNCTION_REGIONS)})")


def _one_of(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda v: None if v in options else f"must be one of {', '.join(options)} (got {_show(v)})"


def _between(lo: int, hi: int) -> Callable[[Any], str | None]:
    return lambda v: None if lo <= v <= hi else f"must be between {lo} and {hi} (got {v})"


def _matches(pattern: re.Pattern[str], what: str) -> Callable[[Any], str | None]:
    # fullmatch: a `$`-anchored pattern alone lets "name\n" through.
    return lambda v: None if pattern.fullmatch(v) else f"must be {what} (got {_show(v)})"


def _did_you_mean(value: str, options: Iterable[str]) -> str:
    options = list(options)
    folded = {o.lower(): o for o in options}
    close = [folded[value.lower()]] if value.lower() in folded else difflib.get_close_matches(value, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _framework(v: str) -> str | None:
    if v in FRAMEWORKS:
        return None
    return (f"must be a Vercel framework preset such as astro or nextjs (got {_show(v)}"
            f"{_did_you_mean(v, FRAMEWORKS)})")


def _command(v: str) -> str | None:
    if not v.strip():
        return "must be a command (leave the key out to use the default)"
    return None if len(v) <= 256 else f"must be at most 256 characters (got {len(v)})"


def _relative_directory(v: str) -> str | None:
    # A directory inside the build: relative, no `..`, no drive or home expansion.
    path = PurePosixPath(v)
    if not v or path.is_absolute() or ".." in path.parts or not re.fullmatch(r"[A-Za-z0-9._/-]{1,256}", v):
        return f"must be a relative directory such as dist, without '..' (got {_show(v)})"
    return None


def git_branch_problem(name: str) -> str | None:
    """Why git refuses `name` as a branch (`git check-ref-format --branch`), or None.

    git refs.c `check_branch_ref`: no leading '-', not 'HEAD', then `check_refname_format` on
    refs/heads/<name>: no component starting with '.' or ending with '.lock', no '..', '@{',
    '//', control characters, space or any of ~^:?*[\\, no leading '/', no trailing '/' or '.'.
    On top of git: at most 100 characters, and a name that leaves something once slugged
    (branch_slug), since per-branch resources are named after the slug.
    """
    why = None
    if not name:
        why = "is empty"
    elif name.startswith("-"):
        why = "starts with '-'"
    elif name == "HEAD":
        why = "is reserved by git"
    elif re.search(r"[\x00-\x20\x7f~^:?*\[\\]", name):
        why = "contains a space, a control character or one of ~^:?*[\\"
    elif ".." in name or "@{" in name or "//" in name:
        why = "contains '..', '@{' or '//'"
    elif name.startswith("/") or name.endswith(("/", ".")):
        why = "starts with '/' or ends with '/' or '.'"
    elif any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        why = "has a part starting with '.' or ending with '.lock'"
    elif len(name) > 100:
        why = f"is longer than 100 characters ({len(name)})"
    elif not branch_slug(name):
        why = "has no letters or digits (resource names are made from them)"
    return f"must be a git branch name: {_show(name)} {why}" if why else None


def _branch_or_empty(v: str) -> str | None:
    return None if v == "" else git_branch_problem(v)


def _no_duplicates(values: tuple[str, ...]) -> str | None:
    seen: set[str] = set()
    twice = [v for v in values if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
    return f"lists {_show(twice[0])} more than once" if twice else None


def _control_characters(value: str, *, allow_newlines: bool = False) -> bool:
    """True when `value` holds a control, format or line-separator character (category C*, Zl, Zp)."""
    allowed = "\n\r\t" if allow_newlines else ""
    return any(unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")
               for c in value if c not in allowed)


def _each(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    def run(values: tuple[str, ...]) -> str | None:
        errors = [e for e in (check(v) for v in values) if e]
        return errors[0] if errors else None
    return run


def _r2_location(v: str) -> str | None:
    if v == "auto":
        return ("'auto' is not an R2 location hint (the seed guide's Terraform value); use one of "
                f"{', '.join(R2_LOCATIONS)} or leave it empty to let Cloudflare choose")
    return None if v in ("", *R2_LOCATIONS) else f"must be empty or one of {', '.join(R2_LOCATIONS)} (got {_show(v)})"


def _clerk_frontend_api(v: str) -> str | None:
    """Clerk's Frontend API is one host (https://clerk.<domain>): no port, no wildcard."""
    if v == "":
        return None
    problem = https_origin_problem(v, wildcard=False, port=False)
    return f"must be empty or {problem.removeprefix('must be ')}" if problem and problem.startswith("must be ") \
        else problem


def _nonempty(v: tuple[str, ...]) -> str | None:
    return None if v else "must list at least one value"


CHECKS: dict[str, list[Callable[[Any], str | None]]] = {
    "vercel_plan": [_one_of(VERCEL_PLANS)],
    "vercel_team": [lambda v: None if v == "" or _VERCEL_TEAM.match(v) else
                    f"must be empty, a Vercel team slug or a team id (team_...) (got {_show(v)})"],
    "cloudflare_account_id": [_matches(_HEX32, "a 32-character hex Cloudflare account id")],
    # The provider's own rule: LengthBetween(1, 52) and ^[a-z0-9\-]{0,100}$ (terraform-provider-vercel
    # vercel/resource_project.go:94-101); "." and "_" would fail at preview.
    "vercel_project_name": [_matches(re.compile(r"^[a-z0-9-]{1,52}$"),
                                     "a Vercel project name: 1-52 lowercase letters, digits or hyphens")],
    "git_repository": [_repository],
    "github_infra_repository": [_repository],
    "production_branch": [git_branch_problem],
    "framework": [_framework],
    "build_command": [_command],
    "install_command": [_command],
    "dev_command": [_command],
    "output_directory": [_relative_directory],
    "function_regions": [_nonempty, _each(_function_region)],
    "function_max_duration": [_between(1, 900)],
    "deployment_protection": [_one_of(DEPLOYMENT_PROTECTION)],
    "skew_protection": [_one_of(SKEW_PROTECTION)],
    "rate_limit_requests": [_between(1, 1_000_000)],
    "rate_limit_window_seconds": [_between(MIN_RATE_LIMIT_WINDOW_SECONDS, 3600)],
    "firewall_managed_rules": [_one_of(get_args(ManagedRulesMode))],
    "rate_limit_path": [_matches(re.compile(r"^/[A-Za-z0-9/_.-]*$"), "a path starting with /")],
    "hsts_max_age": [lambda v: None if v >= ONE_YEAR else f"must be at least {ONE_YEAR} (one year; got {v})"],
    "clerk_frontend_api": [_clerk_frontend_api],
    "preview_clerk_frontend_api": [_clerk_frontend_api],
    "csp_connect_sources": [_each(lambda v: https_origin_problem(v, wildcard=True, port=True))],
    "csp_script_hashes": [_each(_script_hash)],
    "domain": [_matches(_HOST, "a lowercase DNS name")],
    "dns_zone": [_matches(_HOST, "a lowercase DNS zone name")],
    "domain_git_branch": [_branch_or_empty],
    "reports_bucket_name": [_matches(_BUCKET, "3-63 lowercase letters, digits or hyphens")],
    "backups_bucket_name": [_matches(_BUCKET, "3-63 lowercase letters, digits or hyphens")],
    "r2_location": [_r2_location],
    "r2_jurisdiction": [_one_of(R2_JURISDICTIONS)],
    "backup_retention_days": [_between(1, 3650)],
    "db_host": [_matches(_HOST, "a DNS host name")],
    "db_port": [_between(1, 65535)],
    "db_admin_user": [_matches(re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$"), "a Postgres role name")],
    "db_admin_database": [_matches(_IDENT, "a lowercase Postgres identifier")],
    "db_ssl_mode": [lambda v: None if v in SSL_MODES else
                    f"must be one of {', '.join(SSL_MODES)}: connections without TLS are not allowed (got {_show(v)})"],
    # Roles are named <db>_owner, <db>_app and <db>_backup; Postgres truncates names past 63 characters.
    "db_name": [_matches(_IDENT, "a lowercase Postgres identifier"),
                lambda v: None if len(v) <= 56 else f"must be at most 56 characters so <db>_backup fits 63 (got {len(v)})"],
    # 0 stops the app's new sessions: docs/runbooks/rollback.md, "Data", step 1.
    "db_connection_limit": [_between(0, 10_000)],
    "db_rotation_connections": [_between(0, 10_000)],
    "db_password_version": [_between(1, 1_000_000)],
    "clerk_publishable_key": [_clerk_publishable_key],
    "generated_keys_version": [_between(1, 1_000_000)],
    "extra_preview_environments": [lambda v: None if not v else (
        "removed: each pull request now gets its own stack pr-<number> (README \"CI/CD\"). Delete the key from "
        "the stack file; the next `pulumi up` of preview then deletes the branch databases, keys and variables "
        "it declared (dump any branch data you need first); the preview stack's own resources stay as they are")],
    "pull_request_number": [_between(0, 999_999_999)],
    "pull_request_branch": [_branch_or_empty],
    "github_reviewer_user_ids": [_each(_matches(re.compile(r"^[1-9][0-9]{0,14}$"), "a numeric GitHub user id")),
                                 lambda v: None if len(v) <= 6 else f"GitHub takes at most 6 (got {len(v)})"],
    "github_reviewer_team_ids": [_each(_matches(re.compile(r"^[1-9][0-9]{0,14}$"), "a numeric GitHub team id")),
                                 lambda v: None if len(v) <= 6 else f"GitHub takes at most 6 (got {len(v)})"],
}

# Database server: PostgreSQL 14 and older leave schema public to a superuser, so a non-superuser
# admin cannot take CREATE away from PUBLIC there (catalog.PG_MIN_SERVER_MAJOR_VERSION).
MIN_DB_SERVER_MAJOR_VERSION = catalog.PG_MIN_SERVER_MAJOR_VERSION
CHECKS |= {
    "db_server_major_version": [
        lambda v: None if v >= MIN_DB_SERVER_MAJOR_VERSION else (
            f"PostgreSQL {v} is not supported: {MIN_DB_SERVER_MAJOR_VERSION} or newer is required (on 14 and older "
            "PUBLIC may create tables in schema public and a non-superuser admin cannot revoke it); upgrade the server"),
        _between(MIN_DB_SERVER_MAJOR_VERSION, 99),
    ],
    "db_ssl_root_cert": [_matches(re.compile(r"^$|^[A-Za-z0-9_./-]+\.(pem|crt)$"),
                                  "empty or the path of a .pem/.crt file")],
}

# Secrets are checked for shape only; messages never include the value.
SECRET_CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "upstash_redis_url": (lambda v: bool(re.fullmatch(r"rediss://[^\s:@/]*:[^\s@/]+@[a-z0-9.-]+(:\d{1,5})?/?", v)),
                          "must be a rediss://<user>:<password>@<host>[:port] URL (TLS)"),
    # Sentry's DSN: https://<public key>[:<secret>]@<host>[:port]/[<path>/]<project id>
    # (develop.sentry.dev/sdk/overview/, "Parsing the DSN").
    "sentry_dsn": (lambda v: bool(re.fullmatch(
        r"https://[A-Za-z0-9-]+(:[A-Za-z0-9-]+)?@[a-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._-]+)*/[0-9]+", v)),
        "must be an https://<key>@<host>/<project id> DSN"),
    "clerk_secret_key": (lambda v: bool(re.fullmatch(r"sk_(live|test)_[A-Za-z0-9]+", v)),
                         "must be a Clerk secret key (sk_live_... or sk_test_...)"),
    # Clerk's JWT verification key is a PEM public key; newlines may be real or written as \n.
    "clerk_jwt_key": (lambda v: bool(re.fullmatch(
        r"\s*-----BEGIN PUBLIC KEY-----(\s|\\n)+([A-Za-z0-9+/=]+(\s|\\n)+)+-----END PUBLIC KEY-----\s*", v)),
        "must be a PEM public key (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)"),
}
MULTILINE_SECRETS = frozenset({"clerk_jwt_key"})
"""Secrets that may span lines (PEM); every other secret is one line without control characters."""


MIN_SECRET_LENGTH = 16
"""Shorter values are refused: no credential this program takes is that short, and a review of its
output cannot keep a short value out of it without turning every copy of that text into [secret]
(a common word such as `production` would reveal itself that way)."""


def _secret_problem(name: str, raw: str) -> str | None:
    """What is wrong with a secret's value, in words that never include the value."""
    if not raw.strip():
        return "is empty or blank"
    if _control_characters(raw, allow_newlines=name in MULTILINE_SECRETS):
        return "contains a line break or control character (a pasted newline?)"
    check = SECRET_CHECKS.get(name)
    if check and not check[0](raw):
        return check[1]
    return weak_secret_problem(raw)


def weak_secret_problem(raw: str) -> str | None:
    """Why a secret value is too weak to be a credential (words only, never the value), or None."""
    if len(raw.strip()) < MIN_SECRET_LENGTH:
        return f"is too short to be a credential (fewer than {MIN_SECRET_LENGTH} characters)"
    if re.fullmatch(r"[A-Za-z]+(?:[ _-][A-Za-z]+)*", raw.strip()):
        return "is made of words, not a credential"
    return None


_INTEGER = re.compile(r"[-+]?(0|[1-9][0-9]{0,17})")
"""Decimal ASCII digits, at most 18 (fits int64): no `3_0`, `0x1f`, `٣٠` or 4,000-digit numbers,
which Python's int() would take."""


def _parse(raw: str, decl: projectfile.Declaration) -> Any:
    if decl.type == "integer":
        if not _INTEGER.fullmatch(raw):
            raise ValueError
        return int(raw)
    if decl.type == "boolean":
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise ValueError
        return lowered == "true"
    if decl.type == "array":
        value = json.loads(raw)
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise ValueError
        return tuple(value)
    return raw


_EXPECTED = {"integer": "an integer", "boolean": "true or false", "array": "a list of strings", "string": "a string"}


def _plan_checks(v: Mapping[str, Any]) -> list[str]:
    """What the Vercel plan (`vercelPlan`) does not allow, one message per key."""
    plan = v.get("vercel_plan")
    if plan not in PLAN_LIMITS:
        return []
    limits = PLAN_LIMITS[plan]
    key = config_key
    on_plan = f"on the {plan} plan ({key('vercel_plan')})"
    problems: list[str] = []
    if limits.team and not v.get("vercel_team", "x"):
        problems.append(f"{key('vercel_team')}: required {on_plan}: without the team scope the provider "
                        "creates everything in the token owner's personal Hobby scope")
    regions = v.get("function_regions") or ()
    if not limits.multiple_function_regions and len(regions) > 1:
        problems.append(f"{key('function_regions')}: functions run in one region {on_plan}; "
                        f"got {len(regions)} ({', '.join(regions)})")
    duration = v.get("function_max_duration")
    if isinstance(duration, int) and duration > limits.max_function_duration_seconds:
        problems.append(f"{key('function_max_duration')}: at most {limits.max_function_duration_seconds} "
                        f"seconds {on_plan} (got {duration})")
    if not limits.skew_protection and v.get("skew_protection", "off") != "off":
        problems.append(f"{key('skew_protection')}: Skew Protection is not available {on_plan}; set it to off")
    if v.get("vercel_observability_plus") and plan == "hobby":
        problems.append(f"{key('vercel_observability_plus')}: an add-on of the pro and enterprise plans; "
                        f"{key('vercel_plan')} is hobby")
    return problems


def _cross_checks(stack: str, v: Mapping[str, Any], program_dir: Path) -> list[str]:
    problems: list[str] = _plan_checks(v)
    key = config_key
    if "domain" in v and "dns_zone" in v and not (v["domain"] == v["dns_zone"] or v["domain"].endswith("." + v["dns_zone"])):
        problems.append(f"{key('domain')}: {v['domain']!r} is not inside {key('dns_zone')} {v['dns_zone']!r}")
    if v.get("reports_bucket_name") and v.get("reports_bucket_name") == v.get("backups_bucket_name"):
        problems.append(f"{key('backups_bucket_name')}: must differ from {key('reports_bucket_name')}")
    if v.get("domain_git_branch") and v.get("domain_git_branch") == v.get("production_branch"):
        problems.append(f"{key('domain_git_branch')}: the production branch already gets the production domain; "
                        "leave it empty instead")
    if stack == "prod" and v.get("protect_stateful_resources") is False:
        problems.append(f"{key('protect_stateful_resources')}: must stay true in prod (databases and buckets are protected)")
    if stack == "prod" and v.get("domain_git_branch"):
        problems.append(f"{key('domain_git_branch')}: the prod domain serves production; leave it empty")
    if stack == "preview" and not v.get("domain_git_branch") and "domain_git_branch" in v:
        problems.append(f"{key('domain_git_branch')}: required in preview (the branch the preview domain follows)")
    problems.extend(_clerk_cross_checks(v))
    problems.extend(_database_cross_checks(v, program_dir))
    problems.extend(_app_directory_problems(v.get("app_directory") or "", program_dir))
    problems.extend(_postgres_name_problems(v))
    problems.extend(_pull_request_checks(stack, v))
    if v.get("github_guardrails") and stack != "prod":
        problems.append(f"{key('github_guardrails')}: only prod owns the repository's guardrails")
    elif v.get("github_guardrails") and not (v.get("github_reviewer_user_ids") or v.get("github_reviewer_team_ids")):
        problems.append(f"{key('github_guardrails')}: the production environment needs a reviewer; set "
                        f"{key('github_reviewer_user_ids')} or {key('github_reviewer_team_ids')}")
    return problems


def _clerk_cross_checks(v: Mapping[str, Any]) -> list[str]:
    """The publishable key belongs to the Clerk instance whose Frontend API the CSP allows: a key of
    another instance (another stack's, a development instance's) signs users in elsewhere."""
    api, key = v.get("clerk_frontend_api"), v.get("clerk_publishable_key")
    if not api or not key:
        return []
    api_host, key_host = api.removeprefix("https://"), clerk_key_host(key)
    if key_host is None or key_host == api_host:
        return []
    return [f"{config_key('clerk_publishable_key')}: is the key of the Clerk instance at {key_host!r}, not of "
            f"{config_key('clerk_frontend_api')} {api_host!r}; set the publishable key of that instance (Clerk "
            "dashboard, API keys) or correct the Frontend API"]


def _pull_request_checks(stack: str, v: Mapping[str, Any]) -> list[str]:
    """A pr-<n> stack belongs to one pull request and one branch; the long-lived stacks to none."""
    key = config_key
    number, branch = pr_number(stack), v.get("pull_request_branch")
    if number is None:
        problems = []
        if v.get("pull_request_number"):
            problems.append(f"{key('pull_request_number')}: only pull-request stacks (pr-<number>) have one")
        if branch:
            problems.append(f"{key('pull_request_branch')}: only pull-request stacks (pr-<number>) have one")
        return problems
    problems = []
    if "pull_request_number" in v and v["pull_request_number"] != number:
        problems.append(f"{key('pull_request_number')}: must be {number}, the number in the stack name {stack!r} "
                        f"(got {v['pull_request_number']})")
    if "pull_request_branch" in v:
        if not branch:
            problems.append(f"{key('pull_request_branch')}: required in a pull-request stack (the branch its "
                            "variables are scoped to); write the stack file with `python -m infra.prstack`")
        elif branch == v.get("production_branch"):
            problems.append(f"{key('pull_request_branch')}: {_show(branch)} is the production branch")
        elif branch == v.get("domain_git_branch"):
            problems.append(f"{key('pull_request_branch')}: {_show(branch)} is the branch the preview domain follows; "
                            "its variables belong to the preview stack")
    if v.get("protect_stateful_resources") is True:
        problems.append(f"{key('protect_stateful_resources')}: must be false in a pull-request stack "
                        "(it is destroyed when the pull request closes)")
    if "db_name" in v and not v["db_name"].endswith(f"_pr_{number}"):
        problems.append(f"{key('db_name')}: must end in _pr_{number} so each pull request has its own database "
                        f"(got {v['db_name']!r})")
    return problems


def _app_directory_problems(value: str, program_dir: Path) -> list[str]:
    """appDirectory is uploaded to Vercel: it must be a directory of this repository, not .git."""
    if not value:
        return []
    key = config_key("app_directory")
    program = program_dir.resolve()
    if PurePosixPath(value).is_absolute() or value.startswith("~"):
        return [f"{key}: {_show(value)} must be relative to the program directory {program}"]
    try:
        app = (program / value).resolve()  # symlinks resolved: a link out of the repository counts as out
    except (OSError, ValueError) as exc:
        return [f"{key}: {_show(value)} cannot be resolved ({getattr(exc, 'strerror', None) or exc})"]
    if not app.is_relative_to(program):
        return [f"{key}: {_show(value)} is outside the program directory {program}"]
    if ".git" in app.relative_to(program).parts:
        return [f"{key}: {_show(value)} is inside .git; point it at the application's own directory"]
    try:
        is_dir = app.is_dir()
    except OSError:
        is_dir = False
    if not is_dir:
        return [f"{key}: {_show(value)} is not a directory (relative to {program_dir})"]
    if app == program:
        # The bundle is rendered inside the program; copying a parent would upload the
        # program, its state files and its virtualenv to Vercel.
        return [f"{key}: {_show(value)} contains this program; point it at the application's own directory"]
    return []


# Names Postgres reserves or that this program must never take over: the maintenance database,
# the templates (CREATE DATABASE copies template1), and `pg_`-prefixed role names, which
# CREATE ROLE refuses ("role name ... is reserved", postgres src/backend/commands/user.c).
_SYSTEM_DATABASES = ("postgres", "template0", "template1")


def _postgres_name_problems(v: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    db, admin, admin_db = v.get("db_name"), v.get("db_admin_user"), v.get("db_admin_database")
    if isinstance(admin, str) and admin.startswith("pg_"):
        problems.append(f"{config_key('db_admin_user')}: role names starting with pg_ are reserved by Postgres")
    if not isinstance(db, str) or not db:
        return problems
    key = config_key("db_name")
    if db in _SYSTEM_DATABASES:
        problems.append(f"{key}: {db!r} is a Postgres system database; the program would own and manage it")
    elif db == admin_db:
        problems.append(f"{key}: must differ from {config_key('db_admin_database')} ({db!r}), "
                        "the database the admin connection opens")
    if db.startswith("pg_"):
        problems.append(f"{key}: must not start with pg_: its roles {db}_owner, {db}_app and {db}_backup "
                        "would be reserved names Postgres refuses")
    kinds = ("owner", "app", "backup")
    for role in (f"{db}_{r}" for r in kinds):
        if role == admin:
            problems.append(f"{key}: the program's role {role!r} would be the admin role {config_key('db_admin_user')}")
    return problems


def all_config_keys() -> set[str]:
    """Every config key the engine handed the program, in every namespace.

    The language host passes the whole stack config as the PULUMI_CONFIG JSON bag (read by
    pulumi/runtime/config.py `get_config_env`); the mock runtime sets it with `set_all_config`.
    """
    from pulumi.runtime import config as runtime_config  # noqa: PLC0415

    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())


def _normalised(namespace: str) -> str:
    return re.sub(r"[^a-z0-9]", "", namespace.lower())


def undeclared_key_problems(project: str, keys: Iterable[str], declared: Iterable[str],
                            namespaces: Iterable[str] = CONFIG_NAMESPACES) -> list[str]:
    """Keys no one reads: in this project's namespace (or a misspelling of it) but not declared in
    Pulumi.yaml, or under a namespace that is neither the project's nor one of `namespaces`.

    Pulumi passes such keys to the program silently, so a misspelt `dbSslMode`, or `ara:hstsPreload`
    for `ara-infra:hstsPreload`, would leave the default in place without a word.
    """
    declared = sorted(declared)
    namespaces = set(namespaces)
    problems = []
    for full in sorted(keys):
        namespace, sep, name = full.partition(":")
        if not sep:
            continue
        if namespace == project:
            if name not in declared:
                problems.append(f"{full}: not a key of this program (not declared in Pulumi.yaml)"
                                f"{_did_you_mean(name, declared)}")
            continue
        if namespace in namespaces:
            continue
        meant = name if name in declared else (difflib.get_close_matches(name, declared, n=1) or [None])[0]
        if _normalised(namespace) == _normalised(project) or \
                difflib.SequenceMatcher(None, namespace, project).ratio() >= 0.8:
            problems.append(f"{full}: namespace {namespace!r} is not this project's; "
                            f"did you mean '{project}:{meant or name}'?")
        else:
            hint = f"; did you mean '{project}:{meant}'?" if meant else ""
            problems.append(f"{full}: namespace {namespace!r} is neither this project's ({project}) nor one of "
                            f"{', '.join(sorted(namespaces))}; nothing reads the key{hint}")
    return problems


def _database_cross_checks(v: Mapping[str, Any], program_dir: Path) -> list[str]:
    """The CA file the provider verifies the server with: present, a PEM certificate, with a verifying sslmode."""
    key = config_key
    path = v.get("db_ssl_root_cert")
    if not path:
        return []
    problems: list[str] = []
    if v.get("db_ssl_mode") not in ("verify-ca", "verify-full"):
        problems.append(f"{key('db_ssl_root_cert')}: only used to verify the server; set {key('db_ssl_mode')} "
                        f"to verify-ca or verify-full (got {v.get('db_ssl_mode')!r})")
    file = program_dir / path
    try:
        pem = file.read_text(errors="replace")
    except OSError:
        problems.append(f"{key('db_ssl_root_cert')}: {path!r} is not a readable file (relative to {program_dir})")
    else:
        if "-----BEGIN CERTIFICATE-----" not in pem:
            problems.append(f"{key('db_ssl_root_cert')}: {path!r} holds no PEM certificate")
    return problems


def load_config(
    stack: str | None = None,
    cfg: pulumi.Config | None = None,
    program_dir: Path | None = None,
) -> StackConfig:
    """Read and validate every declared key; raise ConfigError listing all problems."""
    stack = stack or pulumi.get_stack()
    cfg = cfg or pulumi.Config()
    program_dir = program_dir or projectfile.default_program_dir()
    decls = projectfile.declarations(program_dir)
    problems: list[str] = []
    is_pr = pr_number(stack) is not None
    if stack not in STACKS and not is_pr:
        problems.append(f"stack '{stack}' has no composition in stacks/; expected one of {', '.join(STACKS)} "
                        "or pr-<pull request number>")
    problems.extend(undeclared_key_problems(cfg.name, all_config_keys(), decls))
    values: dict[str, Any] = {}
    for name in CONFIG_FIELDS:
        key = config_key(name)
        decl = decls.get(key)
        if decl is None:
            problems.append(f"{key}: read by the program but not declared in Pulumi.yaml")
            continue
        set_cmd = f"pulumi config set {'--secret ' if decl.secret else ''}{key} <value>"
        if is_pr and name in PR_UNREAD_SECRETS:
            values[name] = None  # set by the workflow only because the CLI requires it; never read
            continue
        raw = cfg.get(key)
        if raw is None and decl.has_default:
            raw = projectfile.as_config_string(decl.default)
        if raw is None:
            problems.append(f"{cfg.full_key(key)}: required ({decl.description.rstrip('.')}); set it with `{set_cmd}`")
            continue
        if decl.secret:
            problem = _secret_problem(name, raw)
            if problem:
                problems.append(f"{cfg.full_key(key)}: {problem} (value not shown)")
            if not cfg_is_secret(cfg, key):
                problems.append(f"{cfg.full_key(key)}: is a secret; store it with `{set_cmd}`")
            values[name] = cfg.require_secret(key)
            continue
        try:
            value = _parse(raw, decl)
        except ValueError:
            what = "an integer in decimal digits" if decl.type == "integer" else _EXPECTED[decl.type]
            problems.append(f"{cfg.full_key(key)}: must be {what} (got {_show(raw)})")
            continue
        error = _value_problem(name, value)
        if error:
            # Left out of `values`: the cross-checks (paths, files) only see values that passed.
            problems.append(f"{cfg.full_key(key)}: {error}")
            continue
        values[name] = value
    problems.extend(f"{cfg.name}:{p}" for p in _cross_checks(stack, values, program_dir))
    if problems:
        raise ConfigError(stack, problems)
    return StackConfig(stack=stack, **values)


def _value_problem(name: str, value: Any) -> str | None:
    """The first problem of one parsed, non-secret value: characters, duplicates, then its checks."""
    items = value if isinstance(value, tuple) else (value,) if isinstance(value, str) else ()
    for item in items:
        if _control_characters(item):
            return f"must not contain line breaks or control characters (got {_show(item)})"
    if isinstance(value, tuple) and (error := _no_duplicates(value)):
        return error
    for check in CHECKS.get(name, []):
        if error := check(value):
            return error
    return None


def cfg_is_secret(cfg: pulumi.Config, key: str) -> bool:
    from pulumi.runtime.config import is_config_secret

    return is_config_secret(cfg.full_key(key))

