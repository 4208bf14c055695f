"""WebProject: the Vercel project's build settings, git integration, functions and protection."""

import pulumi
import pytest

from infra import catalog
from infra.web import WebProject, WebProjectArgs
from tests.support import run_component


def _web(**overrides):
    args = {"project_name": "ara-test", "git_repository": "appstoagents/ara", **overrides}
    return run_component(lambda: WebProject("web", WebProjectArgs(**args)))


def _project(**overrides):
    return _web(**overrides).one(catalog.VERCEL_PROJECT, "web-project")


def test_project_is_registered_under_the_component_with_a_prefixed_name():
    cap = _web()
    component = cap.one(catalog.TOKEN_WEB_PROJECT, "web")
    project = cap.one(catalog.VERCEL_PROJECT, "web-project")
    assert project.parent == component.urn
    assert sorted(r.name for r in cap.children(component)) == ["web-project", "web-retention"]


def test_project_builds_astro_with_npm_by_default():
    props = _project().props
    assert props["name"] == "ara-test"
    assert props["framework"] == "astro"
    assert props["buildCommand"] == "npm run build"
    assert props["outputDirectory"] == "dist"
    assert props["installCommand"] == "npm ci"
    assert props["devCommand"] == "npm run dev"


def test_project_is_connected_to_the_github_repository_with_main_as_production_branch():
    assert _project().props["gitRepository"] == {
        "type": "github",
        "repo": "appstoagents/ara",
        "productionBranch": "main",
    }


def test_functions_run_in_iad1_and_sfo1_with_a_30_second_timeout():
    config = _project().props["resourceConfig"]
    assert config["functionDefaultRegions"] == ["iad1", "sfo1"]
    assert config["functionDefaultTimeout"] == 30


def test_deployments_other_than_production_need_vercel_authentication():
    assert _project().props["vercelAuthentication"] == {"deploymentType": "standard_protection_new"}


def test_fork_pull_requests_need_approval_before_building_with_secrets():
    assert _project().props["gitForkProtection"] is True


def test_directory_listing_is_off():
    assert _project().props["directoryListing"] is False


def test_pull_requests_get_a_preview_comment():
    assert _project().props["gitComments"] == {"onPullRequest": True, "onCommit": False}


def test_args_override_the_defaults():
    props = _project(
        production_branch="release",
        framework="nextjs",
        build_command="pnpm build",
        output_directory=".next",
        install_command="pnpm install --frozen-lockfile",
        dev_command="pnpm dev",
        function_regions=["fra1"],
        function_max_duration=60,
        deployment_protection="all_deployments",
    ).props
    assert props["gitRepository"]["productionBranch"] == "release"
    assert props["framework"] == "nextjs"
    assert props["buildCommand"] == "pnpm build"
    assert props["outputDirectory"] == ".next"
    assert props["installCommand"] == "pnpm install --frozen-lockfile"
    assert props["devCommand"] == "pnpm dev"
    assert props["resourceConfig"] == {"functionDefaultRegions": ["fra1"], "functionDefaultTimeout": 60}
    assert props["vercelAuthentication"] == {"deploymentType": "all_deployments"}


def test_project_is_not_protected_so_settings_changes_stay_in_place():
    project = _project()
    assert project.protect is False


def test_component_registers_the_project_id_and_name_as_outputs():
    component = _web().one(catalog.TOKEN_WEB_PROJECT, "web")
    assert set(component.outputs) == {"project_id", "project_name"}
    assert component.outputs["project_name"] == "ara-test"
    assert isinstance(component.outputs["project_id"], str) and component.outputs["project_id"]


def test_prod_stack_configures_the_project_from_its_config(prod):
    props = prod.one(catalog.VERCEL_PROJECT).props
    assert props["name"] == "appstoagents-ara"
    assert props["gitRepository"]["repo"] == "appstoagents/ara"


def test_preview_stack_does_not_own_the_project(preview):
    assert preview.of_type(catalog.VERCEL_PROJECT) == []
    assert any(token == catalog.INVOKE_GET_PROJECT for token, _ in preview.invokes)


@pulumi.runtime.test
def test_project_id_output_is_the_project_resource_id(mocks):
    web = WebProject("web", WebProjectArgs(project_name="ara-test", git_repository="appstoagents/ara"))

    def check(values):
        project_id, project_name = values
        [project] = [r for urn, r in mocks.get_registered_resources().items() if urn.endswith("::web-project")]
        assert project_id == project.id
        assert project_name == "ara-test"

    return pulumi.Output.all(web.project_id, web.project_name).apply(check)


RETENTION = catalog.VERCEL_DEPLOYMENT_RETENTION


def test_old_deployments_and_the_secrets_built_into_them_expire():
    cap = _web()
    retention = cap.one(RETENTION, "web-retention")
    assert retention.property_dependencies["projectId"] == (cap.one(catalog.VERCEL_PROJECT, "web-project").urn,)
    assert retention.props["expirationProduction"] == "3m"
    assert retention.props["expirationPreview"] == "1m"
    assert retention.props["expirationCanceled"] == "1w"
    assert retention.props["expirationErrored"] == "1w"


def test_retention_periods_can_be_set():
    retention = _web(production_retention="1y", preview_retention="1w").one(RETENTION)
    assert (retention.props["expirationProduction"], retention.props["expirationPreview"]) == ("1y", "1w")


def test_skew_protection_is_off_unless_asked_and_then_exposes_the_system_variables_it_uses():
    props = _project().props
    assert "skewProtection" not in props and "automaticallyExposeSystemEnvironmentVariables" not in props
    props = _project(skew_protection="12 hours").props
    assert props["skewProtection"] == "12 hours"
    # Frameworks pin clients to their deployment through VERCEL_DEPLOYMENT_ID (Vercel docs, Skew Protection).
    assert props["automaticallyExposeSystemEnvironmentVariables"] is True


def test_prod_keeps_clients_on_their_deployment_for_twelve_hours(prod):
    assert prod.one(catalog.VERCEL_PROJECT).props["skewProtection"] == "12 hours"


def test_skew_protection_may_not_outlive_the_production_deployments():
    with pytest.raises(ValueError, match="skew_protection: 7 days outlives the production deployments"):
        WebProjectArgs(project_name="p", git_repository="o/r", skew_protection="7 days", production_retention="1d")
    assert WebProjectArgs(project_name="p", git_repository="o/r", skew_protection="7 days",
                          production_retention="1w").skew_protection == "7 days"
