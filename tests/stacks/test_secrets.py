"""No secret ever appears in plain text: not in an input, not in an output."""

from __future__ import annotations

import json

import pytest

from infra import catalog
from review import wire
from tests.support import secret_values, stack_config


def _plain_text(value) -> str:
    """Everything in `value` that is not behind a secret sentinel, as one string."""
    return json.dumps(wire.redact(value))


@pytest.mark.parametrize("stack_fixture", ["prod", "preview"])
def test_no_secret_config_value_appears_outside_a_secret(stack_fixture, request):
    capture = request.getfixturevalue(stack_fixture)
    placeholders = secret_values(stack_config(capture.stack))
    assert placeholders
    for resource in capture.resources:
        visible = _plain_text(resource.props) + _plain_text(resource.outputs or {})
        for secret in placeholders:
            assert secret not in visible, f"{resource.urn} shows a secret config value"
    outputs = _plain_text(capture.stack_outputs)
    assert not any(secret in outputs for secret in placeholders)


@pytest.mark.parametrize("stack_fixture", ["prod", "preview"])
def test_every_sensitive_variable_value_is_a_secret_on_the_wire(stack_fixture, request):
    capture = request.getfixturevalue(stack_fixture)
    for variable in capture.of_type(catalog.VERCEL_ENV_VAR):
        if catalog.is_secret_key(variable.props["key"]):
            assert variable.props["sensitive"] is True, variable.name
            assert wire.is_secret(variable.props["value"]), variable.name
        assert catalog.TARGET_DEVELOPMENT not in variable.props["targets"]


@pytest.mark.parametrize("stack_fixture", ["prod", "preview"])
def test_generated_and_derived_secrets_never_appear_in_plain_text(stack_fixture, request):
    capture = request.getfixturevalue(stack_fixture)
    generated = {
        wire.reveal(v.props["value"])
        for v in capture.of_type(catalog.VERCEL_ENV_VAR)
        if v.props["sensitive"]
    }
    for resource in capture.resources:
        visible = _plain_text(resource.props) + _plain_text(resource.outputs or {})
        for value in generated:
            assert value not in visible, f"{resource.urn} shows a secret"
    assert not any(v in _plain_text(capture.stack_outputs) for v in generated)
