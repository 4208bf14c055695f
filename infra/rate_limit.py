"""The project's Vercel Firewall: a rate-limit rule on the API path and the managed rulesets.

A `FirewallConfig` is the whole firewall: the provider sends it with one
`PUT /v1/security/firewall/config` (terraform-provider-vercel client/firewall_config.go:106-128)
and fills the managed rulesets only from what is declared (resource_firewall_config.go:981-1025),
so a ruleset or IP rule switched on in the dashboard is switched off by the next `up`. Everything
the firewall should do is therefore declared here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumiverse_vercel as vercel

from infra import catalog
from infra.config import ManagedRulesMode

# (bot protection, AI bots, OWASP) actions per mode. Bot protection takes log or challenge,
# the OWASP rules log or deny (vercel.com/docs/vercel-firewall/vercel-waf/managed-rulesets).
_MANAGED_ACTIONS: dict[str, tuple[str, str, str]] = {
    "log": ("log", "log", "log"),
    "enforce": ("challenge", "deny", "deny"),
}
# OWASP core rule groups for a Node app (PHP and Java attack detection left out).
_OWASP_GROUPS = ("xss", "sqli", "rce", "lfi", "rfi", "sd", "ma", "gen", "sf")


def managed_rulesets(mode: str, owasp: bool) -> vercel.FirewallConfigManagedRulesetsArgs:
    """Bot protection and AI-bot rules (every plan), OWASP core rules when `owasp` (Enterprise)."""
    bot, ai, crs = _MANAGED_ACTIONS[mode]
    core_rules = vercel.FirewallConfigManagedRulesetsOwaspArgs(**{
        group: getattr(vercel, f"FirewallConfigManagedRulesetsOwasp{group.capitalize()}Args")(
            active=True, action=crs)
        for group in _OWASP_GROUPS
    }) if owasp else None
    return vercel.FirewallConfigManagedRulesetsArgs(
        bot_protection=vercel.FirewallConfigManagedRulesetsBotProtectionArgs(active=True, action=bot),
        ai_bots=vercel.FirewallConfigManagedRulesetsAiBotsArgs(active=True, action=ai),
        owasp=core_rules,  # None: not set, as if left out
    )


@dataclass(frozen=True, kw_only=True)
class RateLimitArgs:
    """Inputs of `RateLimit`."""

    project_id: pulumi.Input[str]
    """Vercel project the firewall belongs to; required."""
    requests: int = 17
    """Requests allowed per client IP per window; defaults to 17 (the guide's 100 per hour over 10 minutes)."""
    window_seconds: int = 600
    """Window length in seconds; defaults to 600, the longest Hobby and Pro allow (1 hour needs Enterprise)."""
    path_prefix: str = "/api"
    """Path prefix the rule covers; defaults to "/api"."""
    managed_rules: ManagedRulesMode = "log"
    """How bot protection and the AI-bot rules act; defaults to "log" (watch before blocking)."""
    owasp: bool = False
    """Also declare the OWASP core ruleset (Enterprise only); defaults to False."""


class RateLimit(pulumi.ComponentResource):
    """Limits each client IP on the API at Vercel's edge, before functions run."""

    rule_name: pulumi.Output[str]
    """Name of the rate-limit rule."""

    def __init__(self, name: str, args: RateLimitArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_RATE_LIMIT, name, None, opts)
        rule_name = f"rate-limit-{args.path_prefix.strip('/').replace('/', '-') or 'root'}"
        # The guide limits in middleware backed by Redis; at the edge the limit holds even
        # when Redis is down or the function is cold, and blocked calls cost nothing.
        vercel.FirewallConfig(
            f"{name}-firewall",
            project_id=args.project_id,
            enabled=True,
            managed_rulesets=managed_rulesets(args.managed_rules, args.owasp),
            rules=vercel.FirewallConfigRulesArgs(
                rules=[
                    vercel.FirewallConfigRulesRuleArgs(
                        name=rule_name,
                        description=f"{args.requests} requests per {args.window_seconds}s per IP on {args.path_prefix}",
                        active=True,
                        condition_groups=[
                            vercel.FirewallConfigRulesRuleConditionGroupArgs(
                                conditions=[
                                    vercel.FirewallConfigRulesRuleConditionGroupConditionArgs(
                                        type="path", op="pre", value=args.path_prefix
                                    )
                                ]
                            )
                        ],
                        action=vercel.FirewallConfigRulesRuleActionArgs(
                            action="rate_limit",
                            # fixed_window and the ip key are on every plan; token_bucket needs
                            # Enterprise (vercel.com/docs/vercel-firewall/vercel-waf/rate-limiting).
                            rate_limit=vercel.FirewallConfigRulesRuleActionRateLimitArgs(
                                algo="fixed_window",
                                window=args.window_seconds,
                                limit=args.requests,
                                keys=["ip"],
                                action="rate_limit",
                            ),
                        ),
                    )
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.rule_name = pulumi.Output.from_input(rule_name)
        self.register_outputs({"rule_name": self.rule_name})
