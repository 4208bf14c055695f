"""AppEnvironment: one Vercel variable per catalog entry, secrets sensitive, never on laptops."""

import pulumi
import pytest

from infra import catalog
from infra.environment import VALUE_FIELDS, AppEnvironment, AppEnvironmentArgs
from review import wire
from tests.support import run_component

ALL_VALUES = {spec.key.lower(): f"value-of-{spec.key}" for spec in catalog.ENV_VARS}


def _env(target=catalog.TARGET_PRODUCTION, name="env", **kwargs):
    values = kwargs.pop("values", ALL_VALUES)
    args = AppEnvironmentArgs(project_id="prj_123", target=target, **values, **kwargs)
    return run_component(lambda: AppEnvironment(name, args))


def _vars(cap):
    return {r.props["key"]: r for r in cap.of_type(catalog.VERCEL_ENV_VAR)}


def test_args_have_one_value_field_per_catalog_entry():
    assert sorted(VALUE_FIELDS) == sorted(spec.key.lower() for spec in catalog.ENV_VARS)


def test_declares_one_variable_per_catalog_entry_given():
    cap = _env()
    assert sorted(_vars(cap)) == sorted(spec.key for spec in catalog.ENV_VARS)
    assert len(cap.of_type(catalog.VERCEL_ENV_VAR)) == len(catalog.ENV_VARS)


def test_variables_left_as_none_are_not_declared():
    cap = _env(values={"database_url": "postgresql://x", "public_app_url": "https://app.example.com"})
    assert sorted(_vars(cap)) == ["DATABASE_URL", "PUBLIC_APP_URL"]


def test_uses_one_resource_per_variable_not_the_bulk_resource():
    assert _env().of_type(catalog.VERCEL_ENV_VARS) == []


@pytest.mark.parametrize("spec", [s for s in catalog.ENV_VARS if s.sensitive], ids=lambda s: s.key)
def test_catalog_sensitive_variable_is_sensitive_and_its_value_is_a_secret(spec):
    var = _vars(_env())[spec.key]
    assert var.props["sensitive"] is True
    assert wire.is_secret(var.props["value"])
    assert var.plain["value"] == f"value-of-{spec.key}"


@pytest.mark.parametrize("spec", [s for s in catalog.ENV_VARS if not s.sensitive], ids=lambda s: s.key)
def test_public_variable_is_not_sensitive(spec):
    # The Vercel SDK encrypts every `value` in state; `sensitive` decides whether the
    # dashboard and API can read it back, and public keys must stay readable.
    var = _vars(_env())[spec.key]
    assert var.props["sensitive"] is False
    assert var.plain["value"] == f"value-of-{spec.key}"


def test_secret_values_are_wrapped_even_when_given_as_plain_strings():
    # A plain str from config must not reach the engine unencrypted.
    var = _vars(_env(values={"clerk_secret_key": "sk_live_plain"}))["CLERK_SECRET_KEY"]
    assert wire.is_secret(var.props["value"])
    assert "sk_live_plain" not in str(wire.redact(var.props))


@pytest.mark.parametrize("target", [catalog.TARGET_PRODUCTION, catalog.TARGET_PREVIEW])
def test_every_variable_targets_exactly_the_given_target(target):
    for var in _env(target=target).of_type(catalog.VERCEL_ENV_VAR):
        assert var.props["targets"] == [target]
        assert catalog.TARGET_DEVELOPMENT not in var.props["targets"]


@pytest.mark.parametrize("target", [catalog.TARGET_DEVELOPMENT, "staging", ""])
def test_targets_other_than_production_and_preview_are_rejected(target):
    with pytest.raises(ValueError, match="target must be one of production, preview"):
        _env(target=target)


def test_rejected_target_declares_no_variable():
    with pytest.raises(ValueError) as excinfo:
        _env(target=catalog.TARGET_DEVELOPMENT)
    assert excinfo.value.capture.of_type(catalog.VERCEL_ENV_VAR) == []


def test_branch_environment_sets_git_branch_on_every_variable():
    cap = _env(target=catalog.TARGET_PREVIEW, git_branch="feature/search",
               values={"database_url": "postgresql://x", "jwt_secret": "j"})
    for var in cap.of_type(catalog.VERCEL_ENV_VAR):
        assert var.props["gitBranch"] == "feature/search"


def test_target_wide_environment_sets_no_git_branch():
    for var in _env().of_type(catalog.VERCEL_ENV_VAR):
        assert "gitBranch" not in var.props


def test_variables_are_children_named_after_the_component_and_the_key():
    cap = _env(name="ara-env")
    component = cap.one(catalog.TOKEN_APP_ENVIRONMENT, "ara-env")
    var = cap.one(catalog.VERCEL_ENV_VAR, "ara-env-database-url")
    assert var.parent == component.urn
    assert var.props["key"] == "DATABASE_URL"
    assert var.props["projectId"] == "prj_123"
    assert all(r.name.startswith("ara-env-") for r in cap.children(component))


def test_each_variable_carries_its_catalog_description_as_comment():
    for key, var in _vars(_env()).items():
        assert var.props["comment"] == catalog.ENV_VARS_BY_KEY[key].description


def test_keys_output_lists_the_declared_variables_in_catalog_order():
    cap = _env(values={"sentry_dsn": "https://x", "database_url": "postgresql://x"})
    assert cap.one(catalog.TOKEN_APP_ENVIRONMENT).outputs == {"keys": ["DATABASE_URL", "SENTRY_DSN"]}


def test_prod_stack_declares_the_whole_catalog_for_production(prod):
    variables = _vars(prod)
    assert sorted(variables) == sorted(spec.key for spec in catalog.ENV_VARS)
    assert {tuple(v.props["targets"]) for v in variables.values()} == {(catalog.TARGET_PRODUCTION,)}


def test_preview_stack_never_targets_development(preview):
    targets = {t for v in preview.of_type(catalog.VERCEL_ENV_VAR) for t in v.props["targets"]}
    assert targets == {catalog.TARGET_PREVIEW}


@pulumi.runtime.test
def test_keys_output_resolves_to_the_declared_keys(mocks):
    env = AppEnvironment(
        "env",
        AppEnvironmentArgs(project_id="prj_123", target="preview", jwt_secret="j", public_app_url="https://a.example"),
    )

    def check(keys):
        assert keys == ["JWT_SECRET", "PUBLIC_APP_URL"]

    return env.keys.apply(check)


def test_a_branch_scope_on_a_production_environment_is_refused():
    with pytest.raises(ValueError, match="git_branch scopes preview variables only"):
        _env(target=catalog.TARGET_PRODUCTION, git_branch="feature/x")


def test_no_build_time_node_env_is_declared(prod, preview):
    # Project variables reach `npm ci` too; NODE_ENV=production there skips devDependencies.
    for stack in (prod, preview):
        assert "NODE_ENV" not in _vars(stack)


def test_astro_client_code_gets_the_public_names_with_the_guides_values(prod):
    variables = _vars(prod)
    for public, guide in (("PUBLIC_CLERK_PUBLISHABLE_KEY", "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY"),
                          ("PUBLIC_APP_URL", "NEXT_PUBLIC_APP_URL")):
        assert variables[public].plain["value"] == variables[guide].plain["value"]
        assert variables[public].props["sensitive"] is False
    assert variables["PUBLIC_APP_URL"].plain["value"] == "https://app.appstoagents.com"
