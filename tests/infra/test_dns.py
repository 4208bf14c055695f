"""AppDomain: the domain on Vercel and a DNS-only record pointing where Vercel recommends."""

import hashlib

import pulumi
import pytest

from infra import catalog, dns
from infra.dns import AppDomain, AppDomainArgs
from review.capture import mocks
from tests.support import run_component


def _domain(domain="app.example.com", zone="example.com", **kwargs):
    args = AppDomainArgs(project_id="prj_123", domain=domain, zone=zone, **kwargs)
    return run_component(lambda: AppDomain("dom", args))


def _expected_zone_id(zone):
    return f"zone-{hashlib.sha256(zone.encode()).hexdigest()[:32]}"


def test_domain_is_attached_to_the_project_as_a_child():
    cap = _domain()
    component = cap.one(catalog.TOKEN_APP_DOMAIN, "dom")
    domain = cap.one(catalog.VERCEL_PROJECT_DOMAIN, "dom-domain")
    assert domain.parent == component.urn
    assert domain.props == {"projectId": "prj_123", "domain": "app.example.com"}


def test_production_domain_sets_no_git_branch():
    assert "gitBranch" not in _domain().one(catalog.VERCEL_PROJECT_DOMAIN).props


def test_branch_domain_follows_its_git_branch():
    props = _domain(domain="preview.example.com", git_branch="preview").one(catalog.VERCEL_PROJECT_DOMAIN).props
    assert props["gitBranch"] == "preview"


def test_subdomain_gets_a_cname_to_the_target_vercel_recommends():
    cap = _domain()
    record = cap.one(catalog.CF_DNS_RECORD, "dom-record")
    [(_, answer_args)] = [(t, a) for t, a in cap.invokes if t == catalog.INVOKE_GET_DOMAIN_CONFIG]
    recommended = mocks._get_domain_config(None, answer_args)["recommendedCname"]
    assert record.props["type"] == "CNAME"
    assert record.props["name"] == "app.example.com"
    # Vercel answers the FQDN with its trailing dot; Cloudflare stores the target without it.
    assert recommended.endswith(mocks.MOCK_VERCEL_CNAME_SUFFIX + ".")
    assert record.props["content"] == recommended.rstrip(".")
    assert record.props["content"].endswith(mocks.MOCK_VERCEL_CNAME_SUFFIX)


@pytest.mark.parametrize(("recommended", "stored"), [
    ("49f87b35b8122d1a.vercel-dns-017.com.", "49f87b35b8122d1a.vercel-dns-017.com"),  # Vercel's form
    ("cname.vercel-dns.com", "cname.vercel-dns.com"),  # already without the dot: unchanged
])
def test_the_cname_target_is_written_as_cloudflare_reads_it_back(recommended, stored):
    # A dotted target reads back without the dot: a change on every `up` and every drift check (audit B6).
    assert dns.cname_target(recommended) == stored


def test_record_is_not_the_hard_coded_ip_from_the_guide():
    for cap in (_domain(), _domain(domain="example.com")):
        assert cap.one(catalog.CF_DNS_RECORD).props["content"] != "76.76.19.61"


def test_record_is_dns_only_with_automatic_ttl():
    props = _domain().one(catalog.CF_DNS_RECORD).props
    assert props["proxied"] is False
    assert props["ttl"] == 1


def test_record_goes_into_the_zone_the_lookup_returned():
    cap = _domain()
    assert cap.one(catalog.CF_DNS_RECORD).props["zoneId"] == _expected_zone_id("example.com")
    assert (catalog.INVOKE_GET_ZONE, {"filter": {"name": "example.com", "match": "all"}}) in cap.invokes


def test_apex_domain_gets_an_a_record_with_the_recommended_ipv4():
    record = _domain(domain="example.com").one(catalog.CF_DNS_RECORD)
    assert record.props["type"] == "A"
    assert record.props["name"] == "example.com"
    assert record.props["content"] == mocks.MOCK_VERCEL_IPV4


def test_the_domain_config_is_asked_of_vercel_for_this_project_and_domain():
    invokes = [a for t, a in _domain().invokes if t == catalog.INVOKE_GET_DOMAIN_CONFIG]
    assert invokes == [{"domain": "app.example.com", "projectIdOrName": "prj_123"}]


def test_only_one_record_is_declared_and_it_is_a_child():
    cap = _domain()
    component = cap.one(catalog.TOKEN_APP_DOMAIN)
    assert [r.name for r in cap.of_type(catalog.CF_DNS_RECORD)] == ["dom-record"]
    assert cap.one(catalog.CF_DNS_RECORD).parent == component.urn
    assert cap.of_type(catalog.CF_RECORD_LEGACY) == []


def test_registered_outputs_give_the_https_url_and_the_dns_target():
    outputs = _domain().one(catalog.TOKEN_APP_DOMAIN).outputs
    assert outputs["url"] == "https://app.example.com"
    assert outputs["dns_target"].endswith(mocks.MOCK_VERCEL_CNAME_SUFFIX)


def test_preview_stack_domain_follows_the_preview_branch(preview):
    assert preview.one(catalog.VERCEL_PROJECT_DOMAIN).props["gitBranch"] == "preview"
    assert preview.one(catalog.CF_DNS_RECORD).props["name"] == "preview.appstoagents.com"


@pulumi.runtime.test
def test_url_output_is_https_of_the_domain(mocks):
    domain = AppDomain("dom", AppDomainArgs(project_id="prj_123", domain="app.example.com", zone="example.com"))

    def check(url):
        assert url == "https://app.example.com"

    return domain.url.apply(check)


def test_a_branch_domain_on_another_branch_than_production_is_declared():
    domain = _domain(domain="preview.example.com", git_branch="preview", production_branch="main").one(
        catalog.VERCEL_PROJECT_DOMAIN)
    assert domain.props["gitBranch"] == "preview"


def test_a_branch_domain_on_the_projects_production_branch_is_a_run_error_naming_the_key():
    import pytest

    from infra.dns import BranchDomainError, branch_for_domain

    assert issubclass(BranchDomainError, pulumi.RunError)
    assert branch_for_domain("d", "preview", None) == "preview"
    with pytest.raises(BranchDomainError, match="config domainGitBranch"):
        branch_for_domain("d", "main", "main")
