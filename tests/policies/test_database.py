"""database.py: least-privilege login roles, provider TLS, pgvector on each database."""

import pytest
from infra import catalog

from ara_policies import database as pg

from .conftest import (PLANTED, UNKNOWN_BOOL, UNKNOWN_LIST, UNKNOWN_STR, Res, assert_metadata, run_resource, run_stack,
                       secret)


@pytest.mark.parametrize("policy,level,severity,keys", [
    (pg.RESTRICT_LOGIN_ROLE_PRIVILEGES, "mandatory", "critical", {"allowedAdminRoles"}),
    (pg.RESTRICT_ROLE_MEMBERSHIP, "mandatory", "high", {"allowedMemberOf", "allowedAdminRoles"}),
    (pg.REQUIRE_PROVIDER_TLS, "mandatory", "high", {"allowedSslModes"}),
    (pg.REQUIRE_VECTOR_EXTENSION, "advisory", "low", {"extensionName"}),
])
def test_postgres_policy_metadata(policy, level, severity, keys):
    assert_metadata(policy, level, severity, keys)


# --- roles --------------------------------------------------------------------------------

def role(name="ara_app", login=True, **attrs):
    return {"name": name, "login": login, "password": secret(PLANTED), "connectionLimit": 20, **attrs}


def test_plain_login_role_passes():
    run_resource(pg.RESTRICT_LOGIN_ROLE_PRIVILEGES, catalog.PG_ROLE,
                 role(superuser=False, createDatabase=False, createRole=False)).assert_clean()


@pytest.mark.parametrize("attr,sql", sorted(pg.PRIVILEGED_ATTRIBUTES.items()))
def test_login_role_with_admin_attribute_is_flagged(attr, sql):
    out = run_resource(pg.RESTRICT_LOGIN_ROLE_PRIVILEGES, catalog.PG_ROLE, role(**{attr: True}), name="app-role")
    assert len(out.messages) == 1 and sql in out.text and "'app-role'" in out.text
    assert PLANTED not in out.text


def test_login_role_with_several_admin_attributes_lists_them_all():
    out = run_resource(pg.RESTRICT_LOGIN_ROLE_PRIVILEGES, catalog.PG_ROLE,
                       role(superuser=True, createRole=True))
    assert "SUPERUSER" in out.text and "CREATEROLE" in out.text


def test_group_role_without_login_may_hold_attributes():
    run_resource(pg.RESTRICT_LOGIN_ROLE_PRIVILEGES, catalog.PG_ROLE,
                 role(login=False, createRole=True)).assert_clean()


def test_role_without_login_prop_is_not_a_login_role():
    props = role(createDatabase=True)
    del props["login"]
    run_resource(pg.RESTRICT_LOGIN_ROLE_PRIVILEGES, catalog.PG_ROLE, props).assert_clean()


def test_allowed_admin_roles_config_accepts_the_migrator():
    props = role(name="ara_migrator", createRole=True)
    assert run_resource(pg.RESTRICT_LOGIN_ROLE_PRIVILEGES, catalog.PG_ROLE, props).messages
    run_resource(pg.RESTRICT_LOGIN_ROLE_PRIVILEGES, catalog.PG_ROLE, props,
                 config={"allowedAdminRoles": ["ara_migrator"]}).assert_clean()


def test_unknown_superuser_flag_defers_to_runtime_advisory():
    out = run_resource(pg.RESTRICT_LOGIN_ROLE_PRIVILEGES, catalog.PG_ROLE, role(superuser=UNKNOWN_BOOL))
    assert out.unknown is not None and "superuser" in out.unknown.message


# --- role membership (STACK) --------------------------------------------------------------

MEMBERSHIP = pg.RESTRICT_ROLE_MEMBERSHIP


def membership(props, *others, **kw):
    """The app role, plus other declared roles given as (logical name, props)."""
    resources = [Res(catalog.PG_ROLE, "app-role", props)] + [Res(catalog.PG_ROLE, n, p) for n, p in others]
    return run_stack(MEMBERSHIP, resources, **kw)


def group(name, **attrs):
    # The provider's default is NOLOGIN (pulumi_postgresql role.py: login "Default value is `false`").
    return {"name": name, **attrs}


@pytest.mark.parametrize("roles", [None, []])
def test_login_role_without_memberships_passes(roles):
    props = role() if roles is None else role(roles=roles)
    membership(props).assert_clean()


def test_login_role_member_of_another_role_is_flagged_without_echo():
    out = membership(role(roles=["ara_admin", "pg_write_all_data"]))
    assert len(out.messages) == 1 and "'app-role'" in out.text
    assert "ara_admin" in out.text and "pg_write_all_data" in out.text and "allowedMemberOf" in out.text
    assert PLANTED not in out.text
    assert out.violations[0][1].endswith("::app-role")


@pytest.mark.parametrize("attrs", [{}, {"login": False}, {"login": False, "superuser": False, "inherit": True}])
def test_member_of_a_nologin_group_without_admin_attributes_passes(attrs):
    # The standard least-privilege pattern: grant table rights to a NOLOGIN group, add the app to it.
    membership(role(roles=["ara_readers"]), ("readers", group("ara_readers", **attrs))).assert_clean()


def test_member_of_nested_plain_groups_passes():
    membership(role(roles=["ara_writers"]), ("writers", group("ara_writers", roles=["ara_readers"])),
               ("readers", group("ara_readers"))).assert_clean()


@pytest.mark.parametrize("attrs,expected", [
    ({"superuser": True}, "a group holding SUPERUSER"),
    ({"createRole": True, "bypassRowLevelSecurity": True}, "a group holding CREATEROLE, BYPASSRLS"),
    ({"login": True}, "a login role"),
    ({"roles": ["ara_admin"]}, "a member of a role the stack does not declare"),
    ({"roles": ["pg_execute_server_program"]}, "a member of a predefined role"),
])
def test_member_of_a_group_that_is_more_than_a_plain_group_is_flagged(attrs, expected):
    out = membership(role(roles=["ara_group"]), ("group", group("ara_group", **attrs)))
    assert len(out.messages) == 1 and "ara_group" in out.text and expected in out.text
    assert PLANTED not in out.text


@pytest.mark.parametrize("predefined", ["pg_write_server_files", "pg_read_server_files", "pg_execute_server_program",
                                        "pg_signal_backend", "pg_read_all_data", "pg_write_all_data", "pg_maintain",
                                        "pg_create_subscription", "pg_some_future_role"])
def test_member_of_a_powerful_predefined_role_is_flagged(predefined):
    out = membership(role(roles=[predefined]))
    assert len(out.messages) == 1 and predefined in out.text and "predefined role with broad powers" in out.text


@pytest.mark.parametrize("predefined", sorted(pg.MONITORING_PREDEFINED_ROLES))
def test_member_of_a_monitoring_predefined_role_passes(predefined):
    membership(role(roles=[predefined])).assert_clean()


def test_grant_role_resources_count_as_memberships():
    # postgresql.GrantRole(role=<member>, grant_role=<group>) is the other way to grant membership.
    app = Res(catalog.PG_ROLE, "app-role", role())
    readers = Res(catalog.PG_ROLE, "readers", group("ara_readers"))
    admins = Res(catalog.PG_ROLE, "admins", group("ara_admins", createRole=True))
    ok = Res(catalog.PG_GRANT_ROLE, "app-readers", {"role": "ara_app", "grantRole": "ara_readers"})
    run_stack(MEMBERSHIP, [app, readers, ok]).assert_clean()
    bad = Res(catalog.PG_GRANT_ROLE, "app-admins", {"role": UNKNOWN_STR, "grantRole": UNKNOWN_STR},
              deps={"role": ["app-role"], "grantRole": ["admins"]})
    out = run_stack(MEMBERSHIP, [app, readers, admins, ok, bad])
    assert len(out.messages) == 1 and "ara_admins (a group holding CREATEROLE)" in out.text
    assert "ara_readers" not in out.text


def test_grant_role_that_nests_a_group_into_an_admin_group_is_seen():
    resources = [Res(catalog.PG_ROLE, "app-role", role(roles=["ara_readers"])),
                 Res(catalog.PG_ROLE, "readers", group("ara_readers")),
                 Res(catalog.PG_ROLE, "admins", group("ara_admins", superuser=True)),
                 Res(catalog.PG_GRANT_ROLE, "nest", {"role": "ara_readers", "grantRole": "ara_admins"})]
    out = run_stack(MEMBERSHIP, resources)
    assert len(out.messages) == 1 and "a member of a group holding SUPERUSER" in out.text


def test_membership_is_a_separate_check_from_admin_attributes():
    props = role(roles=["ara_admin"])
    run_resource(pg.RESTRICT_LOGIN_ROLE_PRIVILEGES, catalog.PG_ROLE, props).assert_clean()
    assert membership(props).messages


def test_group_role_without_login_may_be_a_member():
    membership(role(login=False, roles=["ara_admin"])).assert_clean()
    props = role(roles=["ara_admin"])
    del props["login"]
    membership(props).assert_clean()


def test_allowed_member_of_config_accepts_listed_roles_only():
    props = role(roles=["ara_readonly", "ara_admin"])
    out = membership(props, config={"allowedMemberOf": ["ara_readonly"]})
    assert len(out.messages) == 1 and "ara_admin" in out.text and "ara_readonly" not in out.text
    membership(props, config={"allowedMemberOf": ["ara_readonly", "ara_admin"]}).assert_clean()


def test_allowed_admin_roles_config_exempts_the_role_itself():
    props = role(name="ara_migrator", roles=["ara_owner"])
    assert membership(props).messages
    membership(props, config={"allowedAdminRoles": ["ara_migrator"]}).assert_clean()


def test_unknown_memberships_or_group_attributes_are_skipped_not_fatal():
    # Stack rules skip what preview cannot know instead of stopping on it.
    membership(role(roles=UNKNOWN_LIST)).assert_clean()
    membership(role(login=UNKNOWN_BOOL, roles=["ara_admin"])).assert_clean()
    membership(role(roles=["ara_group"]), ("group", group("ara_group", superuser=UNKNOWN_BOOL))).assert_clean()


# --- provider TLS -------------------------------------------------------------------------

def provider(**props):
    # Provider inputs reach analyzers as strings.
    return {"host": "db.example.com", "port": "5432", "username": "admin", "password": secret(PLANTED),
            "superuser": "false", **props}


@pytest.mark.parametrize("mode", ["require", "verify-ca", "verify-full"])
def test_provider_with_tls_sslmode_passes(mode):
    run_resource(pg.REQUIRE_PROVIDER_TLS, catalog.PG_PROVIDER, provider(sslmode=mode)).assert_clean()


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
def test_provider_with_optional_tls_is_flagged_without_echo(mode):
    out = run_resource(pg.REQUIRE_PROVIDER_TLS, catalog.PG_PROVIDER, provider(sslmode=mode), name="pg")
    assert len(out.messages) == 1 and "'pg'" in out.text and "verify-full" in out.text
    assert PLANTED not in out.text and "db.example.com" not in out.text


def test_provider_without_sslmode_is_flagged():
    out = run_resource(pg.REQUIRE_PROVIDER_TLS, catalog.PG_PROVIDER, provider())
    assert len(out.messages) == 1 and "PGSSLMODE" in out.text


def test_provider_deprecated_ssl_mode_spelling_is_read():
    run_resource(pg.REQUIRE_PROVIDER_TLS, catalog.PG_PROVIDER, provider(sslMode="require")).assert_clean()


def test_allowed_sslmodes_config_can_demand_verify_full():
    out = run_resource(pg.REQUIRE_PROVIDER_TLS, catalog.PG_PROVIDER, provider(sslmode="require"),
                       config={"allowedSslModes": ["verify-full"]})
    assert len(out.messages) == 1


def test_unknown_sslmode_defers_to_runtime_advisory():
    assert run_resource(pg.REQUIRE_PROVIDER_TLS, catalog.PG_PROVIDER, provider(sslmode=UNKNOWN_STR)).unknown


# --- pgvector (STACK) ---------------------------------------------------------------------

def db_stack(extension_name="vector", link="name"):
    ext_props = {"name": extension_name, "database": "ara" if link == "name" else UNKNOWN_STR}
    return [
        Res(catalog.PG_DATABASE, "db", {"name": "ara", "owner": "ara_owner"}),
        Res(catalog.PG_EXTENSION, "vector", ext_props, deps={"database": ["db"]} if link == "deps" else {}),
    ]


@pytest.mark.parametrize("link", ["name", "deps"])
def test_database_with_vector_extension_passes(link):
    run_stack(pg.REQUIRE_VECTOR_EXTENSION, db_stack(link=link)).assert_clean()


def test_database_without_vector_extension_is_flagged():
    out = run_stack(pg.REQUIRE_VECTOR_EXTENSION, db_stack(extension_name="pg_stat_statements"))
    assert len(out.messages) == 1 and "'db'" in out.text and '"vector"' in out.text
    assert out.violations[0][1].endswith("::db")


def test_extension_on_another_database_does_not_count():
    resources = db_stack() + [Res(catalog.PG_DATABASE, "analytics", {"name": "analytics"})]
    out = run_stack(pg.REQUIRE_VECTOR_EXTENSION, resources)
    assert len(out.messages) == 1 and "'analytics'" in out.text


def test_stack_without_databases_passes():
    run_stack(pg.REQUIRE_VECTOR_EXTENSION, []).assert_clean()


def test_extension_name_config():
    run_stack(pg.REQUIRE_VECTOR_EXTENSION, db_stack("pg_stat_statements"),
              config={"extensionName": "pg_stat_statements"}).assert_clean()
