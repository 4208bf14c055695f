"""Edge protection: every Vercel project needs a firewall rate limit in front of its API."""

from __future__ import annotations

import re

from infra import catalog
from pulumi_policy import PolicyConfigSchema, PolicyResource

from ._common import (
    EnforcementLevel,
    Severity,
    as_bool,
    as_number,
    depends_on,
    is_unknown,
    known_items,
    peek,
    resources_of,
    same_known,
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


def rule_rate_limits(rule, api_path: str) -> bool:
    """An active rate_limit rule with a positive limit/window and a group covering the path."""
    if as_bool(peek(rule, "active")) is False or peek(rule, "action", "action") != "rate_limit":
        return False
    limit = as_number(peek(rule, "action", "rateLimit", "limit"))
    window = as_number(peek(rule, "action", "rateLimit", "window"))
    if not limit or not window or limit <= 0 or window <= 0:
        return False
    for group in known_items(peek(rule, "conditionGroups")):
        conditions = known_items(peek(group, "conditions"))
        negated_path = any(peek(c, "type") == "path" and as_bool(peek(c, "neg")) is True for c in conditions)
        if not negated_path and any(condition_covers(c, api_path) for c in conditions):
            return True
    return False


def _targets(firewall: PolicyResource, project: PolicyResource) -> bool:
    return (depends_on(firewall, "projectId", project)
            or same_known(peek(firewall.props, "projectId"), peek(project.props, "id")))


def _check_rate_limit(args, cfg, report) -> None:
    projects = resources_of(args, catalog.VERCEL_PROJECT)
    if not projects:
        return  # nothing to protect in this stack
    api_path = str(cfg["apiPath"])
    firewalls = resources_of(args, catalog.VERCEL_FIREWALL_CONFIG)
    for project in projects:
        linked = [f for f in firewalls if _targets(f, project)]
        who = subject("Vercel project", project.name, project.urn)
        if not linked:
            report(violation(who, "has no FirewallConfig, so its API has no edge rate limit.",
                             f"add vercel.FirewallConfig(project_id=project.id) with an active rate_limit "
                             f"rule on path prefix {api_path}."), project.urn)
            continue
        enabled = [f for f in linked if as_bool(peek(f.props, "enabled")) is not False]
        if not any(rule_rate_limits(rule, api_path)
                   for f in enabled for rule in known_items(peek(f.props, "rules", "rules"))):
            report(violation(who, f"has no enabled firewall with an active rate_limit rule covering {api_path}.",
                             f'add a rule with action.action="rate_limit" and a path condition '
                             f'(op "pre", value "{api_path}").'), project.urn)


REQUIRE_API_RATE_LIMIT = stack_policy(
    name="vercel-firewall-require-api-rate-limit",
    description="Every Vercel project must rate-limit its API path in the Vercel Firewall.",
    level=EnforcementLevel.MANDATORY,
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


POLICIES = [REQUIRE_API_RATE_LIMIT]
