"""The preview stack: the preview target of prod's project, with nothing of production's."""

from __future__ import annotations

from infra import catalog
from review import wire


def test_preview_attaches_to_the_project_prod_owns_instead_of_creating_one(preview):
    assert preview.of_type(catalog.VERCEL_PROJECT) == []
    assert (catalog.INVOKE_GET_PROJECT, {"name": "appstoagents-ara"}) in preview.invokes
    assert preview.of_type(catalog.VERCEL_FIREWALL_CONFIG) == []
    assert preview.of_type(catalog.VERCEL_PROJECT_ROUTE) == []


def test_preview_domain_follows_the_preview_branch(preview):
    domain = preview.one(catalog.VERCEL_PROJECT_DOMAIN)
    assert domain.props["domain"] == "preview.appstoagents.com"
    assert domain.props["gitBranch"] == "preview"


def test_preview_environment_targets_preview_only(preview):
    general = [v for v in preview.of_type(catalog.VERCEL_ENV_VAR) if "gitBranch" not in v.props]
    assert {v.props["key"] for v in general} == {s.key for s in catalog.ENV_VARS}
    assert all(v.props["targets"] == ["preview"] for v in preview.of_type(catalog.VERCEL_ENV_VAR))


def test_preview_owns_its_own_buckets_and_database(preview):
    assert {b.props["name"] for b in preview.of_type(catalog.CF_R2_BUCKET)} == {
        "ara-preview-reports", "ara-preview-backups"}
    assert {d.props["name"] for d in preview.of_type(catalog.PG_DATABASE)} == {"ara_preview"}


def test_preview_opts_out_of_protection_by_config(preview):
    assert not any(r.protect for r in preview.resources if r.type in catalog.STATEFUL_TYPES)


def test_preview_declares_no_branch_scoped_variable(preview):
    # Branches get their own stacks (stacks/pull_request.py); preview's variables serve every branch.
    assert all("gitBranch" not in v.props for v in preview.of_type(catalog.VERCEL_ENV_VAR))


def test_preview_deployment_is_not_a_production_deployment(preview):
    assert preview.one(catalog.VERCEL_DEPLOYMENT).props["production"] is False


def test_preview_shares_no_value_with_prod(prod, preview):
    def secret_values(capture):
        return {
            v.props["key"]: wire.reveal(v.props["value"])
            for v in capture.of_type(catalog.VERCEL_ENV_VAR)
            if v.props["sensitive"]
        }

    prod_values, preview_values = secret_values(prod), secret_values(preview)
    derived = {s.key for s in catalog.ENV_VARS if s.source in (catalog.Source.DERIVED, catalog.Source.GENERATED)}
    for key in derived & set(prod_values):
        assert prod_values[key] != preview_values[key], key
