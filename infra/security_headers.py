"""Security headers on every path of the live Vercel project."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumiverse_vercel as vercel

from infra import catalog
from infra.headers import ALL_PATHS


@dataclass(frozen=True, kw_only=True)
class SecurityHeadersArgs:
    """Inputs of `SecurityHeaders`."""

    project_id: pulumi.Input[str]
    """Vercel project the route belongs to; required."""
    headers: Mapping[str, str]
    """Response headers to set (from `infra.headers.HeaderPolicy.headers()`); required."""
    source: str = ALL_PATHS
    """Route source pattern; defaults to every path."""


class SecurityHeaders(pulumi.ComponentResource):
    """A project route that sets the security headers, first in the route table."""

    header_names: pulumi.Output[list[str]]
    """Names of the headers the route sets."""

    def __init__(self, name: str, args: SecurityHeadersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_SECURITY_HEADERS, name, None, opts)
        vercel.ProjectRoute(
            f"{name}-route",
            project_id=args.project_id,
            name="security-headers",
            description="Security response headers for every path (OWASP Secure Headers).",
            enabled=True,
            route=vercel.ProjectRouteRouteArgs(src=args.source, headers=dict(args.headers)),
            # First, so later routes (redirects, rewrites) still carry the headers.
            position=vercel.ProjectRoutePositionArgs(placement="start"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.header_names = pulumi.Output.from_input(list(args.headers))
        self.register_outputs({"header_names": self.header_names})
