"""Data safety: stateful resources are protected, generated keys are long enough.

`retainOnDelete` is not part of the options the engine sends to analyzers
(`AnalyzerResourceOptions` has protect, ignoreChanges, deleteBeforeReplace, aliases,
customTimeouts, additionalSecretOutputs, parent), so only `protect` can be enforced here.
"""

from __future__ import annotations

from pulumi_policy import PolicyConfigSchema

from . import catalog
from ._common import (
    EnforcementLevel,
    Severity,
    UnknownValueError,
    as_number,
    peek,
    resources_of,
    stack_policy,
    subject,
    violation,
)
from .environment import env_entries, judged_content, who

# Env-var key → minimum length, derived from the catalog: generated vars name their key in
# `origin`, and GENERATED_KEY_LENGTHS gives that key's floor.
GENERATED_MIN_LENGTHS = {
    spec.key: catalog.GENERATED_KEY_LENGTHS[spec.origin]
    for spec in catalog.ENV_VARS
    if spec.source == catalog.Source.GENERATED and spec.origin in catalog.GENERATED_KEY_LENGTHS
}

_KINDS = {catalog.PG_DATABASE: "Postgres database", catalog.CF_R2_BUCKET: "R2 bucket"}


# --- protect stateful resources -----------------------------------------------------------

def _check_protect(args, cfg, report) -> None:
    if not cfg["protectedStack"]:
        args.not_applicable("protectedStack is false for this stack")
    for resource in resources_of(args, *sorted(catalog.STATEFUL_TYPES)):
        if not resource.opts.protect:
            report(violation(subject(_KINDS.get(resource.resource_type, resource.resource_type),
                                     resource.name, resource.urn),
                             "holds data but is not protected, so a replace or destroy deletes it.",
                             "pass opts=ResourceOptions(protect=True, retain_on_delete=True)."),
                   resource.urn)


REQUIRE_PROTECT_STATEFUL = stack_policy(
    name="stateful-resources-require-protect",
    description="Databases and R2 buckets in a protected stack must set protect.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=_check_protect,
    config=PolicyConfigSchema(properties={
        "protectedStack": {
            "type": "boolean", "default": True,
            "description": "Whether this stack's data must survive (false for throwaway previews).",
        },
    }),
    url="https://www.pulumi.com/docs/iac/concepts/options/protect/",
)


# --- generated keys meet minimum lengths --------------------------------------------------

def _check_key_lengths(args, cfg, report) -> None:
    # Configured keys override the catalog floors one by one; the others keep their default.
    minimums = dict(GENERATED_MIN_LENGTHS)
    minimums.update({str(k): int(v) for k, v in dict(cfg["minLengths"]).items()})
    for resource in resources_of(args, catalog.VERCEL_ENV_VAR, catalog.VERCEL_ENV_VARS, catalog.VERCEL_PROJECT):
        try:
            entries = env_entries(resource.resource_type, resource.props)
        except UnknownValueError:
            continue
        for entry in entries:
            key = peek(entry.container, "key")
            if not isinstance(key, str) or key not in minimums:
                continue
            minimum = minimums[key]
            label = who(resource.resource_type, resource.name, key, entry.where, resource.urn)
            value = judged_content(peek(entry.container, "value"))  # not unknown, not an offline placeholder
            if value is not None and len(value) < minimum:
                report(violation(label, f"is shorter than {minimum} characters.",
                                 f"generate it with random.RandomPassword(length={minimum})."), resource.urn)
                continue
            if resource.resource_type != catalog.VERCEL_ENV_VAR:
                continue  # list-valued props: dependencies are not per variable
            for source in (resource.property_dependencies or {}).get("value") or []:
                if source.resource_type != catalog.RANDOM_PASSWORD:
                    continue
                length = as_number(peek(source.props, "length"))
                if length is not None and length < minimum:
                    report(violation(label, f"comes from {subject('RandomPassword', source.name)} with a "
                                            f"length below {minimum}.",
                                     f"set length={minimum} or more on the RandomPassword."), resource.urn)


REQUIRE_GENERATED_KEY_LENGTH = stack_policy(
    name="generated-keys-require-min-length",
    description="Generated keys (ENCRYPTION_KEY, JWT_SECRET) must meet their minimum lengths.",
    level=EnforcementLevel.ADVISORY,  # ARA's architecture: mandatory in policies/config/*.json
    severity=Severity.HIGH,
    check=_check_key_lengths,
    config=PolicyConfigSchema(properties={
        "minLengths": {
            "type": "object", "additionalProperties": {"type": "integer", "minimum": 1},
            "default": dict(GENERATED_MIN_LENGTHS),
            "description": "Env-var key → minimum length of its generated value (merged over the catalog).",
        },
    }),
    url="https://cheatsheetseries.owasp.org/cheatsheets/Cryptographic_Storage_Cheat_Sheet.html",
)


POLICIES = [REQUIRE_PROTECT_STATEFUL, REQUIRE_GENERATED_KEY_LENGTH]
