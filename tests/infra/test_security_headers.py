"""SecurityHeaders: a first-position project route that sets the header set on every path."""

import pulumi
import pytest
import yaml

from infra import catalog
from infra.headers import ALL_PATHS, HeaderPolicy
from infra.security_headers import SecurityHeaders, SecurityHeadersArgs
from tests.support import ROOT, run_component

HEADERS = HeaderPolicy.for_clerk(clerk_frontend_api="https://clerk.example.com").headers()


def _route(headers=HEADERS, **kwargs):
    cap = run_component(
        lambda: SecurityHeaders("sh", SecurityHeadersArgs(project_id="prj_123", headers=headers, **kwargs))
    )
    return cap, cap.one(catalog.VERCEL_PROJECT_ROUTE, "sh-route")


def test_route_is_a_child_of_the_component_on_the_project():
    cap, route = _route()
    assert route.parent == cap.one(catalog.TOKEN_SECURITY_HEADERS, "sh").urn
    assert route.props["projectId"] == "prj_123"
    assert route.props["enabled"] is True


def test_route_matches_every_path():
    _, route = _route()
    assert route.props["route"]["src"] == "/(.*)" == ALL_PATHS


def test_route_sets_exactly_the_header_map():
    _, route = _route()
    assert route.props["route"]["headers"] == HEADERS


def test_route_is_first_so_later_routes_keep_the_headers():
    _, route = _route()
    assert route.props["position"] == {"placement": "start"}


def test_custom_source_and_headers_are_passed_through():
    _, route = _route(headers={"X-Test": "1"}, source="/api/(.*)")
    assert route.props["route"] == {"src": "/api/(.*)", "headers": {"X-Test": "1"}}


def test_the_source_is_declared_a_regex_rather_than_left_to_inference():
    # Inferred as "equals", "/(.*)" would match only that literal path.
    _, route = _route()
    assert route.props["srcSyntax"] == "regex"


PREVIEW = HeaderPolicy.for_clerk(clerk_frontend_api="https://clerk.preview.example.com").headers()


def _split():
    cap = run_component(lambda: SecurityHeaders("sh", SecurityHeadersArgs(
        project_id="prj_123", headers=HEADERS, production_host="app.example.com", preview_headers=PREVIEW)))
    return cap.one(catalog.VERCEL_PROJECT_ROUTE, "sh-route"), cap.one(catalog.VERCEL_PROJECT_ROUTE, "sh-preview-route")


def test_with_a_production_host_the_two_routes_split_every_request_by_host():
    production, preview = _split()
    condition = [{"type": "host", "value": "app.example.com"}]
    assert production.props["route"]["has"] == condition
    assert "missings" not in production.props["route"]
    assert preview.props["route"]["missings"] == condition
    assert "has" not in preview.props["route"]
    for route in (production, preview):
        assert route.props["route"]["src"] == ALL_PATHS
        assert route.props["srcSyntax"] == "regex"
        assert route.props["position"] == {"placement": "start"}


def test_previews_get_their_own_clerk_host_and_production_keeps_only_its_own():
    production, preview = _split()
    production_csp = production.props["route"]["headers"]["Content-Security-Policy"]
    preview_csp = preview.props["route"]["headers"]["Content-Security-Policy"]
    assert "https://clerk.example.com" in production_csp and "clerk.preview" not in production_csp
    assert "https://clerk.preview.example.com" in preview_csp and "https://clerk.example.com" not in preview_csp


def test_a_host_scoped_route_without_preview_headers_is_refused():
    # Every other host would get no headers at all.
    with pytest.raises(Exception, match="production_host and preview_headers go together"):
        run_component(lambda: SecurityHeaders("sh", SecurityHeadersArgs(
            project_id="prj_123", headers=HEADERS, production_host="app.example.com")))


def test_header_names_output_lists_the_headers():
    cap, _ = _route(headers={"A": "1", "B": "2"})
    assert cap.one(catalog.TOKEN_SECURITY_HEADERS).outputs == {"header_names": ["A", "B"]}


def test_prod_route_carries_the_clerk_csp_and_hsts(prod):
    headers = prod.one(catalog.VERCEL_PROJECT_ROUTE, "ara-headers-route").props["route"]["headers"]
    assert "https://clerk.appstoagents.com" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000; includeSubDomains")
    assert headers["X-XSS-Protection"] == "0"


def test_prod_sends_previews_the_preview_stacks_clerk_host(prod):
    # The bug this fixes: one project-wide route blocked the preview Clerk host on every preview.
    preview_headers = prod.one(catalog.VERCEL_PROJECT_ROUTE, "ara-headers-preview-route").props["route"]
    assert preview_headers["missings"] == [{"type": "host", "value": "app.appstoagents.com"}]
    assert "https://clerk.preview.appstoagents.com" in preview_headers["headers"]["Content-Security-Policy"]
    production = prod.one(catalog.VERCEL_PROJECT_ROUTE, "ara-headers-route").props["route"]
    assert production["has"] == [{"type": "host", "value": "app.appstoagents.com"}]
    assert "clerk.preview" not in production["headers"]["Content-Security-Policy"]


def test_prods_preview_clerk_host_is_the_preview_stacks_own():
    prod_cfg = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    preview_cfg = yaml.safe_load((ROOT / "Pulumi.preview.yaml").read_text())["config"]
    assert prod_cfg["ara-infra:previewClerkFrontendApi"] == preview_cfg["ara-infra:clerkFrontendApi"]


def test_preview_stack_leaves_the_route_to_prod(preview):
    assert preview.of_type(catalog.VERCEL_PROJECT_ROUTE) == []


@pulumi.runtime.test
def test_header_names_output_resolves(mocks):
    component = SecurityHeaders("sh", SecurityHeadersArgs(project_id="prj_123", headers={"X-Frame-Options": "DENY"}))

    def check(names):
        assert names == ["X-Frame-Options"]

    return component.header_names.apply(check)
