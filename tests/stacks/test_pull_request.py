"""A pull-request stack: its own database and keys on the preview target, scoped to its branch."""

from __future__ import annotations

import pytest

from infra import catalog
from review import wire
from tests.support import run_pull_request

BRANCH = "feature/search"


@pytest.fixture(scope="module")
def pr():
    return run_pull_request(123, BRANCH)


def test_a_pr_stack_attaches_to_the_project_and_owns_no_project_wide_resource(pr):
    assert (catalog.INVOKE_GET_PROJECT, {"name": "appstoagents-ara"}) in pr.invokes
    for token in (catalog.VERCEL_PROJECT, catalog.VERCEL_FIREWALL_CONFIG, catalog.VERCEL_PROJECT_ROUTE,
                  catalog.VERCEL_PROJECT_DOMAIN, catalog.CF_DNS_RECORD, catalog.CF_R2_BUCKET, catalog.CF_API_TOKEN,
                  catalog.VERCEL_DEPLOYMENT):
        assert pr.of_type(token) == [], token


def test_a_pr_stack_has_its_own_database_on_the_preview_server(pr):
    assert [d.props["name"] for d in pr.of_type(catalog.PG_DATABASE)] == ["ara_pr_123"]
    roles = {r.props["name"] for r in pr.of_type(catalog.PG_ROLE)}
    assert roles == {"ara_pr_123_owner", "ara_pr_123_app", "ara_pr_123_backup"}
    provider = pr.one(catalog.PG_PROVIDER)
    assert provider.props["host"] == "ara-preview.db.appstoagents.com"
    assert not any(r.protect for r in pr.resources if r.type in catalog.STATEFUL_TYPES)


def test_a_pr_stack_generates_its_own_keys(pr):
    lengths = sorted(p.props["length"] for p in pr.of_type(catalog.RANDOM_PASSWORD)
                     if p.name.startswith("ara-keys-"))
    assert lengths == [catalog.ENCRYPTION_KEY_LENGTH, catalog.GENERATED_KEY_LENGTHS["jwt_secret"]]


def test_every_variable_is_a_preview_variable_scoped_to_the_pull_requests_branch(pr):
    variables = pr.of_type(catalog.VERCEL_ENV_VAR)
    assert {v.props["key"] for v in variables} == {"DATABASE_URL", "ENCRYPTION_KEY", "JWT_SECRET"}
    for v in variables:
        assert v.props["targets"] == ["preview"], v.name
        assert v.props["gitBranch"] == BRANCH, v.name
        assert v.props["sensitive"] is True and wire.is_secret(v.props["value"]), v.name
    url = next(v for v in variables if v.props["key"] == "DATABASE_URL")
    assert "@ara-preview.db.appstoagents.com:5432/ara_pr_123?sslmode=require" in wire.reveal(url.props["value"])


def test_a_pr_stack_holds_no_value_of_production_or_of_the_preview_stack(pr, prod, preview):
    def sensitive_values(capture):
        return {wire.reveal(v.props["value"]) for v in capture.of_type(catalog.VERCEL_ENV_VAR) if v.props["sensitive"]}

    ours = sensitive_values(pr)
    assert len(ours) == 3
    assert not ours & sensitive_values(prod)
    assert not ours & sensitive_values(preview)
    prod_hosts = {r.props["host"] for r in prod.of_type(catalog.PG_PROVIDER)}
    assert not prod_hosts & {r.props["host"] for r in pr.of_type(catalog.PG_PROVIDER)}


def test_two_pull_requests_get_two_databases_and_branches():
    other = run_pull_request(124, "fix/login")
    assert [d.props["name"] for d in other.of_type(catalog.PG_DATABASE)] == ["ara_pr_124"]
    assert {v.props["gitBranch"] for v in other.of_type(catalog.VERCEL_ENV_VAR)} == {"fix/login"}


def test_a_pr_stack_exports_what_migrations_and_the_close_workflow_need(pr):
    assert pr.stack_outputs[catalog.OUTPUT_DATABASE_NAME] == "ara_pr_123"
    assert pr.stack_outputs[catalog.OUTPUT_PULL_REQUEST_BRANCH] == BRANCH
    assert wire.is_secret(pr.stack_outputs[catalog.OUTPUT_MIGRATION_URL])
    assert "/ara_pr_123?" in wire.reveal(pr.stack_outputs[catalog.OUTPUT_MIGRATION_URL])


def test_every_vercel_resource_of_a_pr_stack_uses_the_team_provider(pr):
    provider = pr.one(catalog.VERCEL_PROVIDER, "ara-vercel-provider")
    assert provider.props["team"] == "appstoagents"
    variables = [r for r in pr.resources if r.custom and r.type.startswith("vercel:")]
    assert len(variables) == 3
    for resource in variables:
        assert resource.provider.startswith(provider.urn + "::"), resource.name
