"""Security response headers on `vercel:index/projectRoute:ProjectRoute` (`route.headers`).

Only routes that set headers are judged; `web-headers-require-security-headers-route` (stack)
makes sure each project has such a route on every path, so deleting it cannot make the
header rules pass vacuously. Header names match case-insensitively. The CSP and
HSTS parsing mirrors MDN HTTP Observatory (`src/analyzer/tests/csp.js`,
`strict-transport-security.js`): multiple CSP policies are comma-separated and each one is
enforced, script-src falls back to default-src, a nonce/hash neutralises 'unsafe-inline',
'strict-dynamic' (with a nonce/hash) neutralises host and scheme sources, an HSTS value with
a comma is invalid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pulumi_policy import PolicyConfigSchema

from . import catalog
from ._common import (
    EnforcementLevel,
    Severity,
    as_bool,
    get,
    links_to,
    peek,
    plain,
    resource_policy,
    resources_of,
    stack_policy,
    string_list,
    subject,
    violation,
)
from .csp import enforced_csp, script_source_problems, script_sources

_ROUTE = [catalog.VERCEL_PROJECT_ROUTE]
_OWASP = "https://owasp.org/www-project-secure-headers/"
_OBSERVATORY = "https://developer.mozilla.org/en-US/observatory/docs/tests_and_scoring"


def route_headers(props: Mapping) -> dict[str, str]:
    """`route.headers` with lower-cased names; empty when the route sets no headers."""
    raw = get(props, "route", "headers")
    if not isinstance(raw, Mapping):
        return {}
    return {str(name).lower(): str(get(raw, name, default="")) for name in raw}


def _who(args) -> str:
    return subject("Vercel route", args.name)


def _header_check(fn):
    """Run `fn(args, cfg, report, headers)` only for routes that set headers."""
    def check(args, cfg, report) -> None:
        headers = route_headers(args.props)
        if headers:
            fn(args, cfg, report, headers)
    return check


# --- HSTS ---------------------------------------------------------------------------------

_HSTS_SCHEMA = PolicyConfigSchema(properties={
    "minMaxAge": {
        "type": "integer", "minimum": 0, "default": 31536000,
        "description": "Minimum max-age in seconds (Observatory: 15552000, OWASP: 63072000).",
    },
    "requirePreload": {
        "type": "boolean", "default": False,
        "description": "Require the preload directive (OWASP omits it; hstspreload.org advises opt-in).",
    },
})


def parse_hsts(value: str) -> dict | None:
    """{'max_age', 'include_subdomains', 'preload'}, or None when invalid."""
    if "," in value:
        return None  # set more than once
    result: dict[str, int | bool | None] = {"max_age": None, "include_subdomains": False, "preload": False}
    for part in value.split(";"):
        name, _, arg = part.strip().partition("=")
        name = name.strip().lower()
        if name == "max-age":
            arg = arg.strip().strip('"')
            if not arg.isdigit():
                return None
            result["max_age"] = int(arg)
        elif name == "includesubdomains":
            result["include_subdomains"] = True
        elif name == "preload":
            result["preload"] = True
    return result if result["max_age"] is not None else None


@_header_check
def _check_hsts(args, cfg, report, headers) -> None:
    value = headers.get("strict-transport-security")
    min_age = int(cfg["minMaxAge"])
    fix = f'send "Strict-Transport-Security: max-age={max(min_age, 1)}; includeSubDomains".'
    if value is None:
        report(violation(_who(args), "does not send Strict-Transport-Security.", fix))
        return
    hsts = parse_hsts(value)
    if hsts is None:
        report(violation(_who(args), "sends an invalid Strict-Transport-Security header.", fix))
        return
    if hsts["max_age"] < min_age:
        report(violation(_who(args), f"sends an HSTS max-age below {min_age} seconds.", fix))
    if not hsts["include_subdomains"]:
        report(violation(_who(args), "sends HSTS without includeSubDomains.", fix))
    if cfg["requirePreload"] and not hsts["preload"]:
        report(violation(_who(args), "sends HSTS without preload, which requirePreload demands.",
                         "add the preload directive and submit the domain to hstspreload.org."))


REQUIRE_HSTS = resource_policy(
    name="web-headers-require-hsts",
    description="Responses must send HSTS with a long max-age and includeSubDomains.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=_ROUTE,
    check=_check_hsts,
    config=_HSTS_SCHEMA,
    url=_OWASP,
)


# --- CSP present --------------------------------------------------------------------------

@_header_check
def _check_csp_present(args, cfg, report, headers) -> None:
    if enforced_csp(headers):
        return
    if headers.get("content-security-policy-report-only", "").strip():
        report(violation(_who(args), "sends only Content-Security-Policy-Report-Only, which blocks nothing.",
                         "send an enforcing Content-Security-Policy header (keep Report-Only for trials)."))
    else:
        report(violation(_who(args), "does not send a Content-Security-Policy.",
                         "send Content-Security-Policy starting from \"default-src 'self'\"."))


REQUIRE_CSP = resource_policy(
    name="web-headers-require-csp",
    description="Responses must send an enforcing Content-Security-Policy.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=_ROUTE,
    check=_check_csp_present,
    url=_OBSERVATORY,
)


# --- CSP script sources -------------------------------------------------------------------

@_header_check
def _check_csp_scripts(args, cfg, report, headers) -> None:
    policies = enforced_csp(headers)
    if not policies:
        return  # web-headers-require-csp reports the missing header
    findings = []
    for policy in policies:
        sources = script_sources(policy)
        if sources is None:
            findings.append(["no script-src or default-src"])
            continue
        problems = script_source_problems(sources, bool(cfg["allowUnsafeEval"]))
        if not problems:
            return  # one enforcing policy restricts scripts: every policy applies
        findings.append(problems)
    report(violation(_who(args), f"allows unsafe script sources: {', '.join(findings[0])}.",
                     "remove them from script-src; use nonces or hashes (with 'strict-dynamic') for "
                     "inline scripts."))


RESTRICT_CSP_SCRIPT_SOURCES = resource_policy(
    name="web-headers-restrict-csp-script-sources",
    description="CSP script sources must not allow inline/eval, data:, wildcards or bare schemes.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=_ROUTE,
    check=_check_csp_scripts,
    config=PolicyConfigSchema(properties={
        "allowUnsafeEval": {
            "type": "boolean", "default": False,
            "description": "Accept 'unsafe-eval' (Observatory -10) for libraries that need it.",
        },
    }),
    url=_OBSERVATORY,
)


# --- CSP directives without default-src fallback ------------------------------------------

_BYPASS_DIRECTIVES = ["object-src", "base-uri", "form-action", "frame-ancestors"]


@_header_check
def _check_csp_directives(args, cfg, report, headers) -> None:
    policies = enforced_csp(headers)
    if not policies:
        return
    declared = set().union(*(p.keys() for p in policies))
    missing = [d for d in cfg["requiredDirectives"] if d.lower() not in declared]
    if missing:
        report(violation(_who(args), f"has a CSP without {', '.join(missing)}.",
                         "add object-src 'none'; base-uri 'self'; form-action 'self'; "
                         "frame-ancestors 'none' (base-uri, form-action and frame-ancestors do not fall "
                         "back to default-src)."))


REQUIRE_CSP_BYPASS_DIRECTIVES = resource_policy(
    name="web-headers-require-csp-bypass-directives",
    description="CSP must set object-src, base-uri, form-action and frame-ancestors.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    types=_ROUTE,
    check=_check_csp_directives,
    config=PolicyConfigSchema(properties={
        "requiredDirectives": string_list("CSP directives every enforcing policy set must declare.",
                                          list(_BYPASS_DIRECTIVES)),
    }),
    url=_OWASP,
)


# --- X-Content-Type-Options ---------------------------------------------------------------

@_header_check
def _check_nosniff(args, cfg, report, headers) -> None:
    if headers.get("x-content-type-options", "").strip().lower() != "nosniff":
        report(violation(_who(args), "does not send X-Content-Type-Options: nosniff.",
                         'send "X-Content-Type-Options: nosniff".'))


REQUIRE_NOSNIFF = resource_policy(
    name="web-headers-require-nosniff",
    description="Responses must send X-Content-Type-Options: nosniff.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    types=_ROUTE,
    check=_check_nosniff,
    url=_OWASP,
)


# --- frame protection ---------------------------------------------------------------------

FRAME_ANCESTORS_SAFE = (frozenset({"'none'"}), frozenset({"'self'"}))


def frame_ancestors_restricts(sources: list[str]) -> bool:
    """frame-ancestors exactly 'none' or 'self'; any host, scheme or * lets other sites frame."""
    return frozenset(s.lower() for s in sources) in FRAME_ANCESTORS_SAFE


@_header_check
def _check_frame(args, cfg, report, headers) -> None:
    declared = [p["frame-ancestors"] for p in enforced_csp(headers) if "frame-ancestors" in p]
    if declared:
        # Browsers ignore X-Frame-Options once an enforced CSP sets frame-ancestors; every
        # policy is enforced, so one restrictive frame-ancestors is enough.
        if any(frame_ancestors_restricts(sources) for sources in declared):
            return
        report(violation(_who(args), "can be framed by other sites: CSP frame-ancestors is not 'none' or "
                                     "'self' (and it overrides X-Frame-Options).",
                         "send CSP frame-ancestors 'none' (or 'self') and X-Frame-Options: DENY for old "
                         "browsers."))
        return
    if headers.get("x-frame-options", "").strip().lower() in ("deny", "sameorigin"):
        return
    report(violation(_who(args), "can be framed: no X-Frame-Options DENY/SAMEORIGIN and no CSP "
                                 "frame-ancestors.",
                     "send CSP frame-ancestors 'none' (and X-Frame-Options: DENY for old browsers)."))


REQUIRE_FRAME_PROTECTION = resource_policy(
    name="web-headers-require-frame-protection",
    description="Responses must forbid framing by other sites (CSP frame-ancestors 'none'/'self' or X-Frame-Options).",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    types=_ROUTE,
    check=_check_frame,
    url=_OBSERVATORY,
)


# --- Referrer-Policy ----------------------------------------------------------------------

_PRIVATE_REFERRER = ["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"]
_ALL_REFERRER = {"no-referrer", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin",
                 "same-origin", "strict-origin", "strict-origin-when-cross-origin", "unsafe-url"}


@_header_check
def _check_referrer(args, cfg, report, headers) -> None:
    tokens = [t.strip().lower() for t in headers.get("referrer-policy", "").split(",")]
    known = [t for t in tokens if t in _ALL_REFERRER]
    effective = known[-1] if known else None  # browsers use the last recognised token
    allowed = [str(p).lower() for p in cfg["allowedPolicies"]]
    if effective not in allowed:
        problem = ("does not send a Referrer-Policy." if effective is None
                   else f'sends Referrer-Policy "{effective}", which leaks URLs to other origins.')
        report(violation(_who(args), problem, f'send "Referrer-Policy: {allowed[0] if allowed else "no-referrer"}".'))


REQUIRE_STRICT_REFERRER_POLICY = resource_policy(
    name="web-headers-require-strict-referrer-policy",
    description="Responses should send a Referrer-Policy that keeps URLs private.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    types=_ROUTE,
    check=_check_referrer,
    config=PolicyConfigSchema(properties={
        "allowedPolicies": {
            "type": "array", "items": {"type": "string", "enum": sorted(_ALL_REFERRER)},
            "default": ["strict-origin-when-cross-origin", "no-referrer", "same-origin", "strict-origin"],
            "description": "Referrer-Policy values accepted (Observatory 'private' set).",
        },
    }),
    url=_OBSERVATORY,
)


# --- X-XSS-Protection ---------------------------------------------------------------------

@_header_check
def _check_xss(args, cfg, report, headers) -> None:
    value = headers.get("x-xss-protection")
    if value is not None and value.strip() != "0":
        report(violation(_who(args), "enables the deprecated XSS auditor with X-XSS-Protection, which can "
                                     "introduce leaks in old browsers.",
                         'send "X-XSS-Protection: 0" or drop the header; rely on CSP instead.'))


DISABLE_X_XSS_PROTECTION = resource_policy(
    name="web-headers-disable-x-xss-protection",
    description="X-XSS-Protection should be absent or 0 (the auditor is deprecated).",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    types=_ROUTE,
    check=_check_xss,
    url="https://owasp.org/www-project-secure-headers/#x-xss-protection",
)


# --- Permissions-Policy -------------------------------------------------------------------

def _denied_features(value: str) -> set[str]:
    denied = set()
    for part in value.split(","):
        name, _, allow = part.strip().partition("=")
        if allow.strip().replace(" ", "") == "()":
            denied.add(name.strip().lower())
    return denied


@_header_check
def _check_permissions(args, cfg, report, headers) -> None:
    value = headers.get("permissions-policy", "").strip()
    fix = 'send "Permissions-Policy: camera=(), microphone=(), geolocation=(), payment=(), usb=()".'
    if not value:
        report(violation(_who(args), "does not send a Permissions-Policy.", fix))
        return
    missing = [f for f in cfg["requiredFeatures"] if f.lower() not in _denied_features(value)]
    if missing:
        report(violation(_who(args), f"sends a Permissions-Policy that does not deny {', '.join(missing)}.", fix))


REQUIRE_PERMISSIONS_POLICY = resource_policy(
    name="web-headers-require-permissions-policy",
    description="Responses should send a Permissions-Policy that denies unused browser features.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    types=_ROUTE,
    check=_check_permissions,
    config=PolicyConfigSchema(properties={
        "requiredFeatures": string_list("Features that must be denied with `feature=()`."),
    }),
    url=_OWASP,
)


# --- COOP / CORP --------------------------------------------------------------------------

@_header_check
def _check_cross_origin(args, cfg, report, headers) -> None:
    wanted = {
        "cross-origin-opener-policy": [str(v).lower() for v in cfg["allowedOpenerPolicies"]],
        "cross-origin-resource-policy": [str(v).lower() for v in cfg["allowedResourcePolicies"]],
    }
    missing = [name for name, allowed in wanted.items()
               if headers.get(name, "").split(";")[0].strip().lower() not in allowed]
    if missing:
        report(violation(_who(args), f"has no accepted value for {' and '.join(missing)}.",
                         'send "Cross-Origin-Opener-Policy: same-origin" (same-origin-allow-popups for '
                         'OAuth popups) and "Cross-Origin-Resource-Policy: same-origin".'))


REQUIRE_CROSS_ORIGIN_POLICIES = resource_policy(
    name="web-headers-require-cross-origin-policies",
    description="Responses should isolate the browsing context with COOP and CORP.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    types=_ROUTE,
    check=_check_cross_origin,
    config=PolicyConfigSchema(properties={
        "allowedOpenerPolicies": {
            "type": "array", "items": {"type": "string"},
            "default": ["same-origin", "same-origin-allow-popups", "noopener-allow-popups"],
            "description": "Accepted Cross-Origin-Opener-Policy values.",
        },
        "allowedResourcePolicies": string_list("Accepted Cross-Origin-Resource-Policy values.",
                                               ["same-origin", "same-site"]),
    }),
    url=_OWASP,
)


# --- a security-header route on every path, per project (STACK) ----------------------------

CATCH_ALL_SOURCES = frozenset({"/(.*)", "/.*", "(.*)"})


def _is_empty_list(value) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 0


def _catch_all_header_route(route) -> bool:
    """Enabled, `src` matching every path as a pattern, and setting headers."""
    if as_bool(peek(route.props, "enabled")) is False:  # the provider defaults to enabled
        return False
    src = peek(route.props, "route", "src")
    if not isinstance(src, str) or src.strip() not in CATCH_ALL_SOURCES:
        return False
    # Inferred or declared "equals", "/(.*)" matches only that literal path.
    if peek(route.props, "srcSyntax") == "equals":
        return False
    names = plain(peek(route.props, "route", "headers"))
    return isinstance(names, Mapping) and len(list(names)) > 0


def _narrowing(route) -> tuple[object, object]:
    return plain(peek(route.props, "route", "has")), plain(peek(route.props, "route", "missings"))


def route_sets_headers_everywhere(route) -> bool:
    """An enabled route whose `src` matches every path unconditionally and that sets headers."""
    if not _catch_all_header_route(route):
        return False
    # `has`/`missings` conditions narrow the route to some requests; an unknown list could too.
    return all(value is None or _is_empty_list(value) for value in _narrowing(route))


def _single_host(value) -> str | None:
    """The host of a condition list holding exactly one known `host` condition, else None."""
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 1:
        return None
    condition = value[0]
    if not isinstance(condition, Mapping) or condition.get("type") != "host":
        return None
    host = condition.get("value")
    return host if isinstance(host, str) and host else None


def routes_split_every_request_by_host(routes) -> bool:
    """Two catch-all header routes, one with `has` host H and one with `missing` host H:
    together they set headers on every request (a project routing to the production domain
    and to previews with different headers)."""
    scoped = [r for r in routes if _catch_all_header_route(r)]
    has_hosts, missing_hosts = set(), set()
    for route in scoped:
        has, missings = _narrowing(route)
        if _single_host(has) and (missings is None or _is_empty_list(missings)):
            has_hosts.add(_single_host(has))
        if _single_host(missings) and (has is None or _is_empty_list(has)):
            missing_hosts.add(_single_host(missings))
    return bool(has_hosts & missing_hosts)


def _check_header_route(args, cfg, report) -> None:
    routes = resources_of(args, catalog.VERCEL_PROJECT_ROUTE)
    for project in resources_of(args, catalog.VERCEL_PROJECT):
        linked = [r for r in routes if links_to(r, "projectId", project)]
        if any(route_sets_headers_everywhere(r) for r in linked) or routes_split_every_request_by_host(linked):
            continue
        problem = ("has no ProjectRoute" if not linked else "has no enabled ProjectRoute") + \
            " that sets security headers on every path, so the header rules have nothing to judge."
        report(violation(subject("Vercel project", project.name, project.urn), problem,
                         'add vercel.ProjectRoute(project_id=project.id, enabled=True, src_syntax="regex", '
                         'route={"src": "/(.*)", "headers": {...}}, position={"placement": "start"}) without '
                         'has/missings conditions, or two such routes with has=[host H] and missings=[host H].'),
               project.urn)


REQUIRE_SECURITY_HEADERS_ROUTE = stack_policy(
    name="web-headers-require-security-headers-route",
    description="Every Vercel project must have enabled ProjectRoutes that set headers on every path of every host.",
    level=EnforcementLevel.ADVISORY,  # ARA's architecture: mandatory in policies/config/*.json
    severity=Severity.HIGH,
    check=_check_header_route,
    url=_OWASP,
)


POLICIES = [
    REQUIRE_HSTS,
    REQUIRE_CSP,
    RESTRICT_CSP_SCRIPT_SOURCES,
    REQUIRE_CSP_BYPASS_DIRECTIVES,
    REQUIRE_NOSNIFF,
    REQUIRE_FRAME_PROTECTION,
    REQUIRE_STRICT_REFERRER_POLICY,
    DISABLE_X_XSS_PROTECTION,
    REQUIRE_PERMISSIONS_POLICY,
    REQUIRE_CROSS_ORIGIN_POLICIES,
    REQUIRE_SECURITY_HEADERS_ROUTE,
]
