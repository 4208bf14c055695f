"""Harness that feeds policies the args the pulumi-policy runtime builds.

Mirrors `pulumi_policy.policy._PolicyAnalyzerServicer`:
- props travel as a protobuf `Struct` (numbers become floats), secrets are unwrapped by
  `deserialize_properties` and the result is wrapped by `unknown_checking_proxy`;
- Remediate deserializes with `proxy_secrets=True` (secret values stay `Secret` objects);
- config: the engine fills defaults from each policy's `config_schema` and validates it,
  then `Configure` hands the properties over as a `Struct` (floats again);
- an `UnknownValueError` becomes an advisory "can't run policy during preview", and
  `args.not_applicable()` becomes a not-applicable entry; both are recorded here.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from google.protobuf import json_format, struct_pb2

REPO_ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = REPO_ROOT / "policies"
# The engine runs the pack with its own directory importable; do the same here.
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))

from pulumi_policy import (  # noqa: E402 - after the pack directory joins sys.path
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties, serialize_properties  # noqa: E402 - after the pack directory joins sys.path
from pulumi_policy.policy import _NotApplicableError  # noqa: E402 - after the pack directory joins sys.path
from pulumi_policy.proxy import (  # noqa: E402 - after the pack directory joins sys.path
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    unknown_checking_proxy,
)

import ara_policies  # noqa: E402 - after the pack directory joins sys.path

ALL_POLICIES = ara_policies.ALL_POLICIES
STACK = "test"
PROJECT = "ara-infra"

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

UNKNOWN_STR = UNKNOWN_STRING_VALUE
UNKNOWN_BOOL = UNKNOWN_BOOLEAN_VALUE
UNKNOWN_NUM = UNKNOWN_NUMBER_VALUE
UNKNOWN_LIST = UNKNOWN_ARRAY_VALUE
UNKNOWN_OBJ = UNKNOWN_OBJECT_VALUE

# A value no message may ever contain.
PLANTED = "pl4nted-S3CRET-7f3a9c1e5b"


def secret(value: Any) -> dict:
    """A value wrapped in Pulumi's wire secret sentinel, as the engine sends it."""
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def is_wire_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def to_wire(props: dict) -> dict:
    """Round-trip through a protobuf Struct, the way `AnalyzeRequest.properties` travels."""
    struct = struct_pb2.Struct()
    struct.update(props)
    return json_format.MessageToDict(struct)


def engine_props(props: dict, *, remediate: bool = False) -> Any:
    """Props exactly as the runtime hands them to validate (or to remediate)."""
    return unknown_checking_proxy(deserialize_properties(to_wire(props), remediate))


def urn(resource_type: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{resource_type}::{name}"


def options(protect: bool = False, parent: str | None = None, *, ignore_changes: list | None = None,
            delete_before_replace: bool | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, list(ignore_changes or []), delete_before_replace, [],
                                 PolicyCustomTimeouts(0, 0, 0), [], parent)


def config_schema_json(policy) -> dict:
    schema = policy.config_schema
    return {
        "type": "object",
        "properties": dict(schema.properties) if schema else {},
        "required": list(schema.required or []) if schema else [],
        "additionalProperties": False,
    }


def engine_config(policy, overrides: dict | None = None) -> dict | None:
    """Defaults from the schema + overrides, validated, then sent through `Configure`."""
    config: dict = {}
    if policy.config_schema:
        config = {k: v["default"] for k, v in policy.config_schema.properties.items() if "default" in v}
    config.update(overrides or {})
    jsonschema.validate(config, config_schema_json(policy))
    if not config:
        return None
    return to_wire(config)


@dataclass
class Outcome:
    """What the runtime would report for one validate call."""

    violations: list = field(default_factory=list)
    unknown: UnknownValueError | None = None
    not_applicable: str | None = None

    @property
    def messages(self) -> list[str]:
        return [m for m, _ in self.violations]

    @property
    def text(self) -> str:
        return "\n".join(self.messages)

    def assert_clean(self) -> None:
        assert self.unknown is None, self.unknown.message
        assert self.not_applicable is None, self.not_applicable
        assert self.messages == []


def _drive(call) -> Outcome:
    outcome = Outcome()

    def report(message: str, urn_: str | None = None) -> None:
        assert isinstance(message, str) and message
        outcome.violations.append((message, urn_))

    try:
        result = call(report)
        if inspect.isawaitable(result):
            asyncio.run(result)
    except UnknownValueError as e:
        outcome.unknown = e
    except _NotApplicableError as e:
        outcome.not_applicable = e.reason
    return outcome


def resource_args(resource_type: str, props: dict, *, name: str = "res", config: dict | None = None,
                  policy=None, remediate: bool = False, protect: bool = False,
                  opts: PolicyResourceOptions | None = None) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource_type, engine_props(props, remediate=remediate), urn(resource_type, name), name,
        opts or options(protect), None, engine_config(policy, config) if policy is not None else None)


def run_resource(policy, resource_type: str, props: dict, *, name: str = "res",
                 config: dict | None = None, opts: PolicyResourceOptions | None = None) -> Outcome:
    args = resource_args(resource_type, props, name=name, config=config, policy=policy, opts=opts)
    return _drive(lambda report: policy.validate(args, report))


def run_remediate(policy, resource_type: str, props: dict, *, name: str = "res",
                  config: dict | None = None) -> dict | None:
    """The remediated props in wire form (secrets still wrapped), or None when unchanged."""
    args = resource_args(resource_type, props, name=name, config=config, policy=policy, remediate=True)
    result = policy.remediate(args)
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return None if not result else dict(serialize_properties(result))


@dataclass
class Res:
    """A stack resource for `run_stack`; `deps` maps a prop to names of resources it came from."""

    type: str
    name: str
    props: dict = field(default_factory=dict)
    protect: bool = False
    deps: dict = field(default_factory=dict)
    parent: str | None = None
    depends_on: list = field(default_factory=list)
    """Names of resources in `dependencies` only (explicit `depends_on`)."""
    ignore_changes: list = field(default_factory=list)
    delete_before_replace: bool | None = None


def stack_args(resources: list[Res], *, config: dict | None = None, policy=None) -> StackValidationArgs:
    built: dict[str, PolicyResource] = {}
    for r in resources:
        built[r.name] = PolicyResource(r.type, engine_props(r.props), urn(r.type, r.name), r.name,
                                       options(r.protect, ignore_changes=r.ignore_changes,
                                               delete_before_replace=r.delete_before_replace),
                                       None, None, [], {})
    for r in resources:
        pr = built[r.name]
        if r.parent:
            pr.parent = built[r.parent]
        for prop, names in r.deps.items():
            pr.property_dependencies[prop] = [built[n] for n in names]
            pr.dependencies.extend(built[n] for n in names if built[n] not in pr.dependencies)
        pr.dependencies.extend(built[n] for n in r.depends_on if built[n] not in pr.dependencies)
    return StackValidationArgs(list(built.values()), engine_config(policy, config) if policy else None)


def run_stack(policy, resources: list[Res], *, config: dict | None = None) -> Outcome:
    args = stack_args(resources, config=config, policy=policy)
    return _drive(lambda report: policy.validate(args, report))


def assert_metadata(policy, level: str, severity: str, config_keys: set[str]) -> None:
    """Name, level, severity and config schema, compliance-policies style."""
    assert policy in ALL_POLICIES
    assert policy.enforcement_level.value == level
    assert policy.severity is not None and policy.severity.value == severity
    assert policy.description and policy.description.endswith(".")
    keys = set(policy.config_schema.properties) if policy.config_schema else set()
    assert keys == config_keys
    for spec in (policy.config_schema.properties.values() if policy.config_schema else []):
        assert "default" in spec and "description" in spec
    engine_config(policy)  # the defaults satisfy the schema
