"""Cloudflare R2: no public r2.dev URL, no wildcard CORS, backup retention, scoped tokens, TLS."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from pulumi_policy import PolicyConfigSchema, PolicyResource

from . import catalog
from ._common import (
    EnforcementLevel,
    Severity,
    as_bool,
    as_list,
    as_number,
    depends_on,
    get,
    is_unknown,
    known_items,
    peek,
    resource_policy,
    resources_of,
    same_known,
    stack_policy,
    string_list,
    subject,
    violation,
)

_R2_DOCS = "https://developers.cloudflare.com/r2/buckets/public-buckets/"
R2_BUCKET_RESOURCE_PREFIX = "com.cloudflare.edge.r2.bucket."


# --- r2.dev managed domain ----------------------------------------------------------------

def _check_managed_domain(args, cfg, report) -> None:
    if as_bool(get(args.props, "enabled")) is True:
        report(violation(subject("R2 managed domain", args.name),
                         "turns on the public r2.dev URL, which serves every object in the bucket to "
                         "anyone.",
                         "set enabled=False; serve public files through a custom domain or signed URLs."))


DISALLOW_R2_DEV_URL = resource_policy(
    name="cloudflare-r2-disallow-r2-dev-url",
    description="R2 buckets must not be public through the r2.dev managed domain.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    types=[catalog.CF_R2_MANAGED_DOMAIN],
    check=_check_managed_domain,
    url=_R2_DOCS,
)


# --- CORS ---------------------------------------------------------------------------------

def _check_cors(args, cfg, report) -> None:
    for i, rule in enumerate(as_list(get(args.props, "rules"))):
        origins = [str(o) for o in as_list(get(rule, "allowed", "origins"))]
        if any("*" in o for o in origins):
            report(violation(subject("R2 bucket CORS", args.name),
                             f"rules[{i}] allows any origin (*).",
                             "list the app's exact origins, e.g. https://app.example.com."))


DISALLOW_CORS_WILDCARD_ORIGIN = resource_policy(
    name="cloudflare-r2-disallow-cors-wildcard-origin",
    description="R2 bucket CORS rules must list explicit origins, never *.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    types=[catalog.CF_R2_CORS],
    check=_check_cors,
    url="https://developers.cloudflare.com/r2/buckets/cors/",
)


# --- backups bucket lifecycle (STACK) -----------------------------------------------------

def bucket_name(bucket: PolicyResource) -> str:
    name = peek(bucket.props, "name")
    return name if isinstance(name, str) and not is_unknown(name) else bucket.name


def _lifecycle_targets(lifecycle: PolicyResource, bucket: PolicyResource) -> bool:
    return (depends_on(lifecycle, "bucketName", bucket)
            or same_known(peek(lifecycle.props, "bucketName"), bucket_name(bucket)))


def rule_expires_within(rule, max_seconds: float) -> bool:
    """An enabled whole-bucket rule that deletes objects by age within `max_seconds`."""
    if as_bool(peek(rule, "enabled")) is not True:
        return False
    prefix = peek(rule, "conditions", "prefix", default="")
    if prefix != "":
        return False
    condition = peek(rule, "deleteObjectsTransition", "condition")
    if not isinstance(condition, Mapping) or peek(condition, "type") != "Age":
        return False
    age = as_number(peek(condition, "maxAge"))
    return age is not None and 0 < age <= max_seconds


def _rule_fix(rule, index: int, *, prefix_at: tuple[str, ...], age_at: tuple[str, ...], age_key: str,
              seconds: int, longer: bool) -> str:
    """How to change the program's own rule `index` so that it passes (names its properties)."""
    where = f"rules[{index}]"
    if as_bool(peek(rule, "enabled")) is not True:
        return f"set {where}.enabled to True"
    if peek(rule, *prefix_at, default="") != "":
        return f"set {where}.{'.'.join(prefix_at)} to \"\" (the whole bucket)"
    condition = peek(rule, *age_at[:-1])
    age = as_number(peek(rule, *age_at))
    if not isinstance(condition, Mapping) or peek(condition, "type") != "Age" or age is None:
        return f"make {where}.{'.'.join(age_at[:-1])} {{type: \"Age\", {age_key}: {seconds}}}"
    bound = "at least" if longer else "at most"
    return f"change {where}.{'.'.join(age_at)} ({age_key}) from {age:g} to {bound} {seconds}"


def _declared_rule_fix(resource: PolicyResource, kind: str, **how) -> str:
    """The fix of the first rule of a declared lifecycle or lock, in the program's own terms."""
    rules = known_items(peek(resource.props, "rules"))
    if not rules:
        return f"add a whole-bucket rule to {kind} '{resource.name}'"
    return f"in {kind} '{resource.name}': " + _rule_fix(rules[0], 0, **how) + "."


def _check_backup_lifecycle(args, cfg, report) -> None:
    pattern = re.compile(str(cfg["backupBucketPattern"]))
    days = float(cfg["retentionDays"])
    lifecycles = resources_of(args, catalog.CF_R2_LIFECYCLE)
    for bucket in resources_of(args, catalog.CF_R2_BUCKET):
        if not pattern.fullmatch(bucket_name(bucket)):
            continue
        linked = [lc for lc in lifecycles if _lifecycle_targets(lc, bucket)]
        if not linked:
            fix = (f"add cloudflare.R2BucketLifecycle(bucket_name=..., rules=[{{enabled: True, conditions: "
                   f"{{prefix: \"\"}}, delete_objects_transition: {{condition: {{type: \"Age\", max_age: "
                   f"{int(days * 86400)}}}}}}}])")
            report(violation(subject("R2 bucket", bucket.name, bucket.urn),
                             "holds backups but has no lifecycle, so dumps are kept forever.", fix), bucket.urn)
        elif not any(rule_expires_within(rule, days * 86400)
                     for lc in linked for rule in known_items(peek(lc.props, "rules"))):
            # The program declares a lifecycle: the finding is that resource, the fix its own rule.
            lifecycle = linked[0]
            fix = _declared_rule_fix(lifecycle, "R2BucketLifecycle", prefix_at=("conditions", "prefix"),
                                     age_at=("deleteObjectsTransition", "condition", "maxAge"), age_key="max_age",
                                     seconds=int(days * 86400), longer=False)
            report(violation(subject("R2 bucket lifecycle", lifecycle.name, lifecycle.urn),
                             f"of R2 bucket '{bucket.name}' has no enabled whole-bucket rule deleting objects "
                             f"within {days:g} days.", fix), lifecycle.urn)


REQUIRE_BACKUP_LIFECYCLE = stack_policy(
    name="cloudflare-r2-require-backup-lifecycle",
    description="The backups R2 bucket must expire objects after the retention period.",
    level=EnforcementLevel.ADVISORY,  # ARA's architecture: mandatory in policies/config/*.json
    severity=Severity.MEDIUM,
    check=_check_backup_lifecycle,
    config=PolicyConfigSchema(properties={
        "backupBucketPattern": {
            "type": "string", "default": ".*backups?.*",
            "description": "Regex (full match) for names of buckets that hold backups.",
        },
        "retentionDays": {
            "type": "number", "exclusiveMinimum": 0, "default": 30,
            "description": "Objects must be deleted within this many days.",
        },
    }),
    url="https://developers.cloudflare.com/r2/buckets/object-lifecycles/",
)


# --- backups locked against early deletion ----------------------------------------------

def lock_rule_holds(rule, min_seconds: float) -> bool:
    """An enabled whole-bucket lock rule keeping objects at least `min_seconds` (or forever)."""
    if as_bool(peek(rule, "enabled")) is not True or peek(rule, "prefix", default="") != "":
        return False
    condition = peek(rule, "condition")
    kind = peek(condition, "type") if isinstance(condition, Mapping) else None
    if kind == "Indefinite":
        return True
    age = as_number(peek(condition, "maxAgeSeconds")) if kind == "Age" else None
    return age is not None and age >= min_seconds


def _check_backup_lock(args, cfg, report) -> None:
    pattern = re.compile(str(cfg["backupBucketPattern"]))
    seconds = float(cfg["minLockDays"]) * 86400
    locks = resources_of(args, catalog.CF_R2_LOCK)
    for bucket in resources_of(args, catalog.CF_R2_BUCKET):
        if not pattern.fullmatch(bucket_name(bucket)):
            continue
        linked = [lock for lock in locks if _lifecycle_targets(lock, bucket)]
        if any(lock_rule_holds(rule, seconds) for lock in linked for rule in known_items(peek(lock.props, "rules"))):
            continue
        problem = (f"holds backups that a token with object write can delete: no enabled whole-bucket lock "
                   f"keeps them {cfg['minLockDays']:g} days.")
        if not linked:
            report(violation(subject("R2 bucket", bucket.name, bucket.urn), problem,
                             "add cloudflare.R2BucketLock(bucket_name=..., rules=[{id, enabled: True, prefix: \"\", "
                             f"condition: {{type: \"Age\", max_age_seconds: {int(seconds)}}}}}])."), bucket.urn)
            continue
        # The program declares a lock: the finding is that resource, the fix its own rule.
        lock = linked[0]
        fix = _declared_rule_fix(lock, "R2BucketLock", prefix_at=("prefix",), age_at=("condition", "maxAgeSeconds"),
                                 age_key="max_age_seconds", seconds=int(seconds), longer=True)
        report(violation(subject("R2 bucket lock", lock.name, lock.urn),
                         f"of R2 bucket '{bucket.name}' leaves its backups deletable by a token with object write: "
                         f"no enabled whole-bucket rule keeps them {cfg['minLockDays']:g} days.", fix), lock.urn)


REQUIRE_BACKUP_LOCK = stack_policy(
    name="cloudflare-r2-require-backup-lock",
    description="The backups R2 bucket must lock objects against deletion for the retention period.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.HIGH,
    check=_check_backup_lock,
    config=PolicyConfigSchema(properties={
        "backupBucketPattern": {
            "type": "string", "default": ".*backups?.*",
            "description": "Regex (full match) for names of buckets that hold backups.",
        },
        "minLockDays": {
            "type": "number", "exclusiveMinimum": 0, "default": 30,
            "description": "Objects must stay locked at least this many days.",
        },
    }),
    url="https://developers.cloudflare.com/r2/buckets/bucket-locks/",
)


# --- API / account token scope ------------------------------------------------------------

_TOKEN_TYPES = [catalog.CF_API_TOKEN, catalog.CF_ACCOUNT_TOKEN]
_BUCKET_KEY = re.compile(r"^[^_*\s]+_[a-z]+_[a-z0-9][a-z0-9-]*$")


def _token_policies(props) -> list:
    return [p for p in as_list(get(props, "policies"))
            if str(get(p, "effect", default="allow")).lower() == "allow"]


def _resource_keys(policy) -> list[str] | None:
    """The resource keys a policy grants; an account key with nested keys grants the nested ones."""
    resources = get(policy, "resources")
    if isinstance(resources, str):
        try:
            resources = json.loads(resources)
        except ValueError:
            return None
    if resources is None:
        return []
    if not isinstance(resources, Mapping):
        return None
    keys: list[str] = []
    for key in resources:
        inner = resources[key]
        # {"com.cloudflare.api.account.<id>": {"com.cloudflare.api.account.zone.*": "*"}}: the zones of one
        # account (Cloudflare "Create tokens via API").
        if isinstance(inner, Mapping) and inner:
            keys.extend(str(k) for k in inner)
        else:
            keys.append(str(key))
    return keys


# Resource-key families (Cloudflare "Create tokens via API": account, zone and user resources; R2
# "API tokens": bucket resources). R2 permissions are account-level, so only account keys (and
# wildcards) and R2 bucket keys reach buckets; zone and user keys cannot.
_ACCOUNT_PREFIX = "com.cloudflare.api.account."
_ZONE_PREFIX = "com.cloudflare.api.account.zone."
_USER_PREFIX = "com.cloudflare.api.user."


def r2_scope_problem(key: str) -> str | None:
    """Why a token resource key gives R2 access beyond named buckets (fixed labels, key not echoed)."""
    if key.startswith(R2_BUCKET_RESOURCE_PREFIX):
        if "*" in key:
            return "a wildcard R2 bucket resource"
        if not _BUCKET_KEY.match(key[len(R2_BUCKET_RESOURCE_PREFIX):]):
            return "an R2 resource that does not name <account>_<jurisdiction>_<bucket>"
        return None
    if key.startswith((_ZONE_PREFIX, _USER_PREFIX)):
        return None  # zone/user scope: no R2 permission applies there
    if key == "*" or (key.startswith(_ACCOUNT_PREFIX) and "*" in key):
        return "a wildcard account resource, which reaches every R2 bucket of every account"
    if key.startswith(_ACCOUNT_PREFIX):
        return "an account-wide resource, which reaches every R2 bucket of the account"
    return None


def _check_token_resources(args, cfg, report) -> None:
    for i, policy in enumerate(_token_policies(args.props)):
        keys = _resource_keys(policy)
        who = subject("Cloudflare token", args.name)
        if keys is None:
            report(violation(who, f"policies[{i}].resources is not a JSON object of resource keys.",
                             "pass json.dumps({\"com.cloudflare.edge.r2.bucket.<acct>_default_<bucket>\": \"*\"})."))
            continue
        problems = sorted({p for p in (r2_scope_problem(k) for k in keys) if p})
        if not keys:
            problems = ["no resources"]
        if problems:
            report(violation(who, f"policies[{i}] grants {', '.join(problems)}.",
                             "scope R2 access to named buckets: "
                             "com.cloudflare.edge.r2.bucket.<account>_<jurisdiction>_<bucket>."))


RESTRICT_TOKEN_RESOURCES = resource_policy(
    name="cloudflare-token-restrict-r2-resources",
    description="Cloudflare API/account tokens must reach R2 only through named buckets, never account-wide.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=_TOKEN_TYPES,
    check=_check_token_resources,
    url="https://developers.cloudflare.com/r2/api/tokens/",
)


# --- tokens grant only the resource kinds the app uses (ARA: R2 buckets) -------------------

def _check_token_prefixes(args, cfg, report) -> None:
    prefixes = tuple(str(p) for p in cfg["allowedResourcePrefixes"])
    for i, policy in enumerate(_token_policies(args.props)):
        # Unparseable resources and keys that reach R2 are the R2 scope rule's.
        outside = [k for k in _resource_keys(policy) or []
                   if not k.startswith(prefixes) and r2_scope_problem(k) is None]
        kinds = sorted({"a zone resource" if k.startswith(_ZONE_PREFIX) else
                        "a user resource" if k.startswith(_USER_PREFIX) else "another resource" for k in outside})
        if kinds:
            report(violation(subject("Cloudflare token", args.name),
                             f"policies[{i}] grants {', '.join(kinds)} outside allowedResourcePrefixes.",
                             "give this token only the resources the app uses (by default R2 buckets); use a "
                             "separate token for DNS or other work, or extend allowedResourcePrefixes."))


RESTRICT_TOKEN_RESOURCE_PREFIXES = resource_policy(
    name="cloudflare-token-restrict-resource-prefixes",
    description="Cloudflare API/account tokens should grant only resources under allowedResourcePrefixes (R2 buckets).",
    level=EnforcementLevel.ADVISORY,  # ARA's architecture: mandatory in policies/config/*.json
    severity=Severity.MEDIUM,
    types=_TOKEN_TYPES,
    check=_check_token_prefixes,
    config=PolicyConfigSchema(properties={
        "allowedResourcePrefixes": string_list("Resource-key prefixes a token may grant.", [R2_BUCKET_RESOURCE_PREFIX]),
    }),
    url="https://developers.cloudflare.com/fundamentals/api/how-to/create-via-api/",
)


def _check_token_groups(args, cfg, report) -> None:
    denied = {str(g) for g in cfg["deniedPermissionGroupIds"]}
    if not denied:
        return
    for i, policy in enumerate(_token_policies(args.props)):
        ids = {str(get(g, "id", default="")) for g in as_list(get(policy, "permissionGroups"))}
        hits = sorted(ids & denied)
        if hits:
            report(violation(subject("Cloudflare token", args.name),
                             f"policies[{i}] grants the denied permission group(s) {', '.join(hits)}.",
                             "grant Workers R2 Storage Bucket Item Read/Write instead of admin groups."))


DISALLOW_TOKEN_PERMISSION_GROUPS = resource_policy(
    name="cloudflare-token-disallow-denied-permission-groups",
    description="Cloudflare tokens must not grant permission groups on the deny list.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=_TOKEN_TYPES,
    check=_check_token_groups,
    config=PolicyConfigSchema(properties={
        "deniedPermissionGroupIds": string_list("Permission-group ids no token may hold (e.g. R2 admin read & write)."),
    }),
    url="https://developers.cloudflare.com/fundamentals/api/reference/permissions/",
)


def _check_compact_resources(args, cfg, report) -> None:
    for i, policy in enumerate(_token_policies(args.props)):
        resources = peek(policy, "resources")
        if not isinstance(resources, str) or is_unknown(resources):
            continue  # a map is the wrong shape (cloudflare-token-restrict-r2-resources) or not known yet
        try:
            parsed = json.loads(resources)
        except ValueError:
            continue
        if resources != json.dumps(parsed, separators=(",", ":"), ensure_ascii=False):
            report(violation(subject("Cloudflare token", args.name),
                             f"policies[{i}].resources is JSON with whitespace; the API returns it compact and "
                             "the provider compares the strings, so every `up` shows a change.",
                             'use json.dumps(resources, separators=(",", ":")).'))


REQUIRE_COMPACT_TOKEN_RESOURCES = resource_policy(
    name="cloudflare-token-require-compact-resources",
    description="Cloudflare token policy resources must be compact JSON, as the API returns them.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    types=_TOKEN_TYPES,
    check=_check_compact_resources,
    url=("https://github.com/cloudflare/terraform-provider-cloudflare/blob/v5.22.0/"
         "internal/services/api_token/custom.go"),
)


# --- custom domain TLS --------------------------------------------------------------------

_TLS_VERSIONS = ["1.0", "1.1", "1.2", "1.3"]


def _check_custom_domain_tls(args, cfg, report) -> None:
    minimum = str(cfg["minTlsVersion"])
    value = get(args.props, "minTls", default="1.0")  # provider default is 1.0
    version = str(value)
    if version not in _TLS_VERSIONS or _TLS_VERSIONS.index(version) < _TLS_VERSIONS.index(minimum):
        shown = f"TLS {version}" if version in _TLS_VERSIONS else "an unrecognised TLS version"
        report(violation(subject("R2 custom domain", args.name), f"accepts {shown}.",
                         f'set min_tls="{minimum}" (or higher).'))


REQUIRE_CUSTOM_DOMAIN_MIN_TLS = resource_policy(
    name="cloudflare-r2-require-custom-domain-min-tls",
    description="R2 custom domains must refuse TLS versions below 1.2.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=[catalog.CF_R2_CUSTOM_DOMAIN],
    check=_check_custom_domain_tls,
    config=PolicyConfigSchema(properties={
        "minTlsVersion": {
            "type": "string", "enum": _TLS_VERSIONS, "default": "1.2",
            "description": "Lowest accepted minTls.",
        },
    }),
    url="https://developers.cloudflare.com/r2/buckets/public-buckets/#custom-domains",
)


POLICIES = [
    REQUIRE_COMPACT_TOKEN_RESOURCES,
    REQUIRE_BACKUP_LOCK,
    DISALLOW_R2_DEV_URL,
    DISALLOW_CORS_WILDCARD_ORIGIN,
    REQUIRE_BACKUP_LIFECYCLE,
    RESTRICT_TOKEN_RESOURCES,
    RESTRICT_TOKEN_RESOURCE_PREFIXES,
    DISALLOW_TOKEN_PERMISSION_GROUPS,
    REQUIRE_CUSTOM_DOMAIN_MIN_TLS,
]
