"""dns.py: Cloudflare records pointing at Vercel are DNS-only unless Cloudflare Access needs the proxy (STACK)."""

import pytest

from ara_policies import dns
from infra import catalog

from .conftest import UNKNOWN_BOOL, UNKNOWN_LIST, UNKNOWN_STR, Res, assert_metadata, run_stack

POLICY = dns.REQUIRE_DNS_ONLY_VERCEL_RECORDS
RECORD = catalog.CF_DNS_RECORD
ACCESS = catalog.CF_ACCESS_APPLICATION


def record(content="cname.vercel-dns.com", proxied=False, type_="CNAME", name="app.example.com", **extra):
    props = {"zoneId": "zone_1", "name": name, "type": type_, "ttl": 1, "content": content, "proxied": proxied}
    props.update(extra)
    return props


def check(*props, rtype=RECORD, others=()):
    resources = [Res(rtype, f"app{i}", p) for i, p in enumerate(props)] + list(others)
    return run_stack(POLICY, resources)


def access_app(name="access", **props):
    return Res(ACCESS, name, {"accountId": "acct", "name": "staff only", "type": "self_hosted", **props})


def test_dns_policy_metadata():
    assert_metadata(POLICY, "mandatory", "medium", set())


def test_access_application_type_tokens_are_the_sdks():
    import pulumi_cloudflare
    assert pulumi_cloudflare.ZeroTrustAccessApplication.pulumi_type == catalog.CF_ACCESS_APPLICATION  # type: ignore[attr-defined]  # set by the SDK
    assert pulumi_cloudflare.AccessApplication.pulumi_type == catalog.CF_ACCESS_APPLICATION_LEGACY  # type: ignore[attr-defined]  # set by the SDK


@pytest.mark.parametrize("content,type_", [
    ("cname.vercel-dns.com", "CNAME"),
    ("d1e2f3.vercel-dns-017.com", "CNAME"),
    ("cname.vercel-dns.com.", "CNAME"),
    ("76.76.21.21", "A"),
    ("76.76.19.61", "A"),
])
def test_proxied_record_to_vercel_is_flagged(content, type_):
    out = check(record(content, proxied=True, type_=type_))
    assert len(out.messages) == 1 and "'app0'" in out.text and "proxied=False" in out.text
    assert out.violations[0][1].endswith("::app0")


@pytest.mark.parametrize("content", ["cname.vercel-dns.com", "76.76.21.21"])
def test_dns_only_record_to_vercel_passes(content):
    check(record(content)).assert_clean()


@pytest.mark.parametrize("content", ["example.pages.dev", "76.76.22.1", "vercel-dns.com.evil.example", "1.1.1.1"])
def test_proxied_record_elsewhere_passes(content):
    check(record(content, proxied=True)).assert_clean()


def test_record_without_proxied_prop_passes():
    props = record()
    del props["proxied"]
    check(props).assert_clean()


def test_legacy_record_type_is_checked_by_its_content():
    assert len(check(record(proxied=True), rtype=catalog.CF_RECORD_LEGACY).messages) == 1


def test_unknown_content_or_proxied_is_skipped_not_fatal():
    check(record(UNKNOWN_STR, proxied=True)).assert_clean()
    check(record(proxied=UNKNOWN_BOOL)).assert_clean()


# --- Cloudflare Access needs the proxy -------------------------------------------------------

@pytest.mark.parametrize("app", [
    {"domain": "app.example.com"},
    {"domain": "app.example.com/admin"},          # a path-limited app still needs the hostname proxied
    {"domain": "*.example.com"},
    {"domain": "other.example.com", "selfHostedDomains": ["app.example.com"]},
    {"destinations": [{"type": "public", "uri": "APP.example.com/*"}]},
    {"destinations": [{"uri": "app.example.com"}]},
])
def test_proxied_vercel_record_protected_by_access_is_not_asked_to_drop_the_proxy(app):
    # Dropping the proxy would send traffic past Cloudflare, where Access runs.
    check(record(proxied=True), others=[access_app(**app)]).assert_clean()


def test_legacy_access_application_type_counts_too():
    app = Res(catalog.CF_ACCESS_APPLICATION_LEGACY, "legacy", {"domain": "app.example.com"})
    check(record(proxied=True), others=[app]).assert_clean()


def test_relative_record_name_matches_access_hostname_in_the_same_zone():
    check(record(proxied=True, name="app"),
          others=[access_app(domain="app.example.com", zoneId="zone_1")]).assert_clean()
    out = check(record(proxied=True, name="app"), others=[access_app(domain="app.example.com", zoneId="zone_2")])
    assert len(out.messages) == 1


@pytest.mark.parametrize("app", [
    {"domain": "admin.example.com"},
    {"domain": "other.example.com", "selfHostedDomains": ["app.example.com"],
     "destinations": [{"type": "public", "uri": "other.example.com"}]},  # destinations supersede selfHostedDomains
    {"destinations": [{"type": "private", "hostname": "app.example.com"}]},
])
def test_access_application_for_another_hostname_does_not_protect_the_record(app):
    out = check(record(proxied=True), others=[access_app(**app)])
    assert len(out.messages) == 1 and "no Cloudflare Access application" in out.text


def test_unknown_access_hostnames_do_not_ask_to_drop_the_proxy():
    check(record(proxied=True), others=[access_app(domain=UNKNOWN_STR)]).assert_clean()
    check(record(proxied=True), others=[access_app(destinations=UNKNOWN_LIST)]).assert_clean()


def test_policy_is_a_stack_rule_that_reports_instead_of_rewriting_inputs():
    # Whether Access protects a hostname is a stack fact a per-resource remediation cannot see.
    from pulumi_policy import StackValidationPolicy
    assert isinstance(POLICY, StackValidationPolicy)
