"""Monitoring: the guide's alerts as Vercel alert rules, only where the plan offers alerts."""

from __future__ import annotations

import pulumi
import pytest

from infra import catalog
from infra.monitoring import Monitoring, MonitoringArgs
from tests.support import run_component, run_program


def _monitoring(**kwargs):
    args = {"project_id": "prj_123", "plan": "pro", "observability_plus": True, **kwargs}
    return run_component(lambda: Monitoring("mon", MonitoringArgs(**args)))


def _rule(cap, name):
    return cap.one(catalog.VERCEL_CUSTOM_ALERT_RULE, name).props


@pytest.mark.parametrize("plan, plus", [("hobby", False), ("hobby", True), ("pro", False), ("enterprise", False)])
def test_no_alert_rule_without_a_plan_that_offers_alerts(plan, plus):
    # Alerts need Pro or Enterprise with Observability Plus; a create would fail at apply.
    cap = _monitoring(plan=plan, observability_plus=plus)
    assert cap.of_type(catalog.VERCEL_CUSTOM_ALERT_RULE) == []
    assert cap.of_type(catalog.VERCEL_ALERT_RULE) == []
    assert cap.one(catalog.TOKEN_MONITORING, "mon").outputs == {"alert_names": []}


@pytest.mark.parametrize("plan", ["pro", "enterprise"])
def test_pro_and_enterprise_with_observability_plus_get_three_rules_as_children(plan):
    cap = _monitoring(plan=plan)
    parent = cap.one(catalog.TOKEN_MONITORING, "mon")
    rules = cap.of_type(catalog.VERCEL_CUSTOM_ALERT_RULE) + cap.of_type(catalog.VERCEL_ALERT_RULE)
    assert sorted(r.name for r in rules) == ["mon-error-anomaly", "mon-error-rate", "mon-p95-duration"]
    assert all(r.parent == parent.urn for r in rules)
    assert parent.outputs == {"alert_names": ["mon-error-rate", "mon-p95-duration", "mon-error-anomaly"]}


def test_error_rate_is_5xx_over_all_requests_above_5_percent_for_5_minutes():
    rule = _rule(_monitoring(), "mon-error-rate")
    assert rule["projectId"] == "prj_123"
    assert rule["evaluation"] == {
        "window": "5m",
        "query": {
            "metrics": {
                "errors": {"metric": "vercel.request.count", "aggregation": "count", "filter": "httpStatus >= 500"},
                "requests": {"metric": "vercel.request.count", "aggregation": "count"},
            },
            "formulas": {"formula": "errors / requests"},
            "outputs": ["formula"],
        },
    }
    assert rule["trigger"] == {"type": "threshold", "output": "formula", "operator": "gt", "threshold": 0.05,
                               "minimum": {"output": "errors", "threshold": 10}}
    assert rule["severity"] == "high"
    assert rule["notificationSettings"] == {"enableTeamOwnerNotifications": True}


def test_p95_duration_above_2_seconds_for_5_minutes():
    rule = _rule(_monitoring(), "mon-p95-duration")
    metrics = rule["evaluation"]["query"]["metrics"]
    assert metrics == {"p95": {"metric": "vercel.function_invocation.function_duration_ms", "aggregation": "p95"}}
    assert rule["evaluation"]["window"] == "5m"
    assert rule["trigger"] == {"type": "threshold", "output": "p95", "operator": "gt", "threshold": 2000}


def test_error_anomaly_rule_watches_only_this_project():
    rule = _monitoring().one(catalog.VERCEL_ALERT_RULE, "mon-error-anomaly").props
    assert rule["type"] == "built-in"
    assert rule["ruleScope"] == {"type": "include", "projectIds": ["prj_123"]}
    assert rule["triggers"] == [{"type": "error_anomaly", "filter": "statusGroup:5xx"}]


def test_thresholds_and_window_are_configurable():
    cap = _monitoring(error_rate=0.02, p95_duration_ms=1500, window="15m")
    assert _rule(cap, "mon-error-rate")["trigger"]["threshold"] == 0.02
    assert _rule(cap, "mon-error-rate")["name"] == "ARA: error rate above 2 % for 15m"
    assert _rule(cap, "mon-p95-duration")["trigger"]["threshold"] == 1500
    assert _rule(cap, "mon-p95-duration")["evaluation"]["window"] == "15m"


@pytest.mark.parametrize("kwargs, message", [
    ({"plan": "free"}, "plan must be one of hobby, pro, enterprise"),
    ({"window": "2m"}, "window must be one of 5m, 15m, 1h, 1d"),
    ({"error_rate": 5}, "error_rate is a ratio between 0 and 1"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _monitoring(**kwargs)


@pulumi.runtime.test
def test_alert_names_output(mocks):
    mon = Monitoring("mon", MonitoringArgs(project_id="prj", plan="enterprise", observability_plus=True))
    return mon.alert_names.apply(lambda names: assert_names(names))


def assert_names(names):
    assert names == ["mon-error-rate", "mon-p95-duration", "mon-error-anomaly"]


# --- in the stacks ---------------------------------------------------------------------------

def test_prod_declares_monitoring_without_rules_by_default(prod):
    # Observability Plus is an add-on nobody has until they buy it: off unless configured.
    assert prod.one(catalog.TOKEN_MONITORING, "ara-monitoring").outputs == {"alert_names": []}
    assert prod.of_type(catalog.VERCEL_CUSTOM_ALERT_RULE) == []


def test_prod_with_observability_plus_watches_the_project_it_owns():
    cap = run_program("prod", {"vercelPlan": "pro", "vercelObservabilityPlus": True})
    project = cap.one(catalog.VERCEL_PROJECT)
    rules = cap.of_type(catalog.VERCEL_CUSTOM_ALERT_RULE)
    assert len(rules) == 2 and len(cap.of_type(catalog.VERCEL_ALERT_RULE)) == 1
    assert all(project.urn in r.dependencies for r in rules)


def test_preview_leaves_alerts_to_prod(preview):
    # One project, owned by prod: a second set of rules would double every alert.
    assert preview.of_type(catalog.TOKEN_MONITORING) == []


def test_observability_plus_on_hobby_is_refused_by_key_before_any_resource():
    with pytest.raises(pulumi.RunError) as info:
        run_program("prod", {"vercelPlan": "hobby", "vercelTeam": "", "functionRegions": ["iad1"],
                             "vercelObservabilityPlus": True})
    assert ("ara-infra:vercelObservabilityPlus: an add-on of the pro and enterprise plans; vercelPlan is hobby"
            in str(info.value))
    assert [r for r in info.value.capture.resources if r.type != "pulumi:pulumi:Stack"] == []
