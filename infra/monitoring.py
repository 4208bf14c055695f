"""The guide's alerts on Vercel, where the plan allows them.

Guide ("Monitoring Thresholds", alerts.yml): error rate > 5 % for 5 min, p95 response time > 2 s
for 5 min, database connections > 80 % for 2 min. What the pinned provider can declare:

* `vercel.CustomAlertRule` (Alerts v3: a metric or a two-metric ratio, a window of 5m/15m/1h/1d,
  a threshold trigger; pulumiverse_vercel 5.21.1 custom_alert_rule.py, _inputs.py
  CustomAlertRuleEvaluation*/Trigger*). "Creating a rule or changing its query requires
  Observability Plus on this project" (custom_alert_rule.py, `project_id`).
* `vercel.AlertRule`, the built-in 5xx error-anomaly rule (alert_rule.py; filter fields of
  `error_anomaly`: statusGroup, route).
* Alerts "are available on Enterprise and Pro plans with Observability Plus"
  (https://vercel.com/docs/alerts). So nothing is declared on Hobby or without Observability Plus.

Metric ids are validated by Vercel's API only ("Availability is validated by the API"), so these
follow Vercel's own examples: `vercel.request.count` with `httpStatus >= 500` (the SDK's
CustomAlertRule example) and `vercel.function_invocation.function_duration_ms` with a percentile
aggregation (the `vc metrics` commands Vercel's Observability pages print; percentiles 75/90/95/99
in https://vercel.com/docs/query/monitoring/monitoring-reference). Check them once with
`vc metrics schema vercel.request` and `vc metrics schema vercel.function_invocation`.

Not declarable here: Web Analytics and Speed Insights (no resource or argument in the provider),
and the database-connections alert (no provider for it): `python -m ops connections` runs hourly
in .github/workflows/db-connections.yml instead (docs/explanation/monitoring.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import pulumi
import pulumiverse_vercel as vercel

from infra import catalog
from infra.config import VERCEL_PLANS, VercelPlan

ALERT_PLANS = ("pro", "enterprise")
"""Plans on which Vercel offers alerts (with the Observability Plus add-on)."""
AlertWindow = Literal["5m", "15m", "1h", "1d"]
"""Evaluation windows of Alerts v3 (SDK CustomAlertRuleEvaluationArgs.window)."""
WINDOWS: tuple[str, ...] = get_args(AlertWindow)
ERRORS_METRIC = "vercel.request.count"
DURATION_METRIC = "vercel.function_invocation.function_duration_ms"


def alerts_available(plan: str, observability_plus: bool) -> bool:
    """Whether Vercel lets this team create alert rules."""
    return plan in ALERT_PLANS and observability_plus


@dataclass(frozen=True, kw_only=True)
class MonitoringArgs:
    """Inputs of `Monitoring`."""

    project_id: pulumi.Input[str]
    """The Vercel project the alerts watch; required."""
    plan: VercelPlan
    """The team's Vercel plan: hobby, pro or enterprise (config `vercelPlan`); required."""
    observability_plus: bool = False
    """Whether the project has Observability Plus (config `vercelObservabilityPlus`); defaults to False."""
    error_rate: float = 0.05
    """Share of 5xx responses that alerts (a ratio, 0.05 = 5 %); defaults to the guide's 0.05."""
    p95_duration_ms: int = 2000
    """p95 function duration in milliseconds that alerts; defaults to the guide's 2000."""
    window: AlertWindow = "5m"
    """Evaluation window (5m, 15m, 1h or 1d); defaults to the guide's 5m."""
    minimum_errors: int = 10
    """5xx responses a window needs before the error rate is judged (no alert on 1 of 3); defaults to 10."""


class Monitoring(pulumi.ComponentResource):
    """The guide's error-rate and latency alerts, an error-anomaly rule, team owners notified by Vercel."""

    alert_names: pulumi.Output[list[str]]
    """Names of the alert rules declared (empty when the plan has no alerts)."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_MONITORING, name, None, opts)
        _check(name, args)
        names: list[str] = []
        if alerts_available(args.plan, args.observability_plus):
            child = pulumi.ResourceOptions(parent=self)
            notify = vercel.CustomAlertRuleNotificationSettingsArgs(enable_team_owner_notifications=True)
            self._error_rate_rule(name, args, child, notify)
            self._p95_duration_rule(name, args, child, notify)
            self._error_anomaly_rule(name, args, child)
            names = [f"{name}-error-rate", f"{name}-p95-duration", f"{name}-error-anomaly"]
        self.alert_names = pulumi.Output.from_input(names)
        self.register_outputs({"alert_names": self.alert_names})

    # -- steps ----------------------------------------------------------------------------------
    def _error_rate_rule(self, name: str, args: MonitoringArgs, child: pulumi.ResourceOptions,
                         notify: vercel.CustomAlertRuleNotificationSettingsArgs) -> None:
        percent = f"{args.error_rate * 100:g} %"
        vercel.CustomAlertRule(
            f"{name}-error-rate",
            project_id=args.project_id,
            name=f"ARA: error rate above {percent} for {args.window}",
            severity="high",
            tags=["ara", "guide-alerts"],
            evaluation=vercel.CustomAlertRuleEvaluationArgs(
                window=args.window,
                query=vercel.CustomAlertRuleEvaluationQueryArgs(
                    metrics={
                        "errors": vercel.CustomAlertRuleEvaluationQueryMetricsArgs(
                            metric=ERRORS_METRIC, aggregation="count", filter="httpStatus >= 500"),
                        "requests": vercel.CustomAlertRuleEvaluationQueryMetricsArgs(
                            metric=ERRORS_METRIC, aggregation="count"),
                    },
                    formulas={"formula": "errors / requests"},
                    outputs=["formula"],
                ),
            ),
            trigger=vercel.CustomAlertRuleTriggerArgs(
                type="threshold", output="formula", operator="gt", threshold=args.error_rate,
                minimum=vercel.CustomAlertRuleTriggerMinimumArgs(output="errors", threshold=args.minimum_errors),
            ),
            notification_settings=notify,
            opts=child,
        )

    def _p95_duration_rule(self, name: str, args: MonitoringArgs, child: pulumi.ResourceOptions,
                           notify: vercel.CustomAlertRuleNotificationSettingsArgs) -> None:
        vercel.CustomAlertRule(
            f"{name}-p95-duration",
            project_id=args.project_id,
            name=f"ARA: p95 function duration above {args.p95_duration_ms} ms for {args.window}",
            severity="medium",
            tags=["ara", "guide-alerts"],
            evaluation=vercel.CustomAlertRuleEvaluationArgs(
                window=args.window,
                query=vercel.CustomAlertRuleEvaluationQueryArgs(
                    metrics={"p95": vercel.CustomAlertRuleEvaluationQueryMetricsArgs(
                        metric=DURATION_METRIC, aggregation="p95")},
                    outputs=["p95"],
                ),
            ),
            trigger=vercel.CustomAlertRuleTriggerArgs(
                type="threshold", output="p95", operator="gt", threshold=args.p95_duration_ms),
            notification_settings=notify,
            opts=child,
        )

    def _error_anomaly_rule(self, name: str, args: MonitoringArgs, child: pulumi.ResourceOptions) -> None:
        vercel.AlertRule(
            f"{name}-error-anomaly",
            type="built-in",
            name="ARA: 5xx error anomaly",
            rule_scope=vercel.AlertRuleRuleScopeArgs(type="include", project_ids=[args.project_id]),
            triggers=[vercel.AlertRuleTriggerArgs(type="error_anomaly", filter="statusGroup:5xx")],
            match_minimum_severity_level="medium",
            tags=["ara"],
            notification_settings=vercel.AlertRuleNotificationSettingsArgs(enable_team_owner_notifications=True),
            opts=child,
        )


def _check(name: str, args: MonitoringArgs) -> None:
    if args.plan not in VERCEL_PLANS:
        raise ValueError(f"{name}: plan must be one of {', '.join(VERCEL_PLANS)} (got {args.plan!r})")
    if args.window not in WINDOWS:
        raise ValueError(f"{name}: window must be one of {', '.join(WINDOWS)} (got {args.window!r})")
    if not 0 < args.error_rate < 1:
        raise ValueError(f"{name}: error_rate is a ratio between 0 and 1 (got {args.error_rate})")
