"""A `MockMonitor` that records every registration request as it arrives over the wire.

Two things the engine does that Pulumi's `MockMonitor` does not, done here so that what is
recorded (and what a policy pack is shown) is what `pulumi preview` would see:

* **Default providers.** A custom resource registered without a `provider` is managed by the
  default provider of its package and version, which the engine registers on demand, once per
  package version, with the stack's `<package>:<key>` config values as its inputs: strings, the
  secret ones wrapped as secrets (pulumi/pulumi `docs/architecture/providers.md` "Default
  providers"; `pkg/resource/deploy/target.go` `GetPackageConfig`), plus `version`. It is named
  `default_<version with underscores>` (`default` when the SDK sends no version).
* **`additionalSecretOutputs`.** The engine marks the named outputs secret before the program
  sees them (an exported `RandomPassword.result` stays a secret).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import settings as _settings

from review.capture.model import CapturedResource
from review.wire import SECRET_MARK, SECRET_SIG, make_urn, parse_urn

PROVIDER_PREFIX = "pulumi:providers:"

class RecordingMonitor(_mocks.MockMonitor):
    """A `MockMonitor` that keeps each registration request as the engine sees it."""

    def __init__(self, mocks: pulumi.runtime.Mocks, config: Mapping[str, str] | None = None,
                 secret_keys: Iterable[str] = (),
                 on_register: Callable[[CapturedResource], None] | None = None) -> None:
        super().__init__(mocks)
        self.on_register = on_register
        self.records: dict[str, CapturedResource] = {}
        self.order: list[str] = []
        self.outputs: dict[str, dict[str, Any]] = {}
        self.config = dict(config or {})
        self.secret_keys = frozenset(secret_keys)
        self._default_providers: dict[tuple[str, str], str] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine qualifies a child's type with its parent's type chain, but
        # leaves out the root stack: keep URNs identical to a real deployment's.
        parent_type = parse_urn(parent).qualified_type if parent else ""
        return make_urn(_settings.get_stack(), _settings.get_project(), parent_type, type_, name)

    def _default_provider(self, package: str, version: str) -> str:
        """The reference (`URN::id`) of the package's default provider, registered on first use."""
        key = (package, version)
        if key not in self._default_providers:
            name = "default_" + version.replace(".", "_").replace("-", "_") if version else "default"
            ptype = PROVIDER_PREFIX + package
            urn = make_urn(_settings.get_stack(), _settings.get_project(), "", ptype, name)
            props: dict[str, Any] = {}
            for full, value in sorted(self.config.items()):
                namespace, _, config_key = full.partition(":")
                if namespace == package and config_key:
                    props[config_key] = ({SECRET_SIG: SECRET_MARK, "value": value} if full in self.secret_keys
                                         else value)
            if version:
                props["version"] = version
            self._record(CapturedResource(urn=urn, type=ptype, name=name, custom=True, parent=None,
                                          provider=None, props=props, default_provider=True))
            self._default_providers[key] = f"{urn}::{name}-default-id"
        return self._default_providers[key]

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        provider = request.provider or None
        if provider is None and request.custom and not request.type.startswith(PROVIDER_PREFIX):
            provider = self._default_provider(request.type.split(":", 1)[0], request.version)
        response = super().RegisterResource(request)
        if request.additionalSecretOutputs:
            _mark_secret(response.object, request.additionalSecretOutputs)
        self._record(CapturedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            provider=provider,
            props=json_format.MessageToDict(request.object),
            dependencies=tuple(request.dependencies),
            property_dependencies={
                k: tuple(v.urns) for k, v in request.propertyDependencies.items()
            },
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=tuple(request.ignoreChanges),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            aliases=tuple(_alias(a) for a in request.aliases),
            deleted_with=request.deletedWith or None,
            replace_on_changes=tuple(request.replaceOnChanges),
            custom_timeouts={k: v for k, v in (("create", request.customTimeouts.create),
                                                ("update", request.customTimeouts.update),
                                                ("delete", request.customTimeouts.delete)) if v},
        ))
        return response

    def _record(self, record: CapturedResource) -> None:
        self.records[record.urn] = record
        self.order.append(record.urn)
        if self.on_register is not None:
            # Called on the SDK's RPC thread, in registration order; a policy pack can start on it.
            self.on_register(record)

    def RegisterResourceOutputs(self, request):  # noqa: N802 - gRPC method name
        self.outputs[request.urn] = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


def _mark_secret(outputs: struct_pb2.Struct, names: Iterable[str]) -> None:
    for name in names:
        if name in outputs.fields and not _is_wrapped(outputs.fields[name]):
            value = json_format.MessageToDict(outputs.fields[name])
            outputs.fields[name].Clear()
            json_format.ParseDict({SECRET_SIG: SECRET_MARK, "value": value}, outputs.fields[name])


def _is_wrapped(value: struct_pb2.Value) -> bool:
    return value.HasField("struct_value") and SECRET_SIG in value.struct_value.fields


def _alias(spec: Any) -> Any:
    data = json_format.MessageToDict(spec)
    return data.get("urn", data)
