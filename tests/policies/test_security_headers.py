"""security_headers.py: security headers on ProjectRoute, CSP/HSTS parsing mirroring the Observatory."""

import pytest

from ara_policies import security_headers as hd
from infra import catalog

from .conftest import UNKNOWN_BOOL, UNKNOWN_OBJ, UNKNOWN_STR, Res, assert_metadata, run_resource, run_stack

ROUTE = catalog.VERCEL_PROJECT_ROUTE

GOOD_CSP = ("default-src 'self'; script-src 'self' https://clerk.example.com; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' https://img.clerk.com; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'; upgrade-insecure-requests")
GOOD = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Content-Security-Policy": GOOD_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-XSS-Protection": "0",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# The seed guide's vercel.json headers.
SEED = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-XSS-Protection": "1; mode=block",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": ("default-src 'self'; script-src 'self' 'unsafe-inline' *.clerk.accounts.dev; "
                                "style-src 'self' 'unsafe-inline'"),
}


def route(headers=None, drop=(), **set_headers):
    h = dict(GOOD if headers is None else headers)
    for name in drop:
        h.pop(name, None)
    for name, value in set_headers.items():
        h[name.replace("_", "-")] = value
    props = {"projectId": "prj_1", "route": {"src": "/(.*)"}, "position": {"placement": "start"}}
    if h:
        props["route"]["headers"] = h
    return props


def check(policy, props, **kw):
    return run_resource(policy, ROUTE, props, name="security-headers", **kw)


@pytest.mark.parametrize("policy,level,severity,keys", [
    (hd.REQUIRE_HSTS, "mandatory", "high", {"minMaxAge", "requirePreload"}),
    (hd.REQUIRE_CSP, "mandatory", "high", set()),
    (hd.RESTRICT_CSP_SCRIPT_SOURCES, "mandatory", "high", {"allowUnsafeEval"}),
    (hd.REQUIRE_CSP_BYPASS_DIRECTIVES, "mandatory", "medium", {"requiredDirectives"}),
    (hd.REQUIRE_NOSNIFF, "mandatory", "medium", set()),
    (hd.REQUIRE_FRAME_PROTECTION, "mandatory", "medium", set()),
    (hd.REQUIRE_STRICT_REFERRER_POLICY, "advisory", "low", {"allowedPolicies"}),
    (hd.DISABLE_X_XSS_PROTECTION, "advisory", "low", set()),
    (hd.REQUIRE_PERMISSIONS_POLICY, "advisory", "low", {"requiredFeatures"}),
    (hd.REQUIRE_CROSS_ORIGIN_POLICIES, "advisory", "low", {"allowedOpenerPolicies", "allowedResourcePolicies"}),
    (hd.REQUIRE_SECURITY_HEADERS_ROUTE, "advisory", "high", set()),
])
def test_header_policy_metadata(policy, level, severity, keys):
    assert_metadata(policy, level, severity, keys)


ROUTE_POLICIES = [p for p in hd.POLICIES if p is not hd.REQUIRE_SECURITY_HEADERS_ROUTE]


@pytest.mark.parametrize("policy", ROUTE_POLICIES)
def test_compliant_route_passes_every_header_policy(policy):
    check(policy, route()).assert_clean()


@pytest.mark.parametrize("policy", ROUTE_POLICIES)
def test_route_without_headers_is_not_judged(policy):
    check(policy, route(headers={})).assert_clean()
    check(policy, {"projectId": "prj_1", "route": {"src": "/old", "dest": "/new", "status": 308}}).assert_clean()


@pytest.mark.parametrize("policy", ROUTE_POLICIES)
def test_unknown_header_map_defers_to_runtime_advisory(policy):
    props = {"projectId": "prj_1", "route": {"src": "/(.*)", "headers": UNKNOWN_OBJ}}
    out = check(policy, props)
    assert out.unknown is not None and "route.headers" in out.unknown.message


def test_header_names_match_case_insensitively():
    lowered = {k.lower(): v for k, v in GOOD.items()}
    for policy in ROUTE_POLICIES:
        check(policy, route(headers=lowered)).assert_clean()


def test_seed_headers_fail_the_csp_and_xss_policies():
    failing = {p.name for p in ROUTE_POLICIES if check(p, route(headers=SEED)).messages}
    assert failing == {
        "web-headers-restrict-csp-script-sources",
        "web-headers-require-csp-bypass-directives",
        "web-headers-disable-x-xss-protection",
        "web-headers-require-permissions-policy",
        "web-headers-require-cross-origin-policies",
    }


# --- HSTS ---------------------------------------------------------------------------------

def test_missing_hsts_is_flagged():
    out = check(hd.REQUIRE_HSTS, route(drop=["Strict-Transport-Security"]))
    assert len(out.messages) == 1 and "'security-headers'" in out.text and "max-age=31536000" in out.text


def test_short_hsts_max_age_is_flagged():
    out = check(hd.REQUIRE_HSTS, route(**{"Strict-Transport-Security": "max-age=15552000; includeSubDomains"}))
    assert len(out.messages) == 1 and "below 31536000" in out.text


def test_hsts_without_include_subdomains_is_flagged():
    out = check(hd.REQUIRE_HSTS, route(**{"Strict-Transport-Security": "max-age=63072000"}))
    assert len(out.messages) == 1 and "includeSubDomains" in out.text


@pytest.mark.parametrize("value", ["max-age=63072000, max-age=1", "max-age=abc; includeSubDomains", "includeSubDomains",
                                   "max-age=63072000; includeSubDomains, max-age=63072000; includeSubDomains"])
def test_invalid_hsts_is_flagged(value):
    out = check(hd.REQUIRE_HSTS, route(**{"Strict-Transport-Security": value}))
    assert len(out.messages) == 1 and "invalid" in out.text


def test_hsts_min_max_age_config_overrides_default():
    props = route(**{"Strict-Transport-Security": "max-age=15552000; includeSubDomains"})
    check(hd.REQUIRE_HSTS, props, config={"minMaxAge": 15552000}).assert_clean()
    assert check(hd.REQUIRE_HSTS, route(), config={"minMaxAge": 100000000}).messages


def test_hsts_preload_is_required_only_when_configured():
    check(hd.REQUIRE_HSTS, route()).assert_clean()
    out = check(hd.REQUIRE_HSTS, route(), config={"requirePreload": True})
    assert len(out.messages) == 1 and "preload" in out.text
    with_preload = route(**{"Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload"})
    check(hd.REQUIRE_HSTS, with_preload, config={"requirePreload": True}).assert_clean()


def test_unknown_hsts_value_defers_to_runtime_advisory():
    out = check(hd.REQUIRE_HSTS, route(**{"Strict-Transport-Security": UNKNOWN_STR}))
    assert out.unknown is not None


def test_parse_hsts_reads_directives_case_insensitively():
    assert hd.parse_hsts('MAX-AGE="600"; INCLUDESUBDOMAINS; Preload') == {
        "max_age": 600, "include_subdomains": True, "preload": True}
    assert hd.parse_hsts("max-age=1, max-age=2") is None


# --- CSP present --------------------------------------------------------------------------

def test_missing_csp_is_flagged():
    out = check(hd.REQUIRE_CSP, route(drop=["Content-Security-Policy"]))
    assert len(out.messages) == 1 and "does not send a Content-Security-Policy" in out.text


def test_report_only_csp_is_flagged():
    props = route(drop=["Content-Security-Policy"], **{"Content-Security-Policy-Report-Only": GOOD_CSP})
    out = check(hd.REQUIRE_CSP, props)
    assert len(out.messages) == 1 and "Report-Only" in out.text


def test_empty_csp_is_flagged():
    assert check(hd.REQUIRE_CSP, route(**{"Content-Security-Policy": " ; "})).messages


# --- CSP script sources -------------------------------------------------------------------

@pytest.mark.parametrize("script_src,expected", [
    ("script-src 'self' 'unsafe-inline'", "'unsafe-inline'"),
    ("script-src 'self' 'unsafe-eval'", "'unsafe-eval'"),
    ("script-src 'self' data:", "data:"),
    ("script-src *", "the broad source *"),
    ("script-src https:", "the broad source https:"),
    ("script-src 'self' http:", "the broad source http:"),
    ("script-src 'self' http://cdn.example.com", "an http:// host source"),
    ("script-src 'self' 'strict-dynamic'", "'strict-dynamic' without a nonce or hash"),
    ("default-src * 'unsafe-inline'", "'unsafe-inline'"),
    ("img-src 'self'", "no script-src or default-src"),
])
def test_unsafe_script_sources_are_flagged(script_src, expected):
    out = check(hd.RESTRICT_CSP_SCRIPT_SOURCES, route(**{"Content-Security-Policy": script_src}))
    assert len(out.messages) == 1 and expected in out.text


def test_script_src_overrides_default_src():
    csp = "default-src * 'unsafe-inline'; script-src 'self'"
    check(hd.RESTRICT_CSP_SCRIPT_SOURCES, route(**{"Content-Security-Policy": csp})).assert_clean()


def test_unsafe_inline_is_neutralised_by_a_hash():
    csp = "script-src 'self' 'unsafe-inline' 'sha256-AbC123='"
    check(hd.RESTRICT_CSP_SCRIPT_SOURCES, route(**{"Content-Security-Policy": csp})).assert_clean()


def test_broad_sources_are_neutralised_by_strict_dynamic_with_nonce():
    csp = "script-src 'nonce-R4nd0m' 'strict-dynamic' https: 'unsafe-inline'"
    check(hd.RESTRICT_CSP_SCRIPT_SOURCES, route(**{"Content-Security-Policy": csp})).assert_clean()


def test_data_scheme_is_not_neutralised_by_a_nonce_alone():
    csp = "script-src 'nonce-R4nd0m' data:"
    assert check(hd.RESTRICT_CSP_SCRIPT_SOURCES, route(**{"Content-Security-Policy": csp})).messages


def test_unsafe_style_inline_is_accepted():
    csp = "default-src 'self'; style-src 'self' 'unsafe-inline'"
    check(hd.RESTRICT_CSP_SCRIPT_SOURCES, route(**{"Content-Security-Policy": csp})).assert_clean()


def test_one_strict_policy_among_several_is_enough():
    csp = "script-src * 'unsafe-inline', script-src 'self'"
    check(hd.RESTRICT_CSP_SCRIPT_SOURCES, route(**{"Content-Security-Policy": csp})).assert_clean()


def test_allow_unsafe_eval_config():
    props = route(**{"Content-Security-Policy": "script-src 'self' 'unsafe-eval'"})
    check(hd.RESTRICT_CSP_SCRIPT_SOURCES, props, config={"allowUnsafeEval": True}).assert_clean()


def test_missing_csp_is_left_to_the_csp_presence_policy():
    check(hd.RESTRICT_CSP_SCRIPT_SOURCES, route(drop=["Content-Security-Policy"])).assert_clean()
    check(hd.REQUIRE_CSP_BYPASS_DIRECTIVES, route(drop=["Content-Security-Policy"])).assert_clean()


def test_csp_missing_bypass_directives_is_flagged():
    out = check(hd.REQUIRE_CSP_BYPASS_DIRECTIVES,
                route(**{"Content-Security-Policy": "default-src 'self'; object-src 'none'"}))
    assert len(out.messages) == 1
    assert "base-uri, form-action, frame-ancestors" in out.text and "object-src," not in out.text


def test_required_directives_config_can_relax_the_list():
    props = route(**{"Content-Security-Policy": "default-src 'self'; object-src 'none'"})
    check(hd.REQUIRE_CSP_BYPASS_DIRECTIVES, props, config={"requiredDirectives": ["object-src"]}).assert_clean()


# --- nosniff / frames ---------------------------------------------------------------------

@pytest.mark.parametrize("value", [None, "sniff", ""])
def test_missing_or_wrong_nosniff_is_flagged(value):
    props = route(drop=["X-Content-Type-Options"]) if value is None else route(**{"X-Content-Type-Options": value})
    assert len(check(hd.REQUIRE_NOSNIFF, props).messages) == 1


def test_nosniff_value_is_case_insensitive():
    check(hd.REQUIRE_NOSNIFF, route(**{"X-Content-Type-Options": "NoSniff"})).assert_clean()


def test_framing_allowed_is_flagged():
    csp_without_fa = "default-src 'self'; object-src 'none'"
    out = check(hd.REQUIRE_FRAME_PROTECTION,
                route(drop=["X-Frame-Options"], **{"Content-Security-Policy": csp_without_fa}))
    assert len(out.messages) == 1 and "frame-ancestors" in out.text


def test_csp_frame_ancestors_alone_protects_frames():
    check(hd.REQUIRE_FRAME_PROTECTION, route(drop=["X-Frame-Options"])).assert_clean()


@pytest.mark.parametrize("value", ["sameorigin", "DENY"])
def test_x_frame_options_alone_protects_frames(value):
    props = route(**{"X-Frame-Options": value, "Content-Security-Policy": "default-src 'self'"})
    check(hd.REQUIRE_FRAME_PROTECTION, props).assert_clean()


@pytest.mark.parametrize("frame_ancestors", ["*", "https:", "https://partner.example", "'self' https://partner.example",
                                             "'none' https://partner.example", ""])
def test_permissive_frame_ancestors_is_not_protection(frame_ancestors):
    csp = GOOD_CSP.replace("frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}")
    out = check(hd.REQUIRE_FRAME_PROTECTION, route(drop=["X-Frame-Options"], **{"Content-Security-Policy": csp}))
    assert len(out.messages) == 1 and "frame-ancestors" in out.text
    assert "partner.example" not in out.text


@pytest.mark.parametrize("frame_ancestors", ["'none'", "'self'", "'SELF'"])
def test_frame_ancestors_none_or_self_protects_frames(frame_ancestors):
    csp = GOOD_CSP.replace("frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}")
    props = route(drop=["X-Frame-Options"], **{"Content-Security-Policy": csp})
    check(hd.REQUIRE_FRAME_PROTECTION, props).assert_clean()


def test_permissive_frame_ancestors_overrides_x_frame_options():
    # Browsers ignore X-Frame-Options when an enforced CSP sets frame-ancestors.
    csp = GOOD_CSP.replace("frame-ancestors 'none'", "frame-ancestors *")
    out = check(hd.REQUIRE_FRAME_PROTECTION, route(**{"X-Frame-Options": "DENY", "Content-Security-Policy": csp}))
    assert len(out.messages) == 1 and "X-Frame-Options" in out.text


def test_frame_ancestors_in_report_only_csp_is_not_protection():
    props = route(drop=["X-Frame-Options", "Content-Security-Policy"],
                  **{"Content-Security-Policy-Report-Only": GOOD_CSP})
    assert len(check(hd.REQUIRE_FRAME_PROTECTION, props).messages) == 1


def test_one_restrictive_frame_ancestors_among_several_policies_is_enough():
    csp = "frame-ancestors *, frame-ancestors 'self'"
    props = route(drop=["X-Frame-Options"], **{"Content-Security-Policy": csp})
    check(hd.REQUIRE_FRAME_PROTECTION, props).assert_clean()


def test_x_frame_options_allow_from_is_not_protection():
    props = route(**{"X-Frame-Options": "ALLOW-FROM https://x.example",
                     "Content-Security-Policy": "default-src 'self'"})
    assert check(hd.REQUIRE_FRAME_PROTECTION, props).messages


# --- Referrer-Policy ----------------------------------------------------------------------

@pytest.mark.parametrize("value", ["unsafe-url", "no-referrer-when-downgrade", "origin", "bogus"])
def test_leaky_or_invalid_referrer_policy_is_flagged(value):
    assert len(check(hd.REQUIRE_STRICT_REFERRER_POLICY, route(**{"Referrer-Policy": value})).messages) == 1


def test_missing_referrer_policy_is_flagged():
    out = check(hd.REQUIRE_STRICT_REFERRER_POLICY, route(drop=["Referrer-Policy"]))
    assert "does not send a Referrer-Policy" in out.text


def test_last_recognised_referrer_token_wins():
    check(hd.REQUIRE_STRICT_REFERRER_POLICY, route(**{"Referrer-Policy": "unsafe-url, no-referrer"})).assert_clean()
    assert check(hd.REQUIRE_STRICT_REFERRER_POLICY, route(**{"Referrer-Policy": "no-referrer, unsafe-url"})).messages


def test_allowed_referrer_policies_config():
    props = route(**{"Referrer-Policy": "strict-origin-when-cross-origin"})
    out = check(hd.REQUIRE_STRICT_REFERRER_POLICY, props, config={"allowedPolicies": ["no-referrer"]})
    assert len(out.messages) == 1 and "no-referrer" in out.text


# --- X-XSS-Protection ---------------------------------------------------------------------

def test_enabled_xss_auditor_is_flagged():
    out = check(hd.DISABLE_X_XSS_PROTECTION, route(**{"X-XSS-Protection": "1; mode=block"}))
    assert len(out.messages) == 1 and "X-XSS-Protection: 0" in out.text


def test_absent_xss_header_passes():
    check(hd.DISABLE_X_XSS_PROTECTION, route(drop=["X-XSS-Protection"])).assert_clean()


# --- Permissions-Policy -------------------------------------------------------------------

def test_missing_permissions_policy_is_flagged():
    assert len(check(hd.REQUIRE_PERMISSIONS_POLICY, route(drop=["Permissions-Policy"])).messages) == 1


def test_required_features_config_checks_denials():
    props = route(**{"Permissions-Policy": "camera=(), geolocation=(self)"})
    check(hd.REQUIRE_PERMISSIONS_POLICY, props).assert_clean()
    out = check(hd.REQUIRE_PERMISSIONS_POLICY, props, config={"requiredFeatures": ["camera", "geolocation"]})
    assert len(out.messages) == 1 and "geolocation" in out.text and "camera," not in out.text


# --- COOP / CORP --------------------------------------------------------------------------

@pytest.mark.parametrize("drop,expected", [
    ("Cross-Origin-Opener-Policy", "cross-origin-opener-policy"),
    ("Cross-Origin-Resource-Policy", "cross-origin-resource-policy"),
])
def test_missing_coop_or_corp_is_flagged(drop, expected):
    out = check(hd.REQUIRE_CROSS_ORIGIN_POLICIES, route(drop=[drop]))
    assert len(out.messages) == 1 and expected in out.text


def test_coop_unsafe_none_is_flagged_and_popups_value_passes():
    assert check(hd.REQUIRE_CROSS_ORIGIN_POLICIES, route(**{"Cross-Origin-Opener-Policy": "unsafe-none"})).messages
    check(hd.REQUIRE_CROSS_ORIGIN_POLICIES,
          route(**{"Cross-Origin-Opener-Policy": "same-origin-allow-popups"})).assert_clean()


def test_cross_origin_config_can_restrict_values():
    props = route(**{"Cross-Origin-Resource-Policy": "same-site"})
    check(hd.REQUIRE_CROSS_ORIGIN_POLICIES, props).assert_clean()
    assert check(hd.REQUIRE_CROSS_ORIGIN_POLICIES, props,
                 config={"allowedResourcePolicies": ["same-origin"]}).messages


# --- a security-header route per project (STACK) -----------------------------------------

def stack(route_props=None, *, link="deps", project=True, extra=()):
    resources = []
    if project:
        resources.append(Res(catalog.VERCEL_PROJECT, "web", {"name": "ara", "id": "prj_1"}))
    if route_props is not False:
        props = route() if route_props is None else route_props
        props = {**props, "projectId": "prj_1" if link == "id" else UNKNOWN_STR, "enabled": props.get("enabled", True)}
        resources.append(Res(ROUTE, "security-headers", props, deps={"projectId": ["web"]} if link == "deps" else {}))
    return resources + list(extra)


def with_route(**changes):
    props = route()
    props["route"] = {**props["route"], **changes}
    return props


@pytest.mark.parametrize("link", ["deps", "id"])
def test_project_with_header_route_passes(link):
    run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack(link=link)).assert_clean()


@pytest.mark.parametrize("src", ["/(.*)", "/.*", "(.*)", " /(.*) "])
def test_every_catch_all_source_passes(src):
    run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack(with_route(src=src))).assert_clean()


def test_enabled_defaults_to_true():
    props = route()
    resources = stack(props)
    del resources[1].props["enabled"]
    run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, resources).assert_clean()


def test_stack_without_a_project_passes():
    run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack(project=False, link="id")).assert_clean()
    run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, []).assert_clean()


def test_project_without_header_route_is_flagged():
    out = run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack(False))
    assert len(out.messages) == 1 and "'web'" in out.text and "ProjectRoute" in out.text
    assert out.violations[0][1].endswith("::web")


@pytest.mark.parametrize("props", [
    with_route(src="/api/(.*)"),
    with_route(src="/"),
    with_route(src="/(.*)\\.html"),
    with_route(src=UNKNOWN_STR),
    with_route(src="/(.*)", has=[{"type": "header", "key": "x-preview"}]),
    with_route(src="/(.*)", missings=[{"type": "cookie", "key": "session"}]),
    route(headers={}),
    {**route(), "route": {"src": "/(.*)", "headers": UNKNOWN_OBJ}},
    {**route(), "enabled": False},
])
def test_route_that_does_not_set_headers_on_every_path_is_flagged(props):
    out = run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack(props))
    assert out.unknown is None
    assert len(out.messages) == 1 and "every path" in out.text


def test_header_route_for_another_project_does_not_count():
    resources = stack(link="id") + [Res(catalog.VERCEL_PROJECT, "docs", {"name": "docs", "id": "prj_2"})]
    out = run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, resources)
    assert len(out.messages) == 1 and "'docs'" in out.text and "'web'" not in out.text


def test_unknown_project_id_without_dependency_does_not_link():
    out = run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack(link="none"))
    assert len(out.messages) == 1


def test_one_good_route_among_partial_routes_is_enough():
    partial = Res(ROUTE, "api-cache", {**with_route(src="/api/(.*)"), "projectId": "prj_1"})
    run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack(link="id", extra=[partial])).assert_clean()


def _host_route(name, **narrowing):
    return Res(ROUTE, name, {**with_route(**narrowing), "projectId": "prj_1", "enabled": True})


HOST = [{"type": "host", "value": "app.example.com"}]


def test_two_routes_splitting_every_request_by_host_pass():
    # The production domain gets one header set, every other host (previews) another.
    resources = stack(False) + [_host_route("prod", has=HOST), _host_route("previews", missings=HOST)]
    run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, resources).assert_clean()


@pytest.mark.parametrize("routes", [
    [dict(has=HOST)],
    [dict(missings=HOST)],
    [dict(has=HOST), dict(missings=[{"type": "host", "value": "other.example.com"}])],
    [dict(has=HOST), dict(missings=[{"type": "header", "key": "host", "value": "app.example.com"}])],
    [dict(has=HOST + [{"type": "cookie", "key": "beta"}]), dict(missings=HOST)],
    [dict(has=HOST, missings=HOST), dict(missings=HOST)],
])
def test_host_scoped_routes_that_leave_some_requests_bare_are_flagged(routes):
    resources = stack(False) + [_host_route(f"r{i}", **r) for i, r in enumerate(routes)]
    out = run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, resources)
    assert len(out.messages) == 1 and "every path" in out.text


def test_a_catch_all_source_read_as_equals_is_flagged():
    # With srcSyntax "equals", "/(.*)" matches only that literal path.
    out = run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack({**route(), "srcSyntax": "equals"}))
    assert len(out.messages) == 1
    run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack({**route(), "srcSyntax": "regex"})).assert_clean()


def test_header_route_message_never_echoes_header_values():
    props = route(**{"Content-Security-Policy": "default-src https://secret-host.example"})
    props["enabled"] = False
    out = run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack(props))
    assert out.messages and "secret-host" not in out.text


def test_unknown_enabled_counts_as_enabled_like_the_firewall_rule():
    props = {**route(), "enabled": UNKNOWN_BOOL}
    run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack(props)).assert_clean()


def test_header_values_may_be_unknown_when_the_names_are_known():
    props = route(**{"Content-Security-Policy": UNKNOWN_STR})
    run_stack(hd.REQUIRE_SECURITY_HEADERS_ROUTE, stack(props)).assert_clean()
