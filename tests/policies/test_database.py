"""database.py: least-privilege login roles, provider TLS, pgvector on each database."""

import pytest

from ara_policies import database as pg
from infra import catalog

from .conftest import (
    PLANTED,
    UNKNOWN_BOOL,
    UNKNOWN_LIST,
    UNKNOWN_STR,
    Res,
    assert_metadata,
    options,
    run_resource,
    run_stack,
    secret,
)


@pytest.mark.parametrize("policy,level,severity,keys", [
    (pg.RESTRICT_LOGIN_ROLE_PRIVILEGES, "mandatory", "critical", {"allowedAdminRoles"}),
    (pg.RESTRICT_ROLE_MEMBERSHIP, "mandatory", "high", {"allowedMemberOf", "allowedAdminRoles"}),
    (pg.REQUIRE_PROVIDER_TLS, "mandatory", "high", {"allowedSslModes"}),
    (pg.REQUIRE_VECTOR_EXTENSION, "advisory", "low", {"extensionName"}),
    (pg.REQUIRE_ADMIN_OWNER_MEMBERSHIP, "mandatory", "high", set()),
    (pg.REQUIRE_CONNECTION_HEADROOM, "advisory", "medium", {"minHeadroom"}),
    (pg.RESTRICT_BACKUP_PRIVILEGES, "mandatory", "high", {"backupRolePattern"}),
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


# --- the admin's membership in the owner (STACK) ----------------------------------------------

MEMBER = pg.REQUIRE_ADMIN_OWNER_MEMBERSHIP


def owned_stack(*, membership=True, link="deps", wait=True, grant_type="database"):
    """The Database component's shape: admin, owner role, db, an extension and a grant on it."""
    after = ["membership"] if membership and wait else []
    resources = [
        Res(catalog.PG_PROVIDER, "provider", {"username": "ara_admin", "sslmode": "require"}),
        Res(catalog.PG_ROLE, "owner", {"name": "ara_owner", "login": True}),
        Res(catalog.PG_DATABASE, "db", {"name": "ara", "owner": "ara_owner"},
            deps={"owner": ["owner"]} if link == "deps" else {}, depends_on=after),
        Res(catalog.PG_EXTENSION, "vector", {"name": "vector", "database": "ara"},
            deps={"database": ["db"]} if link == "deps" else {}, depends_on=after),
        Res(catalog.PG_GRANT, "revoke-public", {"database": "ara", "role": "public", "objectType": grant_type,
                                                "schema": "public", "privileges": []},
            deps={"database": ["db"]} if link == "deps" else {}, depends_on=after),
    ]
    if membership:
        resources.insert(2, Res(catalog.PG_GRANT_ROLE, "membership", {"role": "ara_admin", "grantRole": "ara_owner"},
                                deps={"grantRole": ["owner"]} if link == "deps" else {}))
    return resources


@pytest.mark.parametrize("link", ["deps", "name"])
def test_admin_member_of_the_owner_before_extensions_and_grants_passes(link):
    run_stack(MEMBER, owned_stack(link=link)).assert_clean()


def test_extensions_and_database_grants_without_the_membership_are_flagged():
    out = run_stack(MEMBER, owned_stack(membership=False))
    assert len(out.messages) == 1 and "'db'" in out.text and "GrantRole(role=<admin user>" in out.text
    assert out.violations[0][1].endswith("::db")


def test_membership_that_nothing_waits_for_is_flagged():
    out = run_stack(MEMBER, owned_stack(wait=False))
    assert len(out.messages) == 1 and "vector, revoke-public" in out.text and "depends_on" in out.text


def test_membership_of_another_user_does_not_count():
    resources = owned_stack()
    resources[2].props["role"] = "someone_else"
    assert len(run_stack(MEMBER, resources).messages) == 1


def test_database_owned_by_the_admin_or_without_owner_needs_no_membership():
    for owner in ("ara_admin", None):
        resources = owned_stack(membership=False, link="name")
        resources[2].props = {"name": "ara"} if owner is None else {"name": "ara", "owner": owner}
        run_stack(MEMBER, resources).assert_clean()


def test_schema_grants_alone_need_no_membership():
    # The provider borrows the schema owner's role for those itself (helpers.go withRolesGranted).
    resources = [r for r in owned_stack(membership=False, grant_type="schema") if r.type != catalog.PG_EXTENSION]
    run_stack(MEMBER, resources).assert_clean()


# --- connection headroom (STACK) --------------------------------------------------------------

HEADROOM = pg.REQUIRE_CONNECTION_HEADROOM


def limits_stack(db_limit, app=40, owner=5, backup=2):
    def connect(name, role):
        return Res(catalog.PG_GRANT, name, {"database": "ara", "role": role, "objectType": "database",
                                            "privileges": ["CONNECT"]}, deps={"role": [role]})
    return [
        Res(catalog.PG_ROLE, "owner", {"name": "ara_owner", "connectionLimit": owner}),
        Res(catalog.PG_ROLE, "app", {"name": "ara_app", "connectionLimit": app}),
        Res(catalog.PG_ROLE, "backup", {"name": "ara_backup", "connectionLimit": backup}),
        Res(catalog.PG_ROLE, "unrelated", {"name": "other", "connectionLimit": 500}),
        Res(catalog.PG_DATABASE, "db", {"name": "ara", "owner": "ara_owner", "connectionLimit": db_limit}),
        connect("app-connect", "app"), connect("backup-connect", "backup"),
    ]


@pytest.mark.parametrize("db_limit", [50, 52, -1])
def test_limit_with_headroom_or_no_limit_passes(db_limit):
    run_stack(HEADROOM, limits_stack(db_limit)).assert_clean()


@pytest.mark.parametrize("db_limit", [45, 47, 49])
def test_limit_without_headroom_is_flagged(db_limit):
    out = run_stack(HEADROOM, limits_stack(db_limit))
    assert len(out.messages) == 1 and "fewer than 3 connections" in out.text and "'db'" in out.text


def test_min_headroom_config():
    assert run_stack(HEADROOM, limits_stack(52), config={"minHeadroom": 6}).messages
    run_stack(HEADROOM, limits_stack(52), config={"minHeadroom": 5}).assert_clean()


def test_a_connecting_role_without_a_limit_is_flagged():
    out = run_stack(HEADROOM, limits_stack(100, app=-1))
    assert len(out.messages) == 1 and "app may connect without one" in out.text


# --- the backup role only reads (STACK) -------------------------------------------------------

BACKUP = pg.RESTRICT_BACKUP_PRIVILEGES


def backup_stack(*extra, table_privileges=("SELECT",), sequence_privileges=("SELECT",)):
    def grant(name, kind, privileges, resource_type=catalog.PG_GRANT):
        return Res(resource_type, name, {"database": "ara", "role": "ara_backup", "objectType": kind,
                                         "schema": "public", "privileges": list(privileges)},
                   deps={"role": ["backup"]})
    return [
        Res(catalog.PG_ROLE, "backup", {"name": "ara_backup", "login": True, "password": secret(PLANTED)}),
        Res(catalog.PG_DATABASE, "db", {"name": "ara", "owner": "ara_owner"}),
        grant("backup-connect", "database", ["CONNECT"]),
        grant("backup-schema", "schema", ["USAGE"]),
        grant("backup-tables", "table", table_privileges),
        grant("backup-sequences", "sequence", sequence_privileges),
        grant("backup-default-tables", "table", table_privileges, catalog.PG_DEFAULT_PRIVILEGES),
        *extra,
    ]


def test_read_only_backup_role_passes():
    run_stack(BACKUP, backup_stack()).assert_clean()


def test_backup_role_that_can_write_is_flagged_once_listing_every_grant():
    out = run_stack(BACKUP, backup_stack(table_privileges=("SELECT", "DELETE"), sequence_privileges=("USAGE",)))
    assert len(out.messages) == 1 and "'backup'" in out.text
    for part in ("backup-tables grants DELETE on table", "backup-default-tables grants DELETE on table",
                 "backup-sequences grants USAGE on sequence"):
        assert part in out.text
    assert PLANTED not in out.text


def test_backup_role_that_owns_a_database_or_joins_a_role_is_flagged():
    out = run_stack(BACKUP, backup_stack(
        Res(catalog.PG_DATABASE, "other-db", {"name": "other", "owner": "ara_backup"}),
        Res(catalog.PG_GRANT_ROLE, "join-owner", {"role": "ara_backup", "grantRole": "ara_owner"}),
    ))
    assert "owns other-db" in out.text and "is made a member of another role by join-owner" in out.text


def test_roles_not_named_like_backups_are_not_judged_here():
    resources = backup_stack(table_privileges=("SELECT", "DELETE"))
    resources[0].props["name"] = "ara_app"
    for r in resources[2:]:
        r.props["role"] = "ara_app"
    run_stack(BACKUP, resources).assert_clean()
    assert run_stack(BACKUP, resources, config={"backupRolePattern": "_app$"}).messages


# --- what keeps later ups and the destroy working -----------------------------------------------

REPLACE_SAFELY = pg.REQUIRE_MEMBERSHIP_DELETE_BEFORE_REPLACE
READBACK = pg.REQUIRE_IGNORED_ADMIN_OPTION_READBACK
CASCADE = pg.REQUIRE_EXTENSION_CASCADE_WHEN_UNPROTECTED
SESSIONS = pg.REQUIRE_ADMIN_MEMBERSHIP_OF_SESSION_ROLES
MEMBERSHIP_PROPS = {"role": "ara_admin", "grantRole": "ara_owner"}


def test_lifecycle_policies_metadata():
    assert_metadata(REPLACE_SAFELY, "mandatory", "high", set())
    assert_metadata(READBACK, "mandatory", "high", set())
    # ARA's design and a platform-dependent rule: advisory in the pack, mandatory in ARA's configs.
    assert_metadata(CASCADE, "advisory", "medium", set())
    assert_metadata(SESSIONS, "advisory", "medium", set())


def test_membership_replaced_create_before_delete_is_flagged():
    out = run_resource(REPLACE_SAFELY, catalog.PG_GRANT_ROLE, MEMBERSHIP_PROPS, name="m")
    assert len(out.messages) == 1 and "delete_before_replace=True" in out.text and "REVOKE" in out.text
    run_resource(REPLACE_SAFELY, catalog.PG_GRANT_ROLE, MEMBERSHIP_PROPS, name="m",
                 opts=options(delete_before_replace=True)).assert_clean()


def admin_stack(*, ignore=("withAdminOption",), superuser="false", member="ara_admin"):
    return [
        Res(catalog.PG_PROVIDER, "provider", {"username": "ara_admin", "superuser": superuser}),
        Res(catalog.PG_ROLE, "owner", {"name": "ara_owner", "login": True}),
        Res(catalog.PG_GRANT_ROLE, "membership", {"role": member, "grantRole": "ara_owner"},
            ignore_changes=list(ignore), delete_before_replace=True),
    ]


def test_membership_of_the_admin_must_ignore_the_read_back_admin_option():
    run_stack(READBACK, admin_stack()).assert_clean()
    out = run_stack(READBACK, admin_stack(ignore=()))
    assert len(out.messages) == 1 and "'membership'" in out.text and 'ignore_changes=["withAdminOption"]' in out.text
    assert out.violations[0][1].endswith("::membership")


@pytest.mark.parametrize("case", [{"superuser": "true"}, {"member": "ara_reader"}])
def test_no_implicit_grant_no_read_back_problem(case):
    # A superuser admin gets no implicit grant; a membership of another role is not read back as the admin's.
    run_stack(READBACK, admin_stack(ignore=(), **case)).assert_clean()


def database_stack(*, protect=False, cascade=True, memberships=("owner", "app")):
    resources = [
        Res(catalog.PG_PROVIDER, "provider", {"username": "ara_admin", "superuser": "false"}),
        Res(catalog.PG_ROLE, "owner", {"name": "ara_owner", "login": True}),
        Res(catalog.PG_ROLE, "app", {"name": "ara_app", "login": True}),
        Res(catalog.PG_DATABASE, "db", {"name": "ara", "owner": "ara_owner"}, protect=protect,
            deps={"owner": ["owner"]}),
        Res(catalog.PG_EXTENSION, "vector", {"name": "vector", "database": "ara", "dropCascade": cascade},
            deps={"database": ["db"]}),
        Res(catalog.PG_GRANT, "app-connect", {"database": "ara", "role": "ara_app", "objectType": "database",
                                              "privileges": ["CONNECT"]}, deps={"database": ["db"], "role": ["app"]}),
    ]
    resources += [Res(catalog.PG_GRANT_ROLE, f"admin-{m}", {"role": "ara_admin", "grantRole": f"ara_{m}"},
                      deps={"grantRole": [m]}) for m in memberships]
    return resources


def test_extensions_of_a_database_that_may_be_destroyed_must_cascade():
    run_stack(CASCADE, database_stack()).assert_clean()
    out = run_stack(CASCADE, database_stack(cascade=False))
    assert len(out.messages) == 1 and "'vector'" in out.text and "drop_cascade=True" in out.text
    # A protected database is never destroyed by the stack: RESTRICT is the safe default there.
    run_stack(CASCADE, database_stack(protect=True, cascade=False)).assert_clean()


def test_the_admin_must_hold_every_role_whose_sessions_the_database_delete_ends():
    run_stack(SESSIONS, database_stack()).assert_clean()
    out = run_stack(SESSIONS, database_stack(memberships=("owner",)))
    assert len(out.messages) == 1 and "'db'" in out.text and "not of app" in out.text
    assert "permission denied to terminate process" in out.text
    run_stack(SESSIONS, database_stack(protect=True, memberships=("owner",))).assert_clean()


def test_unknown_admin_says_nothing_about_sessions():
    resources = database_stack(memberships=())
    resources[0].props["username"] = UNKNOWN_STR
    run_stack(SESSIONS, resources).assert_clean()
