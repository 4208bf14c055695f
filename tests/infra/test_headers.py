"""HeaderPolicy and vercel.json rendering: OWASP header values, a strict CSP, merge that keeps settings."""

import json
import re

import pytest

from infra.headers import (
    ALL_PATHS,
    CLERK_IMG_HOST,
    TURNSTILE_HOST,
    HeaderPolicy,
    render_vercel_json,
    vercel_json_headers,
)

CLERK = "https://clerk.example.com"
ONE_YEAR = 31_536_000


def _csp(policy: HeaderPolicy) -> dict[str, list[str]]:
    directives = {}
    for part in policy.headers()["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def _hsts(policy: HeaderPolicy) -> list[str]:
    return [p.strip() for p in policy.headers()["Strict-Transport-Security"].split(";")]


def test_hsts_lasts_at_least_a_year_and_covers_subdomains():
    parts = _hsts(HeaderPolicy())
    max_age = int(re.fullmatch(r"max-age=(\d+)", parts[0]).group(1))
    assert max_age >= ONE_YEAR
    assert "includeSubDomains" in parts


def test_hsts_has_no_preload_unless_asked():
    assert "preload" not in _hsts(HeaderPolicy())
    assert "preload" in _hsts(HeaderPolicy(hsts_preload=True))


def test_hsts_max_age_follows_the_policy():
    assert _hsts(HeaderPolicy(hsts_max_age=ONE_YEAR))[0] == f"max-age={ONE_YEAR}"


@pytest.mark.parametrize("policy", [HeaderPolicy(), HeaderPolicy.for_clerk(clerk_frontend_api=CLERK)])
def test_script_src_allows_no_inline_script_and_no_eval(policy):
    script_src = _csp(policy)["script-src"]
    assert "'self'" in script_src
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "*" not in script_src


def test_csp_locks_down_plugins_base_uri_forms_and_framing():
    csp = _csp(HeaderPolicy())
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'self'"]
    assert "upgrade-insecure-requests" in csp


def test_clerk_frontend_api_is_allowed_for_scripts_and_connections():
    csp = _csp(HeaderPolicy.for_clerk(clerk_frontend_api=CLERK, connect_sources=["https://us.i.posthog.com"]))
    assert csp["script-src"] == ["'self'", CLERK, TURNSTILE_HOST]
    assert CLERK in csp["connect-src"]
    assert "https://us.i.posthog.com" in csp["connect-src"]
    assert CLERK_IMG_HOST in csp["img-src"]
    assert csp["frame-src"] == [TURNSTILE_HOST]


def test_without_clerk_no_third_party_host_is_allowed():
    csp = _csp(HeaderPolicy.for_clerk(clerk_frontend_api=""))
    assert csp["script-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-src"] == ["'none'"]
    assert CLERK_IMG_HOST not in csp["img-src"]


def test_csp_sources_are_not_repeated():
    csp = _csp(HeaderPolicy.for_clerk(clerk_frontend_api=CLERK, connect_sources=[CLERK]))
    assert csp["connect-src"].count(CLERK) == 1


def test_xss_auditor_is_disabled_with_zero():
    assert HeaderPolicy().headers()["X-XSS-Protection"] == "0"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin-allow-popups"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("X-Permitted-Cross-Domain-Policies", "none"),
    ],
)
def test_fixed_header_values(header, value):
    assert HeaderPolicy().headers()[header] == value


def test_permissions_policy_disables_powerful_features():
    features = dict(p.split("=") for p in HeaderPolicy().headers()["Permissions-Policy"].split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()"
    assert set(features.values()) == {"()"}


def test_extra_headers_are_added_after_the_defaults():
    headers = HeaderPolicy(extra={"X-Robots-Tag": "noindex"}).headers()
    assert headers["X-Robots-Tag"] == "noindex"
    assert list(headers)[-1] == "X-Robots-Tag"


def test_vercel_json_headers_block_lists_key_value_pairs_for_every_path():
    assert vercel_json_headers({"A": "1", "B": "2"}) == [
        {"source": ALL_PATHS, "headers": [{"key": "A", "value": "1"}, {"key": "B", "value": "2"}]}
    ]


def test_render_keeps_other_settings_and_replaces_the_headers_block():
    existing = json.dumps({
        "cleanUrls": True,
        "rewrites": [{"source": "/a", "destination": "/b"}],
        "headers": [{"source": "/(.*)", "headers": [{"key": "X-XSS-Protection", "value": "1; mode=block"}]}],
    })
    data = json.loads(render_vercel_json(existing, {"X-XSS-Protection": "0"}))
    assert data["cleanUrls"] is True
    assert data["rewrites"] == [{"source": "/a", "destination": "/b"}]
    assert data["headers"] == [{"source": ALL_PATHS, "headers": [{"key": "X-XSS-Protection", "value": "0"}]}]


@pytest.mark.parametrize("existing", [None, ""])
def test_render_without_an_existing_file_writes_only_headers(existing):
    assert json.loads(render_vercel_json(existing, {"A": "1"})) == {"headers": vercel_json_headers({"A": "1"})}


def test_render_ends_with_a_newline():
    assert render_vercel_json("{}", {"A": "1"}).endswith("}\n")


@pytest.mark.parametrize("existing", ["[]", '"text"', "42"])
def test_render_rejects_a_vercel_json_that_is_not_an_object(existing):
    with pytest.raises(ValueError, match="JSON object"):
        render_vercel_json(existing, {"A": "1"})


def test_render_rejects_invalid_json():
    with pytest.raises(json.JSONDecodeError):
        render_vercel_json("{not json", {"A": "1"})


def test_inline_script_hashes_are_allowed_quoted_and_never_unsafe_inline():
    sha = "sha256-q1R9wGTl3eMnAbCsNHHjIy5uW0hNkZOb1dSmNQvrWTM="
    csp = _csp(HeaderPolicy.for_clerk(clerk_frontend_api="", script_hashes=[sha]))
    assert csp["script-src"] == ["'self'", f"'{sha}'"]
    assert "'unsafe-inline'" not in csp["script-src"]
