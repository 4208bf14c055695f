"""What a policy-pack run reports: the pack and its policies, diagnostics, remediations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime.proto import analyzer_pb2

ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")
LEVEL_TO_PROTO = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
PROTO_TO_LEVEL = {v: k for k, v in LEVEL_TO_PROTO.items()}
SEVERITY = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
POLICY_TYPE = {
    analyzer_pb2.POLICY_TYPE_UNKNOWN: "unknown",
    analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
    analyzer_pb2.POLICY_TYPE_STACK: "stack",
}


class PolicyPackError(RuntimeError):
    """The pack could not be started, or an RPC to it failed. The message carries its stderr tail."""


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    enforcement_level: str
    """The level the pack declares (before config)."""
    severity: str
    policy_type: str
    """"resource", "stack" or "unknown"."""
    config_schema: dict[str, Any] | None
    """`{"properties": {...}, "required": [...]}` as the pack declares it, or None."""
    display_name: str = ""
    url: str = ""
    """The policy's documentation link (pulumi-policy `url`), when it declares one."""


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    """From PulumiPolicy.yaml when set (as the engine does), else from the pack."""
    description: str
    supports_config: bool
    policies: tuple[PolicyInfo, ...]
    initial_config: dict[str, dict[str, Any]]
    python: str
    """The interpreter the pack runs on."""

    def policy(self, name: str) -> PolicyInfo:
        for p in self.policies:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class Diagnostic:
    policy_name: str
    enforcement_level: str
    """"advisory" or "mandatory" ("remediate" is reported as "mandatory", as the engine does)."""
    severity: str
    message: str
    """The policy's description, a newline, then the reported message (pulumi-policy's format)."""
    urn: str
    """The analyzed resource for resource policies; for stack policies the reported URN when it names
    a resource of the stack, else the root stack's URN (the engine's rule)."""
    kind: str
    """"resource", "stack" or "remediation"."""
    policy_pack_name: str = ""
    policy_pack_version: str = ""
    description: str = ""
    stack: str = ""

    def __str__(self) -> str:
        return f"[{self.enforcement_level}] {self.policy_name} ({self.urn}): {self.message}"


@dataclass(frozen=True)
class Remediation:
    policy_name: str
    urn: str
    changed_keys: tuple[str, ...]
    """Top-level property names the remediation added, removed or changed (names only)."""
    properties: dict[str, Any] = field(repr=False)
    """The remediated inputs in wire form (secret sentinels kept). Never print."""
    stack: str = ""


@dataclass(frozen=True)
class NotApplicable:
    policy_name: str
    reason: str
    urn: str
    """The analyzed resource, or "" for a stack policy."""


@dataclass
class PolicyResult:
    pack: PackInfo
    project: str
    stack: str
    policy_config: dict[str, dict[str, Any]]
    """The reconciled config sent with `Configure`: name -> {"enforcementLevel", "properties"}."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    remediations: list[Remediation] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)
    analyzed: int = 0
    """How many `Analyze` calls were made."""

    @property
    def mandatory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.enforcement_level == "mandatory"]

    @property
    def advisory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.enforcement_level == "advisory"]

    @property
    def ok(self) -> bool:
        """False when the preview would fail (any mandatory diagnostic)."""
        return not self.mandatory

    def by_policy(self, name: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.policy_name == name]

    def for_urn(self, urn: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.urn == urn]

    def summary(self) -> str:
        head = (f"policy pack {self.pack.name}@{self.pack.version} on {self.project}/{self.stack}: "
                f"{len(self.mandatory)} mandatory, {len(self.advisory)} advisory, "
                f"{len(self.remediations)} remediations")
        return "\n".join([head, *(f"  {d}" for d in self.diagnostics)])

