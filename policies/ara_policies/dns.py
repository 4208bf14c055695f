"""Cloudflare DNS records that point at Vercel must be DNS-only (grey cloud)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Optional

from . import catalog

from ._common import (
    EnforcementLevel,
    Severity,
    as_bool,
    get,
    resource_policy,
    subject,
    violation,
)

_VERCEL_HOST = re.compile(r"^(?:[a-z0-9-]+\.)*vercel-dns(?:-\d+)?\.com\.?$", re.IGNORECASE)
_VERCEL_IPV4 = re.compile(r"^76\.76\.(?:21|19)\.\d{1,3}$")


def is_vercel_target(content: Any) -> bool:
    """A record target served by Vercel (its CNAME hosts or anycast IPs)."""
    if not isinstance(content, str):
        return False
    content = content.strip()
    return bool(_VERCEL_HOST.match(content) or _VERCEL_IPV4.match(content))


def _proxied_vercel_record(args) -> bool:
    content = get(args.props, "content")
    if content is None and args.resource_type == catalog.CF_RECORD_LEGACY:
        content = get(args.props, "value")  # pre-v5 field name
    return is_vercel_target(content) and as_bool(get(args.props, "proxied")) is True


def _check(args, cfg, report) -> None:
    if _proxied_vercel_record(args):
        report(violation(subject("Cloudflare DNS record", args.name),
                         "proxies traffic to Vercel through Cloudflare, which breaks Vercel's certificate "
                         "issuance, firewall and caching.",
                         "set proxied=False (the pack remediates this automatically)."))


def _fix(args, cfg) -> Optional[Mapping[str, Any]]:
    if not _proxied_vercel_record(args):
        return None
    args.props["proxied"] = False  # type: ignore[index]  # through the runtime proxy
    return args.props


REQUIRE_DNS_ONLY_VERCEL_RECORDS = resource_policy(
    name="cloudflare-dns-require-dns-only-vercel-records",
    description="Cloudflare DNS records pointing at Vercel must not be proxied.",
    level=EnforcementLevel.REMEDIATE,
    severity=Severity.MEDIUM,
    types=[catalog.CF_DNS_RECORD, catalog.CF_RECORD_LEGACY],
    check=_check,
    fix=_fix,
    remediation_steps="Pass proxied=False on the DnsRecord.",
    url="https://vercel.com/guides/cloudflare-with-vercel",
)


POLICIES = [REQUIRE_DNS_ONLY_VERCEL_RECORDS]
