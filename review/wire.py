"""The engine's wire format, in one place: special values, URNs and alias resolution.

Everything the review tool reads from a program (`review.capture`) and hands to a policy pack
(`review.packrun`) is in the form the engine exchanges over gRPC: camelCase property names,
numbers as floats, and special values marked by a signature key. The signatures are the SDK's
own (`pulumi.runtime.rpc`), not copies.

* A secret is `{SECRET_SIG: SECRET_MARK, "value": ...}`; an output value is
  `{SECRET_SIG: OUTPUT_VALUE_SIG, "value"?: ..., "secret"?: bool, "dependencies"?: [...]}` and
  counts as a secret when its `secret` flag is set; an unknown is the string `UNKNOWN`; a resource
  reference is `{SECRET_SIG: RESOURCE_REF_SIG, "urn": ..., "id"?: ...}`.
* A URN is `urn:pulumi:<stack>::<project>::<qualified type>::<name>`, where the qualified type
  is the parent's qualified type, `$`, then the resource's type; the root stack's type is left
  out of its children's (pulumi/pulumi `sdk/go/common/resource/urn.go`). A provider reference is
  `<provider URN>::<provider id>`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.runtime import rpc as _rpc

STACK_TYPE = "pulumi:pulumi:Stack"
SECRET_SIG: str = _rpc._special_sig_key
SECRET_MARK: str = _rpc._special_secret_sig
OUTPUT_VALUE_SIG: str = _rpc._special_output_value_sig
RESOURCE_REF_SIG: str = _rpc._special_resource_sig
UNKNOWN: str = _rpc.UNKNOWN
SECRET_TEXT = "[secret]"


# --------------------------------------------------------------------------- secrets


def is_secret(value: Any) -> bool:
    """True for a value wrapped as a secret: the secret sentinel, or an output value marked secret."""
    if not isinstance(value, dict):
        return False
    sig = value.get(SECRET_SIG)
    return sig == SECRET_MARK or (sig == OUTPUT_VALUE_SIG and bool(value.get("secret")))


def reveal(value: Any) -> Any:
    """Strip secret and output-value wrappers, returning plain values (never print the result)."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) in (SECRET_MARK, OUTPUT_VALUE_SIG):
            return reveal(value.get("value"))
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def redact(value: Any, replacement: Any = SECRET_TEXT) -> Any:
    """Replace every secret-wrapped value, keeping the structure.

    `replacement` is the value to put in its place, or a callable given the wrapped secret that
    returns it (the manifest's `{"secret": true, "digest": ...}` marker is built that way).
    """
    if is_secret(value):
        return replacement(value) if callable(replacement) else replacement
    if isinstance(value, dict):
        return {k: redact(v, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, replacement) for v in value]
    return value


def strings(value: Any, out: set[str]) -> set[str]:
    """Add every string inside `value` (secret or not) to `out`."""
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            strings(v, out)
    elif isinstance(value, list):
        for v in value:
            strings(v, out)
    return out


def secret_strings(value: Any, out: set[str] | None = None) -> set[str]:
    """Every string found inside a secret-wrapped value (what a scrubber must never print)."""
    out = set() if out is None else out
    if is_secret(value):
        strings(reveal(value), out)
    elif isinstance(value, dict):
        for v in value.values():
            secret_strings(v, out)
    elif isinstance(value, list):
        for v in value:
            secret_strings(v, out)
    return out


def plain_strings(value: Any, out: set[str]) -> set[str]:
    """Every string found outside secret-wrapped values."""
    if is_secret(value):
        return out
    if isinstance(value, str):
        out.add(value)
    for v in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
        plain_strings(v, out)
    return out


# --------------------------------------------------------------------------- URNs


@dataclass(frozen=True)
class Urn:
    """The parts of a URN. `type` is the resource's own type; `qualified_type` carries its parents'."""

    stack: str
    project: str
    qualified_type: str
    name: str

    @property
    def type(self) -> str:
        return self.qualified_type.rsplit("$", 1)[-1]

    @property
    def parent_type(self) -> str:
        """The parent's type as the URN records it ("" for the root stack and top-level resources)."""
        return self.qualified_type.rsplit("$", 1)[0] if "$" in self.qualified_type else ""


def parse_urn(urn: str) -> Urn:
    """Split a URN; a string that is not one becomes a name with empty other parts."""
    head, sep, rest = urn.partition("::")
    parts = rest.split("::", 2) if sep else []
    if not head.startswith("urn:pulumi:") or len(parts) != 3:
        return Urn(stack="", project="", qualified_type="", name=urn)
    return Urn(stack=head[len("urn:pulumi:"):], project=parts[0], qualified_type=parts[1], name=parts[2])


def make_urn(stack: str, project: str, parent_type: str, type_: str, name: str) -> str:
    """The URN the engine gives `type_`/`name` under a parent whose qualified type is `parent_type`."""
    qualified = f"{parent_type}${type_}" if parent_type and parent_type != STACK_TYPE else type_
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def qualified_type(urn: str) -> str:
    return parse_urn(urn).qualified_type


def root_stack_urn(project: str, stack: str) -> str:
    return make_urn(stack, project, "", STACK_TYPE, f"{project}-{stack}")


def provider_urn(reference: str) -> str:
    """The provider URN of a provider reference (`<URN>::<id>`); a bare URN is returned as it is."""
    return reference.rsplit("::", 1)[0] if reference.count("::") > 3 else reference


# --------------------------------------------------------------------------- aliases


def _collapse(resource: Any, alias: Any, project: str, stack: str) -> str | None:
    """An alias (URN or spec) as a URN: unset fields default to the resource's own."""
    if isinstance(alias, str):
        return alias
    if not isinstance(alias, Mapping):
        return None
    spec = alias.get("spec", alias)
    name = spec.get("name") or resource.name
    type_ = spec.get("type") or resource.type
    parent = None if spec.get("noParent") else (spec.get("parentUrn") or resource.parent)
    parent_type = qualified_type(parent) if parent else ""
    return make_urn(spec.get("stack") or stack, spec.get("project") or project, parent_type, type_, name)


class AliasResolver:
    """Every resource's aliases as URNs, with the ones it inherits from its parents' aliases.

    The engine's rule (`generateAliases`/`inheritedChildAlias` in pulumi/pulumi
    pkg/resource/deploy/step_generator.go): a child of an aliased parent is also known under
    each parent alias, its name's parent-name prefix swapped for the alias's name. Under alias
    specs the SDK leaves this to the engine, so the registrations do not carry them. Resources
    are added in registration order (parents first), one at a time, as the engine sees them.
    """

    def __init__(self, project: str, stack: str) -> None:
        self.project = project
        self.stack = stack
        self._found: dict[str, list[str]] = {}

    def of(self, urn: str) -> list[str]:
        return self._found.get(urn, [])

    def add(self, r: Any) -> list[str]:
        found: list[str] = []

        def add(urn: str | None) -> None:
            if urn and urn != r.urn and urn not in found:
                found.append(urn)

        own = [_collapse(r, a, self.project, self.stack) for a in r.aliases]
        for urn in own:
            add(urn)
        if r.parent and self._found.get(r.parent):
            parent_name = parse_urn(r.parent).name
            for parent_alias in self._found[r.parent]:
                alias = parse_urn(parent_alias)
                candidates = [(r.type, r.name)] + [(parse_urn(u).type, parse_urn(u).name) for u in own if u]
                for child_type, child_name in candidates:
                    if child_name.startswith(parent_name):
                        child_name = alias.name + child_name[len(parent_name):]
                    add(make_urn(self.stack, self.project, alias.qualified_type, child_type, child_name))
        self._found[r.urn] = found
        return found


def resolve_aliases(resources: Iterable[Any], project: str, stack: str) -> dict[str, list[str]]:
    """`AliasResolver` over `resources` (registration order): URN -> its aliases."""
    resolver = AliasResolver(project, stack)
    return {r.urn: resolver.add(r) for r in resources}


# --------------------------------------------------------------------------- analyzer marshalling


def downgrade(value: Any) -> Any:
    """Marshal as the engine does for analyzers: no resource references, no output values.

    A resource reference becomes its id (custom resources; an unknown while the id is not known)
    or its URN (components); an output value becomes its plain value (or an unknown), re-wrapped
    as a secret when it was one.
    """
    if isinstance(value, list):
        return [downgrade(v) for v in value]
    if not isinstance(value, dict):
        return value
    sig = value.get(SECRET_SIG)
    if sig == RESOURCE_REF_SIG:
        if "id" in value:
            rid = value.get("id")
            return UNKNOWN if rid in ("", None) else downgrade(rid)
        return value.get("urn", "")
    if sig == OUTPUT_VALUE_SIG:
        inner = downgrade(value["value"]) if "value" in value else UNKNOWN
        if value.get("secret"):
            return {SECRET_SIG: SECRET_MARK, "value": inner}
        return inner
    return {k: downgrade(v) for k, v in value.items()}


def analyzer_props(props: Mapping[str, Any]) -> dict[str, Any]:
    """Properties as an analyzer receives them (SkipInternalKeys drops top-level `__` keys)."""
    return {k: downgrade(v) for k, v in props.items() if not k.startswith("__")}


def refuse_json_constant(name: str) -> Any:
    """`json.loads(parse_constant=...)`: NaN and Infinity are not JSON; Go's encoding/json (the CLI)
    and protobuf's Struct (the wire) refuse them."""
    raise ValueError(f"{name} is not JSON: numbers must be finite")


def out_of_range(value: Any, where: str = "(root)") -> Iterator[str]:
    """Paths of numbers a float64 cannot hold: the CLI reads JSON numbers as float64 and the wire
    sends them as protobuf doubles, so a 400-digit integer there is refused, never a crash."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            yield where
    elif isinstance(value, float) and not math.isfinite(value):  # json.loads reads 1e400 as inf
        yield where
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from out_of_range(v, f"{k}" if where == "(root)" else f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from out_of_range(v, f"{where}[{i}]")
