"""storage.py: r2.dev URL, CORS origins, backup lifecycle, token scope, custom-domain TLS."""

import json

import pytest

from ara_policies import storage
from infra import catalog

from .conftest import (
    PLANTED,
    UNKNOWN_BOOL,
    UNKNOWN_STR,
    Res,
    assert_metadata,
    run_resource,
    run_stack,
    secret,
)

ACCT = "0123456789abcdef0123456789abcdef"
BUCKET_KEY = f"com.cloudflare.edge.r2.bucket.{ACCT}_default_ara-prod-reports"
WRITE_GROUP = "2efd5506f9c8494dacb1fa10a3e7d5b6"
ADMIN_GROUP = "bf7481a1826f439498276620a3e9f1e2"


@pytest.mark.parametrize("policy,level,severity,keys", [
    (storage.DISALLOW_R2_DEV_URL, "mandatory", "critical", set()),
    (storage.DISALLOW_CORS_WILDCARD_ORIGIN, "mandatory", "medium", set()),
    (storage.REQUIRE_BACKUP_LIFECYCLE, "advisory", "medium", {"backupBucketPattern", "retentionDays"}),
    (storage.RESTRICT_TOKEN_RESOURCES, "mandatory", "high", set()),
    (storage.RESTRICT_TOKEN_RESOURCE_PREFIXES, "advisory", "medium", {"allowedResourcePrefixes"}),
    (storage.DISALLOW_TOKEN_PERMISSION_GROUPS, "mandatory", "high", {"deniedPermissionGroupIds"}),
    (storage.REQUIRE_CUSTOM_DOMAIN_MIN_TLS, "mandatory", "high", {"minTlsVersion"}),
    (storage.REQUIRE_COMPACT_TOKEN_RESOURCES, "advisory", "low", set()),
    (storage.REQUIRE_BACKUP_LOCK, "advisory", "high", {"backupBucketPattern", "minLockDays"}),
])
def test_r2_policy_metadata(policy, level, severity, keys):
    assert_metadata(policy, level, severity, keys)


# --- r2.dev -------------------------------------------------------------------------------

def test_enabled_r2_dev_url_is_flagged():
    out = run_resource(storage.DISALLOW_R2_DEV_URL, catalog.CF_R2_MANAGED_DOMAIN,
                       {"accountId": ACCT, "bucketName": "ara-prod-reports", "enabled": True}, name="reports-dev")
    assert len(out.messages) == 1 and "'reports-dev'" in out.text and "enabled=False" in out.text


@pytest.mark.parametrize("props", [{"enabled": False}, {}])
def test_disabled_or_unset_r2_dev_url_passes(props):
    run_resource(storage.DISALLOW_R2_DEV_URL, catalog.CF_R2_MANAGED_DOMAIN, {"bucketName": "b", **props}).assert_clean()


def test_unknown_r2_dev_flag_defers_to_runtime_advisory():
    out = run_resource(storage.DISALLOW_R2_DEV_URL, catalog.CF_R2_MANAGED_DOMAIN, {"enabled": UNKNOWN_BOOL})
    assert out.unknown is not None


# --- CORS ---------------------------------------------------------------------------------

def cors(*origins):
    return {"accountId": ACCT, "bucketName": "ara-prod-reports",
            "rules": [{"allowed": {"origins": list(origins), "methods": ["GET"]}, "maxAgeSeconds": 3600}]}


def test_cors_with_explicit_origins_passes():
    run_resource(storage.DISALLOW_CORS_WILDCARD_ORIGIN, catalog.CF_R2_CORS, cors("https://app.example.com")).assert_clean()


@pytest.mark.parametrize("origin", ["*", "https://*"])
def test_cors_wildcard_origin_is_flagged(origin):
    out = run_resource(storage.DISALLOW_CORS_WILDCARD_ORIGIN, catalog.CF_R2_CORS,
                       cors("https://app.example.com", origin), name="reports-cors")
    assert len(out.messages) == 1 and "rules[0]" in out.text and "'reports-cors'" in out.text


def test_cors_without_rules_passes():
    run_resource(storage.DISALLOW_CORS_WILDCARD_ORIGIN, catalog.CF_R2_CORS, {"bucketName": "b"}).assert_clean()


def test_unknown_cors_origin_defers_to_runtime_advisory():
    out = run_resource(storage.DISALLOW_CORS_WILDCARD_ORIGIN, catalog.CF_R2_CORS, cors(UNKNOWN_STR))
    assert out.unknown is not None


# --- backup lifecycle (STACK) -------------------------------------------------------------

def lifecycle_rule(max_age=30 * 86400, enabled=True, prefix="", type_="Age"):
    return {"id": "expire-backups", "enabled": enabled, "conditions": {"prefix": prefix},
            "deleteObjectsTransition": {"condition": {"type": type_, "maxAge": max_age}},
            "abortMultipartUploadsTransition": {"condition": {"type": "Age", "maxAge": 7 * 86400}}}


def backup_stack(*rules, link="name", bucket="ara-prod-backups"):
    return [
        Res(catalog.CF_R2_BUCKET, "backups", {"accountId": ACCT, "name": bucket}),
        Res(catalog.CF_R2_BUCKET, "reports", {"accountId": ACCT, "name": "ara-prod-reports"}),
        Res(catalog.CF_R2_LIFECYCLE, "backups-lifecycle",
            {"accountId": ACCT, "bucketName": bucket if link == "name" else UNKNOWN_STR, "rules": list(rules)},
            deps={"bucketName": ["backups"]} if link == "deps" else {}),
    ]


@pytest.mark.parametrize("link", ["name", "deps"])
def test_backup_bucket_with_expiring_lifecycle_passes(link):
    run_stack(storage.REQUIRE_BACKUP_LIFECYCLE, backup_stack(lifecycle_rule(), link=link)).assert_clean()


def test_backup_bucket_without_lifecycle_is_flagged():
    out = run_stack(storage.REQUIRE_BACKUP_LIFECYCLE, backup_stack()[:2])
    assert len(out.messages) == 1 and "'backups'" in out.text and "no lifecycle" in out.text
    assert out.violations[0][1].endswith("::backups")


@pytest.mark.parametrize("rule", [
    lifecycle_rule(max_age=90 * 86400),
    lifecycle_rule(enabled=False),
    lifecycle_rule(prefix="daily/"),
    lifecycle_rule(type_="Date"),
    {"id": "abort-only", "enabled": True, "conditions": {"prefix": ""},
     "abortMultipartUploadsTransition": {"condition": {"type": "Age", "maxAge": 86400}}},
])
def test_backup_lifecycle_that_keeps_objects_too_long_is_flagged(rule):
    out = run_stack(storage.REQUIRE_BACKUP_LIFECYCLE, backup_stack(rule))
    assert len(out.messages) == 1 and "within 30 days" in out.text


def test_lifecycle_of_another_bucket_does_not_count():
    resources = backup_stack(lifecycle_rule())
    resources[2].props["bucketName"] = "ara-prod-reports"
    assert len(run_stack(storage.REQUIRE_BACKUP_LIFECYCLE, resources).messages) == 1


def test_non_backup_buckets_are_not_judged():
    run_stack(storage.REQUIRE_BACKUP_LIFECYCLE, backup_stack()[1:2]).assert_clean()


def test_retention_and_pattern_config_override_defaults():
    resources = backup_stack(lifecycle_rule(max_age=90 * 86400), bucket="ara-dumps")
    run_stack(storage.REQUIRE_BACKUP_LIFECYCLE, resources).assert_clean()  # name does not match the default
    out = run_stack(storage.REQUIRE_BACKUP_LIFECYCLE, resources, config={"backupBucketPattern": ".*dumps"})
    assert len(out.messages) == 1 and "within 30 days" in out.text
    run_stack(storage.REQUIRE_BACKUP_LIFECYCLE, resources,
              config={"backupBucketPattern": ".*dumps", "retentionDays": 90}).assert_clean()


def test_unknown_lifecycle_rules_are_not_fatal():
    resources = backup_stack()
    resources[2].props["rules"] = UNKNOWN_STR
    out = run_stack(storage.REQUIRE_BACKUP_LIFECYCLE, resources)
    assert out.unknown is None and len(out.messages) == 1


# --- token scope --------------------------------------------------------------------------

def token(resources, groups=(WRITE_GROUP,), effect="allow", type_=catalog.CF_API_TOKEN):
    return {"name": "ara-r2", "value": secret(PLANTED),
            "policies": [{"effect": effect, "permissionGroups": [{"id": g} for g in groups],
                          "resources": json.dumps(resources) if isinstance(resources, dict) else resources}]}


@pytest.mark.parametrize("type_", [catalog.CF_API_TOKEN, catalog.CF_ACCOUNT_TOKEN])
def test_bucket_scoped_token_passes(type_):
    run_resource(storage.RESTRICT_TOKEN_RESOURCES, type_, token({BUCKET_KEY: "*"})).assert_clean()


@pytest.mark.parametrize("resources,expected", [
    ({"com.cloudflare.api.account.*": "*"}, "wildcard account resource"),
    ({f"com.cloudflare.api.account.{ACCT}": "*"}, "account-wide resource, which reaches every R2 bucket"),
    ({BUCKET_KEY: "*", f"com.cloudflare.edge.r2.bucket.{ACCT}_default_*": "*"}, "wildcard R2 bucket resource"),
    ({"com.cloudflare.edge.r2.bucket.ara-prod-reports": "*"}, "does not name"),
    ({}, "no resources"),
])
def test_broad_token_resources_are_flagged_without_echo(resources, expected):
    out = run_resource(storage.RESTRICT_TOKEN_RESOURCES, catalog.CF_API_TOKEN, token(resources), name="r2-token")
    assert len(out.messages) == 1 and expected in out.text and "'r2-token'" in out.text
    assert PLANTED not in out.text and ACCT not in out.text


def test_unparseable_token_resources_are_flagged():
    out = run_resource(storage.RESTRICT_TOKEN_RESOURCES, catalog.CF_API_TOKEN, token("not json"))
    assert len(out.messages) == 1 and "not a JSON object" in out.text


def test_deny_policies_do_not_need_scoping():
    run_resource(storage.RESTRICT_TOKEN_RESOURCES, catalog.CF_API_TOKEN,
                 token({"com.cloudflare.api.account.*": "*"}, effect="deny")).assert_clean()


ZONE = "023e105f4ecef8ad9ca31a8372d0c353"
DNS_EDIT_GROUP = "4755a26eedb94da69e1066d98aa820be"


@pytest.mark.parametrize("resources", [
    {f"com.cloudflare.api.account.zone.{ZONE}": "*"},
    {f"com.cloudflare.api.account.{ACCT}": {"com.cloudflare.api.account.zone.*": "*"}},
    {"com.cloudflare.api.user.abc": "*"},
])
def test_zone_or_user_scoped_token_is_not_judged_by_the_r2_scope_rule(resources):
    # A DNS token for one zone (or the zones of one account) cannot reach R2: it is not "account-wide".
    props = token(resources, groups=(DNS_EDIT_GROUP,))
    run_resource(storage.RESTRICT_TOKEN_RESOURCES, catalog.CF_API_TOKEN, props, name="dns-token").assert_clean()


@pytest.mark.parametrize("resources,kind", [
    ({f"com.cloudflare.api.account.zone.{ZONE}": "*"}, "a zone resource"),
    ({f"com.cloudflare.api.account.{ACCT}": {"com.cloudflare.api.account.zone.*": "*"}}, "a zone resource"),
    ({"com.cloudflare.api.user.abc": "*"}, "a user resource"),
])
def test_non_r2_token_is_flagged_by_the_resource_prefix_rule_with_its_kind(resources, kind):
    out = run_resource(storage.RESTRICT_TOKEN_RESOURCE_PREFIXES, catalog.CF_API_TOKEN, token(resources),
                       name="dns-token")
    assert len(out.messages) == 1 and kind in out.text and "account-wide" not in out.text
    assert ZONE not in out.text and ACCT not in out.text and PLANTED not in out.text


def test_resource_prefix_rule_leaves_r2_reach_to_the_r2_scope_rule():
    for resources in ({BUCKET_KEY: "*"}, {f"com.cloudflare.api.account.{ACCT}": "*"}, "not json"):
        run_resource(storage.RESTRICT_TOKEN_RESOURCE_PREFIXES, catalog.CF_API_TOKEN, token(resources)).assert_clean()


def test_allowed_resource_prefixes_config():
    props = token({"com.cloudflare.api.account.zone.abc": "*"})
    assert run_resource(storage.RESTRICT_TOKEN_RESOURCE_PREFIXES, catalog.CF_API_TOKEN, props).messages
    run_resource(storage.RESTRICT_TOKEN_RESOURCE_PREFIXES, catalog.CF_API_TOKEN, props,
                 config={"allowedResourcePrefixes": ["com.cloudflare.api.account.zone."]}).assert_clean()


def test_unknown_token_resources_defer_to_runtime_advisory():
    out = run_resource(storage.RESTRICT_TOKEN_RESOURCES, catalog.CF_API_TOKEN, token(UNKNOWN_STR))
    assert out.unknown is not None and out.messages == []


def test_denied_permission_group_is_flagged():
    props = token({BUCKET_KEY: "*"}, groups=(WRITE_GROUP, ADMIN_GROUP))
    # With the default config: an empty deny list.
    run_resource(storage.DISALLOW_TOKEN_PERMISSION_GROUPS, catalog.CF_API_TOKEN, props).assert_clean()
    out = run_resource(storage.DISALLOW_TOKEN_PERMISSION_GROUPS, catalog.CF_ACCOUNT_TOKEN, props, name="r2-token",
                       config={"deniedPermissionGroupIds": [ADMIN_GROUP]})
    assert len(out.messages) == 1 and ADMIN_GROUP in out.text and WRITE_GROUP not in out.text
    assert PLANTED not in out.text


def test_token_without_denied_group_passes():
    run_resource(storage.DISALLOW_TOKEN_PERMISSION_GROUPS, catalog.CF_API_TOKEN, token({BUCKET_KEY: "*"}),
                 config={"deniedPermissionGroupIds": [ADMIN_GROUP]}).assert_clean()


# --- custom domain TLS --------------------------------------------------------------------

def domain(min_tls=None):
    props = {"accountId": ACCT, "bucketName": "ara-prod-reports", "domain": "files.example.com", "zoneId": "z"}
    if min_tls is not None:
        props["minTls"] = min_tls
    return props


@pytest.mark.parametrize("min_tls", ["1.2", "1.3"])
def test_custom_domain_with_modern_tls_passes(min_tls):
    run_resource(storage.REQUIRE_CUSTOM_DOMAIN_MIN_TLS, catalog.CF_R2_CUSTOM_DOMAIN, domain(min_tls)).assert_clean()


@pytest.mark.parametrize("min_tls,expected", [(None, "TLS 1.0"), ("1.0", "TLS 1.0"), ("1.1", "TLS 1.1"),
                                              ("tls1", "unrecognised")])
def test_custom_domain_with_old_or_default_tls_is_flagged(min_tls, expected):
    out = run_resource(storage.REQUIRE_CUSTOM_DOMAIN_MIN_TLS, catalog.CF_R2_CUSTOM_DOMAIN, domain(min_tls),
                       name="files")
    assert len(out.messages) == 1 and expected in out.text and "'files'" in out.text


def test_min_tls_config_can_demand_tls13():
    out = run_resource(storage.REQUIRE_CUSTOM_DOMAIN_MIN_TLS, catalog.CF_R2_CUSTOM_DOMAIN, domain("1.2"),
                       config={"minTlsVersion": "1.3"})
    assert len(out.messages) == 1 and 'min_tls="1.3"' in out.text


def test_unknown_min_tls_defers_to_runtime_advisory():
    out = run_resource(storage.REQUIRE_CUSTOM_DOMAIN_MIN_TLS, catalog.CF_R2_CUSTOM_DOMAIN, domain(UNKNOWN_STR))
    assert out.unknown is not None


# --- compact token resources ----------------------------------------------------------------

@pytest.mark.parametrize("type_", [catalog.CF_API_TOKEN, catalog.CF_ACCOUNT_TOKEN])
def test_compact_token_resources_pass(type_):
    compact = json.dumps({BUCKET_KEY: "*"}, separators=(",", ":"))
    run_resource(storage.REQUIRE_COMPACT_TOKEN_RESOURCES, type_, token(compact)).assert_clean()


@pytest.mark.parametrize("resources", [
    json.dumps({BUCKET_KEY: "*"}),  # Python's default ", " and ": "
    json.dumps({BUCKET_KEY: "*"}, indent=2),
])
def test_token_resources_with_whitespace_are_flagged(resources):
    # The provider stores the API's compact JSON and compares strings: a diff on every up.
    out = run_resource(storage.REQUIRE_COMPACT_TOKEN_RESOURCES, catalog.CF_API_TOKEN, token(resources))
    assert len(out.messages) == 1 and "compact" in out.text
    assert BUCKET_KEY not in out.text


@pytest.mark.parametrize("resources", [UNKNOWN_STR, "not json", {BUCKET_KEY: "*"}])
def test_unknown_invalid_or_map_resources_are_left_to_the_other_token_policy(resources):
    props = token(resources)
    if isinstance(resources, dict):
        props["policies"][0]["resources"] = resources
    run_resource(storage.REQUIRE_COMPACT_TOKEN_RESOURCES, catalog.CF_API_TOKEN, props).assert_clean()


# --- backups locked ---------------------------------------------------------------------------

def lock_rule(condition=None, enabled=True, prefix=""):
    return {"id": "lock", "enabled": enabled, "prefix": prefix,
            "condition": condition or {"type": "Age", "maxAgeSeconds": 30 * 86400}}


def locked_stack(*rules, link="name", bucket="ara-prod-backups"):
    return [
        Res(catalog.CF_R2_BUCKET, "backups", {"accountId": ACCT, "name": bucket}),
        Res(catalog.CF_R2_BUCKET, "reports", {"accountId": ACCT, "name": "ara-prod-reports"}),
        *([Res(catalog.CF_R2_LOCK, "backups-lock",
               {"accountId": ACCT, "bucketName": bucket if link == "name" else UNKNOWN_STR, "rules": list(rules)},
               deps={"bucketName": ["backups"]} if link == "deps" else {})] if rules else []),
    ]


@pytest.mark.parametrize("link", ["name", "deps"])
@pytest.mark.parametrize("condition", [None, {"type": "Indefinite"}, {"type": "Age", "maxAgeSeconds": 90 * 86400}])
def test_backups_locked_for_the_retention_pass(link, condition):
    run_stack(storage.REQUIRE_BACKUP_LOCK, locked_stack(lock_rule(condition), link=link)).assert_clean()


@pytest.mark.parametrize("rules", [
    (),
    (lock_rule({"type": "Age", "maxAgeSeconds": 7 * 86400}),),
    (lock_rule(enabled=False),),
    (lock_rule(prefix="daily/"),),
    (lock_rule({"type": "Date", "date": "2027-01-01T00:00:00Z"}),),
])
def test_backups_a_token_could_delete_are_flagged(rules):
    out = run_stack(storage.REQUIRE_BACKUP_LOCK, locked_stack(*rules))
    assert len(out.messages) == 1 and "'backups'" in out.text and "'reports'" not in out.text


def test_the_lock_period_comes_from_config():
    resources = locked_stack(lock_rule({"type": "Age", "maxAgeSeconds": 7 * 86400}))
    run_stack(storage.REQUIRE_BACKUP_LOCK, resources, config={"minLockDays": 7}).assert_clean()
