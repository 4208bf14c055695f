"""The whole pack, started as the engine starts it and driven over gRPC, judges the real stacks.

The stacks are captured under Pulumi's mock runtime; the broken copies change one thing each,
the way a careless pull request would, and each must raise its violation.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from infra import catalog
from review import packrun, wire
from review.capture import Capture, CapturedResource
from review.wire import SECRET_MARK, SECRET_SIG
from tests.support import ROOT, stack_config

# Starts real processes (the policy pack, the CLI, git): left out of `make test-fast`.
pytestmark = pytest.mark.slow

PACK = ROOT / "policies"
CONFIG = {"prod": PACK / "config" / "prod.json", "preview": PACK / "config" / "preview.json"}


def _secret(value: Any) -> dict[str, Any]:
    return {SECRET_SIG: SECRET_MARK, "value": value}


@pytest.fixture(scope="module")
def session(prod):
    source = stack_config("prod")
    with packrun.open_policy_pack(PACK, project=prod.project, stack="prod", config=source.values,
                                    secret_keys=source.secret_keys, policy_config=CONFIG["prod"]) as s:
        yield s


@pytest.mark.parametrize("stack_fixture", ["prod", "preview"])
def test_real_stack_has_no_mandatory_violation(stack_fixture, request):
    capture: Capture = request.getfixturevalue(stack_fixture)
    source = stack_config(capture.stack)
    result = packrun.run_policy_pack(PACK, capture, config=source.values, secret_keys=source.secret_keys,
                                       policy_config=CONFIG[capture.stack])
    assert result.pack.name == "ara-security"
    assert len(result.pack.policies) >= 25
    assert result.analyzed >= len([r for r in capture.resources if r.custom])
    assert result.mandatory == [], result.summary()
    assert result.remediations == [], result.summary()


def test_preview_without_its_config_is_told_to_protect_its_buckets_and_database(preview):
    source = stack_config("preview")
    result = packrun.run_policy_pack(PACK, preview, config=source.values, secret_keys=source.secret_keys)
    flagged = {d.urn for d in result.by_policy("stateful-resources-require-protect")}
    stateful = {r.urn for r in preview.resources if r.type in catalog.STATEFUL_TYPES}
    assert flagged == stateful


# --- broken copies -----------------------------------------------------------------------

def _edit(capture: Capture, match: Callable[[CapturedResource], bool],
          change: Callable[[CapturedResource], CapturedResource | None]) -> Capture:
    """A copy of `capture` with every matching resource changed (or dropped when None)."""
    hits = [r for r in capture.resources if match(r)]
    assert hits, "the broken copy must change something"
    resources = []
    for r in capture.resources:
        edited = change(r) if match(r) else r
        if edited is not None:
            resources.append(edited)
    return dataclasses.replace(capture, resources=resources)


def _props(**updates: Any) -> Callable[[CapturedResource], CapturedResource]:
    def change(r: CapturedResource) -> CapturedResource:
        return dataclasses.replace(r, props={**json.loads(json.dumps(r.props)), **updates})
    return change


def _var(key: str) -> Callable[[CapturedResource], bool]:
    return lambda r: r.type == catalog.VERCEL_ENV_VAR and r.props.get("key") == key


def _typed(type_: str, name: str | None = None) -> Callable[[CapturedResource], bool]:
    return lambda r: r.type == type_ and (name is None or r.name == name)


def _headers(**updates: str | None) -> Callable[[CapturedResource], CapturedResource]:
    def change(r: CapturedResource) -> CapturedResource:
        route = json.loads(json.dumps(r.props["route"]))
        for name, value in updates.items():
            header = name.replace("_", "-")
            if value is None:
                route["headers"].pop(header)
            else:
                route["headers"][header] = value
        return dataclasses.replace(r, props={**r.props, "route": route})
    return change


def _csp_frame_ancestors(value: str) -> Callable[[CapturedResource], CapturedResource]:
    """Replace the CSP frame-ancestors sources and drop X-Frame-Options."""
    def change(r: CapturedResource) -> CapturedResource:
        route = json.loads(json.dumps(r.props["route"]))
        headers = route["headers"]
        csp = headers["Content-Security-Policy"]
        directives = [f"frame-ancestors {value}" if d.strip().startswith("frame-ancestors") else d
                      for d in csp.split(";")]
        assert directives != csp.split(";"), "the prod CSP must set frame-ancestors"
        headers["Content-Security-Policy"] = ";".join(directives)
        headers.pop("X-Frame-Options")
        return dataclasses.replace(r, props={**r.props, "route": route})
    return change


def _rate_limit_rule(edit: Callable[[dict[str, Any]], None]) -> Callable[[CapturedResource], CapturedResource]:
    """Apply `edit` to every firewall rule."""
    def change(r: CapturedResource) -> CapturedResource:
        rules = json.loads(json.dumps(r.props["rules"]))
        for rule in rules["rules"]:
            edit(rule)
        return dataclasses.replace(r, props={**r.props, "rules": rules})
    return change


def _log_only(rule: dict[str, Any]) -> None:
    rule["action"]["rateLimit"]["action"] = "log"


def _hourly(rule: dict[str, Any]) -> None:
    rule["action"]["rateLimit"]["window"] = 3600.0


def _one_ip(rule: dict[str, Any]) -> None:
    for group in rule["conditionGroups"]:
        group["conditions"].append({"type": "ip_address", "op": "eq", "value": "203.0.113.7"})


# case -> (which resources, what change, the policies it must trip, space-separated)
BROKEN: dict[str, tuple[Callable[[CapturedResource], bool], Callable[[CapturedResource], Any], str]] = {
    "public-secret": (_var("OPENAI_API_KEY"), _props(key="NEXT_PUBLIC_OPENAI_API_KEY"),
                      "vercel-env-disallow-public-secrets"),
    "secret-in-development": (_var("CLERK_SECRET_KEY"), _props(targets=["production", "development"]),
                              "vercel-env-disallow-secrets-in-development"),
    "database-url-without-tls": (
        _var("DATABASE_URL"), _props(value=_secret("postgresql://u:p@db.example.com:5432/ara_prod?sslmode=disable")),
        "vercel-env-require-tls-connection-urls"),
    "redis-without-tls": (_var("UPSTASH_REDIS_URL"), _props(value=_secret("redis://default:p@eu1.upstash.io:6379")),
                          "vercel-env-require-tls-connection-urls"),
    "secret-shared-with-preview": (_var("JWT_SECRET"), _props(targets=["production", "preview"]),
                                   "vercel-env-disallow-prod-values-in-preview"),
    "no-deployment-protection": (_typed(catalog.VERCEL_PROJECT),
                                 _props(vercelAuthentication={"deploymentType": "none"}),
                                 "vercel-project-enable-deployment-protection"),
    "fork-protection-off": (_typed(catalog.VERCEL_PROJECT), _props(gitForkProtection=False),
                            "vercel-project-enable-git-fork-protection"),
    "directory-listing": (_typed(catalog.VERCEL_PROJECT), _props(directoryListing=True),
                          "vercel-project-disallow-directory-listing"),
    "no-hsts": (_typed(catalog.VERCEL_PROJECT_ROUTE), _headers(Strict_Transport_Security=None),
                "web-headers-require-hsts"),
    "short-hsts": (_typed(catalog.VERCEL_PROJECT_ROUTE), _headers(Strict_Transport_Security="max-age=86400"),
                   "web-headers-require-hsts"),
    "seed-csp": (_typed(catalog.VERCEL_PROJECT_ROUTE), _headers(Content_Security_Policy=(
        "default-src 'self'; script-src 'self' 'unsafe-inline' *.clerk.accounts.dev; "
        "style-src 'self' 'unsafe-inline'")),
        # The guide's CSP fails twice: inline scripts, and no object-src/base-uri/form-action/frame-ancestors.
        "web-headers-restrict-csp-script-sources web-headers-require-csp-bypass-directives"),
    "csp-without-bypass-directives": (_typed(catalog.VERCEL_PROJECT_ROUTE), _headers(
        Content_Security_Policy="default-src 'self'; script-src 'self'"), "web-headers-require-csp-bypass-directives"),
    "no-nosniff": (_typed(catalog.VERCEL_PROJECT_ROUTE), _headers(X_Content_Type_Options=None),
                   "web-headers-require-nosniff"),
    "seed-xss-protection": (_typed(catalog.VERCEL_PROJECT_ROUTE), _headers(X_XSS_Protection="1; mode=block"),
                            "web-headers-disable-x-xss-protection"),
    "no-rate-limit": (_typed(catalog.VERCEL_FIREWALL_CONFIG), lambda r: None,
                      "vercel-firewall-require-api-rate-limit"),
    "rate-limit-only-logs": (_typed(catalog.VERCEL_FIREWALL_CONFIG), _rate_limit_rule(_log_only),
                             "vercel-firewall-require-api-rate-limit"),
    "rate-limit-for-one-ip": (_typed(catalog.VERCEL_FIREWALL_CONFIG), _rate_limit_rule(_one_ip),
                              "vercel-firewall-require-api-rate-limit"),
    # The seed's hour: Enterprise only; prod's plan (pro) counts over 10 minutes at most.
    "hourly-window-on-pro": (_typed(catalog.VERCEL_FIREWALL_CONFIG), _rate_limit_rule(_hourly),
                             "vercel-firewall-restrict-rate-limit-window"),
    "managed-rulesets-left-to-the-dashboard": (
        _typed(catalog.VERCEL_FIREWALL_CONFIG),
        lambda r: dataclasses.replace(r, props={k: v for k, v in r.props.items() if k != "managedRulesets"}),
        "vercel-firewall-require-managed-rulesets"),
    "unlocked-backups": (_typed(catalog.CF_R2_LOCK), lambda r: None, "cloudflare-r2-require-backup-lock"),
    "no-headers-route": (_typed(catalog.VERCEL_PROJECT_ROUTE), lambda r: None,
                         "web-headers-require-security-headers-route"),
    "frame-ancestors-anyone": (_typed(catalog.VERCEL_PROJECT_ROUTE), _csp_frame_ancestors("*"),
                               "web-headers-require-frame-protection"),
    "public-r2-dev": (_typed(catalog.CF_R2_MANAGED_DOMAIN), _props(enabled=True), "cloudflare-r2-disallow-r2-dev-url"),
    "cors-wildcard": (_typed(catalog.CF_R2_CORS), _props(rules=[{"allowed": {"origins": ["*"], "methods": ["GET"]}}]),
                      "cloudflare-r2-disallow-cors-wildcard-origin"),
    "backups-kept-forever": (_typed(catalog.CF_R2_LIFECYCLE, "ara-storage-backups-lifecycle"), lambda r: None,
                             "cloudflare-r2-require-backup-lifecycle"),
    "account-wide-token": (_typed(catalog.CF_ACCOUNT_TOKEN), _props(policies=[{
        "effect": "allow", "permissionGroups": [{"id": "abc"}],
        "resources": json.dumps({"com.cloudflare.api.account.0123456789abcdef0123456789abcdef": "*"},
                                separators=(",", ":"))}]),
        "cloudflare-token-restrict-r2-resources"),
    # A DNS token for one zone cannot reach R2 (not "account-wide"), but ARA's tokens are R2-only.
    "zone-scoped-token": (_typed(catalog.CF_ACCOUNT_TOKEN), _props(policies=[{
        "effect": "allow", "permissionGroups": [{"id": "4755a26eedb94da69e1066d98aa820be"}],
        "resources": json.dumps({"com.cloudflare.api.account.zone.023e105f4ecef8ad9ca31a8372d0c353": "*"},
                                separators=(",", ":"))}]),
        "cloudflare-token-restrict-resource-prefixes"),
    "app-role-member-of-owner-role": (_typed(catalog.PG_ROLE, "ara-db-app"), _props(roles=["ara_prod_owner"]),
                                      "postgresql-role-restrict-role-membership"),
    "spaced-token-resources": (_typed(catalog.CF_ACCOUNT_TOKEN), _props(policies=[{
        "effect": "allow", "permissionGroups": [{"id": "abc"}],
        "resources": json.dumps({
            "com.cloudflare.edge.r2.bucket.0123456789abcdef0123456789abcdef_default_ara-prod-reports": "*"})}]),
        "cloudflare-token-require-compact-resources"),
    "superuser-app-role": (_typed(catalog.PG_ROLE, "ara-db-app"), _props(superuser=True),
                           "postgresql-role-restrict-login-privileges"),
    "bypassrls-owner-role": (_typed(catalog.PG_ROLE, "ara-db-owner"), _props(bypassRowLevelSecurity=True),
                             "postgresql-role-restrict-login-privileges"),
    "app-role-member-of-admin": (_typed(catalog.PG_ROLE, "ara-db-app"), _props(roles=["ara_admin"]),
                                 "postgresql-role-restrict-role-membership"),
    "provider-without-tls": (_typed(catalog.PG_PROVIDER), _props(sslmode="disable"), "postgresql-provider-require-tls"),
    "admin-not-member-of-owner": (_typed(catalog.PG_GRANT_ROLE), lambda r: None,
                                  "postgresql-database-require-admin-owner-membership"),
    "backup-role-can-delete": (_typed(catalog.PG_GRANT, "ara-db-backup-tables"),
                               _props(privileges=["SELECT", "DELETE"]),
                               "postgresql-role-restrict-backup-privileges"),
    "database-limit-without-headroom": (_typed(catalog.PG_DATABASE), _props(connectionLimit=47.0),
                                        "postgresql-database-require-connection-headroom"),
    # Unprotected, its extensions would have to drop with CASCADE to be destroyed.
    "unprotected-database": (_typed(catalog.PG_DATABASE), lambda r: dataclasses.replace(r, protect=False),
                             "stateful-resources-require-protect "
                             "postgresql-extension-require-cascade-when-unprotected"),
    "no-skew-protection": (_typed(catalog.VERCEL_PROJECT), lambda r: dataclasses.replace(
        r, props={k: v for k, v in r.props.items() if k != "skewProtection"}),
        "vercel-project-require-skew-protection"),
    "membership-replaced-create-first": (_typed(catalog.PG_GRANT_ROLE, "ara-db-admin-app-membership"),
                                         lambda r: dataclasses.replace(r, delete_before_replace=False),
                                         "postgresql-membership-require-delete-before-replace"),
    "membership-reads-back-admin-option": (_typed(catalog.PG_GRANT_ROLE, "ara-db-admin-owner-membership"),
                                           lambda r: dataclasses.replace(r, ignore_changes=()),
                                           "postgresql-membership-require-ignored-admin-option-readback"),
    "proxied-vercel-record": (_typed(catalog.CF_DNS_RECORD), _props(proxied=True),
                              "cloudflare-dns-require-dns-only-vercel-records"),
    "short-encryption-key": (_typed(catalog.RANDOM_PASSWORD, "ara-keys-encryption-key"), _props(length=16.0),
                             "generated-keys-require-min-length"),
}

REMEDIATED: dict[str, tuple[Callable[[CapturedResource], bool], Callable[[CapturedResource], Any], str, str]] = {
    "secret-not-sensitive": (_var("OPENAI_API_KEY"), _props(sensitive=False),
                             "vercel-env-require-sensitive-secrets", "sensitive"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_copy_of_prod_raises_its_violation(case, prod, session):
    match, change, policy = BROKEN[case]
    result = session.analyze(_edit(prod, match, change))
    assert {d.policy_name for d in result.diagnostics} == set(policy.split()), result.summary()
    planted = "p@db.example.com", "default:p@eu1"
    assert not any(p in d.message for d in result.diagnostics for p in planted)


@pytest.mark.parametrize("case", sorted(REMEDIATED))
def test_broken_copy_of_prod_is_remediated(case, prod, session):
    match, change, policy, key = REMEDIATED[case]
    result = session.analyze(_edit(prod, match, change))
    assert result.mandatory == [], result.summary()
    assert [(r.policy_name, r.changed_keys) for r in result.remediations] == [(policy, (key,))]


def test_proxied_vercel_record_behind_cloudflare_access_is_left_proxied(prod, session):
    # A copy that puts the app behind Cloudflare Access: the proxy is what makes Access apply.
    (record,) = [r for r in prod.resources if r.type == catalog.CF_DNS_RECORD]
    proxied = _edit(prod, _typed(catalog.CF_DNS_RECORD), _props(proxied=True))
    app = CapturedResource(
        urn=record.urn.replace(f"{catalog.CF_DNS_RECORD}::{record.name}",
                               f"{catalog.CF_ACCESS_APPLICATION}::ara-staff-access"),
        type=catalog.CF_ACCESS_APPLICATION, name="ara-staff-access", custom=True, parent=record.parent,
        provider=None, props={"accountId": "acct", "name": "staff", "type": "self_hosted",
                              "domain": record.props["name"], "zoneId": record.props["zoneId"]})
    result = session.analyze(dataclasses.replace(proxied, resources=[*proxied.resources, app]))
    assert result.mandatory == [], result.summary()
    assert result.remediations == [], result.summary()
    assert len(session.analyze(proxied).mandatory) == 1


def test_remediation_keeps_the_secret_value_secret(prod, session):
    match, change, _, _ = REMEDIATED["secret-not-sensitive"]
    result = session.analyze(_edit(prod, match, change))
    (fix,) = result.remediations
    assert fix.properties["sensitive"] is True
    assert wire.is_secret(fix.properties["value"])
