"""The prod stack: owns the project, the production target and every stateful resource, protected."""

from __future__ import annotations

from infra import catalog
from review import wire

COMPONENTS = {
    catalog.TOKEN_WEB_PROJECT, catalog.TOKEN_APP_DOMAIN, catalog.TOKEN_RATE_LIMIT, catalog.TOKEN_SECURITY_HEADERS,
    catalog.TOKEN_GENERATED_KEYS, catalog.TOKEN_OBJECT_STORAGE, catalog.TOKEN_DATABASE,
    catalog.TOKEN_APP_ENVIRONMENT, catalog.TOKEN_APP_DEPLOYMENT, catalog.TOKEN_VERCEL_TEAM,
    catalog.TOKEN_MONITORING,
}


def test_prod_declares_every_component_once(prod):
    found = [r.type for r in prod.resources if r.type.startswith("ara:")]
    assert sorted(found) == sorted(COMPONENTS)


def test_prod_names_the_project_and_attaches_the_custom_domain(prod):
    assert prod.one(catalog.VERCEL_PROJECT).props["name"] == "appstoagents-ara"
    domain = prod.one(catalog.VERCEL_PROJECT_DOMAIN)
    assert domain.props["domain"] == "app.appstoagents.com"
    assert "gitBranch" not in domain.props


def test_prod_buckets_and_database_carry_the_guides_names(prod):
    assert {b.props["name"] for b in prod.of_type(catalog.CF_R2_BUCKET)} == {"ara-prod-reports", "ara-prod-backups"}
    assert prod.one(catalog.PG_DATABASE).props["name"] == "ara_prod"


def test_prod_stateful_resources_are_protected_and_retained(prod):
    stateful = [r for r in prod.resources if r.type in catalog.STATEFUL_TYPES]
    assert len(stateful) == 3
    assert all(r.protect and r.retain_on_delete for r in stateful)


def test_prod_environment_targets_production_only(prod):
    variables = prod.of_type(catalog.VERCEL_ENV_VAR)
    assert {v.props["key"] for v in variables} == {s.key for s in catalog.ENV_VARS}
    assert all(v.props["targets"] == ["production"] for v in variables)


def test_prod_rate_limits_the_api_at_the_edge(prod):
    rule = prod.one(catalog.VERCEL_FIREWALL_CONFIG).props["rules"]["rules"][0]
    # Pulumi.prod.yaml says pro: the guide's 100 per hour as 17 per 10 minutes (README).
    assert rule["action"]["rateLimit"]["limit"] == 17.0
    assert rule["action"]["rateLimit"]["window"] == 600.0


def test_prod_deploys_the_app_to_production(prod):
    assert prod.one(catalog.VERCEL_DEPLOYMENT).props["production"] is True


def test_prod_exports_the_documented_outputs(prod):
    outputs = prod.stack_outputs
    assert outputs[catalog.OUTPUT_APP_URL] == "https://app.appstoagents.com"
    assert outputs[catalog.OUTPUT_REPORTS_BUCKET] == "ara-prod-reports"
    assert outputs[catalog.OUTPUT_BACKUPS_BUCKET] == "ara-prod-backups"
    assert outputs[catalog.OUTPUT_DATABASE_NAME] == "ara_prod"
    assert outputs[catalog.OUTPUT_PROJECT_ID]
    for key in catalog.SECRET_OUTPUTS:
        assert wire.is_secret(outputs[key]), key
    for key in (catalog.OUTPUT_DATABASE_URL, catalog.OUTPUT_MIGRATION_URL, catalog.OUTPUT_BACKUP_DATABASE_URL):
        assert "sslmode=verify-full" in wire.reveal(outputs[key])
    assert wire.reveal(outputs[catalog.OUTPUT_BACKUP_DATABASE_URL]).startswith("postgresql://ara_prod_backup:")


def test_prod_csp_lets_the_browser_fetch_presigned_report_urls(prod):
    route = prod.one(catalog.VERCEL_PROJECT_ROUTE, "ara-headers-route")
    csp = route.props["route"]["headers"]["Content-Security-Policy"]
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()
    assert prod.stack_outputs[catalog.OUTPUT_R2_ENDPOINT] in connect


def test_prod_csp_allows_virtual_hosted_presigned_urls_on_every_host(prod):
    # SDKs sign https://<bucket>.<account>.r2.cloudflarestorage.com unless forced to path style.
    for name in ("ara-headers-route", "ara-headers-preview-route"):
        csp = prod.one(catalog.VERCEL_PROJECT_ROUTE, name).props["route"]["headers"]["Content-Security-Policy"]
        connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()
        assert "https://*.0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com" in connect


def test_prod_exports_exactly_the_headers_its_production_route_sets(prod):
    # deploy.yml's smoke check compares the live site with this output, so it must be the route's own set.
    route = prod.one(catalog.VERCEL_PROJECT_ROUTE, "ara-headers-route")
    assert prod.stack_outputs[catalog.OUTPUT_PRODUCTION_HEADERS] == route.props["route"]["headers"]
    assert "Strict-Transport-Security" in prod.stack_outputs[catalog.OUTPUT_PRODUCTION_HEADERS]


def test_only_prod_exports_production_headers(preview):
    assert catalog.OUTPUT_PRODUCTION_HEADERS not in preview.stack_outputs
