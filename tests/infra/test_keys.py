"""GeneratedKeys: random, secret, the right lengths, rotatable."""

import pulumi
import pytest

from infra import catalog
from infra.keys import GeneratedKeys, GeneratedKeysArgs
from tests.support import run_component


def _keys(**kwargs):
    return run_component(lambda: GeneratedKeys("keys", GeneratedKeysArgs(**kwargs)))


def test_encryption_key_is_a_32_character_random_password():
    pw = _keys().one(catalog.RANDOM_PASSWORD, "keys-encryption-key")
    assert pw.props["length"] == 32
    assert pw.props["special"] is False


def test_jwt_secret_is_at_least_64_characters():
    pw = _keys().one(catalog.RANDOM_PASSWORD, "keys-jwt-secret")
    assert pw.props["length"] >= 64


def test_keys_use_random_password_not_random_string():
    cap = _keys()
    assert {r.type for r in cap.declared if r.custom} == {catalog.RANDOM_PASSWORD}


def test_bumping_the_version_changes_the_keepers_that_rotate_both_keys():
    before = _keys(version=1).of_type(catalog.RANDOM_PASSWORD)
    after = _keys(version=2).of_type(catalog.RANDOM_PASSWORD)
    assert [r.props["keepers"] for r in before] == [{"version": "1"}] * 2
    assert [r.props["keepers"] for r in after] == [{"version": "2"}] * 2


def test_wrong_encryption_key_length_is_refused():
    with pytest.raises(ValueError, match="exactly 32"):
        run_component(lambda: GeneratedKeys("bad", GeneratedKeysArgs(encryption_key_length=16)))


@pulumi.runtime.test
def test_key_outputs_are_secrets(mocks):
    keys = GeneratedKeys("keys", GeneratedKeysArgs())

    def check(secret_flags):
        assert secret_flags == [True, True]

    return pulumi.Output.all(
        pulumi.Output.from_input(keys.encryption_key.is_secret()),
        pulumi.Output.from_input(keys.jwt_secret.is_secret()),
    ).apply(check)
