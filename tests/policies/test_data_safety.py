"""data_safety.py: protect on stateful resources, minimum lengths of generated keys."""

import pytest

from ara_policies import data_safety as ds
from infra import catalog, projectfile

from .conftest import PLANTED, UNKNOWN_NUM, UNKNOWN_STR, Res, assert_metadata, run_stack, secret


@pytest.mark.parametrize("policy,level,severity,keys", [
    (ds.REQUIRE_PROTECT_STATEFUL, "mandatory", "high", {"protectedStack"}),
    (ds.REQUIRE_GENERATED_KEY_LENGTH, "advisory", "high", {"minLengths"}),
])
def test_data_safety_policy_metadata(policy, level, severity, keys):
    assert_metadata(policy, level, severity, keys)


def test_generated_minimums_are_derived_from_the_catalog():
    expected = {s.key: catalog.GENERATED_KEY_LENGTHS[s.origin] for s in catalog.ENV_VARS
                if s.source == catalog.Source.GENERATED}
    assert ds.GENERATED_MIN_LENGTHS == expected
    assert ds.GENERATED_MIN_LENGTHS["ENCRYPTION_KEY"] == 32 and ds.GENERATED_MIN_LENGTHS["JWT_SECRET"] == 64
    assert ds.REQUIRE_GENERATED_KEY_LENGTH.config_schema.properties["minLengths"]["default"] == expected


# --- protect ------------------------------------------------------------------------------

def stateful(protect_db=True, protect_bucket=True):
    return [
        Res(catalog.PG_DATABASE, "db", {"name": "ara"}, protect=protect_db),
        Res(catalog.CF_R2_BUCKET, "backups", {"name": "ara-prod-backups"}, protect=protect_bucket),
        Res(catalog.VERCEL_PROJECT, "web", {"name": "ara"}),
    ]


def test_protected_stateful_resources_pass():
    run_stack(ds.REQUIRE_PROTECT_STATEFUL, stateful()).assert_clean()


@pytest.mark.parametrize("db,bucket,flagged", [(False, True, "'db'"), (True, False, "'backups'")])
def test_unprotected_stateful_resource_is_flagged(db, bucket, flagged):
    out = run_stack(ds.REQUIRE_PROTECT_STATEFUL, stateful(db, bucket))
    assert len(out.messages) == 1 and flagged in out.text and "protect=True" in out.text
    assert out.violations[0][1].endswith("::" + flagged.strip("'"))


def test_stateless_resources_need_no_protect():
    run_stack(ds.REQUIRE_PROTECT_STATEFUL, [Res(catalog.VERCEL_PROJECT, "web", {})]).assert_clean()


def test_unprotected_stack_config_marks_policy_not_applicable():
    out = run_stack(ds.REQUIRE_PROTECT_STATEFUL, stateful(False, False), config={"protectedStack": False})
    assert out.messages == [] and out.not_applicable and "protectedStack" in out.not_applicable


# --- generated key lengths ----------------------------------------------------------------

def key_var(name, key, value, deps=None, type_=catalog.VERCEL_ENV_VAR):
    return Res(type_, name, {"projectId": "prj_1", "key": key, "value": secret(value), "targets": ["production"],
                             "sensitive": True}, deps=deps or {})


def test_generated_keys_from_long_enough_passwords_pass():
    out = run_stack(ds.REQUIRE_GENERATED_KEY_LENGTH, [
        Res(catalog.RANDOM_PASSWORD, "encryption-key", {"length": 32, "special": False}),
        Res(catalog.RANDOM_PASSWORD, "jwt-secret", {"length": 64, "special": False}),
        key_var("enc", "ENCRYPTION_KEY", "e" * 32, {"value": ["encryption-key"]}),
        key_var("jwt", "JWT_SECRET", "j" * 64, {"value": ["jwt-secret"]}),
    ])
    out.assert_clean()


def test_generated_key_from_short_password_is_flagged_during_preview():
    out = run_stack(ds.REQUIRE_GENERATED_KEY_LENGTH, [
        Res(catalog.RANDOM_PASSWORD, "jwt-secret", {"length": 32}),
        key_var("jwt", "JWT_SECRET", UNKNOWN_STR, {"value": ["jwt-secret"]}),
    ])
    assert len(out.messages) == 1 and "'jwt-secret'" in out.text and "below 64" in out.text
    assert out.violations[0][1].endswith("::jwt")


def test_short_known_key_value_is_flagged_without_echo():
    out = run_stack(ds.REQUIRE_GENERATED_KEY_LENGTH, [key_var("enc", "ENCRYPTION_KEY", PLANTED)])
    assert len(out.messages) == 1 and "shorter than 32" in out.text and PLANTED not in out.text


def test_key_from_secret_config_is_not_judged_on_its_offline_placeholder():
    # Offline, the secret is a placeholder of arbitrary length; `pulumi preview` judges the real value.
    out = run_stack(ds.REQUIRE_GENERATED_KEY_LENGTH,
                    [key_var("jwt", "JWT_SECRET", projectfile.placeholder("shop:jwtSecret"))])
    out.assert_clean()


def test_short_key_in_bulk_variables_is_flagged():
    bulk = Res(catalog.VERCEL_ENV_VARS, "vars", {"projectId": "prj_1", "variables": [
        {"key": "JWT_SECRET", "value": "short", "targets": ["production"], "sensitive": True}]})
    out = run_stack(ds.REQUIRE_GENERATED_KEY_LENGTH, [bulk])
    assert len(out.messages) == 1 and "variables[0]" in out.text


def test_unknown_password_length_is_skipped():
    out = run_stack(ds.REQUIRE_GENERATED_KEY_LENGTH, [
        Res(catalog.RANDOM_PASSWORD, "jwt-secret", {"length": UNKNOWN_NUM}),
        key_var("jwt", "JWT_SECRET", UNKNOWN_STR, {"value": ["jwt-secret"]}),
    ])
    out.assert_clean()


def test_other_keys_are_not_length_checked():
    run_stack(ds.REQUIRE_GENERATED_KEY_LENGTH, [key_var("openai", "OPENAI_API_KEY", "short")]).assert_clean()


def test_min_lengths_config_overrides_the_catalog():
    resources = [Res(catalog.RANDOM_PASSWORD, "enc-pw", {"length": 32}),
                 key_var("enc", "ENCRYPTION_KEY", UNKNOWN_STR, {"value": ["enc-pw"]})]
    run_stack(ds.REQUIRE_GENERATED_KEY_LENGTH, resources).assert_clean()
    out = run_stack(ds.REQUIRE_GENERATED_KEY_LENGTH, resources, config={"minLengths": {"ENCRYPTION_KEY": 48}})
    assert len(out.messages) == 1 and "below 48" in out.text


def test_min_lengths_override_keeps_catalog_floors_for_other_keys():
    resources = [Res(catalog.RANDOM_PASSWORD, "jwt-pw", {"length": 32}),
                 key_var("jwt", "JWT_SECRET", UNKNOWN_STR, {"value": ["jwt-pw"]})]
    out = run_stack(ds.REQUIRE_GENERATED_KEY_LENGTH, resources, config={"minLengths": {"ENCRYPTION_KEY": 48}})
    assert len(out.messages) == 1 and "below 64" in out.text
