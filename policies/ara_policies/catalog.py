"""Names shared by the program, the policy pack, the review tool and the tests.

The one copy lives here, in the pack, because `pulumi policy publish` packs only `policies/`;
the program reads this same file as `infra.catalog` (see `infra/catalog.py`). Stdlib only: the
pack imports it inside its own virtualenv, where the provider SDKs are not installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

PROJECT_NAME = "ara-infra"
"""The Pulumi project name; config keys live in this namespace."""

# --- provider resource type tokens (as the engine and a policy pack see them) ---
VERCEL_PROJECT = "vercel:index/project:Project"
VERCEL_ENV_VAR = "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable"
VERCEL_ENV_VARS = "vercel:index/projectEnvironmentVariables:ProjectEnvironmentVariables"
VERCEL_PROJECT_DOMAIN = "vercel:index/projectDomain:ProjectDomain"
VERCEL_PROJECT_ROUTE = "vercel:index/projectRoute:ProjectRoute"
VERCEL_FIREWALL_CONFIG = "vercel:index/firewallConfig:FirewallConfig"
VERCEL_DEPLOYMENT = "vercel:index/deployment:Deployment"
VERCEL_PROTECTION_BYPASS = "vercel:index/projectProtectionBypass:ProjectProtectionBypass"
VERCEL_DEPLOYMENT_RETENTION = "vercel:index/projectDeploymentRetention:ProjectDeploymentRetention"
VERCEL_PROVIDER = "pulumi:providers:vercel"
VERCEL_CUSTOM_ALERT_RULE = "vercel:index/customAlertRule:CustomAlertRule"
VERCEL_ALERT_RULE = "vercel:index/alertRule:AlertRule"

CF_R2_BUCKET = "cloudflare:index/r2Bucket:R2Bucket"
CF_R2_LIFECYCLE = "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle"
CF_R2_CORS = "cloudflare:index/r2BucketCors:R2BucketCors"
CF_R2_MANAGED_DOMAIN = "cloudflare:index/r2ManagedDomain:R2ManagedDomain"
CF_R2_CUSTOM_DOMAIN = "cloudflare:index/r2CustomDomain:R2CustomDomain"
CF_R2_LOCK = "cloudflare:index/r2BucketLock:R2BucketLock"
CF_API_TOKEN = "cloudflare:index/apiToken:ApiToken"
CF_ACCOUNT_TOKEN = "cloudflare:index/accountToken:AccountToken"
CF_DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
CF_RECORD_LEGACY = "cloudflare:index/record:Record"
CF_ACCESS_APPLICATION = "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication"
CF_ACCESS_APPLICATION_LEGACY = "cloudflare:index/accessApplication:AccessApplication"
"""Deprecated alias of `CF_ACCESS_APPLICATION` (pulumi_cloudflare 6.23.1 `access_application.py`)."""

PG_PROVIDER = "pulumi:providers:postgresql"
PG_ROLE = "postgresql:index/role:Role"
PG_DATABASE = "postgresql:index/database:Database"
PG_EXTENSION = "postgresql:index/extension:Extension"
PG_GRANT = "postgresql:index/grant:Grant"
PG_GRANT_ROLE = "postgresql:index/grantRole:GrantRole"
PG_DEFAULT_PRIVILEGES = "postgresql:index/defaultPrivileges:DefaultPrivileges"
PG_GRANT_ROLE = "postgresql:index/grantRole:GrantRole"
# PostgreSQL 15 gave schema public to the database owner and took CREATE from PUBLIC; on 14 and
# older a non-superuser admin cannot take it back, so such servers are refused.
PG_MIN_SERVER_MAJOR_VERSION = 15

RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"

GH_RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
GH_ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
GH_ENVIRONMENT_POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
GH_ENVIRONMENT_SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"
GH_ENVIRONMENT_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"

# --- invoke tokens the program calls (the mocks answer these) ---
INVOKE_GET_PROJECT = "vercel:index/getProject:getProject"
INVOKE_GET_PROJECT_DIRECTORY = "vercel:index/getProjectDirectory:getProjectDirectory"
INVOKE_GET_DOMAIN_CONFIG = "vercel:index/getDomainConfig:getDomainConfig"
INVOKE_GET_ZONE = "cloudflare:index/getZone:getZone"
INVOKE_GET_PERMISSION_GROUPS = (
    "cloudflare:index/getApiTokenPermissionGroupsList:getApiTokenPermissionGroupsList"
)
INVOKE_GET_ACCOUNT_PERMISSION_GROUPS = (
    "cloudflare:index/getAccountApiTokenPermissionGroupsList:getAccountApiTokenPermissionGroupsList"
)

# --- our component type tokens: ara:<area>:<Class> ---
TOKEN_WEB_PROJECT = "ara:vercel:WebProject"
TOKEN_APP_ENVIRONMENT = "ara:vercel:AppEnvironment"
TOKEN_APP_DEPLOYMENT = "ara:vercel:AppDeployment"
TOKEN_RATE_LIMIT = "ara:edge:RateLimit"
TOKEN_SECURITY_HEADERS = "ara:edge:SecurityHeaders"
TOKEN_GENERATED_KEYS = "ara:secrets:GeneratedKeys"
TOKEN_OBJECT_STORAGE = "ara:storage:ObjectStorage"
TOKEN_DATABASE = "ara:database:Database"
TOKEN_APP_DOMAIN = "ara:dns:AppDomain"
TOKEN_VERCEL_TEAM = "ara:vercel:VercelTeam"
TOKEN_MONITORING = "ara:monitoring:Monitoring"
TOKEN_REPOSITORY_GUARDRAILS = "ara:github:RepositoryGuardrails"

# --- Vercel plan limits shared by infra/config.py and the pack ---
# Longest WAF rate-limit counting window per plan, in seconds (vercel.com/docs/vercel-firewall/
# vercel-waf/rate-limiting, "Limits": Hobby and Pro 10 s-10 min, Enterprise 10 s-1 h).
RATE_LIMIT_MAX_WINDOW_SECONDS = {"hobby": 600, "pro": 600, "enterprise": 3600}
RATE_LIMIT_MIN_WINDOW_SECONDS = 10

# Stateful types: data lives in them, so a replace or delete loses it.
STATEFUL_TYPES = frozenset({PG_DATABASE, CF_R2_BUCKET})

# --- Vercel environment targets ---
TARGET_PRODUCTION = "production"
TARGET_PREVIEW = "preview"
TARGET_DEVELOPMENT = "development"

# Prefixes that bundlers inline into client-side JavaScript.
PUBLIC_PREFIXES = ("NEXT_PUBLIC_", "PUBLIC_", "VITE_")

# Key names that hold credentials even when the catalog does not list them.
SECRET_KEY_PATTERNS = (
    r".*SECRET.*",
    r".*_KEY",
    r".*_KEY_ID",
    r".*APIKEY",                                      # SENDGRID_APIKEY
    r".*_TOKEN",
    r".*PASSWORD.*",
    r"(?:.*_)?PASS",                                  # SMTP_PASS (not BYPASS)
    r"(?:.*_)?(?:PASSWD|PWD)",
    r".*_DSN",
    r".*CREDENTIALS?",
    r"(?:.*_)?CONNECTION_STRING",
    r"(?:.*_)?DATABASE_UR[LI](?:_.*)?",               # DATABASE_URL, READ_DATABASE_URL, DATABASE_URL_UNPOOLED
    r"(?:.*_)?POSTGRES(?:QL)?_(?:.*_)?URL(?:_.*)?",   # Vercel/Neon POSTGRES_URL, POSTGRES_PRISMA_URL, ..._NON_POOLING
    r"(?:.*_)?(?:REDIS|KV|MONGO(?:DB)?|MYSQL|AMQP|RABBITMQ)_UR[LI]",  # REDIS_URL, KV_URL, MONGODB_URI
)
_SECRET_KEY_RE = re.compile("|".join(f"(?:{p})" for p in SECRET_KEY_PATTERNS))

# Key names that match a secret pattern but are public by design: clients are meant to hold them.
PUBLIC_BY_DESIGN_PATTERNS = (
    r".*PUBLISHABLE_KEY",  # Stripe pk_* / Clerk / Supabase sb_publishable_ keys, made for client code
                           # (https://docs.stripe.com/keys)
    r".*_ANON_KEY",        # Supabase: "Your anon key is safe to expose with RLS enabled"
                           # (https://supabase.com/docs/guides/database/secure-data)
)
_PUBLIC_BY_DESIGN_RE = re.compile("|".join(f"(?:{p})" for p in PUBLIC_BY_DESIGN_PATTERNS))
# A Sentry DSN for the browser SDK is public ("DSNs are safe to keep public because they only allow
# submission of new events", https://docs.sentry.io/concepts/key-terms/dsn-explainer/), so under a
# public prefix it is not a secret.
_PUBLIC_SENTRY_DSN_RE = re.compile(r"(?:.*_)?SENTRY_DSN")

# Values shaped like credentials, whatever their key: a URL with a password in its userinfo
# (`postgres://u:p@h/db`, `rediss://:pw@h`), a PEM private key, Stripe/OpenAI-style secret keys.
_CREDENTIAL_VALUE_RE = re.compile(
    r"^[a-z][a-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@|^-----BEGIN [A-Z ]*PRIVATE KEY-----|^(?:sk|rk)_(?:live|test)_|^sk-",
    re.IGNORECASE)

OFFLINE_PLACEHOLDER_MARK = "ara-placeholder-"
"""Part of every stand-in the offline review tool uses for a secret config value it does not have
(`infra/projectfile.py` `placeholder()`). Its content is not the value, so no policy judges it."""


def is_offline_placeholder(value: object) -> bool:
    """True for a value built from an offline placeholder (its real content is unknown)."""
    return isinstance(value, str) and OFFLINE_PLACEHOLDER_MARK in value


def is_credential_value(value: object) -> bool:
    """True when a known value looks like a credential (matched only, never echoed)."""
    return isinstance(value, str) and bool(_CREDENTIAL_VALUE_RE.search(value.strip()))


# Credential-shaped text anywhere in a string (not only at its start): what a message, an error or
# any output must never print, whatever key or property it came under. Each prefix is the vendor's
# documented key format: Clerk/Stripe sk_live_/sk_test_/rk_ (docs.stripe.com/keys), OpenAI and
# Anthropic sk-..., AWS access key ids AKIA... (20 characters), GitHub ghp_/gho_/ghu_/ghs_/ghr_ and
# github_pat_ tokens, Slack xox?- tokens, a PEM private key's armour, a JWT (two base64url JSON
# segments), and a URL with a password in its userinfo.
CREDENTIAL_TEXT = re.compile(
    r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]*"
    r"|\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}"
    r"|\b[a-z][a-z0-9+.-]*://[^/@\s:\[\]<>]*:[^/@\s\[\]<>]+@")  # not `<user>:<password>@`, a placeholder


def contains_credential(value: object) -> bool:
    """True when a string holds credential-shaped text anywhere (matched only, never echoed)."""
    return isinstance(value, str) and (is_credential_value(value) or bool(CREDENTIAL_TEXT.search(value)))


class Source(str, Enum):
    """Where an environment variable's value comes from."""

    SECRET_CONFIG = "secret-config"
    """A secret the operator sets with `pulumi config set --secret`."""
    CONFIG = "config"
    """A plain stack config value."""
    GENERATED = "generated"
    """A `random.RandomPassword` owned by the stack."""
    DERIVED = "derived"
    """An output of another component (database URL, bucket name, ...)."""
    LITERAL = "literal"
    """A constant."""


@dataclass(frozen=True, kw_only=True)
class EnvVarSpec:
    """One entry of the ARA environment-variable catalog."""

    key: str
    """The variable name the application reads."""
    source: Source
    """Where the value comes from."""
    sensitive: bool
    """Whether Vercel stores it as a sensitive (write-only) variable."""
    origin: str
    """Config key, generated-key name, derived output name or literal value."""
    description: str
    """What the application uses it for."""


ENV_VARS: tuple[EnvVarSpec, ...] = (
    EnvVarSpec(key="DATABASE_URL", source=Source.DERIVED, sensitive=True, origin="database_url",
               description="Postgres URL of the runtime role, TLS required."),
    EnvVarSpec(key="CLERK_SECRET_KEY", source=Source.SECRET_CONFIG, sensitive=True, origin="clerkSecretKey",
               description="Clerk backend API key."),
    EnvVarSpec(key="CLERK_JWT_KEY", source=Source.SECRET_CONFIG, sensitive=True, origin="clerkJwtKey",
               description="Clerk JWT verification key (PEM) for networkless session checks."),
    # Astro exposes only PUBLIC_* variables to client code, and @clerk/astro reads
    # PUBLIC_CLERK_PUBLISHABLE_KEY (clerk/javascript PR #3669); the guide's NEXT_PUBLIC_* names
    # (the Next.js convention) stay for server code written against the guide.
    EnvVarSpec(key="PUBLIC_CLERK_PUBLISHABLE_KEY", source=Source.CONFIG, sensitive=False,
               origin="clerkPublishableKey", description="Clerk publishable key for @clerk/astro; public by design."),
    EnvVarSpec(key="NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY", source=Source.CONFIG, sensitive=False,
               origin="clerkPublishableKey", description="Clerk publishable key (the guide's name); public by design."),
    EnvVarSpec(key="OPENAI_API_KEY", source=Source.SECRET_CONFIG, sensitive=True, origin="openaiApiKey",
               description="OpenAI API key for chat and embeddings."),
    EnvVarSpec(key="CLOUDFLARE_R2_ACCESS_KEY_ID", source=Source.DERIVED, sensitive=True,
               origin="r2_access_key_id", description="S3 access key id of the bucket-scoped R2 token."),
    EnvVarSpec(key="CLOUDFLARE_R2_SECRET_ACCESS_KEY", source=Source.DERIVED, sensitive=True,
               origin="r2_secret_access_key", description="S3 secret (SHA-256 of the R2 token value)."),
    EnvVarSpec(key="CLOUDFLARE_R2_BUCKET_NAME", source=Source.DERIVED, sensitive=False,
               origin="reports_bucket_name", description="Bucket that stores generated reports."),
    EnvVarSpec(key="ENCRYPTION_KEY", source=Source.GENERATED, sensitive=True, origin="encryption_key",
               description="32-character key for encrypting data at rest in the app."),
    EnvVarSpec(key="JWT_SECRET", source=Source.GENERATED, sensitive=True, origin="jwt_secret",
               description="HMAC secret for internal tokens."),
    EnvVarSpec(key="UPSTASH_REDIS_URL", source=Source.SECRET_CONFIG, sensitive=True, origin="upstashRedisUrl",
               description="Upstash Redis URL (rediss://) for the app-level rate limiter."),
    EnvVarSpec(key="PUBLIC_APP_URL", source=Source.DERIVED, sensitive=False, origin="app_url",
               description="Public base URL of the app (client-visible in Astro)."),
    EnvVarSpec(key="NEXT_PUBLIC_APP_URL", source=Source.DERIVED, sensitive=False, origin="app_url",
               description="Public base URL of the app (the guide's name)."),
    # No NODE_ENV: project variables reach the build too, and NODE_ENV=production makes
    # `npm ci` skip devDependencies (npm-install docs), where Astro's build tools live. Astro
    # and Vercel set it themselves for the build and the functions.
    EnvVarSpec(key="POSTHOG_API_KEY", source=Source.SECRET_CONFIG, sensitive=True, origin="posthogApiKey",
               description="PostHog project API key."),
    EnvVarSpec(key="SENTRY_DSN", source=Source.SECRET_CONFIG, sensitive=True, origin="sentryDsn",
               description="Sentry DSN for error reporting."),
)

ENV_VARS_BY_KEY = {spec.key: spec for spec in ENV_VARS}
CATALOG_SECRET_KEYS = frozenset(spec.key for spec in ENV_VARS if spec.sensitive)

# Generated keys and their minimum lengths; the policy pack enforces the same floor.
GENERATED_KEY_LENGTHS = {"encryption_key": 32, "jwt_secret": 64}
ENCRYPTION_KEY_LENGTH = 32
"""ENCRYPTION_KEY is exactly this long: the app derives an AES-256 key from it."""


def is_public_by_design(key: str) -> bool:
    """True for keys clients are meant to hold (publishable/anon keys, a public-prefixed Sentry DSN)."""
    if _PUBLIC_BY_DESIGN_RE.fullmatch(key):
        return True
    return has_public_prefix(key) and bool(_PUBLIC_SENTRY_DSN_RE.fullmatch(key[len(public_prefix(key)):]))


def is_secret_key(key: str) -> bool:
    """True when an env-var name holds a credential.

    The catalog decides for its own keys; then public-by-design names are not secrets; then the
    patterns, and for a public-prefixed key also its bare name in the catalog
    (`NEXT_PUBLIC_OPENAI_API_KEY` is the catalog's secret with a prefix in front).
    """
    if key in ENV_VARS_BY_KEY:
        return ENV_VARS_BY_KEY[key].sensitive
    if is_public_by_design(key):
        return False
    if _SECRET_KEY_RE.fullmatch(key):
        return True
    bare = key[len(public_prefix(key)):]
    return bare != key and bare in CATALOG_SECRET_KEYS


def public_prefix(key: str) -> str:
    """The client-exposing prefix a key starts with, or ""."""
    return next((p for p in PUBLIC_PREFIXES if key.startswith(p)), "")


def has_public_prefix(key: str) -> bool:
    """True when a bundler would ship this variable to the browser."""
    return key.startswith(PUBLIC_PREFIXES)

# --- stack outputs (the keys `pulumi stack output` shows) ---
OUTPUT_APP_URL = "appUrl"
OUTPUT_PROJECT_ID = "vercelProjectId"
OUTPUT_REPORTS_BUCKET = "reportsBucketName"
OUTPUT_BACKUPS_BUCKET = "backupsBucketName"
OUTPUT_DATABASE_NAME = "databaseName"
OUTPUT_DATABASE_URL = "databaseUrl"
OUTPUT_MIGRATION_URL = "migrationDatabaseUrl"
OUTPUT_R2_ENDPOINT = "r2Endpoint"
OUTPUT_DEPLOYMENT_URL = "deploymentUrl"
OUTPUT_PULL_REQUEST_BRANCH = "pullRequestBranch"
OUTPUT_BACKUP_ACCESS_KEY_ID = "backupS3AccessKeyId"
OUTPUT_BACKUP_SECRET_ACCESS_KEY = "backupS3SecretAccessKey"
# The read-only backup role's TLS URL, for the backup job's pg_dump.
OUTPUT_BACKUP_DATABASE_URL = "backupDatabaseUrl"
# prod only: the headers its production route sets, for the smoke check after deploy (`python -m ops smoke`).
OUTPUT_PRODUCTION_HEADERS = "productionHeaders"
SECRET_OUTPUTS = frozenset({
    OUTPUT_DATABASE_URL, OUTPUT_MIGRATION_URL, OUTPUT_BACKUP_ACCESS_KEY_ID, OUTPUT_BACKUP_SECRET_ACCESS_KEY,
    OUTPUT_BACKUP_DATABASE_URL,
})

# --- the GitHub repository's guardrails (infra/repository.py, .github/workflows/) ---
REQUIRED_CHECKS = ("tests and offline policy check",)
"""Checks a pull request to the production branch must pass: the job names of pull-request.yml
that every pull request runs (forks included); the previews are not required, forks never run them."""
ENV_PRODUCTION = "production"
"""The GitHub environment prod's `pulumi up` runs in (required reviewers)."""
ENV_PULL_REQUESTS = "pull-requests"
"""The GitHub environment of a pull request's credentialed runs (pull-request-deploy.yml, after a
code owner's approval) and of the merged pull request's destroy (pull-request-closed.yml)."""
MAIN_ONLY_ENVIRONMENTS = ("preview", "drift", "drift-preview", ENV_PULL_REQUESTS)
"""GitHub environments only the production branch may use (deploy.yml preview, drift.yml per stack,
pull-request-deploy.yml): a pull request's own copy of a workflow runs on another ref and gets none
of their secrets."""
ENV_BACKUPS = "backups"
"""The GitHub environment of the backup job (ops/, .github/workflows/backup.yml)."""
BACKUP_WORKFLOW_SECRETS = ("BACKUP_S3_ACCESS_KEY_ID", "BACKUP_S3_SECRET_ACCESS_KEY", "BACKUP_DATABASE_URL")
"""Secrets of the `backups` environment, set from prod's outputs by infra/repository.py."""
BACKUP_WORKFLOW_VARIABLES = ("R2_ENDPOINT", "BACKUP_BUCKET")
"""Variables of the `backups` environment, likewise."""
BACKUP_WORKFLOW_OPERATOR_VARIABLES = ("RESTORE_BUDGET_MINUTES",)
"""Variables the backup jobs read that an operator sets (repository or `backups` environment), not
the program: the restore drill's budget in minutes (restore-drill.yml; unset: ops' default)."""

