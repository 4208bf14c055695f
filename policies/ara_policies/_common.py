"""Helpers shared by every ARA policy: safe reads, config defaults, messages, constructors.

Props reach a policy the way the engine hands them: camelCase names, numbers as floats,
secrets already unwrapped to plain values, and (during preview) wrapped in
`pulumi_policy.proxy.unknown_checking_proxy`, which raises `UnknownValueError` when an
unknown value is touched. The runtime turns that error into an advisory "can't run policy
during preview" diagnostic, so `get` raises it too (even for plain dicts) and `peek` is the
tolerant variant for checks that must not stop on one unknown value.

Policies see secrets in plaintext. Messages are built with `violation()` from names the
policy chooses (resource names, env-var keys, directive names); never pass a property value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)
from pulumi_policy.secret import Secret

__all__ = [
    "EnforcementLevel",
    "Severity",
    "UNKNOWN",
    "UnknownValueError",
    "as_bool",
    "as_list",
    "as_number",
    "config_defaults",
    "get",
    "is_secret_value",
    "is_unknown",
    "peek",
    "plain",
    "resource_policy",
    "resources_of",
    "settings",
    "stack_policy",
    "subject",
    "known_items",
    "links_to",
    "violation",
]

UNKNOWN_SENTINELS = frozenset({
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_STRING_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_OBJECT_VALUE,
})

# Wire encoding of a secret, in case a value reaches us still wrapped (e.g. hand-built args).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


class _Unknown:
    """Marker returned by `peek` for a value that is not known during preview."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


def is_unknown(value: Any) -> bool:
    """True for an engine unknown sentinel or the `UNKNOWN` marker."""
    return value is UNKNOWN or (isinstance(value, str) and value in UNKNOWN_SENTINELS)


def plain(value: Any) -> Any:
    """Strip secret wrappers (`Secret` objects, wire sentinels) so values can be compared.

    The result may be a secret: compare it, never put it in a message.
    """
    while True:
        if isinstance(value, Secret):
            value = value.value
            continue
        if isinstance(value, Mapping) and _has(value, _SIG_KEY):
            try:
                if value[_SIG_KEY] == _SECRET_SIG:
                    value = value["value"]
                    continue
            except (KeyError, UnknownValueError):
                pass
        return value


def is_secret_value(container: Any, key: str) -> bool:
    """True when `container[key]` is a Pulumi secret.

    pulumi-policy unwraps secrets before `validate` (`policy.py` `Analyze`/`AnalyzeStack` call
    `deserialize_properties` without `proxy_secrets`), so this is False there. `Remediate` keeps them
    (`deserialize_properties(..., True)`: `Secret` objects behind `secrets_preserving_proxy`, whose
    `["__target"]` is the wrapped mapping, `secret.py` `_DictSecretsProxy.__getitem__`); a hand-built
    mapping may still hold the wire sentinel.
    """
    raw = container
    try:
        raw = container["__target"]
    except (KeyError, TypeError, IndexError, UnknownValueError):
        pass
    if not isinstance(raw, Mapping) or not _has(raw, key):
        return False
    try:
        value = raw[key]
    except UnknownValueError:
        return False
    if isinstance(value, Secret):
        return True
    return isinstance(value, Mapping) and _has(value, _SIG_KEY) and value.get(_SIG_KEY) == _SECRET_SIG


def _has(mapping: Mapping, key: Any) -> bool:
    # `key in proxy` reads the value, which raises for unknowns; iterate the keys instead.
    try:
        return key in iter(mapping)
    except TypeError:
        return False


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def get(obj: Any, *path: Any, default: Any = None) -> Any:
    """Read `obj[p0][p1]...`; missing or None gives `default`, unknown raises `UnknownValueError`."""
    cur = plain(obj)
    walked: list[str] = []
    for key in path:
        walked.append(str(key))
        if is_unknown(cur):
            raise UnknownValueError(_sentinel(cur), walked[:-1])
        if isinstance(key, int):
            if not _is_sequence(cur) or not -len(cur) <= key < len(cur):
                return default
        elif not isinstance(cur, Mapping) or not _has(cur, key):
            return default
        cur = cur[key]  # the runtime proxy raises UnknownValueError here
        if is_unknown(cur):
            raise UnknownValueError(_sentinel(cur), walked)
        cur = plain(cur)
    if cur is None:
        return default
    return cur


def peek(obj: Any, *path: Any, default: Any = None) -> Any:
    """Like `get`, but an unknown value gives the `UNKNOWN` marker instead of raising."""
    try:
        return get(obj, *path, default=default)
    except UnknownValueError:
        return UNKNOWN


def _sentinel(value: Any) -> str:
    return value if isinstance(value, str) else UNKNOWN_STRING_VALUE


def as_list(value: Any) -> list[Any]:
    """Elements of a list prop (None → []); unknown raises, an unknown element raises on read."""
    value = plain(value)
    if value is None:
        return []
    if is_unknown(value):
        raise UnknownValueError(_sentinel(value), [])
    if _is_sequence(value):
        return [plain(v) for v in value]
    return [value]


def as_bool(value: Any) -> bool | None:
    """A boolean prop; provider inputs may arrive as "true"/"false" strings. Else None."""
    value = plain(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_number(value: Any) -> float | None:
    """A numeric prop (the engine sends floats; provider inputs may be strings). Else None."""
    value = plain(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


# --- config -----------------------------------------------------------------------------

def config_defaults(schema: PolicyConfigSchema | None) -> dict[str, Any]:
    """The `default` of every property in a policy's config schema."""
    if schema is None:
        return {}
    return {k: v["default"] for k, v in schema.properties.items() if "default" in v}


def settings(args: Any, schema: PolicyConfigSchema | None) -> dict[str, Any]:
    """Policy config: the engine fills defaults from the schema; fall back to them anyway."""
    merged = config_defaults(schema)
    merged.update(dict(args.get_config() or {}))
    return merged


# --- messages ---------------------------------------------------------------------------

def subject(kind: str, name: str, urn: str | None = None) -> str:
    """How a message names a resource: kind, logical name and (for stack policies) URN."""
    text = f"{kind} '{name}'"
    return f"{text} ({urn})" if urn else text


def violation(who: str, problem: str, fix: str) -> str:
    """`<resource>: <problem> Fix: <fix>`. Pass names only, never property values."""
    return f"{who}: {problem} Fix: {fix}"


# --- constructors -----------------------------------------------------------------------

ResourceCheck = Callable[[ResourceValidationArgs, dict, ReportViolation], None]
ResourceFix = Callable[[ResourceValidationArgs, dict], Mapping[str, Any] | None]
StackCheck = Callable[[StackValidationArgs, dict, ReportViolation], None]


def string_list(description: str, default: Iterable[str] = ()) -> dict[str, Any]:
    """The config-schema entry of a list of strings."""
    return {"type": "array", "items": {"type": "string"}, "default": list(default), "description": description}


def resource_policy(*, name: str, description: str, level: EnforcementLevel, severity: Severity,
                    types: Iterable[str], check: ResourceCheck,
                    config: PolicyConfigSchema | None = None,
                    fix: ResourceFix | None = None,
                    remediation_steps: str | None = None,
                    url: str | None = None,
                    tags: list[str] | None = None) -> ResourceValidationPolicy:
    """A resource policy that only looks at `types` and passes its config with defaults."""
    wanted = frozenset(types)

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in wanted:
            check(args, settings(args, config), report)

    remediate = None
    if fix is not None:
        def remediate(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
            if args.resource_type not in wanted:
                return None
            return fix(args, settings(args, config))

    # pulumi_policy annotates remediate as returning an awaitable; its runtime takes a plain mapping
    # too (policy.py awaits the result only when isawaitable()).
    policy = ResourceValidationPolicy(
        name=name, description=description, validate=validate,
        remediate=remediate,  # type: ignore[arg-type]  # a plain mapping: see above
        enforcement_level=level, config_schema=config, severity=severity,
        remediation_steps=remediation_steps, url=url, tags=tags)
    policy.resource_types = wanted  # type: ignore[attr-defined]  # for tests and docs
    return policy


def stack_policy(*, name: str, description: str, level: EnforcementLevel, severity: Severity,
                 check: StackCheck, config: PolicyConfigSchema | None = None,
                 remediation_steps: str | None = None,
                 url: str | None = None,
                 tags: list[str] | None = None) -> StackValidationPolicy:
    """A stack policy that receives its config with defaults."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        check(args, settings(args, config), report)

    return StackValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=level,
        config_schema=config, severity=severity, remediation_steps=remediation_steps,
        url=url, tags=tags)


def resources_of(args: StackValidationArgs, *types: str) -> list[PolicyResource]:
    """Stack resources of the given types, in stack order."""
    return [r for r in args.resources if r.resource_type in types]


def depends_on(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """True when `resource.prop` was computed from an output of `target`."""
    deps = (resource.property_dependencies or {}).get(prop) or []
    return any(d is target or d.urn == target.urn for d in deps)


def links_to(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """True when `resource.prop` points at `target`: computed from one of its outputs, or equal
    to its known `id` (e.g. a route's or firewall's `projectId` and a Vercel project)."""
    return depends_on(resource, prop, target) or same_known(peek(resource.props, prop), peek(target.props, "id"))


def same_known(a: Any, b: Any) -> bool:
    """Both values known, non-empty and equal."""
    return (a is not None and b is not None and not is_unknown(a) and not is_unknown(b)
            and a != "" and a == b)


def known_items(value: Any) -> list[Any]:
    """The known elements of a list prop; unknown elements (and non-lists) are skipped."""
    value = plain(value)
    if not _is_sequence(value):
        return []
    known = []
    for i in range(len(value)):
        try:
            item = value[i]
        except UnknownValueError:
            continue
        if not is_unknown(item):
            known.append(plain(item))
    return known
