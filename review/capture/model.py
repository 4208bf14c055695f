"""What one program run registered: resources as the engine received them, and stack outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from review.wire import STACK_TYPE, reveal


@dataclass(frozen=True)
class CapturedResource:
    """One resource registration as the engine received it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    props: dict[str, Any]
    """Inputs in wire form: camelCase keys, floats, secret sentinels kept."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    aliases: tuple[Any, ...] = ()
    deleted_with: str | None = None
    """URN of the resource whose deletion deletes this one: the engine then skips this one's Delete."""
    replace_on_changes: tuple[str, ...] = ()
    custom_timeouts: Mapping[str, str] = field(default_factory=dict)
    """`create`/`update`/`delete` timeouts as the SDK sends them (e.g. "10m"); only those set."""
    outputs: dict[str, Any] | None = None
    """What a component registered with `register_outputs` (wire form)."""
    default_provider: bool = False
    """Registered by the engine, not the program: the default provider of a package version."""
    source_position: tuple[str, int] | None = None
    """Where the program declared it, as the SDK sends it (`RegisterResourceRequest.sourcePosition`:
    the file URI and line of the call that constructed it), or None."""
    source_trace: tuple[tuple[str, int], ...] = ()
    """The SDK's `stackTrace` of that registration, innermost call first: (file URI, line) pairs."""

    @property
    def plain(self) -> dict[str, Any]:
        """Props with secret sentinels removed (tests only: never print this)."""
        return reveal(self.props)


@dataclass
class Capture:
    """Everything one program run registered."""

    project: str
    stack: str
    resources: list[CapturedResource]
    stack_outputs: dict[str, Any]
    invokes: list[tuple[str, dict[str, Any]]]
    warnings: list[str] = field(default_factory=list)
    """What the run could not answer faithfully offline (e.g. a stack reference without outputs)."""

    @property
    def declared(self) -> list[CapturedResource]:
        """What the program itself registered (everything but the engine's default providers)."""
        return [r for r in self.resources if not r.default_provider]

    def of_type(self, type_: str) -> list[CapturedResource]:
        return sorted((r for r in self.resources if r.type == type_), key=lambda r: r.name)

    def one(self, type_: str, name: str | None = None) -> CapturedResource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise AssertionError(f"expected one {type_} named {name!r}, found {names}")
        return found[0]

    def by_urn(self, urn: str) -> CapturedResource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children(self, parent: CapturedResource) -> list[CapturedResource]:
        return [r for r in self.resources if r.parent == parent.urn]

    @property
    def root(self) -> CapturedResource:
        return next(r for r in self.resources if r.type == STACK_TYPE)


