"""environment.py: sensitivity (remediated), public prefixes, development, TLS, prod/preview reuse."""

import pytest

from ara_policies import environment as ev
from infra import catalog, projectfile

from .conftest import (
    PLANTED,
    UNKNOWN_BOOL,
    UNKNOWN_LIST,
    UNKNOWN_STR,
    Res,
    assert_metadata,
    is_wire_secret,
    run_remediate,
    run_resource,
    run_stack,
    secret,
)

VAR = catalog.VERCEL_ENV_VAR
VARS = catalog.VERCEL_ENV_VARS
PROJECT = catalog.VERCEL_PROJECT
GOOD_DB_URL = f"postgresql://ara_app:{PLANTED}@db.example.com:5432/ara?sslmode=verify-full"


def var(key="OPENAI_API_KEY", value=PLANTED, targets=("production",), sensitive=True, **extra):
    props = {"projectId": "prj_1", "key": key, "value": secret(value), "targets": list(targets),
             "sensitive": sensitive}
    props.update(extra)
    return {k: v for k, v in props.items() if v is not None}


def bulk(*items):
    return {"projectId": "prj_1", "variables": list(items)}


def item(key, value=PLANTED, targets=("production",), sensitive=True):
    return {"key": key, "value": value, "targets": list(targets), "sensitive": sensitive}


@pytest.mark.parametrize("policy,level,severity,keys", [
    (ev.REQUIRE_SENSITIVE_SECRETS, "remediate", "critical", {"additionalSecretKeys", "exemptKeys"}),
    (ev.DISALLOW_PUBLIC_SECRETS, "mandatory", "critical", {"allowedPublicKeys"}),
    (ev.DISALLOW_SECRETS_IN_DEVELOPMENT, "mandatory", "high", {"additionalSecretKeys", "exemptKeys"}),
    (ev.REQUIRE_TLS_CONNECTION_URLS, "mandatory", "high", {"allowedSslModes"}),
    (ev.DISALLOW_PROD_VALUES_IN_PREVIEW, "mandatory", "high", {"additionalSecretKeys", "exemptKeys"}),
    (ev.DISALLOW_BUILD_NODE_ENV, "advisory", "medium", set()),
])
def test_env_policy_metadata(policy, level, severity, keys):
    assert_metadata(policy, level, severity, keys)


RESOURCE_POLICIES = [p for p in ev.POLICIES if p is not ev.DISALLOW_PROD_VALUES_IN_PREVIEW]


@pytest.mark.parametrize("policy", RESOURCE_POLICIES)
def test_compliant_env_vars_pass(policy):
    run_resource(policy, VAR, var()).assert_clean()
    run_resource(policy, VAR, var(key="DATABASE_URL", value=GOOD_DB_URL)).assert_clean()
    run_resource(policy, VAR, var(key="NEXT_PUBLIC_APP_URL", value="https://app.example.com",
                                  targets=("production", "preview", "development"), sensitive=False)).assert_clean()
    run_resource(policy, VARS, bulk(item("JWT_SECRET"), item("LOG_LEVEL", "info", sensitive=False))).assert_clean()


# --- sensitive (REMEDIATE) ----------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(catalog.CATALOG_SECRET_KEYS) + ["STRIPE_SECRET", "GITHUB_TOKEN", "MY_DSN"])
def test_env_var_with_secret_key_without_sensitive_is_flagged(key):
    out = run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(key=key, sensitive=False), name="openai")
    assert len(out.messages) == 1
    assert f"key {key}" in out.text and "'openai'" in out.text and "sensitive=True" in out.text
    assert PLANTED not in out.text


def test_env_var_without_sensitive_prop_is_flagged():
    out = run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(sensitive=None))
    assert len(out.messages) == 1


def test_non_secret_env_var_may_be_plain():
    out = run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(key="CLOUDFLARE_R2_BUCKET_NAME", sensitive=False))
    out.assert_clean()


def test_public_prefixed_key_is_left_to_the_public_prefix_policy():
    out = run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(key="NEXT_PUBLIC_SECRET_TOKEN", sensitive=False))
    out.assert_clean()


def test_bulk_env_var_without_sensitive_is_flagged_by_position():
    out = run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VARS,
                       bulk(item("NODE_ENV", "production", sensitive=False), item("JWT_SECRET", sensitive=False)))
    assert len(out.messages) == 1 and "variables[1]" in out.text and "JWT_SECRET" in out.text
    assert PLANTED not in out.text


def test_inline_project_environment_without_sensitive_is_flagged():
    props = {"name": "ara", "environments": [item("CLERK_SECRET_KEY", sensitive=False)]}
    out = run_resource(ev.REQUIRE_SENSITIVE_SECRETS, PROJECT, props)
    assert len(out.messages) == 1 and "environments[0]" in out.text


def test_additional_secret_keys_config_extends_the_catalog():
    props = var(key="ANALYTICS_ID", sensitive=False)
    run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, props).assert_clean()
    out = run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, props, config={"additionalSecretKeys": ["ANALYTICS_ID"]})
    assert len(out.messages) == 1


def test_exempt_keys_config_skips_a_key():
    out = run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(key="GITHUB_TOKEN", sensitive=False),
                       config={"exemptKeys": ["GITHUB_TOKEN"]})
    out.assert_clean()


def test_unknown_sensitive_flag_of_a_plain_var_is_not_read():
    run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(key="NODE_ENV", value="production",
                                                        sensitive=UNKNOWN_BOOL)).assert_clean()


def test_unknown_sensitive_flag_defers_to_runtime_advisory():
    out = run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(sensitive=UNKNOWN_BOOL))
    assert out.unknown is not None and "sensitive" in out.unknown.message


def test_env_var_without_sensitive_is_remediated_and_value_stays_secret():
    fixed = run_remediate(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(sensitive=False))
    assert fixed is not None and fixed["sensitive"] is True
    assert is_wire_secret(fixed["value"]) and fixed["value"]["value"] == PLANTED
    assert fixed["key"] == "OPENAI_API_KEY" and fixed["targets"] == ["production"]


def test_bulk_env_vars_remediation_sets_sensitive_only_on_secrets():
    fixed = run_remediate(ev.REQUIRE_SENSITIVE_SECRETS, VARS,
                          bulk(item("NODE_ENV", "production", sensitive=False),
                               {**item("JWT_SECRET", sensitive=False), "value": secret(PLANTED)}))
    assert [v["sensitive"] for v in fixed["variables"]] == [False, True]
    assert is_wire_secret(fixed["variables"][1]["value"])


@pytest.mark.parametrize("key", ["REDIS_URL", "POSTGRES_URL", "POSTGRES_PRISMA_URL", "POSTGRES_URL_NON_POOLING",
                                 "MONGODB_URI", "SMTP_PASS", "SENDGRID_APIKEY", "KV_URL", "DATABASE_URL_UNPOOLED"])
def test_common_credential_names_outside_the_catalog_are_secrets(key):
    # Names Vercel/Neon/Upstash integrations and typical apps use; each holds a credential.
    out = run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(key=key, value="x", sensitive=False))
    assert len(out.messages) == 1 and f"key {key}" in out.text
    out = run_resource(ev.DISALLOW_SECRETS_IN_DEVELOPMENT, VAR, var(key=key, value="x", targets=("development",)))
    assert len(out.messages) == 1


@pytest.mark.parametrize("value", [f"postgres://u:{PLANTED}@h/db", f"rediss://:{PLANTED}@h",
                                   f"amqps://app:{PLANTED}@mq.example.com/vhost",
                                   "-----BEGIN PRIVATE KEY-----\n" + PLANTED, "sk_live_" + PLANTED])
def test_credential_shaped_value_under_a_plain_name_is_a_secret_without_echo(value):
    out = run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(key="CACHE", value=value, sensitive=False))
    assert len(out.messages) == 1 and "key CACHE" in out.text
    assert PLANTED not in out.text
    out = run_resource(ev.DISALLOW_SECRETS_IN_DEVELOPMENT, VAR, var(key="CACHE", value=value, targets=("development",)))
    assert len(out.messages) == 1 and PLANTED not in out.text


@pytest.mark.parametrize("value", ["https://app.example.com", "https://abc123@o1.ingest.sentry.io/1", "redis://h:6379",
                                   "production"])
def test_plain_name_with_a_value_without_password_is_not_a_secret(value):
    run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(key="CACHE", value=value, sensitive=False)).assert_clean()


def test_bulk_value_the_program_made_a_pulumi_secret_is_remediated_to_sensitive():
    # Only Remediate sees secretness; a plain name with a secret value is still a secret.
    fixed = run_remediate(ev.REQUIRE_SENSITIVE_SECRETS, VARS,
                          bulk(item("NODE_ENV", "production", sensitive=False),
                               {**item("LICENSE", sensitive=False), "value": secret(PLANTED)}))
    assert [v["sensitive"] for v in fixed["variables"]] == [False, True]
    assert is_wire_secret(fixed["variables"][1]["value"])


def test_single_var_value_is_always_a_secret_so_secretness_alone_does_not_count():
    # pulumiverse_vercel wraps every ProjectEnvironmentVariable.value in Output.secret.
    assert run_remediate(ev.REQUIRE_SENSITIVE_SECRETS, VAR,
                         var(key="NODE_ENV", value="production", sensitive=False)) is None


def test_remediation_returns_none_when_already_sensitive():
    assert run_remediate(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var()) is None


def test_remediated_props_pass_validation():
    fixed = run_remediate(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(sensitive=False))
    run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, fixed).assert_clean()


# --- public prefix ------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["NEXT_PUBLIC_OPENAI_API_KEY", "PUBLIC_CLERK_SECRET_KEY", "VITE_DATABASE_URL",
                                 "PUBLIC_JWT_SECRET"])
def test_secret_under_public_prefix_is_flagged(key):
    out = run_resource(ev.DISALLOW_PUBLIC_SECRETS, VAR, var(key=key, sensitive=False), name="leak")
    assert len(out.messages) == 1 and key in out.text and "'leak'" in out.text
    assert "name marks it as a credential" in out.text
    assert PLANTED not in out.text


@pytest.mark.parametrize("value", ["sk_live_" + PLANTED, "sk-" + PLANTED, "-----BEGIN PRIVATE KEY-----" + PLANTED,
                                   f"postgres://u:{PLANTED}@h/db", f"https://user:{PLANTED}@api.example.com"])
def test_public_var_whose_value_looks_like_a_credential_is_flagged_without_echo(value):
    out = run_resource(ev.DISALLOW_PUBLIC_SECRETS, VAR,
                       var(key="NEXT_PUBLIC_CONFIG", value=value, sensitive=False))
    assert len(out.messages) == 1 and "value looks like a credential" in out.text
    assert PLANTED not in out.text and value not in out.text


def test_public_var_marked_sensitive_is_flagged():
    out = run_resource(ev.DISALLOW_PUBLIC_SECRETS, VAR, var(key="PUBLIC_SITE_NAME", value="ARA", sensitive=True))
    assert len(out.messages) == 1 and "marked sensitive" in out.text


def test_catalog_publishable_key_is_public_by_design():
    props = var(key="NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY", value="pk_live_abc", sensitive=False)
    run_resource(ev.DISALLOW_PUBLIC_SECRETS, VAR, props).assert_clean()


@pytest.mark.parametrize("key,value", [
    ("NEXT_PUBLIC_SUPABASE_ANON_KEY", "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2ln"),
    ("NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY", "pk_live_abc"),
    ("VITE_STRIPE_PUBLISHABLE_KEY", "pk_test_abc"),
    ("NEXT_PUBLIC_SENTRY_DSN", "https://abc123@o1.ingest.sentry.io/1"),
    ("PUBLIC_APP_SENTRY_DSN", "https://abc123@o1.ingest.sentry.io/1"),
])
def test_public_by_design_keys_are_not_flagged(key, value):
    props = var(key=key, value=value, sensitive=False, targets=("production", "preview", "development"))
    for policy in RESOURCE_POLICIES:
        run_resource(policy, VAR, props).assert_clean()


def test_public_sentry_dsn_with_a_secret_in_it_is_still_flagged_without_echo():
    # Legacy DSNs carried the secret key as the password; the value check still catches that.
    props = var(key="NEXT_PUBLIC_SENTRY_DSN", value=f"https://abc:{PLANTED}@sentry.io/1", sensitive=False)
    out = run_resource(ev.DISALLOW_PUBLIC_SECRETS, VAR, props)
    assert len(out.messages) == 1 and "value looks like a credential" in out.text and PLANTED not in out.text


def test_server_side_sentry_dsn_and_supabase_service_key_stay_secrets():
    for key in ("SENTRY_DSN", "SUPABASE_SERVICE_ROLE_KEY"):
        assert len(run_resource(ev.REQUIRE_SENSITIVE_SECRETS, VAR, var(key=key, sensitive=False)).messages) == 1


def test_the_pack_and_the_program_share_one_definition_of_a_secret_key():
    from ara_policies import catalog as pack_catalog
    assert catalog.is_secret_key("REDIS_URL") and not catalog.is_secret_key("NEXT_PUBLIC_SUPABASE_ANON_KEY")
    assert catalog.SECRET_KEY_PATTERNS == pack_catalog.SECRET_KEY_PATTERNS


def test_allowed_public_keys_config_accepts_a_key():
    props = var(key="PUBLIC_POSTHOG_KEY", value="phc_abc", sensitive=False)
    assert len(run_resource(ev.DISALLOW_PUBLIC_SECRETS, VAR, props).messages) == 1
    run_resource(ev.DISALLOW_PUBLIC_SECRETS, VAR, props,
                 config={"allowedPublicKeys": ["PUBLIC_POSTHOG_KEY"]}).assert_clean()


def test_public_var_with_unknown_value_is_judged_by_name_only():
    out = run_resource(ev.DISALLOW_PUBLIC_SECRETS, VAR, var(key="NEXT_PUBLIC_APP_URL", value=UNKNOWN_STR,
                                                            sensitive=False))
    out.assert_clean()
    out = run_resource(ev.DISALLOW_PUBLIC_SECRETS, VAR, var(key="NEXT_PUBLIC_API_TOKEN", value=UNKNOWN_STR,
                                                            sensitive=False))
    assert len(out.messages) == 1 and out.unknown is None


def test_bulk_public_secret_is_flagged():
    out = run_resource(ev.DISALLOW_PUBLIC_SECRETS, VARS, bulk(item("VITE_OPENAI_API_KEY", sensitive=False)))
    assert len(out.messages) == 1 and "variables[0]" in out.text


# --- development target -------------------------------------------------------------------

def test_secret_targeting_development_is_flagged():
    out = run_resource(ev.DISALLOW_SECRETS_IN_DEVELOPMENT, VAR,
                       var(key="CLERK_SECRET_KEY", targets=("preview", "development")), name="clerk")
    assert len(out.messages) == 1 and "development" in out.text and "'clerk'" in out.text
    assert PLANTED not in out.text


def test_plain_var_may_target_development():
    out = run_resource(ev.DISALLOW_SECRETS_IN_DEVELOPMENT, VAR,
                       var(key="NODE_ENV", value="production", targets=("development",), sensitive=False))
    out.assert_clean()


def test_secret_without_targets_passes_development_check():
    run_resource(ev.DISALLOW_SECRETS_IN_DEVELOPMENT, VAR,
                 var(targets=(), customEnvironmentIds=["env_1"])).assert_clean()


def test_unknown_targets_defer_to_runtime_advisory():
    props = var()
    props["targets"] = UNKNOWN_LIST
    out = run_resource(ev.DISALLOW_SECRETS_IN_DEVELOPMENT, VAR, props)
    assert out.unknown is not None and out.messages == []


def test_exempt_key_may_target_development():
    out = run_resource(ev.DISALLOW_SECRETS_IN_DEVELOPMENT, VAR, var(key="SENTRY_DSN", targets=("development",)),
                       config={"exemptKeys": ["SENTRY_DSN"]})
    out.assert_clean()


# --- TLS connection URLs ------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (f"postgresql://app:{PLANTED}@db.example.com/ara", "without sslmode"),
    (f"postgres://app:{PLANTED}@db.example.com/ara?sslmode=disable", 'sslmode "disable"'),
    (f"postgres://app:{PLANTED}@db.example.com/ara?sslmode=prefer", 'sslmode "prefer"'),
    (f"postgres://app:{PLANTED}@db.example.com/ara?sslmode={PLANTED}", "unrecognised sslmode"),
    (f"host=db.example.com password={PLANTED} sslmode=allow", 'sslmode "allow"'),
])
def test_database_url_without_required_tls_is_flagged_without_echo(value, expected):
    out = run_resource(ev.REQUIRE_TLS_CONNECTION_URLS, VAR, var(key="DATABASE_URL", value=value), name="db-url")
    assert len(out.messages) == 1 and expected in out.text and "'db-url'" in out.text
    assert PLANTED not in out.text and "db.example.com" not in out.text


@pytest.mark.parametrize("mode", ["require", "verify-ca", "verify-full"])
def test_database_url_with_tls_sslmode_passes(mode):
    value = f"postgresql://app:{PLANTED}@db.example.com/ara?sslmode={mode}&connect_timeout=5"
    run_resource(ev.REQUIRE_TLS_CONNECTION_URLS, VAR, var(key="PREVIEW_DATABASE_URL", value=value)).assert_clean()


def test_postgres_value_under_any_key_is_checked():
    out = run_resource(ev.REQUIRE_TLS_CONNECTION_URLS, VAR,
                       var(key="ANALYTICS_CONN", value=f"postgres://a:{PLANTED}@h/db"))
    assert len(out.messages) == 1


def test_plaintext_redis_url_is_flagged_without_echo():
    out = run_resource(ev.REQUIRE_TLS_CONNECTION_URLS, VAR,
                       var(key="UPSTASH_REDIS_URL", value=f"redis://default:{PLANTED}@eu1.upstash.io:6379"))
    assert len(out.messages) == 1 and "rediss://" in out.text and PLANTED not in out.text


def test_rediss_url_passes():
    out = run_resource(ev.REQUIRE_TLS_CONNECTION_URLS, VAR,
                       var(key="UPSTASH_REDIS_URL", value=f"rediss://default:{PLANTED}@eu1.upstash.io:6379"))
    out.assert_clean()


def test_connection_url_with_unknown_value_is_not_judged():
    out = run_resource(ev.REQUIRE_TLS_CONNECTION_URLS, VAR, var(key="DATABASE_URL", value=UNKNOWN_STR))
    out.assert_clean()


@pytest.mark.parametrize("config_key", ["myapp:databaseUrl", "ara-infra:replicaDatabaseUrl"])
def test_offline_placeholder_for_secret_config_is_not_judged_on_its_content(config_key):
    # `review check` runs without the secret: the value is its placeholder, not a URL without sslmode.
    value = projectfile.placeholder(config_key)
    assert catalog.is_offline_placeholder(value)
    for policy in RESOURCE_POLICIES:
        run_resource(policy, VAR, var(key="DATABASE_URL", value=value)).assert_clean()
        run_resource(policy, VARS, bulk(item("DATABASE_URL", value))).assert_clean()
    out = run_resource(ev.DISALLOW_SECRETS_IN_DEVELOPMENT, VAR, var(key="CACHE", value=value, targets=("development",)))
    out.assert_clean()


def test_plain_value_beside_a_placeholder_is_still_judged():
    out = run_resource(ev.REQUIRE_TLS_CONNECTION_URLS, VARS, bulk(
        item("DATABASE_URL", projectfile.placeholder("myapp:databaseUrl")),
        item("REPLICA_DATABASE_URL", "postgresql://u:p@h/db")))
    assert len(out.messages) == 1 and "variables[1]" in out.text and "without sslmode" in out.text


@pytest.mark.parametrize("config_key", ["ara-infra:upstashRedisUrl", "ara-infra:sentryDsn", "x:anything"])
def test_every_secret_config_placeholder_carries_the_offline_mark(config_key):
    assert catalog.is_offline_placeholder(projectfile.placeholder(config_key))


def test_allowed_sslmodes_config_can_demand_verify_full():
    props = var(key="DATABASE_URL", value=f"postgresql://a:{PLANTED}@h/db?sslmode=require")
    out = run_resource(ev.REQUIRE_TLS_CONNECTION_URLS, VAR, props, config={"allowedSslModes": ["verify-full"]})
    assert len(out.messages) == 1 and "sslmode=verify-full" in out.text


def test_bulk_connection_url_is_checked():
    out = run_resource(ev.REQUIRE_TLS_CONNECTION_URLS, VARS,
                       bulk(item("DATABASE_URL", GOOD_DB_URL), item("CACHE_REDIS_URL", f"redis://:{PLANTED}@h")))
    assert len(out.messages) == 1 and "variables[1]" in out.text and PLANTED not in out.text


# --- production values in preview (STACK) -------------------------------------------------

def env_res(name, key, targets, value=PLANTED, deps=None, project_id="prj_1"):
    return Res(VAR, name, {"projectId": project_id, "key": key, "value": secret(value), "targets": list(targets),
                           "sensitive": True}, deps=deps or {})


def test_separate_prod_and_preview_secrets_pass():
    out = run_stack(ev.DISALLOW_PROD_VALUES_IN_PREVIEW, [
        env_res("db-prod", "DATABASE_URL", ["production"], value="prod-" + PLANTED),
        env_res("db-preview", "DATABASE_URL", ["preview"], value="preview-" + PLANTED),
    ])
    out.assert_clean()


def test_secret_targeting_production_and_preview_is_flagged():
    out = run_stack(ev.DISALLOW_PROD_VALUES_IN_PREVIEW,
                    [env_res("openai", "OPENAI_API_KEY", ["production", "preview"])])
    assert len(out.messages) == 1 and "'openai'" in out.text
    assert out.violations[0][1].endswith("::openai")
    assert PLANTED not in out.text


def test_plain_var_may_target_production_and_preview():
    res = Res(VAR, "env", {"key": "NODE_ENV", "value": "production", "targets": ["production", "preview"],
                           "sensitive": False})
    run_stack(ev.DISALLOW_PROD_VALUES_IN_PREVIEW, [res]).assert_clean()


def test_preview_var_with_equal_known_value_is_flagged_without_echo():
    out = run_stack(ev.DISALLOW_PROD_VALUES_IN_PREVIEW, [
        env_res("jwt-prod", "JWT_SECRET", ["production"]),
        env_res("jwt-preview", "JWT_SECRET", ["preview"]),
    ])
    assert len(out.messages) == 1 and "'jwt-preview'" in out.text and "'jwt-prod'" in out.text
    assert out.violations[0][1].endswith("::jwt-preview") and PLANTED not in out.text


def test_preview_var_from_the_same_source_is_flagged_when_values_are_unknown():
    out = run_stack(ev.DISALLOW_PROD_VALUES_IN_PREVIEW, [
        Res(catalog.RANDOM_PASSWORD, "jwt-secret", {"length": 64}),
        env_res("jwt-prod", "JWT_SECRET", ["production"], value=UNKNOWN_STR, deps={"value": ["jwt-secret"]}),
        env_res("jwt-preview", "JWT_SECRET", ["preview"], value=UNKNOWN_STR, deps={"value": ["jwt-secret"]}),
    ])
    assert len(out.messages) == 1 and out.unknown is None


def test_preview_var_from_a_different_source_passes():
    out = run_stack(ev.DISALLOW_PROD_VALUES_IN_PREVIEW, [
        Res(catalog.RANDOM_PASSWORD, "jwt-prod-pw", {"length": 64}),
        Res(catalog.RANDOM_PASSWORD, "jwt-preview-pw", {"length": 64}),
        env_res("jwt-prod", "JWT_SECRET", ["production"], value=UNKNOWN_STR, deps={"value": ["jwt-prod-pw"]}),
        env_res("jwt-preview", "JWT_SECRET", ["preview"], value=UNKNOWN_STR, deps={"value": ["jwt-preview-pw"]}),
    ])
    out.assert_clean()


def test_equal_values_in_different_projects_pass():
    out = run_stack(ev.DISALLOW_PROD_VALUES_IN_PREVIEW, [
        env_res("a", "JWT_SECRET", ["production"], project_id="prj_a"),
        env_res("b", "JWT_SECRET", ["preview"], project_id="prj_b"),
    ])
    out.assert_clean()


def test_bulk_preview_value_equal_to_production_is_flagged():
    out = run_stack(ev.DISALLOW_PROD_VALUES_IN_PREVIEW, [
        env_res("key-prod", "ENCRYPTION_KEY", ["production"]),
        Res(VARS, "preview-vars", bulk(item("ENCRYPTION_KEY", targets=("preview",)))),
    ])
    assert len(out.messages) == 1 and "variables[0]" in out.text and PLANTED not in out.text


def test_unknown_targets_in_stack_are_skipped_not_fatal():
    res = env_res("x", "JWT_SECRET", ["production"])
    res.props["targets"] = UNKNOWN_LIST
    out = run_stack(ev.DISALLOW_PROD_VALUES_IN_PREVIEW,
                    [res, env_res("y", "OPENAI_API_KEY", ["production", "preview"])])
    assert out.unknown is None and len(out.messages) == 1 and "'y'" in out.text


# --- no NODE_ENV=production at build time ---------------------------------------------------

@pytest.mark.parametrize("props_type,props", [
    (VAR, var(key="NODE_ENV", value="production", sensitive=False)),
    (VAR, var(key="NODE_ENV", value=" Production ", targets=("preview",), sensitive=False)),
    (VARS, bulk(item("NODE_ENV", "production", targets=("production", "preview"), sensitive=False))),
])
def test_production_node_env_on_a_building_target_is_flagged(props_type, props):
    out = run_resource(ev.DISALLOW_BUILD_NODE_ENV, props_type, props)
    assert len(out.messages) == 1 and "devDependencies" in out.text


@pytest.mark.parametrize("props", [
    var(key="NODE_ENV", value="development", sensitive=False),
    var(key="NODE_ENV", value="production", targets=("development",), sensitive=False),
    var(key="NODE_ENV", value=UNKNOWN_STR, sensitive=False),
    var(key="APP_ENV", value="production", sensitive=False),
])
def test_other_node_env_values_targets_and_keys_pass(props):
    run_resource(ev.DISALLOW_BUILD_NODE_ENV, VAR, props).assert_clean()
