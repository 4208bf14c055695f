"""RateLimit: a Vercel Firewall rate-limit rule per client IP on the API path."""

import pulumi

from infra import catalog
from infra.rate_limit import RateLimit, RateLimitArgs
from tests.support import run_component, run_program


def _limit(**kwargs):
    return run_component(lambda: RateLimit("rl", RateLimitArgs(project_id="prj_123", **kwargs)))


def _rules(cap):
    return cap.one(catalog.VERCEL_FIREWALL_CONFIG, "rl-firewall").props["rules"]["rules"]


def test_firewall_is_enabled_on_the_project_as_a_child():
    cap = _limit()
    firewall = cap.one(catalog.VERCEL_FIREWALL_CONFIG, "rl-firewall")
    assert firewall.parent == cap.one(catalog.TOKEN_RATE_LIMIT, "rl").urn
    assert firewall.props["projectId"] == "prj_123"
    assert firewall.props["enabled"] is True


def test_one_active_rule_rate_limits_17_requests_per_10_minutes_per_ip_by_default():
    # 600 s is the longest window Hobby and Pro allow; 17 per 10 minutes ~ the guide's 100 per hour.
    [rule] = _rules(_limit())
    assert rule["active"] is True
    assert rule["action"]["action"] == "rate_limit"
    limit = rule["action"]["rateLimit"]
    assert limit["limit"] == 17
    assert limit["window"] == 600
    assert limit["keys"] == ["ip"]
    assert limit["algo"] == "fixed_window"
    assert limit["action"] == "rate_limit"


def test_rule_matches_paths_starting_with_api():
    [rule] = _rules(_limit())
    assert rule["conditionGroups"] == [{"conditions": [{"type": "path", "op": "pre", "value": "/api"}]}]
    assert rule["name"] == "rate-limit-api"


def test_custom_limit_window_and_path():
    [rule] = _rules(_limit(requests=20, window_seconds=60, path_prefix="/api/chat"))
    assert rule["action"]["rateLimit"]["limit"] == 20
    assert rule["action"]["rateLimit"]["window"] == 60
    assert rule["conditionGroups"][0]["conditions"][0]["value"] == "/api/chat"
    assert rule["name"] == "rate-limit-api-chat"
    assert rule["description"] == "20 requests per 60s per IP on /api/chat"


def test_root_path_rule_gets_a_readable_name():
    cap = _limit(path_prefix="/")
    assert _rules(cap)[0]["name"] == "rate-limit-root"
    assert cap.one(catalog.TOKEN_RATE_LIMIT).outputs == {"rule_name": "rate-limit-root"}


def test_prod_stack_limits_the_api_within_the_pro_plans_window(prod):
    [rule] = prod.one(catalog.VERCEL_FIREWALL_CONFIG).props["rules"]["rules"]
    assert (rule["action"]["rateLimit"]["limit"], rule["action"]["rateLimit"]["window"]) == (17, 600)
    assert rule["conditionGroups"][0]["conditions"][0]["value"] == "/api"


def test_enterprise_keeps_the_guides_exact_hourly_rule():
    capture = run_program("prod", {"vercelPlan": "enterprise"})
    [rule] = capture.one(catalog.VERCEL_FIREWALL_CONFIG).props["rules"]["rules"]
    assert (rule["action"]["rateLimit"]["limit"], rule["action"]["rateLimit"]["window"]) == (100, 3600)


def test_preview_stack_leaves_the_firewall_to_prod(preview):
    assert preview.of_type(catalog.VERCEL_FIREWALL_CONFIG) == []


@pulumi.runtime.test
def test_rule_name_output(mocks):
    limit = RateLimit("rl", RateLimitArgs(project_id="prj_123", path_prefix="/api/v1"))

    def check(name):
        assert name == "rate-limit-api-v1"

    return limit.rule_name.apply(check)


def _managed(cap):
    return cap.one(catalog.VERCEL_FIREWALL_CONFIG).props["managedRulesets"]


def test_bot_protection_and_ai_bot_rules_are_declared_so_up_never_switches_them_off():
    # FirewallConfig replaces the whole firewall config: an undeclared ruleset is turned off.
    managed = _managed(_limit())
    assert managed == {"botProtection": {"active": True, "action": "log"},
                       "aiBots": {"active": True, "action": "log"}}


def test_enforce_challenges_bots_and_denies_ai_bots():
    managed = _managed(_limit(managed_rules="enforce"))
    assert managed["botProtection"] == {"active": True, "action": "challenge"}
    assert managed["aiBots"] == {"active": True, "action": "deny"}


def test_owasp_core_rules_only_when_asked_for():
    assert "owasp" not in _managed(_limit())
    owasp = _managed(_limit(owasp=True, managed_rules="enforce"))["owasp"]
    assert set(owasp) == {"xss", "sqli", "rce", "lfi", "rfi", "sd", "ma", "gen", "sf"}
    assert all(rule == {"active": True, "action": "deny"} for rule in owasp.values())


def test_prod_declares_owasp_only_on_enterprise(prod):
    assert "owasp" not in _managed(prod)
    assert set(_managed(run_program("prod", {"vercelPlan": "enterprise"}))["owasp"]) >= {"xss", "sqli"}
