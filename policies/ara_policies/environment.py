"""Vercel environment variables: sensitivity, exposure, targets, TLS, prod/preview separation.

Three shapes carry env vars: `ProjectEnvironmentVariable` (one var, props at top level),
`ProjectEnvironmentVariables` (`variables[]`) and the deprecated inline `Project.environments[]`.
Values are secrets: they are compared and parsed here, never put in a message.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyConfigSchema, PolicyResource

from . import catalog
from ._common import (
    UNKNOWN,
    EnforcementLevel,
    Severity,
    UnknownValueError,
    as_bool,
    as_list,
    get,
    is_secret_value,
    is_unknown,
    peek,
    resource_policy,
    resources_of,
    same_known,
    stack_policy,
    string_list,
    subject,
    violation,
)

ENV_TYPES = (catalog.VERCEL_ENV_VAR, catalog.VERCEL_ENV_VARS, catalog.VERCEL_PROJECT)
_KIND = {
    catalog.VERCEL_ENV_VAR: "Vercel env var",
    catalog.VERCEL_ENV_VARS: "Vercel env vars",
    catalog.VERCEL_PROJECT: "Vercel project",
}
_DOCS = "https://vercel.com/docs/environment-variables/sensitive-environment-variables"


@dataclass(frozen=True)
class EnvEntry:
    """One env var inside a resource: its own mapping and where it sits."""

    container: Mapping[str, Any]
    where: str
    """"" for a single-var resource, else "variables[i]" / "environments[i]"."""


def env_entries(resource_type: str, props: Mapping[str, Any]) -> list[EnvEntry]:
    """The env vars a resource declares (unknown lists raise, as the runtime proxy does)."""
    if resource_type == catalog.VERCEL_ENV_VAR:
        return [EnvEntry(props, "")]
    field = {catalog.VERCEL_ENV_VARS: "variables", catalog.VERCEL_PROJECT: "environments"}.get(resource_type)
    if field is None:
        return []
    return [EnvEntry(item, f"{field}[{i}]") for i, item in enumerate(as_list(get(props, field)))
            if isinstance(item, Mapping)]


def who(resource_type: str, name: str, key: str, where: str, urn: str | None = None) -> str:
    """Message subject naming the resource, the variable key and its position."""
    text = f"{subject(_KIND.get(resource_type, resource_type), name, urn)} key {key}"
    return f"{text} at {where}" if where else text


def targets_of(entry: EnvEntry) -> list[str]:
    return [str(t) for t in as_list(get(entry.container, "targets"))]


_SECRET_KEY_CONFIG = {
    "additionalSecretKeys": string_list("Extra env-var keys to treat as secrets (besides infra.catalog)."),
    "exemptKeys": string_list("Keys never treated as secrets, e.g. a non-secret *_KEY_ID."),
}


def is_secret(key: str, cfg: Mapping[str, Any], value: Any = None) -> bool:
    """A credential that stays server-side: by name (`catalog.is_secret_key`, `additionalSecretKeys`)
    or by a known credential-shaped value (a URL with a password, a private key, ...); never an
    `exemptKeys` key, and never a public-prefixed key (the public-prefix policy judges those)."""
    if key in cfg.get("exemptKeys", ()) or catalog.has_public_prefix(key):
        return False
    return (key in cfg.get("additionalSecretKeys", ()) or catalog.is_secret_key(key)
            or catalog.is_credential_value(judged_content(value)))


def judged_content(value: Any) -> str | None:
    """A value whose content a rule may judge: a known string that is not an offline placeholder.

    The review tool stands in for secret config it does not have with a placeholder that stays a
    Pulumi secret (`catalog.OFFLINE_PLACEHOLDER_MARK`); its content is not the value, so judging it
    (e.g. "no sslmode") would be a false violation. `pulumi preview` passes the real value.
    """
    if not isinstance(value, str) or is_unknown(value) or catalog.is_offline_placeholder(value):
        return None
    return value


# --- secrets must be sensitive (REMEDIATE) ------------------------------------------------

def _unsensitive_secrets(args, cfg) -> list[tuple[EnvEntry, str]]:
    found = []
    for entry in env_entries(args.resource_type, args.props):
        key = get(entry.container, "key")
        if not key:
            continue
        secret = is_secret(str(key), cfg, peek(entry.container, "value")) or _secret_in_list(args, entry, str(key), cfg)
        if secret and as_bool(get(entry.container, "sensitive")) is not True:
            found.append((entry, str(key)))
    return found


def _secret_in_list(args, entry: EnvEntry, key: str, cfg) -> bool:
    """A `variables[]`/`environments[]` value the program made a Pulumi secret, whatever its key.

    Not for `ProjectEnvironmentVariable`: its SDK makes every `value` a secret
    (pulumiverse_vercel 5.21.1 `project_environment_variable.py` line 613), so there it says
    nothing. The runtime shows secrets only to Remediate (see `is_secret_value`), which runs before
    validate, so validate then sees the remediated `sensitive`.
    """
    return (args.resource_type != catalog.VERCEL_ENV_VAR and is_secret_value(entry.container, "value")
            and not catalog.has_public_prefix(key) and key not in cfg.get("exemptKeys", ()))


def _check_sensitive(args, cfg, report) -> None:
    for entry, key in _unsensitive_secrets(args, cfg):
        report(violation(who(args.resource_type, args.name, key, entry.where),
                         "holds a secret but is not sensitive, so the value is readable in the dashboard "
                         "and API.",
                         "set sensitive=True (the pack remediates this automatically)."))


def _fix_sensitive(args, cfg) -> Mapping[str, Any] | None:
    found = _unsensitive_secrets(args, cfg)
    for entry, _ in found:
        # Mutate through the runtime proxy: it keeps secret-wrapped values secret on the way out.
        entry.container["sensitive"] = True  # type: ignore[index]  # a mutable proxy, typed Mapping for the rules
    return args.props if found else None


REQUIRE_SENSITIVE_SECRETS = resource_policy(
    name="vercel-env-require-sensitive-secrets",
    description="Vercel env vars that hold secrets must be sensitive (write-only).",
    level=EnforcementLevel.REMEDIATE,
    severity=Severity.CRITICAL,
    types=ENV_TYPES,
    check=_check_sensitive,
    fix=_fix_sensitive,
    config=PolicyConfigSchema(properties=dict(_SECRET_KEY_CONFIG)),
    remediation_steps="Pass sensitive=True on ProjectEnvironmentVariable / each variables[] item.",
    url=_DOCS,
)


# --- no secrets under a public prefix ------------------------------------------------------

# Value shapes that must never reach a browser besides credentials: any database/Redis URL
# (it names the server even without a password). Matched only, never reported.
_CONNECTION_URL = re.compile(r"^\s*(?:postgres(?:ql)?|rediss?)://", re.IGNORECASE)


def _check_public(args, cfg, report) -> None:
    for entry in env_entries(args.resource_type, args.props):
        key = str(get(entry.container, "key", default=""))
        if not catalog.has_public_prefix(key) or key in cfg["allowedPublicKeys"]:
            continue
        reasons = []
        if catalog.is_secret_key(key):
            reasons.append("its name marks it as a credential")
        if as_bool(peek(entry.container, "sensitive")) is True:
            reasons.append("it is marked sensitive")
        value = judged_content(peek(entry.container, "value"))
        if value is not None and (catalog.is_credential_value(value) or _CONNECTION_URL.search(value)):
            reasons.append("its value looks like a credential")
        if reasons:
            report(violation(who(args.resource_type, args.name, key, entry.where),
                             f"is bundled into client-side JavaScript by its public prefix, but "
                             f"{' and '.join(reasons)}.",
                             "drop the public prefix and read the secret server-side, or add the key to "
                             "allowedPublicKeys if it is public by design."))


DISALLOW_PUBLIC_SECRETS = resource_policy(
    name="vercel-env-disallow-public-secrets",
    description="Secrets must not use a client-exposed prefix (NEXT_PUBLIC_, PUBLIC_, VITE_).",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    types=ENV_TYPES,
    check=_check_public,
    config=PolicyConfigSchema(properties={
        "allowedPublicKeys": string_list("Public-prefixed keys that are public by design (e.g. publishable keys)."),
    }),
    url="https://docs.astro.build/en/guides/environment-variables/",
)


# --- secrets never target development ------------------------------------------------------

def _check_development(args, cfg, report) -> None:
    for entry in env_entries(args.resource_type, args.props):
        key = str(get(entry.container, "key", default=""))
        if (key and is_secret(key, cfg, peek(entry.container, "value"))
                and catalog.TARGET_DEVELOPMENT in targets_of(entry)):
            report(violation(who(args.resource_type, args.name, key, entry.where),
                             "is a secret that targets development, so `vercel env pull` copies it to "
                             "laptops.",
                             'remove "development" from targets and give developers their own credentials.'))


DISALLOW_SECRETS_IN_DEVELOPMENT = resource_policy(
    name="vercel-env-disallow-secrets-in-development",
    description="Secret Vercel env vars must not target the development environment.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=ENV_TYPES,
    check=_check_development,
    config=PolicyConfigSchema(properties=dict(_SECRET_KEY_CONFIG)),
    url=_DOCS,
)


# --- no NODE_ENV=production at build time ---------------------------------------------------

_BUILD_TARGETS = (catalog.TARGET_PRODUCTION, catalog.TARGET_PREVIEW)


def _check_build_node_env(args, cfg, report) -> None:
    for entry in env_entries(args.resource_type, args.props):
        if str(get(entry.container, "key", default="")) != "NODE_ENV":
            continue
        value = peek(entry.container, "value")
        if not isinstance(value, str) or is_unknown(value) or value.strip().lower() != "production":
            continue
        if any(t in _BUILD_TARGETS for t in targets_of(entry)):
            report(violation(who(args.resource_type, args.name, "NODE_ENV", entry.where),
                             "is production for a target that builds: project variables reach the build "
                             "too, and `npm ci` then skips devDependencies, where build tools live.",
                             "remove NODE_ENV (the framework and Vercel set it for the build and the "
                             "functions), or install with `npm ci --include=dev`."))


DISALLOW_BUILD_NODE_ENV = resource_policy(
    name="vercel-env-disallow-production-node-env",
    description="NODE_ENV=production must not be a Vercel variable of a target that builds.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    types=ENV_TYPES,
    check=_check_build_node_env,
    url="https://docs.npmjs.com/cli/commands/npm-install",
)


# --- connection URLs require TLS ----------------------------------------------------------

_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_DSN_SSLMODE = re.compile(r"(?:^|\s)sslmode\s*=\s*'?([A-Za-z-]+)")


def is_database_key(key: str) -> bool:
    return key == "DATABASE_URL" or key.endswith("_DATABASE_URL")


def is_redis_key(key: str) -> bool:
    return key == "REDIS_URL" or key.endswith("_REDIS_URL")


def _scheme(value: str) -> str:
    return value.split("://", 1)[0].strip().lower() if "://" in value else ""


def _sslmodes(value: str) -> list[str]:
    if "://" not in value:
        return [m.lower() for m in _DSN_SSLMODE.findall(value)]
    try:
        query = urllib.parse.urlsplit(value.strip()).query
    except ValueError:
        return []
    return [m.lower() for m in urllib.parse.parse_qs(query).get("sslmode", [])]


def tls_problem(key: str, value: str, allowed_sslmodes: list[str]) -> str | None:
    """Why a known connection value lacks TLS, in words that never quote the value."""
    scheme = _scheme(value)
    if scheme in ("postgres", "postgresql") or (is_database_key(key) and not scheme):
        modes = _sslmodes(value)
        if not modes:
            return "is a Postgres connection string without sslmode, so TLS is optional (libpq default prefer)."
        mode = modes[-1]
        if mode not in allowed_sslmodes:
            shown = f'sslmode "{mode}"' if mode in _SSLMODES else "an unrecognised sslmode"
            return f"is a Postgres connection string with {shown}, which does not require TLS."
    elif scheme == "redis":
        return "is a plaintext redis:// URL."
    return None


def _check_tls(args, cfg, report) -> None:
    allowed = [str(m).lower() for m in cfg["allowedSslModes"]]
    for entry in env_entries(args.resource_type, args.props):
        key = str(get(entry.container, "key", default=""))
        value = judged_content(peek(entry.container, "value"))
        if value is None:
            continue  # judged only when the value is known (not unknown, not an offline placeholder)
        problem = tls_problem(key, value, allowed)
        if problem:
            fix = ("use rediss:// (TLS)." if "redis" in problem
                   else f"add sslmode={allowed[-1] if allowed else 'verify-full'} to the connection string.")
            report(violation(who(args.resource_type, args.name, key, entry.where), problem, fix))


REQUIRE_TLS_CONNECTION_URLS = resource_policy(
    name="vercel-env-require-tls-connection-urls",
    description="Database and Redis URLs in Vercel env vars must require TLS.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=ENV_TYPES,
    check=_check_tls,
    config=PolicyConfigSchema(properties={
        "allowedSslModes": {
            "type": "array", "items": {"type": "string", "enum": list(_SSLMODES)},
            "default": ["require", "verify-ca", "verify-full"],
            "description": "libpq sslmode values accepted in Postgres URLs.",
        },
    }),
    url="https://www.postgresql.org/docs/current/libpq-ssl.html",
)


# --- production values never reused in preview (STACK) -------------------------------------

@dataclass(frozen=True)
class _StackVar:
    resource: PolicyResource
    key: str
    where: str
    targets: frozenset
    value: Any
    project: Any


def _project_identity(resource: PolicyResource) -> Any:
    project_id = peek(resource.props, "projectId")
    if isinstance(project_id, str) and not is_unknown(project_id):
        return project_id
    deps = (resource.property_dependencies or {}).get("projectId") or []
    return frozenset(d.urn for d in deps) or None


def _stack_vars(args, cfg) -> list[_StackVar]:
    found = []
    for resource in resources_of(args, *ENV_TYPES):
        try:
            entries = env_entries(resource.resource_type, resource.props)
        except UnknownValueError:
            continue
        project = (_project_identity(resource) if resource.resource_type != catalog.VERCEL_PROJECT
                   else resource.urn)
        for entry in entries:
            key = peek(entry.container, "key")
            targets = peek(entry.container, "targets")
            value = peek(entry.container, "value")
            if not isinstance(key, str) or is_unknown(key) or not is_secret(key, cfg, value):
                continue
            if targets is UNKNOWN:
                continue
            try:
                target_set = frozenset(str(t) for t in as_list(targets))
            except UnknownValueError:
                continue
            found.append(_StackVar(resource, key, entry.where, target_set, value, project))
    return found


def _value_sources(var: _StackVar) -> frozenset:
    if var.resource.resource_type != catalog.VERCEL_ENV_VAR:
        return frozenset()  # bulk/inline: dependencies are per list, not per variable
    return frozenset(d.urn for d in (var.resource.property_dependencies or {}).get("value") or [])


def _check_prod_in_preview(args, cfg, report) -> None:
    prod_t, prev_t = catalog.TARGET_PRODUCTION, catalog.TARGET_PREVIEW
    found = _stack_vars(args, cfg)
    for var in found:
        if prod_t in var.targets and prev_t in var.targets:
            report(violation(who(var.resource.resource_type, var.resource.name, var.key, var.where),
                             "targets both production and preview, so preview deployments hold the "
                             "production secret.",
                             "declare a separate preview variable with its own credential."),
                   var.resource.urn)
    prods = [v for v in found if prod_t in v.targets and prev_t not in v.targets]
    previews = [v for v in found if prev_t in v.targets and prod_t not in v.targets]
    for prev in previews:
        for prod in prods:
            if prod.key != prev.key:
                continue
            if prod.project is not None and prev.project is not None and prod.project != prev.project:
                continue
            prod_src, prev_src = _value_sources(prod), _value_sources(prev)
            if same_known(prod.value, prev.value) or (prod_src and prod_src == prev_src):
                report(violation(who(prev.resource.resource_type, prev.resource.name, prev.key, prev.where),
                                 f"reuses the production value of {subject('env var', prod.resource.name)} "
                                 "in preview.",
                                 "give preview its own credential (separate database role, key or token)."),
                       prev.resource.urn)


DISALLOW_PROD_VALUES_IN_PREVIEW = stack_policy(
    name="vercel-env-disallow-prod-values-in-preview",
    description="Production secrets must not be reused by preview deployments.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=_check_prod_in_preview,
    config=PolicyConfigSchema(properties=dict(_SECRET_KEY_CONFIG)),
    url="https://vercel.com/docs/environment-variables#preview-environment-variables",
)


POLICIES = [
    REQUIRE_SENSITIVE_SECRETS,
    DISALLOW_PUBLIC_SECRETS,
    DISALLOW_SECRETS_IN_DEVELOPMENT,
    DISALLOW_BUILD_NODE_ENV,
    REQUIRE_TLS_CONNECTION_URLS,
    DISALLOW_PROD_VALUES_IN_PREVIEW,
]
