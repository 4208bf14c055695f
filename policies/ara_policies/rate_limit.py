"""Edge protection: every Vercel project needs a firewall rate limit in front of its API."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pulumi_policy import PolicyConfigSchema

from . import catalog
from ._common import (
    EnforcementLevel,
    Severity,
    as_bool,
    as_number,
    is_unknown,
    known_items,
    links_to,
    peek,
    plain,
    resource_policy,
    resources_of,
    stack_policy,
    subject,
    violation,
)

_PATH_OPS = ("pre", "eq", "re", "sub")


def condition_covers(condition, api_path: str) -> bool:
    """A non-negated `path` condition whose operator matches the API path."""
    if peek(condition, "type") != "path" or as_bool(peek(condition, "neg")) is True:
        return False
    op = peek(condition, "op")
    if op not in _PATH_OPS:
        return False
    values = [peek(condition, "value")] + known_items(peek(condition, "values"))
    values = [v for v in values if isinstance(v, str) and not is_unknown(v)]
    probes = (api_path, api_path.rstrip("/") + "/")
    for value in values:
        if op == "pre" and any(p.startswith(value) for p in probes):
            return True
        if op == "eq" and value.rstrip("/") == api_path.rstrip("/"):
            return True
        if op == "sub" and value and value in api_path:
            return True
        if op == "re":
            try:
                if any(re.search(value, p) for p in probes):
                    return True
            except re.error:
                continue
    return False


# Over-limit actions (`action.rateLimit.action`) that stop the request; "log" only records it.
BLOCKING_OVER_LIMIT_ACTIONS = ("rate_limit", "deny", "challenge")

# Fixed labels for why a rate_limit rule does not count (never property values).
_NOT_POSITIVE = "limit and window must be positive"
_NOT_BLOCKING = "the over-limit action (action.rateLimit.action) is not rate_limit, deny or challenge"
_NOT_COVERING = "no condition group has every condition matching all of the API path"


def group_covers(group, api_path: str) -> bool:
    """Conditions in a group are ANDed: every one must be a path condition covering the API.

    An empty group, or one with an unknown condition, could match less; it does not count.
    """
    raw = plain(peek(group, "conditions"))
    conditions = known_items(raw)
    if not conditions or len(conditions) != len(raw):
        return False
    return all(condition_covers(c, api_path) for c in conditions)


def rule_problem(rule, api_path: str) -> str | None:
    """Why an active rate_limit rule does not limit the whole API path (a label), or None."""
    limit = as_number(peek(rule, "action", "rateLimit", "limit"))
    window = as_number(peek(rule, "action", "rateLimit", "window"))
    if not limit or not window or limit <= 0 or window <= 0:
        return _NOT_POSITIVE
    if peek(rule, "action", "rateLimit", "action") not in BLOCKING_OVER_LIMIT_ACTIONS:
        return _NOT_BLOCKING
    # Groups are ORed: one group covering the API is enough.
    if not any(group_covers(g, api_path) for g in known_items(peek(rule, "conditionGroups"))):
        return _NOT_COVERING
    return None


def is_rate_limit_rule(rule) -> bool:
    return as_bool(peek(rule, "active")) is not False and peek(rule, "action", "action") == "rate_limit"


def rule_rate_limits(rule, api_path: str) -> bool:
    """An active rate_limit rule with a positive limit/window, an over-limit action that blocks
    and a condition group whose conditions all cover the path."""
    return is_rate_limit_rule(rule) and rule_problem(rule, api_path) is None


def _check_rate_limit(args, cfg, report) -> None:
    projects = resources_of(args, catalog.VERCEL_PROJECT)
    if not projects:
        return  # nothing to protect in this stack
    api_path = str(cfg["apiPath"])
    firewalls = resources_of(args, catalog.VERCEL_FIREWALL_CONFIG)
    for project in projects:
        linked = [f for f in firewalls if links_to(f, "projectId", project)]
        who = subject("Vercel project", project.name, project.urn)
        if not linked:
            report(violation(who, "has no FirewallConfig, so its API has no edge rate limit.",
                             f"add vercel.FirewallConfig(project_id=project.id) with an active rate_limit "
                             f"rule on path prefix {api_path}."), project.urn)
            continue
        enabled = [f for f in linked if as_bool(peek(f.props, "enabled")) is not False]
        rules = [r for f in enabled for r in known_items(peek(f.props, "rules", "rules")) if is_rate_limit_rule(r)]
        problems = [rule_problem(r, api_path) for r in rules]
        if rules and None in problems:
            continue
        reasons = [p for p in problems if p is not None]  # all of them: None (a rule that covers) left above
        why = f" Its rate_limit rules fail: {'; '.join(dict.fromkeys(reasons))}." if reasons else ""
        report(violation(who, f"has no enabled firewall with an active rate_limit rule covering {api_path}.{why}",
                         f'add a rule with action.action="rate_limit", action.rateLimit.action "rate_limit" '
                         f'(or "deny"/"challenge") and a condition group holding only a path condition '
                         f'(op "pre", value "{api_path}").'), project.urn)


REQUIRE_API_RATE_LIMIT = stack_policy(
    name="vercel-firewall-require-api-rate-limit",
    description="Every Vercel project must rate-limit its API path in the Vercel Firewall.",
    level=EnforcementLevel.ADVISORY,  # ARA's architecture: mandatory in policies/config/*.json
    severity=Severity.MEDIUM,
    check=_check_rate_limit,
    config=PolicyConfigSchema(properties={
        "apiPath": {
            "type": "string", "pattern": "^/", "default": "/api",
            "description": "Path prefix the rate-limit rule must cover.",
        },
    }),
    url="https://vercel.com/docs/vercel-firewall/vercel-waf/rate-limiting",
)


# --- the counting window the plan allows -----------------------------------------------------

def _check_window(args, cfg, report) -> None:
    # Numbers: the config schema says so, and the engine validates the config against it.
    longest, shortest = float(cfg["maxWindowSeconds"]), float(cfg["minWindowSeconds"])
    for i, rule in enumerate(known_items(peek(args.props, "rules", "rules"))):
        window = as_number(peek(rule, "action", "rateLimit", "window"))
        if window is None or not is_rate_limit_rule(rule):
            continue
        if window > longest or window < shortest:
            report(violation(subject("Vercel firewall", args.name),
                             f"rules[{i}] counts over {window:g} s, outside the {shortest:g}-{longest:g} s the "
                             "plan allows, so the API refuses it.",
                             f"use a window of at most {longest:g} s (10 minutes below Enterprise) and scale the "
                             "limit in proportion."))


RESTRICT_RATE_LIMIT_WINDOW = resource_policy(
    name="vercel-firewall-restrict-rate-limit-window",
    description="A Vercel rate-limit rule's window must be one the team's plan allows "
                "(10 s-10 min; 1 h on Enterprise).",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    types=[catalog.VERCEL_FIREWALL_CONFIG],
    check=_check_window,
    config=PolicyConfigSchema(properties={
        "maxWindowSeconds": {
            "type": "number", "minimum": 10, "default": catalog.RATE_LIMIT_MAX_WINDOW_SECONDS["pro"],
            "description": "Longest counting window: 600 on Hobby and Pro, 3600 on Enterprise.",
        },
        "minWindowSeconds": {
            "type": "number", "minimum": 1, "default": catalog.RATE_LIMIT_MIN_WINDOW_SECONDS,
            "description": "Shortest counting window.",
        },
    }),
    url="https://vercel.com/docs/vercel-firewall/vercel-waf/rate-limiting",
)


# --- the managed rulesets are declared, not left to the dashboard ---------------------------

def ruleset_active(declared, name: str) -> bool:
    """`managedRulesets.<name>.active`; OWASP is a group of rules, active when one of them is."""
    if not isinstance(declared, Mapping):
        return False
    if name == "owasp":
        rules = peek(declared, "owasp")
        return isinstance(rules, Mapping) and any(as_bool(peek(r, "active")) is True for r in rules.values())
    return as_bool(peek(declared, name, "active")) is True


def _check_managed_rulesets(args, cfg, report) -> None:
    declared = peek(args.props, "managedRulesets")
    if is_unknown(declared):
        return
    missing = [name for name in cfg["requiredRulesets"] if not ruleset_active(declared, name)]
    if missing:
        report(violation(subject("Vercel firewall", args.name),
                         f"does not declare {', '.join(missing)} active; the provider PUTs the whole firewall "
                         "config, so a ruleset switched on in the dashboard is switched off by the next `up`.",
                         "declare managed_rulesets=FirewallConfigManagedRulesetsArgs(bot_protection=..."
                         "(active=True, action=\"log\" or \"challenge\"), ai_bots=...(active=True, action=...))."))


REQUIRE_MANAGED_RULESETS = resource_policy(
    name="vercel-firewall-require-managed-rulesets",
    description="A Vercel FirewallConfig must declare the managed rulesets it wants active (bot protection, AI bots).",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    types=[catalog.VERCEL_FIREWALL_CONFIG],
    check=_check_managed_rulesets,
    config=PolicyConfigSchema(properties={
        "requiredRulesets": {
            "type": "array", "items": {"type": "string", "enum": ["botProtection", "aiBots", "owasp"]},
            "default": ["botProtection", "aiBots"],
            "description": "Managed rulesets that must be declared active (owasp needs Enterprise).",
        },
    }),
    url="https://vercel.com/docs/vercel-firewall/vercel-waf/managed-rulesets",
)


POLICIES = [REQUIRE_API_RATE_LIMIT, RESTRICT_RATE_LIMIT_WINDOW, REQUIRE_MANAGED_RULESETS]
