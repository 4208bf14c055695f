"""Database: TLS-only provider, least-privilege roles, a read-only backup role, pgvector, and grants the
non-superuser admin can really run (it is a declared member of the owner role)."""

import pulumi
import pytest

from infra import catalog
from infra.database import Database, DatabaseArgs
from review import wire
from tests.support import run_component

ELEVATED = ("superuser", "createDatabase", "createRole", "replication", "bypassRowLevelSecurity")
DML = ["SELECT", "INSERT", "UPDATE", "DELETE"]


def _args(**overrides):
    base = {
        "host": "db.example.com",
        "admin_user": "admin",
        "admin_password": "admin-pw",
        "database_name": "ara_t",
    }
    return DatabaseArgs(**{**base, **overrides})


def _db(**overrides):
    return run_component(lambda: Database("db", _args(**overrides)))


def _grant(cap, role):
    return cap.one(catalog.PG_GRANT, f"db-{role}")


def test_provider_requires_tls_and_does_not_assume_superuser():
    provider = _db().one(catalog.PG_PROVIDER, "db-provider")
    assert provider.props["sslmode"] == "require"
    # Provider inputs travel as strings on the wire.
    assert provider.props["superuser"] == "false"
    assert provider.props["host"] == "db.example.com"
    assert provider.props["username"] == "admin"
    assert provider.props["database"] == "postgres"


def test_provider_sslmode_follows_the_args():
    assert _db(sslmode="verify-full").one(catalog.PG_PROVIDER).props["sslmode"] == "verify-full"


def test_admin_password_is_a_secret_even_when_given_plain():
    provider = _db().one(catalog.PG_PROVIDER)
    assert wire.is_secret(provider.props["password"])
    assert provider.plain["password"] == "admin-pw"


@pytest.mark.parametrize(
    ("resource", "role"), [("db-owner", "ara_t_owner"), ("db-app", "ara_t_app"), ("db-backup", "ara_t_backup")]
)
def test_roles_log_in_with_a_secret_password_and_no_elevated_attribute(resource, role):
    props = _db().one(catalog.PG_ROLE, resource).props
    assert props["name"] == role
    assert props["login"] is True
    assert wire.is_secret(props["password"])
    for attribute in ELEVATED:
        assert props[attribute] is False, attribute


def test_runtime_role_has_the_connection_limit_and_statement_timeout():
    props = _db(connection_limit=12, statement_timeout_ms=15_000).one(catalog.PG_ROLE, "db-app").props
    assert props["connectionLimit"] == 12
    assert props["statementTimeout"] == 15_000


def test_runtime_role_defaults_to_20_connections_and_a_30_second_timeout():
    props = _db().one(catalog.PG_ROLE, "db-app").props
    assert props["connectionLimit"] == 20
    assert props["statementTimeout"] == 30_000


def test_runtime_role_has_an_idle_in_transaction_timeout():
    assert _db().one(catalog.PG_ROLE, "db-app").props["idleInTransactionSessionTimeout"] == 60_000
    props = _db(idle_in_transaction_timeout_ms=5_000).one(catalog.PG_ROLE, "db-app").props
    assert props["idleInTransactionSessionTimeout"] == 5_000


def test_backup_role_has_its_own_small_connection_limit_and_no_timeouts():
    props = _db().one(catalog.PG_ROLE, "db-backup").props
    assert props["connectionLimit"] == 2
    # pg_dump of a large database may run long and holds one transaction open by design.
    assert "statementTimeout" not in props and "idleInTransactionSessionTimeout" not in props
    assert _db(backup_connection_limit=3).one(catalog.PG_ROLE, "db-backup").props["connectionLimit"] == 3


def test_migration_role_has_a_small_connection_limit_and_no_statement_timeout():
    props = _db().one(catalog.PG_ROLE, "db-owner").props
    assert props["connectionLimit"] == 5
    assert "statementTimeout" not in props


def test_role_passwords_are_random_40_characters_and_rotate_with_the_version():
    passwords = _db(password_version=3).of_type(catalog.RANDOM_PASSWORD)
    assert sorted(p.name for p in passwords) == ["db-app-password", "db-backup-password", "db-owner-password"]
    for password in passwords:
        assert password.props["length"] == 40
        assert password.props["keepers"] == {"version": "3"}


def test_database_is_owned_by_the_migration_role():
    props = _db().one(catalog.PG_DATABASE, "db-database").props
    assert props["name"] == "ara_t"
    assert props["owner"] == "ara_t_owner"
    assert props["encoding"] == "UTF8"
    assert props["template"] == "template0"


def test_database_connection_limit_leaves_headroom_beyond_every_role():
    # app 20 + owner 5 + backup 2 + 5 for the provider's admin and monitoring.
    assert _db().one(catalog.PG_DATABASE).props["connectionLimit"] == 32
    props = _db(connection_limit=40, backup_connection_limit=3, connection_headroom=8).one(catalog.PG_DATABASE).props
    assert props["connectionLimit"] == 40 + 5 + 3 + 8


def test_admin_is_a_declared_member_of_each_role_it_creates():
    cap = _db()
    memberships = {m.name: m.props for m in cap.of_type(catalog.PG_GRANT_ROLE)}
    assert memberships == {
        "db-admin-owner-membership": {"role": "admin", "grantRole": "ara_t_owner"},
        # The database's delete terminates these roles' sessions, which takes their privileges.
        "db-admin-app-membership": {"role": "admin", "grantRole": "ara_t_app"},
        "db-admin-backup-membership": {"role": "admin", "grantRole": "ara_t_backup"},
    }


def test_memberships_ignore_the_read_back_admin_option_and_delete_before_they_are_replaced():
    # PG 16+ reads back the CREATEROLE implicit grant (admin option true): without ignoring it every
    # preview replaces the membership; a create-before-delete replacement ends with its REVOKE.
    for membership in _db().of_type(catalog.PG_GRANT_ROLE):
        assert membership.ignore_changes == ("withAdminOption",), membership.name
        assert membership.delete_before_replace is True, membership.name


def test_everything_that_acts_as_the_owner_waits_for_the_admin_memberships():
    cap = _db()
    memberships = {m.urn for m in cap.of_type(catalog.PG_GRANT_ROLE)}
    dependents = [
        *cap.of_type(catalog.PG_DATABASE), *cap.of_type(catalog.PG_EXTENSION),
        *cap.of_type(catalog.PG_GRANT), *cap.of_type(catalog.PG_DEFAULT_PRIVILEGES),
    ]
    assert len(dependents) == 1 + 2 + 10 + 4
    for resource in dependents:
        assert memberships <= set(resource.dependencies), resource.name


def test_what_lives_inside_the_database_is_deleted_with_it():
    # Its own Delete would run DROP EXTENSION ... RESTRICT (refused once a column is a vector) and
    # revokes inside a database about to be dropped: the engine skips them when the database goes.
    cap = _db()
    database = cap.one(catalog.PG_DATABASE).urn
    inside = [*cap.of_type(catalog.PG_EXTENSION), *cap.of_type(catalog.PG_GRANT),
              *cap.of_type(catalog.PG_DEFAULT_PRIVILEGES)]
    assert [r.name for r in inside if r.deleted_with != database] == []
    outside = [*cap.of_type(catalog.PG_ROLE), *cap.of_type(catalog.PG_GRANT_ROLE), cap.one(catalog.PG_DATABASE)]
    assert [r.name for r in outside if r.deleted_with is not None] == []


@pytest.mark.parametrize(("protect", "cascade"), [(True, False), (False, True)])
def test_extensions_cascade_only_where_the_database_is_unprotected(protect, cascade):
    for extension in _db(protect=protect).of_type(catalog.PG_EXTENSION):
        assert extension.props["dropCascade"] is cascade, extension.name


def test_rotation_connections_raise_only_the_database_limit():
    # app 20 + owner 5 + backup 2 + a 40-connection bridge + 5 headroom.
    cap = _db(rotation_connections=40)
    assert cap.one(catalog.PG_DATABASE).props["connectionLimit"] == 20 + 5 + 2 + 40 + 5
    assert cap.one(catalog.PG_ROLE, "db-app").props["connectionLimit"] == 20
    with pytest.raises(ValueError, match="rotation_connections: must be 0 or more"):
        _args(rotation_connections=-1)


def test_server_older_than_15_is_refused():
    with pytest.raises(ValueError, match="server_major_version: PostgreSQL 14 is not supported; 15"):
        _args(server_major_version=14)


def test_provider_gets_sslrootcert_only_when_configured():
    assert "sslrootcert" not in _db().one(catalog.PG_PROVIDER).props
    props = _db(sslmode="verify-full", sslrootcert="certs/db-ca.pem").one(catalog.PG_PROVIDER).props
    assert props["sslrootcert"] == "certs/db-ca.pem"


def test_database_is_protected_and_retained_by_default():
    database = _db().one(catalog.PG_DATABASE)
    assert database.protect is True
    assert database.retain_on_delete is True


def test_database_is_not_protected_when_protect_is_false():
    database = _db(protect=False).one(catalog.PG_DATABASE)
    assert database.protect is False
    assert database.retain_on_delete is False


def test_prod_database_is_protected(prod):
    assert prod.one(catalog.PG_DATABASE, "ara-db-database").protect is True


def test_vector_and_pg_stat_statements_are_installed_in_the_app_database():
    extensions = {r.props["name"]: r for r in _db().of_type(catalog.PG_EXTENSION)}
    assert sorted(extensions) == ["pg_stat_statements", "vector"]
    for extension in extensions.values():
        assert extension.props["database"] == "ara_t"


def test_public_loses_connect_on_the_database_and_everything_on_schema_public():
    cap = _db()
    props = _grant(cap, "revoke-public-connect").props
    assert props == {"database": "ara_t", "role": "public", "objectType": "database", "privileges": []}
    props = _grant(cap, "revoke-public-schema").props
    assert props == {"database": "ara_t", "role": "public", "schema": "public", "objectType": "schema",
                     "privileges": []}


def test_backup_role_can_connect_use_the_schema_and_only_read():
    cap = _db()
    connect = _grant(cap, "backup-connect").props
    assert (connect["role"], connect["objectType"], connect["privileges"]) == ("ara_t_backup", "database", ["CONNECT"])
    assert _grant(cap, "backup-schema").props["privileges"] == ["USAGE"]
    for suffix, object_type in (("tables", "table"), ("sequences", "sequence")):
        props = _grant(cap, f"backup-{suffix}").props
        assert (props["objectType"], props["privileges"], props["objects"]) == (object_type, ["SELECT"], [])
        default = cap.one(catalog.PG_DEFAULT_PRIVILEGES, f"db-backup-default-{suffix}").props
        assert (default["owner"], default["role"], default["objectType"], default["privileges"]) == (
            "ara_t_owner", "ara_t_backup", object_type, ["SELECT"]
        )


def test_runtime_role_can_connect_and_use_the_public_schema():
    cap = _db()
    connect = _grant(cap, "app-connect").props
    assert (connect["role"], connect["objectType"], connect["privileges"]) == ("ara_t_app", "database", ["CONNECT"])
    schema = _grant(cap, "app-schema").props
    assert (schema["role"], schema["objectType"], schema["schema"], schema["privileges"]) == (
        "ara_t_app", "schema", "public", ["USAGE"]
    )


def test_runtime_role_gets_dml_on_all_tables_and_usage_on_sequences():
    cap = _db()
    tables = _grant(cap, "app-tables").props
    assert tables["objectType"] == "table"
    assert tables["privileges"] == DML
    assert tables["objects"] == []  # empty means every table in the schema
    sequences = _grant(cap, "app-sequences").props
    assert sequences["objectType"] == "sequence"
    assert sequences["privileges"] == ["USAGE", "SELECT"]
    for grant in (tables, sequences):
        assert (grant["role"], grant["schema"], grant["database"]) == ("ara_t_app", "public", "ara_t")


def test_no_role_gets_ddl_privileges_and_the_backup_role_cannot_write():
    cap = _db()
    for grant in cap.of_type(catalog.PG_GRANT) + cap.of_type(catalog.PG_DEFAULT_PRIVILEGES):
        assert not {"CREATE", "TRUNCATE", "REFERENCES", "TRIGGER", "ALL"} & set(grant.props["privileges"])
        if grant.props["role"] == "ara_t_backup":
            assert set(grant.props["privileges"]) <= {"CONNECT", "USAGE", "SELECT"}, grant.name
            assert grant.props["objectType"] != "sequence" or grant.props["privileges"] == ["SELECT"], grant.name


@pytest.mark.parametrize(
    ("name", "object_type", "privileges"),
    [("db-app-default-tables", "table", DML), ("db-app-default-sequences", "sequence", ["USAGE", "SELECT"])],
)
def test_objects_the_migration_role_creates_later_are_usable_by_the_runtime_role(name, object_type, privileges):
    props = _db().one(catalog.PG_DEFAULT_PRIVILEGES, name).props
    assert props["owner"] == "ara_t_owner"
    assert props["role"] == "ara_t_app"
    assert props["objectType"] == object_type
    assert props["privileges"] == privileges
    assert props["schema"] == "public"


def test_every_postgresql_resource_uses_the_explicit_provider():
    cap = _db()
    provider = cap.one(catalog.PG_PROVIDER, "db-provider")
    postgres = [r for r in cap.resources if r.type.startswith("postgresql:")]
    # roles, memberships, database, extensions, grants, default privileges
    assert len(postgres) == 3 + 3 + 1 + 2 + 10 + 4
    for resource in postgres:
        # A provider reference is "<provider urn>::<provider id>".
        assert resource.provider is not None, resource.name
        assert resource.provider.rsplit("::", 1)[0] == provider.urn, resource.name


def test_children_are_parented_and_prefixed_by_the_component():
    cap = _db()
    component = cap.one(catalog.TOKEN_DATABASE, "db")
    custom = [r for r in cap.declared if r.custom]
    assert custom and all(r.parent == component.urn for r in custom)
    assert all(r.name.startswith("db-") for r in custom)


def test_registered_urls_are_secret():
    outputs = _db().one(catalog.TOKEN_DATABASE).outputs
    assert outputs["database_name"] == "ara_t"
    assert wire.is_secret(outputs["database_url"])
    assert wire.is_secret(outputs["migration_url"])
    assert wire.is_secret(outputs["backup_url"])


@pulumi.runtime.test
def test_database_url_is_a_secret_tls_url_of_the_runtime_role(mocks):
    db = Database("db", _args(sslmode="verify-full", port=6543))

    def check(values):
        is_secret, url = values
        assert is_secret is True
        assert url.startswith("postgresql://ara_t_app:")
        assert url.endswith("@db.example.com:6543/ara_t?sslmode=verify-full")

    return pulumi.Output.all(pulumi.Output.from_input(db.database_url.is_secret()), db.database_url).apply(check)


@pulumi.runtime.test
def test_migration_url_is_a_secret_tls_url_of_the_owner_role(mocks):
    db = Database("db", _args())

    def check(values):
        is_secret, url = values
        assert is_secret is True
        assert url.startswith("postgresql://ara_t_owner:")
        assert url.endswith("?sslmode=require")

    return pulumi.Output.all(pulumi.Output.from_input(db.migration_url.is_secret()), db.migration_url).apply(check)


@pulumi.runtime.test
def test_backup_url_is_a_secret_tls_url_of_the_backup_role(mocks):
    db = Database("db", _args(sslmode="verify-full"))

    def check(values):
        is_secret, url = values
        assert is_secret is True
        assert url.startswith("postgresql://ara_t_backup:")
        assert url.endswith("@db.example.com:5432/ara_t?sslmode=verify-full")

    return pulumi.Output.all(pulumi.Output.from_input(db.backup_url.is_secret()), db.backup_url).apply(check)
