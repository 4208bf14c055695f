"""A `MockMonitor` that records every registration request as it arrives over the wire."""

from __future__ import annotations

from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import settings as _settings

from review.capture.model import CapturedResource
from review.wire import make_urn, parse_urn

class RecordingMonitor(_mocks.MockMonitor):
    """A `MockMonitor` that keeps each registration request as the engine sees it."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: dict[str, CapturedResource] = {}
        self.order: list[str] = []
        self.outputs: dict[str, dict[str, Any]] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine qualifies a child's type with its parent's type chain, but
        # leaves out the root stack: keep URNs identical to a real deployment's.
        parent_type = parse_urn(parent).qualified_type if parent else ""
        return make_urn(_settings.get_stack(), _settings.get_project(), parent_type, type_, name)

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        self.records[response.urn] = CapturedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            provider=request.provider or None,
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
        )
        self.order.append(response.urn)
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802 - gRPC method name
        self.outputs[request.urn] = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


def _alias(spec: Any) -> Any:
    data = json_format.MessageToDict(spec)
    return data.get("urn", data)
