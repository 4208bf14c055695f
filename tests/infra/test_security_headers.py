"""SecurityHeaders: a first-position project route that sets the header set on every path."""

import pulumi

from infra import catalog
from infra.headers import ALL_PATHS, HeaderPolicy
from infra.security_headers import SecurityHeaders, SecurityHeadersArgs
from tests.support import run_component

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


def test_header_names_output_lists_the_headers():
    cap, _ = _route(headers={"A": "1", "B": "2"})
    assert cap.one(catalog.TOKEN_SECURITY_HEADERS).outputs == {"header_names": ["A", "B"]}


def test_prod_route_carries_the_clerk_csp_and_hsts(prod):
    headers = prod.one(catalog.VERCEL_PROJECT_ROUTE).props["route"]["headers"]
    assert "https://clerk.appstoagents.com" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000; includeSubDomains")
    assert headers["X-XSS-Protection"] == "0"


def test_preview_stack_leaves_the_route_to_prod(preview):
    assert preview.of_type(catalog.VERCEL_PROJECT_ROUTE) == []


@pulumi.runtime.test
def test_header_names_output_resolves(mocks):
    component = SecurityHeaders("sh", SecurityHeadersArgs(project_id="prj_123", headers={"X-Frame-Options": "DENY"}))

    def check(names):
        assert names == ["X-Frame-Options"]

    return component.header_names.apply(check)
