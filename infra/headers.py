"""The security-header model, defined once.

The same headers go to the live project (`vercel.ProjectRoute`, see
infra/security_headers.py) and into the `vercel.json` of a directory deployment
(infra/deployment.py). Values follow the OWASP Secure Headers Project and the MDN
HTTP Observatory rather than the seed guide (see docs/explanation/departures-from-the-guide.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

ALL_PATHS = "/(.*)"
"""Route source that matches every path."""

# Clerk's documented CSP needs: its Frontend API for scripts and XHR, its image CDN,
# Cloudflare Turnstile (bot protection) frames, and blob: workers.
CLERK_IMG_HOST = "https://img.clerk.com"
TURNSTILE_HOST = "https://challenges.cloudflare.com"

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "geolocation",
        "gyroscope", "hid", "idle-detection", "magnetometer", "microphone", "midi", "payment",
        "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
    )
)


@dataclass(frozen=True, kw_only=True)
class HeaderPolicy:
    """Inputs of the header set; everything else is fixed by current guidance."""

    hsts_max_age: int = 63_072_000
    """HSTS max-age in seconds; defaults to two years (OWASP)."""
    hsts_preload: bool = False
    """Add `preload`; defaults to False (hstspreload.org: opt in deliberately)."""
    script_hosts: Sequence[str] = ()
    """Extra https origins allowed to serve scripts (the Clerk Frontend API); defaults to none."""
    script_hashes: Sequence[str] = ()
    """Hashes ("sha256-...") of inline scripts to allow, such as Astro's island loader; defaults to none."""
    connect_hosts: Sequence[str] = ()
    """Extra https origins the browser may connect to; defaults to none."""
    img_hosts: Sequence[str] = ()
    """Extra https origins for images; defaults to none."""
    frame_hosts: Sequence[str] = ()
    """Origins the app may frame; defaults to none."""
    extra: Mapping[str, str] = field(default_factory=dict)
    """Additional headers, set after the defaults; defaults to none."""

    @classmethod
    def for_clerk(
        cls,
        *,
        clerk_frontend_api: str,
        connect_sources: Sequence[str] = (),
        script_hashes: Sequence[str] = (),
        hsts_max_age: int = 63_072_000,
        hsts_preload: bool = False,
    ) -> HeaderPolicy:
        """The policy for an app using Clerk (empty `clerk_frontend_api` for none)."""
        clerk = (clerk_frontend_api,) if clerk_frontend_api else ()
        return cls(
            hsts_max_age=hsts_max_age,
            hsts_preload=hsts_preload,
            # Clerk's bot protection (Turnstile) loads its script and its frame from Cloudflare.
            script_hosts=(*clerk, TURNSTILE_HOST) if clerk else (),
            script_hashes=tuple(script_hashes),
            connect_hosts=(*clerk, *connect_sources),
            img_hosts=(CLERK_IMG_HOST,) if clerk else (),
            frame_hosts=(TURNSTILE_HOST,) if clerk else (),
        )

    def content_security_policy(self) -> str:
        def directive(name: str, *sources: str) -> str:
            return " ".join((name, *dict.fromkeys(sources)))

        directives = [
            directive("default-src", "'self'"),
            # No 'unsafe-inline' or 'unsafe-eval' for scripts: inline script stays an XSS
            # vector. The inline scripts Astro does emit (island hydration) are allowed by hash.
            directive("script-src", "'self'", *self.script_hosts, *(f"'{h}'" for h in self.script_hashes)),
            # Clerk's components inject style attributes; styles cannot run code.
            directive("style-src", "'self'", "'unsafe-inline'"),
            directive("img-src", "'self'", "data:", *self.img_hosts),
            directive("font-src", "'self'"),
            directive("connect-src", "'self'", *self.connect_hosts),
            directive("frame-src", *(self.frame_hosts or ("'none'",))),
            directive("worker-src", "'self'", "blob:"),
            directive("object-src", "'none'"),
            directive("base-uri", "'self'"),
            directive("form-action", "'self'"),
            directive("frame-ancestors", "'none'"),
            "upgrade-insecure-requests",
        ]
        return "; ".join(directives)

    def strict_transport_security(self) -> str:
        value = f"max-age={self.hsts_max_age}; includeSubDomains"
        return value + "; preload" if self.hsts_preload else value

    def headers(self) -> dict[str, str]:
        """The response headers for every path, in a stable order."""
        headers = {
            "Strict-Transport-Security": self.strict_transport_security(),
            "Content-Security-Policy": self.content_security_policy(),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Permissions-Policy": PERMISSIONS_POLICY,
            "Cross-Origin-Opener-Policy": "same-origin-allow-popups",
            "Cross-Origin-Resource-Policy": "same-origin",
            # Deprecated XSS auditor: "0" disables it (OWASP); "1; mode=block" could be abused.
            "X-XSS-Protection": "0",
            "X-Permitted-Cross-Domain-Policies": "none",
        }
        headers.update(self.extra)
        return headers


def vercel_json_headers(headers: Mapping[str, str], source: str = ALL_PATHS) -> list[dict[str, object]]:
    """The `headers` block of vercel.json for one source pattern."""
    return [{"source": source, "headers": [{"key": k, "value": v} for k, v in headers.items()]}]


def render_vercel_json(existing: str | None, headers: Mapping[str, str]) -> str:
    """Merge the header block into an app's vercel.json, keeping its other settings."""
    data = json.loads(existing) if existing else {}
    if not isinstance(data, dict):
        raise ValueError("vercel.json must contain a JSON object")
    data["headers"] = vercel_json_headers(headers)
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
