"""dns.py: Cloudflare records pointing at Vercel are DNS-only (REMEDIATE sets proxied=False)."""

import pytest
from infra import catalog

from ara_policies import dns

from .conftest import UNKNOWN_BOOL, UNKNOWN_STR, assert_metadata, run_remediate, run_resource

POLICY = dns.REQUIRE_DNS_ONLY_VERCEL_RECORDS
RECORD = catalog.CF_DNS_RECORD


def record(content="cname.vercel-dns.com", proxied=False, type_="CNAME", **extra):
    props = {"zoneId": "zone_1", "name": "app.example.com", "type": type_, "ttl": 1, "content": content,
             "proxied": proxied}
    props.update(extra)
    return props


def test_dns_policy_metadata():
    assert_metadata(POLICY, "remediate", "medium", set())


@pytest.mark.parametrize("content,type_", [
    ("cname.vercel-dns.com", "CNAME"),
    ("d1e2f3.vercel-dns-017.com", "CNAME"),
    ("cname.vercel-dns.com.", "CNAME"),
    ("76.76.21.21", "A"),
    ("76.76.19.61", "A"),
])
def test_proxied_record_to_vercel_is_flagged(content, type_):
    out = run_resource(POLICY, RECORD, record(content, proxied=True, type_=type_), name="app")
    assert len(out.messages) == 1 and "'app'" in out.text and "proxied=False" in out.text


@pytest.mark.parametrize("content", ["cname.vercel-dns.com", "76.76.21.21"])
def test_dns_only_record_to_vercel_passes(content):
    run_resource(POLICY, RECORD, record(content)).assert_clean()


@pytest.mark.parametrize("content", ["example.pages.dev", "76.76.22.1", "vercel-dns.com.evil.example", "1.1.1.1"])
def test_proxied_record_elsewhere_passes(content):
    run_resource(POLICY, RECORD, record(content, proxied=True)).assert_clean()


def test_record_without_proxied_prop_passes():
    props = record()
    del props["proxied"]
    run_resource(POLICY, RECORD, props).assert_clean()


def test_legacy_record_type_is_checked_including_value_field():
    props = record(proxied=True)
    run_out = run_resource(POLICY, catalog.CF_RECORD_LEGACY, props)
    assert len(run_out.messages) == 1
    legacy = {k: v for k, v in props.items() if k != "content"}
    legacy["value"] = "cname.vercel-dns.com"
    assert len(run_resource(POLICY, catalog.CF_RECORD_LEGACY, legacy).messages) == 1


def test_unknown_content_defers_to_runtime_advisory():
    out = run_resource(POLICY, RECORD, record(UNKNOWN_STR, proxied=True))
    assert out.unknown is not None


def test_unknown_proxied_for_vercel_target_defers_to_runtime_advisory():
    out = run_resource(POLICY, RECORD, record(proxied=UNKNOWN_BOOL))
    assert out.unknown is not None and "proxied" in out.unknown.message


def test_proxied_vercel_record_is_remediated_to_dns_only():
    fixed = run_remediate(POLICY, RECORD, record(proxied=True))
    assert fixed is not None and fixed["proxied"] is False
    assert fixed["content"] == "cname.vercel-dns.com" and fixed["ttl"] == 1.0
    run_resource(POLICY, RECORD, fixed).assert_clean()


def test_remediation_leaves_other_records_alone():
    assert run_remediate(POLICY, RECORD, record("example.pages.dev", proxied=True)) is None
    assert run_remediate(POLICY, RECORD, record()) is None
    assert run_remediate(POLICY, catalog.CF_R2_BUCKET, record(proxied=True)) is None
