"""web.py: deployment protection, fork protection, public source, bypasses."""

import pytest

from ara_policies import web as vp
from infra import catalog

from .conftest import UNKNOWN_BOOL, UNKNOWN_STR, assert_metadata, run_resource

PROJECT = catalog.VERCEL_PROJECT


def project(**overrides):
    props = {
        "name": "ara",
        "framework": "astro",
        "vercelAuthentication": {"deploymentType": "standard_protection_new"},
        "gitForkProtection": True,
        "optionsAllowlist": {"paths": [{"value": "/api/"}]},
        "skewProtection": "12 hours",
    }
    props.update(overrides)
    return {k: v for k, v in props.items() if v is not None}


@pytest.mark.parametrize("policy,level,severity,keys", [
    (vp.ENABLE_DEPLOYMENT_PROTECTION, "mandatory", "high", set()),
    (vp.ENABLE_GIT_FORK_PROTECTION, "mandatory", "high", set()),
    (vp.DISALLOW_PUBLIC_SOURCE, "mandatory", "high", set()),
    (vp.DISALLOW_DIRECTORY_LISTING, "mandatory", "medium", set()),
    (vp.RESTRICT_AUTOMATION_BYPASS, "advisory", "medium", {"allowedBypasses"}),
    (vp.RESTRICT_OPTIONS_ALLOWLIST, "advisory", "medium", set()),
])
def test_project_policy_metadata(policy, level, severity, keys):
    assert_metadata(policy, level, severity, keys)


@pytest.mark.parametrize("policy", vp.POLICIES)
def test_compliant_project_passes_every_project_policy(policy):
    run_resource(policy, PROJECT, project(), name="web").assert_clean()


@pytest.mark.parametrize("policy", vp.POLICIES)
def test_project_policies_ignore_other_resource_types(policy):
    props = project(vercelAuthentication={"deploymentType": "none"}, publicSource=True)
    run_resource(policy, catalog.VERCEL_PROJECT_DOMAIN, props).assert_clean()


# --- deployment protection --------------------------------------------------------------

@pytest.mark.parametrize("auth", [None, {}])
def test_project_leaving_vercel_authentication_unset_inherits_team_protection(auth):
    # The provider documents that an omitted deployment_type inherits the team default
    # (Standard Protection when the team has none), so unset is not "public".
    out = run_resource(vp.ENABLE_DEPLOYMENT_PROTECTION, PROJECT, project(vercelAuthentication=auth), name="web")
    out.assert_clean()


def test_project_with_deployment_type_none_is_flagged():
    out = run_resource(vp.ENABLE_DEPLOYMENT_PROTECTION, PROJECT,
                       project(vercelAuthentication={"deploymentType": "none"}))
    assert len(out.messages) == 1 and '"none"' in out.text and "standard_protection_new" in out.text


@pytest.mark.parametrize("deployment_type", ["standard_protection", "all_deployments", "only_preview_deployments"])
def test_project_with_protecting_deployment_type_passes(deployment_type):
    out = run_resource(vp.ENABLE_DEPLOYMENT_PROTECTION, PROJECT,
                       project(vercelAuthentication={"deploymentType": deployment_type}))
    out.assert_clean()


def test_unknown_deployment_type_defers_to_runtime_advisory():
    out = run_resource(vp.ENABLE_DEPLOYMENT_PROTECTION, PROJECT,
                       project(vercelAuthentication={"deploymentType": UNKNOWN_STR}))
    assert out.unknown is not None and out.messages == []
    assert "vercelAuthentication.deploymentType" in out.unknown.message


# --- fork protection ----------------------------------------------------------------------

@pytest.mark.parametrize("value", [False, "false"])
def test_project_disabling_git_fork_protection_is_flagged(value):
    out = run_resource(vp.ENABLE_GIT_FORK_PROTECTION, PROJECT, project(gitForkProtection=value), name="web")
    assert len(out.messages) == 1 and "gitForkProtection" in out.text and "'web'" in out.text


def test_project_without_git_fork_protection_prop_keeps_provider_default():
    run_resource(vp.ENABLE_GIT_FORK_PROTECTION, PROJECT, project(gitForkProtection=None)).assert_clean()


def test_unknown_git_fork_protection_defers_to_runtime_advisory():
    out = run_resource(vp.ENABLE_GIT_FORK_PROTECTION, PROJECT, project(gitForkProtection=UNKNOWN_BOOL))
    assert out.unknown is not None and out.messages == []


# --- public source / directory listing ------------------------------------------------------

def test_project_with_public_source_is_flagged():
    out = run_resource(vp.DISALLOW_PUBLIC_SOURCE, PROJECT, project(publicSource=True))
    assert len(out.messages) == 1 and "publicSource" in out.text


def test_project_with_public_source_false_passes():
    run_resource(vp.DISALLOW_PUBLIC_SOURCE, PROJECT, project(publicSource=False)).assert_clean()


def test_project_with_directory_listing_is_flagged():
    out = run_resource(vp.DISALLOW_DIRECTORY_LISTING, PROJECT, project(directoryListing=True))
    assert len(out.messages) == 1 and "directoryListing" in out.text


def test_project_with_directory_listing_false_passes():
    run_resource(vp.DISALLOW_DIRECTORY_LISTING, PROJECT, project(directoryListing=False)).assert_clean()


def test_unknown_public_source_defers_to_runtime_advisory():
    out = run_resource(vp.DISALLOW_PUBLIC_SOURCE, PROJECT, project(publicSource=UNKNOWN_BOOL))
    assert out.unknown is not None


# --- automation bypass --------------------------------------------------------------------

def test_automation_bypass_is_judged_on_the_bypass_resource_the_sdk_has():
    # pulumiverse_vercel 5.21.1 has no Project.protectionBypassForAutomation; ProjectProtectionBypass is the way.
    assert vp.RESTRICT_AUTOMATION_BYPASS.resource_types == {catalog.VERCEL_PROTECTION_BYPASS}
    run_resource(vp.RESTRICT_AUTOMATION_BYPASS, PROJECT, project()).assert_clean()


def test_protection_bypass_resource_is_flagged_without_echoing_its_secret():
    planted = "bypass-secret-0123456789abcdef012"
    out = run_resource(vp.RESTRICT_AUTOMATION_BYPASS, catalog.VERCEL_PROTECTION_BYPASS,
                       {"projectId": "prj_1", "secret": planted}, name="e2e-bypass")
    assert len(out.messages) == 1 and "'e2e-bypass'" in out.text
    assert planted not in out.text


def test_allowed_bypasses_config_accepts_a_reviewed_bypass():
    out = run_resource(vp.RESTRICT_AUTOMATION_BYPASS, catalog.VERCEL_PROTECTION_BYPASS,
                       {"projectId": "prj_1"}, name="e2e-bypass", config={"allowedBypasses": ["e2e-bypass"]})
    out.assert_clean()


# --- OPTIONS allow-list -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/*", "*", "/(.*)", ""])
def test_options_allowlist_catch_all_path_is_flagged(path):
    out = run_resource(vp.RESTRICT_OPTIONS_ALLOWLIST, PROJECT,
                       project(optionsAllowlist={"paths": [{"value": "/api/"}, {"value": path}]}))
    assert len(out.messages) == 1 and "paths[1]" in out.text


def test_project_without_options_allowlist_passes():
    run_resource(vp.RESTRICT_OPTIONS_ALLOWLIST, PROJECT, project(optionsAllowlist=None)).assert_clean()


def test_unknown_options_allowlist_path_defers_to_runtime_advisory():
    out = run_resource(vp.RESTRICT_OPTIONS_ALLOWLIST, PROJECT,
                       project(optionsAllowlist={"paths": [{"value": UNKNOWN_STR}]}))
    assert out.unknown is not None


# --- skew protection --------------------------------------------------------------------------

def test_skew_protection_metadata():
    assert_metadata(vp.REQUIRE_SKEW_PROTECTION, "advisory", "low", set())


def test_a_project_without_skew_protection_is_flagged():
    out = run_resource(vp.REQUIRE_SKEW_PROTECTION, PROJECT, project(skewProtection=None), name="web")
    assert len(out.messages) == 1 and "Skew Protection" in out.text and "skew_protection" in out.text


@pytest.mark.parametrize("age", ["30 minutes", "12 hours", "7 days"])
def test_a_project_with_skew_protection_passes(age):
    run_resource(vp.REQUIRE_SKEW_PROTECTION, PROJECT, project(skewProtection=age), name="web").assert_clean()
