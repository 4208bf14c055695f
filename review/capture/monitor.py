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
* **Preview (`preview=True`, what `pulumi preview` runs).** Each custom resource is planned
  against `state` (`review.capture.state`): a same step answers with the state's outputs (or the
  mocks', for `diff`'s deployed base revision); an update keeps its id and answers its inputs; a
  create or replace answers its inputs only and no id, so the SDK makes the id and every output a
  provider computes unknown, as it does in a real preview (pulumi/runtime/rpc.py
  `resolve_properties`: in a dry run a missing output is unknown). Outputs given in the answers
  file (`Answers.resources`) are known in any step. Without `preview` every registration is
  answered by the mocks, as after a finished `pulumi up` (the real-server tests need that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import settings as _settings
from pulumi.runtime.proto import resource_pb2

from review.capture import state as _state
from review.capture.mocks import ProgramMocks
from review.capture.model import CapturedResource
from review.wire import SECRET_MARK, SECRET_SIG, UNKNOWN, AliasResolver, make_urn, parse_urn

PROVIDER_PREFIX = "pulumi:providers:"

class RecordingMonitor(_mocks.MockMonitor):
    """A `MockMonitor` that keeps each registration request as the engine sees it."""

    mocks: ProgramMocks

    def __init__(self, mocks: ProgramMocks, config: Mapping[str, str] | None = None,
                 secret_keys: Iterable[str] = (),
                 on_register: Callable[[CapturedResource], None] | None = None,
                 *, preview: bool = False, state: Any = None) -> None:
        super().__init__(mocks)
        self.preview = preview
        self.state = state if state is not None else _state.NoState()
        self._aliases = AliasResolver(_settings.get_project(), _settings.get_stack())
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
            rid = f"{name}-default-id"
            if self.preview and self.state.step(urn, (), ptype, props, None).kind not in (_state.SAME, _state.UPDATE):
                rid = UNKNOWN  # a provider the preview creates (registry.go Create: UnknownID)
            self._default_providers[key] = f"{urn}::{rid}"
        return self._default_providers[key]

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        provider = request.provider or None
        if provider is None and request.custom and not request.type.startswith(PROVIDER_PREFIX):
            provider = self._default_provider(request.type.split(":", 1)[0], request.version)
        if self.preview and request.custom:
            response = self._plan(request, provider)
        else:
            response = self._answered(super().RegisterResource(request), request)
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
            source_position=_position(request.sourcePosition) if request.HasField("sourcePosition") else None,
            source_trace=tuple(p for p in (_position(f.pc) for f in request.stackTrace.frames if f.HasField("pc"))
                               if p is not None),
        ))
        return response

    def _plan(self, request: Any, provider: str | None) -> Any:
        """The engine's answer to a registration in a preview: see the module docstring."""
        urn = self.make_urn(request.parent, request.type, request.name)
        props = json_format.MessageToDict(request.object)
        aliases = self._aliases.add(CapturedResource(
            urn=urn, type=request.type, name=request.name, custom=True, parent=request.parent or None,
            provider=provider, props=props, aliases=tuple(_alias(a) for a in request.aliases)))
        step = self.state.step(urn, aliases, request.type, props, provider, tuple(request.ignoreChanges))
        if step.kind == _state.SAME and step.outputs is None:
            return self._answered(super().RegisterResource(request), request)
        rid = step.id
        if rid is None and step.kind in (_state.SAME, _state.UPDATE):
            old = parse_urn(step.old_urn or urn)
            rid = self.mocks.mock_id(old.type, old.name)
        outputs = struct_pb2.Struct()
        outputs.CopyFrom(request.object)
        if step.outputs is not None:
            outputs.update(step.outputs)
        for name in request.additionalSecretOutputs:
            if name not in outputs.fields:
                # The provider's preview answers a computed output as an unknown, which the engine
                # then marks secret (a new RandomPassword's `result` is a secret unknown).
                outputs.fields[name].string_value = UNKNOWN
        response = resource_pb2.RegisterResourceResponse(urn=urn, id=rid or "", object=outputs)
        self.resources[urn] = _mocks.MockMonitor.ResourceRegistration(urn, rid or "",
                                                                      json_format.MessageToDict(outputs))
        return self._answered(response, request)

    def _answered(self, response: Any, request: Any) -> Any:
        """`response` with the outputs the answers file gives this resource (by URN, else by type)."""
        given = self.mocks.resource_answer(response.urn, request.type)
        if given:
            response.object.update({k: v for k, v in given.items() if k != "id"})
            if "id" in given:
                response.id = str(given["id"])
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


def _position(position: Any) -> tuple[str, int] | None:
    """(file URI, line) of an SDK `SourcePosition`, or None when it carries none."""
    return (position.uri, int(position.line)) if position.uri else None


def _alias(spec: Any) -> Any:
    data = json_format.MessageToDict(spec)
    return data.get("urn", data)
