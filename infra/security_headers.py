"""Security headers on every path of every deployment of the live Vercel project.

Project routes "apply to all deployments and environments" (vercel.com/docs/cli/routes), so one
route would give preview deployments production's CSP, which blocks the preview Clerk Frontend
API. With `production_host` set the component declares two routes that split every request by
host: the production domain gets `headers`, every other host (the preview domain and every
`*.vercel.app` deployment URL) gets `preview_headers`. The pair is complementary by
construction (`has` and `missing` on the same host), so no request is left without headers and
none matches both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumiverse_vercel as vercel

from infra import catalog
from infra.headers import ALL_PATHS

# `route.src` is a regular expression; stated so the route does not depend on Vercel inferring
# it ("If not provided, inferred from pattern"; TF resource_project_route.go:107-112 allows
# equals, path-to-regexp, regex), under which "equals" would match the literal "/(.*)" only.
SRC_SYNTAX = "regex"


@dataclass(frozen=True, kw_only=True)
class SecurityHeadersArgs:
    """Inputs of `SecurityHeaders`."""

    project_id: pulumi.Input[str]
    """Vercel project the routes belong to; required."""
    headers: Mapping[str, str]
    """Response headers (from `infra.headers.HeaderPolicy.headers()`) for the production host; required."""
    production_host: str = ""
    """Host that gets `headers`; defaults to "" (one route, every host gets `headers`)."""
    preview_headers: Mapping[str, str] | None = None
    """Headers for every other host (previews); defaults to None. Required with `production_host`."""
    source: str = ALL_PATHS
    """Route source pattern (a regex); defaults to every path."""


class SecurityHeaders(pulumi.ComponentResource):
    """Project routes that set the security headers, first in the route table."""

    header_names: pulumi.Output[list[str]]
    """Names of the headers the routes set."""

    def __init__(self, name: str, args: SecurityHeadersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_SECURITY_HEADERS, name, None, opts)
        if bool(args.production_host) != (args.preview_headers is not None):
            raise ValueError(f"{name}: production_host and preview_headers go together: with a host-scoped "
                             "production route, every other host needs its own headers")
        # A plain host name: it matches whether Vercel compares `has` values as strings or as
        # anchored patterns (vercel.json `has`: "value ... can be a string or regex").
        host = (
            [vercel.ProjectRouteRouteHaArgs(type="host", value=args.production_host)] if args.production_host else None
        )
        self._route(f"{name}-route", "security-headers", args.project_id, args.source, args.headers,
                    "Security response headers for every path (OWASP Secure Headers)"
                    + (f" on {args.production_host}." if host else "."), has=host)
        if host and args.preview_headers is not None:
            self._route(f"{name}-preview-route", "security-headers-previews", args.project_id, args.source,
                        args.preview_headers,
                        f"Security response headers for every path on every host but {args.production_host} "
                        "(preview deployments).", missings=host)
        names = list(dict.fromkeys([*args.headers, *(args.preview_headers or {})]))
        self.header_names = pulumi.Output.from_input(names)
        self.register_outputs({"header_names": self.header_names})

    def _route(self, resource_name: str, rule_name: str, project_id: pulumi.Input[str], source: str,
               headers: Mapping[str, str], description: str, *,
               has: list[vercel.ProjectRouteRouteHaArgs] | None = None,
               missings: list[vercel.ProjectRouteRouteHaArgs] | None = None) -> None:
        vercel.ProjectRoute(
            resource_name,
            project_id=project_id,
            name=rule_name,
            description=description,
            enabled=True,
            src_syntax=SRC_SYNTAX,
            route=vercel.ProjectRouteRouteArgs(
                src=source,
                headers=dict(headers),
                has=has,
                missings=[vercel.ProjectRouteRouteMissingArgs(type=m.type, value=m.value) for m in missings]
                if missings else None,
            ),
            # First, so later routes (redirects, rewrites) still carry the headers.
            position=vercel.ProjectRoutePositionArgs(placement="start"),
            opts=pulumi.ResourceOptions(parent=self),
        )
