"""Cloudflare DNS records that point at Vercel must be DNS-only (grey cloud), unless Access needs the proxy.

A stack rule that reports, no longer a remediation: whether a Cloudflare Access application
protects the hostname is a fact about other resources, which a REMEDIATE (per-resource) policy
cannot see, and turning the proxy off under an Access application would bypass Access: a
DNS-only record sends HTTP(S) traffic straight to the origin, not through Cloudflare's network,
where Access runs (https://developers.cloudflare.com/dns/proxy-status/).
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import PolicyResource

from . import catalog
from ._common import (
    EnforcementLevel,
    Severity,
    as_bool,
    is_unknown,
    known_items,
    peek,
    resources_of,
    same_known,
    stack_policy,
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


def _record_content(record: PolicyResource):
    # The legacy `Record` of the pinned SDK (pulumi_cloudflare 6.23.1 `record.py`) names it `content`
    # too; the pre-v5 `value` no longer exists.
    return peek(record.props, "content")


# --- Cloudflare Access applications ---------------------------------------------------------

_ACCESS_TYPES = (catalog.CF_ACCESS_APPLICATION, catalog.CF_ACCESS_APPLICATION_LEGACY)


def access_hosts(app: PolicyResource) -> list[str] | None:
    """Hostname patterns an Access application secures; None while one is unknown.

    pulumi_cloudflare 6.23.1 `zero_trust_access_application.py`: `domain` is "the primary hostname
    and path secured by Access"; `destinations[]` (public `uri`s, which "can include a domain and
    path with wildcards") supersede `selfHostedDomains[]`, which are ignored when destinations are
    given. A path-limited app still needs the proxy for its hostname, so only the host part counts.
    """
    values = [peek(app.props, "domain")]
    destinations = peek(app.props, "destinations")
    if is_unknown(destinations):
        return None
    if destinations:
        for d in known_items(destinations):
            if str(peek(d, "type", default="public")) == "public":
                values.append(peek(d, "uri"))
        if len(known_items(destinations)) != len(destinations):
            return None
    else:
        domains = peek(app.props, "selfHostedDomains")
        if is_unknown(domains):
            return None
        values.extend(known_items(domains) if domains else [])
    hosts = []
    for value in values:
        if value is None:
            continue
        if is_unknown(value) or not isinstance(value, str):
            return None
        host = value.strip().lower().split("://")[-1].split("/")[0].rstrip(".")
        if host:
            hosts.append(host)
    return hosts


def host_matches(pattern: str, hostname: str) -> bool:
    """`*` in an Access hostname matches any characters (erring towards "protected", so the pack
    never asks to turn off a proxy that Access needs)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, hostname, re.IGNORECASE) is not None


def _record_hostname(record: PolicyResource) -> str | None:
    name = peek(record.props, "name")
    if not isinstance(name, str) or is_unknown(name):
        return None
    return name.strip().lower().rstrip(".")


def _same_zone(a: PolicyResource, b: PolicyResource) -> bool:
    return (same_known(peek(a.props, "zoneId"), peek(b.props, "zoneId"))
            or bool({d.urn for d in (a.property_dependencies or {}).get("zoneId") or []}
                    & {d.urn for d in (b.property_dependencies or {}).get("zoneId") or []}))


def access_protection(record: PolicyResource, apps: list[PolicyResource]) -> bool | None:
    """True when an Access application secures the record's hostname; None when it can't be known.

    A relative record name (no dot) is matched against the first label of the hostnames of Access
    applications in the same zone.
    """
    hostname = _record_hostname(record)
    if hostname is None:
        return None
    undecided = False
    for app in apps:
        hosts = access_hosts(app)
        if hosts is None:
            undecided = True
            continue
        for host in hosts:
            if host_matches(host, hostname):
                return True
            if "." not in hostname and _same_zone(record, app) and host_matches(host.split(".")[0], hostname):
                return True
    return None if undecided else False


def _check(args, cfg, report) -> None:
    apps = resources_of(args, *_ACCESS_TYPES)
    for record in resources_of(args, catalog.CF_DNS_RECORD, catalog.CF_RECORD_LEGACY):
        content = _record_content(record)
        if is_unknown(content) or not is_vercel_target(content) or as_bool(peek(record.props, "proxied")) is not True:
            continue
        protected = access_protection(record, apps)
        if protected is None and apps:
            continue  # an Access hostname is not known yet: don't ask to drop a proxy Access may need
        if protected:
            continue  # Access works only on proxied hostnames; turning the proxy off would bypass it
        report(violation(subject("Cloudflare DNS record", record.name, record.urn),
                         "proxies traffic to Vercel through Cloudflare, which breaks Vercel's certificate "
                         "issuance, firewall and caching, and no Cloudflare Access application in the stack "
                         "protects its hostname.",
                         "set proxied=False (if Cloudflare Access guards this hostname outside the stack, keep "
                         "the proxy and declare the Access application in the stack)."), record.urn)


REQUIRE_DNS_ONLY_VERCEL_RECORDS = stack_policy(
    name="cloudflare-dns-require-dns-only-vercel-records",
    description="Cloudflare DNS records pointing at Vercel must not be proxied unless Cloudflare Access protects them.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    check=_check,
    remediation_steps="Pass proxied=False on the DnsRecord, unless a ZeroTrustAccessApplication protects its hostname.",
    url="https://vercel.com/guides/cloudflare-with-vercel",
)


POLICIES = [REQUIRE_DNS_ONLY_VERCEL_RECORDS]
