"""rate_limit.py: every Vercel project has an active firewall rate limit on its API path."""

import pytest

from ara_policies import rate_limit
from infra import catalog

from .conftest import UNKNOWN_OBJ, UNKNOWN_STR, Res, assert_metadata, run_resource, run_stack

POLICY = rate_limit.REQUIRE_API_RATE_LIMIT


def rate_rule(op="pre", value="/api", active=True, action="rate_limit", neg=None, limit=100, window=60,
              over_limit="deny", extra_conditions=(), groups=None):
    condition = {"type": "path", "op": op, "value": value}
    if neg is not None:
        condition["neg"] = neg
    rate_limit = {"limit": limit, "window": window, "keys": ["ip"], "algo": "fixed_window"}
    if over_limit is not None:
        rate_limit["action"] = over_limit
    return {
        "name": "api-rate-limit",
        "active": active,
        "conditionGroups": groups if groups is not None else [{"conditions": [condition, *extra_conditions]}],
        "action": {"action": action, "rateLimit": rate_limit},
    }


def stack(*rules, enabled=True, link="deps", extra=()):
    project = Res(catalog.VERCEL_PROJECT, "web", {"name": "ara", "id": "prj_1"})
    fw_props = {"projectId": "prj_1" if link == "id" else UNKNOWN_STR, "enabled": enabled,
                "rules": {"rules": list(rules)}}
    firewall = Res(catalog.VERCEL_FIREWALL_CONFIG, "firewall", fw_props,
                   deps={"projectId": ["web"]} if link == "deps" else {})
    return [project, firewall, *extra]


def test_rate_limit_policy_metadata():
    assert_metadata(POLICY, "advisory", "medium", {"apiPath"})


@pytest.mark.parametrize("link", ["deps", "id"])
def test_project_with_api_rate_limit_passes(link):
    run_stack(POLICY, stack(rate_rule(), link=link)).assert_clean()


@pytest.mark.parametrize("op,value", [("pre", "/api"), ("pre", "/"), ("eq", "/api"), ("re", "^/api(/.*)?$"),
                                      ("sub", "/api")])
def test_path_operators_covering_the_api_pass(op, value):
    run_stack(POLICY, stack(rate_rule(op=op, value=value))).assert_clean()


def test_stack_without_projects_has_nothing_to_check():
    run_stack(POLICY, [Res(catalog.CF_R2_BUCKET, "reports", {"name": "ara-reports"})]).assert_clean()


def test_project_without_firewall_is_flagged():
    out = run_stack(POLICY, [Res(catalog.VERCEL_PROJECT, "web", {"name": "ara"})])
    assert len(out.messages) == 1 and "'web'" in out.text and "has no FirewallConfig" in out.text
    assert out.violations[0][1].endswith("::web")


def test_firewall_for_another_project_does_not_count():
    resources = [
        Res(catalog.VERCEL_PROJECT, "web", {"name": "ara", "id": "prj_1"}),
        Res(catalog.VERCEL_PROJECT, "docs", {"name": "docs", "id": "prj_2"}),
        Res(catalog.VERCEL_FIREWALL_CONFIG, "fw", {"projectId": "prj_1", "rules": {"rules": [rate_rule()]}}),
    ]
    out = run_stack(POLICY, resources)
    assert len(out.messages) == 1 and "'docs'" in out.text


@pytest.mark.parametrize("rule", [
    rate_rule(active=False),
    rate_rule(action="deny"),
    rate_rule(value="/admin"),
    rate_rule(op="suf", value="/api"),
    rate_rule(op="pre", neg=True),
    rate_rule(limit=0),
])
def test_rule_that_does_not_rate_limit_the_api_is_flagged(rule):
    out = run_stack(POLICY, stack(rule))
    assert len(out.messages) == 1 and "active rate_limit rule covering /api" in out.text


def test_disabled_firewall_is_flagged():
    out = run_stack(POLICY, stack(rate_rule(), enabled=False))
    assert len(out.messages) == 1


def test_firewall_without_rules_is_flagged():
    assert len(run_stack(POLICY, stack()).messages) == 1


def test_api_path_config_overrides_default():
    resources = stack(rate_rule(value="/v1"))
    assert run_stack(POLICY, resources).messages
    run_stack(POLICY, resources, config={"apiPath": "/v1"}).assert_clean()


def test_unknown_rules_are_not_fatal_and_count_as_missing():
    project = Res(catalog.VERCEL_PROJECT, "web", {"name": "ara"})
    firewall = Res(catalog.VERCEL_FIREWALL_CONFIG, "fw", {"projectId": UNKNOWN_STR, "rules": UNKNOWN_OBJ},
                   deps={"projectId": ["web"]})
    out = run_stack(POLICY, [project, firewall])
    assert out.unknown is None and len(out.messages) == 1


def test_unknown_rule_among_known_rules_is_skipped():
    project = Res(catalog.VERCEL_PROJECT, "web", {"name": "ara"})
    firewall = Res(catalog.VERCEL_FIREWALL_CONFIG, "fw",
                   {"projectId": UNKNOWN_STR, "rules": {"rules": [UNKNOWN_OBJ, rate_rule()]}},
                   deps={"projectId": ["web"]})
    run_stack(POLICY, [project, firewall]).assert_clean()


def test_condition_covers_probes_the_api_prefix():
    assert rate_limit.condition_covers({"type": "path", "op": "pre", "value": "/api/"}, "/api")
    assert not rate_limit.condition_covers({"type": "host", "op": "pre", "value": "/api"}, "/api")
    assert not rate_limit.condition_covers({"type": "path", "op": "re", "value": "(["}, "/api")
    assert not rate_limit.condition_covers({"type": "path", "op": "pre", "value": "/api", "neg": True}, "/api")
    assert not rate_limit.condition_covers({"type": "path", "op": "suf", "value": "/api"}, "/api")


# --- the over-limit action must block, and a group must cover all API traffic -------------

@pytest.mark.parametrize("over_limit", ["rate_limit", "deny", "challenge"])
def test_blocking_over_limit_actions_pass(over_limit):
    run_stack(POLICY, stack(rate_rule(over_limit=over_limit))).assert_clean()


@pytest.mark.parametrize("over_limit", ["log", "bypass", "", None, UNKNOWN_STR])
def test_over_limit_action_that_blocks_nothing_is_flagged(over_limit):
    out = run_stack(POLICY, stack(rate_rule(over_limit=over_limit)))
    assert out.unknown is None
    assert len(out.messages) == 1 and "active rate_limit rule covering /api" in out.text
    assert "over-limit action" in out.text and "every condition" not in out.text


IP_CONDITION = {"type": "ip_address", "op": "eq", "value": "203.0.113.7"}


@pytest.mark.parametrize("extra", [
    IP_CONDITION,
    {"type": "method", "op": "eq", "value": "POST"},
    {"type": "path", "op": "pre", "value": "/api/admin"},
    {"type": "path", "op": "pre", "value": "/api", "neg": True},
    UNKNOWN_OBJ,
])
def test_group_narrowed_by_another_condition_is_flagged(extra):
    out = run_stack(POLICY, stack(rate_rule(extra_conditions=[extra])))
    assert out.unknown is None
    assert len(out.messages) == 1 and "every condition" in out.text and "over-limit action" not in out.text
    assert "203.0.113.7" not in out.text and "POST" not in out.text


def test_group_of_path_conditions_that_all_cover_the_api_passes():
    rule = rate_rule(extra_conditions=[{"type": "path", "op": "sub", "value": "/api"}])
    run_stack(POLICY, stack(rule)).assert_clean()


def test_one_covering_group_is_enough_because_groups_are_ored():
    groups = [{"conditions": [{"type": "path", "op": "pre", "value": "/api"}, IP_CONDITION]},
              {"conditions": [{"type": "path", "op": "pre", "value": "/api"}]}]
    run_stack(POLICY, stack(rate_rule(groups=groups))).assert_clean()


@pytest.mark.parametrize("groups", [[], [{"conditions": []}], [{}], [{"conditions": UNKNOWN_OBJ}]])
def test_empty_or_unknown_groups_do_not_cover_the_api(groups):
    out = run_stack(POLICY, stack(rate_rule(groups=groups)))
    assert out.unknown is None and len(out.messages) == 1


# --- the window the plan allows ----------------------------------------------------------------

WINDOW = rate_limit.RESTRICT_RATE_LIMIT_WINDOW


def firewall(*rules):
    return {"projectId": "prj_1", "enabled": True, "rules": {"rules": list(rules)}}


def test_window_policy_metadata():
    assert_metadata(WINDOW, "mandatory", "medium", {"maxWindowSeconds", "minWindowSeconds"})


@pytest.mark.parametrize("window", [10, 60, 600])
def test_windows_hobby_and_pro_allow_pass(window):
    run_resource(WINDOW, catalog.VERCEL_FIREWALL_CONFIG, firewall(rate_rule(window=window))).assert_clean()


@pytest.mark.parametrize("window", [3600, 601, 5])
def test_a_window_outside_the_plans_range_is_flagged(window):
    # The seed's 3600 s window is Enterprise-only; Hobby and Pro stop at 10 minutes.
    out = run_resource(WINDOW, catalog.VERCEL_FIREWALL_CONFIG, firewall(rate_rule(), rate_rule(window=window)))
    assert len(out.messages) == 1 and "rules[1]" in out.text


def test_enterprise_config_allows_an_hour():
    run_resource(WINDOW, catalog.VERCEL_FIREWALL_CONFIG, firewall(rate_rule(window=3600)),
                 config={"maxWindowSeconds": 3600}).assert_clean()


def test_inactive_or_other_rules_and_unknown_windows_are_not_judged():
    rules = [rate_rule(window=3600, active=False), rate_rule(window=3600, action="deny"),
             rate_rule(window=UNKNOWN_STR)]
    run_resource(WINDOW, catalog.VERCEL_FIREWALL_CONFIG, firewall(*rules)).assert_clean()


# --- managed rulesets declared --------------------------------------------------------------

MANAGED = rate_limit.REQUIRE_MANAGED_RULESETS
DECLARED = {"botProtection": {"active": True, "action": "log"}, "aiBots": {"active": True, "action": "deny"}}


def test_managed_rulesets_policy_metadata():
    assert_metadata(MANAGED, "advisory", "medium", {"requiredRulesets"})


def test_declared_bot_and_ai_bot_rulesets_pass():
    run_resource(MANAGED, catalog.VERCEL_FIREWALL_CONFIG, {**firewall(rate_rule()), "managedRulesets": DECLARED}
                 ).assert_clean()


@pytest.mark.parametrize("managed", [None, {}, {"botProtection": {"active": True, "action": "log"}},
                                     {**DECLARED, "aiBots": {"active": False, "action": "log"}}])
def test_a_firewall_that_leaves_rulesets_to_the_dashboard_is_flagged(managed):
    props = firewall(rate_rule())
    if managed is not None:
        props["managedRulesets"] = managed
    out = run_resource(MANAGED, catalog.VERCEL_FIREWALL_CONFIG, props)
    assert len(out.messages) == 1 and "switched off" in out.text


def test_owasp_can_be_required_on_enterprise():
    props = {**firewall(rate_rule()), "managedRulesets": DECLARED}
    out = run_resource(MANAGED, catalog.VERCEL_FIREWALL_CONFIG, props,
                       config={"requiredRulesets": ["botProtection", "aiBots", "owasp"]})
    assert len(out.messages) == 1 and "owasp" in out.text
    props["managedRulesets"] = {**DECLARED, "owasp": {"xss": {"active": True, "action": "deny"}}}
    run_resource(MANAGED, catalog.VERCEL_FIREWALL_CONFIG, props,
                 config={"requiredRulesets": ["botProtection", "aiBots", "owasp"]}).assert_clean()


def test_unknown_managed_rulesets_are_not_judged():
    props = {**firewall(rate_rule()), "managedRulesets": UNKNOWN_OBJ}
    run_resource(MANAGED, catalog.VERCEL_FIREWALL_CONFIG, props).assert_clean()
