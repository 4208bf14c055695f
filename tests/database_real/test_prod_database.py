"""The prod stack's declared database on a real PostgreSQL 18 server, applied as the provider would.

The server's admin is not superuser (CREATEDB CREATEROLE LOGIN), like Neon's, RDS' or Supabase's;
every resource comes from the mock-runtime capture of the real prod program, replayed by
provider_model.py. Each assertion runs as the role it is about.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import psycopg
import pytest

from infra import catalog
from tests.database_real.provider_model import Applied, ProviderError, ProviderModel, apply_capture
from tests.realservers.postgres import Credentials, PostgresServer
from tests.support import APP_FIXTURE, run_program

# Starts a real PostgreSQL server (`make test-fast` leaves these out).
pytestmark = pytest.mark.slow


def _role(capture, resource_name: str) -> Credentials:
    props = capture.one(catalog.PG_ROLE, resource_name).plain
    return Credentials(user=props["name"], password=props["password"])


@pytest.fixture(scope="module")
def applied(prod, postgres_server: PostgresServer) -> list[Applied]:
    return apply_capture(prod, postgres_server)


@pytest.fixture(scope="module")
def db(prod, applied) -> str:
    return prod.one(catalog.PG_DATABASE, "ara-db-database").plain["name"]


@pytest.fixture(scope="module")
def owner(prod) -> Credentials:
    return _role(prod, "ara-db-owner")


@pytest.fixture(scope="module")
def app(prod) -> Credentials:
    return _role(prod, "ara-db-app")


@pytest.fixture(scope="module")
def backup(prod) -> Credentials:
    return _role(prod, "ara-db-backup")


@pytest.fixture(scope="module")
def migrated(postgres_server: PostgresServer, db: str, owner: Credentials) -> int:
    """What a migration does as the owner role: a pgvector table with a bigserial id and an HNSW index."""
    postgres_server.psql(
        "CREATE TABLE items (id bigserial PRIMARY KEY, label text NOT NULL, embedding vector(3) NOT NULL);"
        "CREATE INDEX items_embedding ON items USING hnsw (embedding vector_l2_ops);"
        "INSERT INTO items (label, embedding) SELECT 'item ' || i, ARRAY[i, i * 2, i * 3]::real[]::vector(3)"
        " FROM generate_series(1, 50) AS i;",
        role=owner, database=db,
    )
    return 50


def _refused(server: PostgresServer, statement: str, role: Credentials, database: str) -> str:
    result = server.run_psql(statement, role=role, database=database)
    assert result.returncode != 0, f"{role.user} was allowed: {statement}"
    return result.stderr


# --- the apply itself ------------------------------------------------------------------------

# The provider's GrantRole always revokes before it grants (grant_role.go:84-91): on a first apply
# PostgreSQL warns that there was nothing to revoke.
FIRST_GRANT_ROLE_WARNING = re.compile(
    r'role "ara_admin" has not been granted membership in role "ara_prod_(owner|app|backup)" by role "ara_admin"')


def _extension_view(warning: str) -> bool:
    # `ON ALL TABLES` also reaches pg_stat_statements' views, which a trusted extension leaves
    # owned by the bootstrap superuser; withRolesGranted skips superusers (helpers.go:166-175),
    # so PostgreSQL leaves those views alone. Nothing of the app's is affected.
    return 'relation "pg_stat_statements' in warning or warning.endswith(
        ('"pg_stat_statements"', '"pg_stat_statements_info"'))


def test_every_declared_postgres_resource_applies_without_drift_or_unexpected_warnings(prod, applied):
    declared = {r.name for r in prod.resources if r.type.startswith("postgresql:")}
    assert {a.name for a in applied} == declared
    assert len(declared) == 23
    # Any other WARNING is a GRANT/REVOKE that PostgreSQL skipped; drift is a diff on every refresh.
    unexpected = [
        (a.name, w) for a in applied for w in a.warnings
        if not (a.type == catalog.PG_GRANT_ROLE and FIRST_GRANT_ROLE_WARNING.fullmatch(w))
        and not (a.name in ("ara-db-app-tables", "ara-db-backup-tables") and _extension_view(w))
    ]
    assert unexpected == []
    assert [(a.name, a.drift) for a in applied if a.drift] == []


def _statements(applied: list[Applied], name: str) -> list[str]:
    """What the model sent for one resource, passwords masked, lock and timeout housekeeping left out."""
    record = next(a for a in applied if a.name == name)
    masked = [re.sub(r"PASSWORD '[^']*'", "PASSWORD '…'", s) for s in record.statements]
    return [s for s in masked if not s.startswith(("SET statement_timeout", "SELECT pg_advisory_xact_lock"))]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # resource_postgresql_role.go resourcePostgreSQLRoleCreate, setStatementTimeout, setIdleIn...
        ("ara-db-app", [
            'CREATE ROLE "ara_prod_app" WITH ENCRYPTED PASSWORD \'…\' VALID UNTIL \'infinity\' CONNECTION LIMIT 40'
            " NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT LOGIN NOBYPASSRLS NOREPLICATION",
            'ALTER ROLE "ara_prod_app" SET statement_timeout TO 30000',
            'ALTER ROLE "ara_prod_app" SET idle_in_transaction_session_timeout TO 60000',
        ]),
        # resource_postgresql_grant_role.go resourcePostgreSQLGrantRoleCreate
        ("ara-db-admin-owner-membership", ['REVOKE "ara_prod_owner" FROM "ara_admin"',
                                           'GRANT "ara_prod_owner" TO "ara_admin"']),
        # resource_postgresql_database.go createDatabase: already a member, so no temporary grant
        ("ara-db-database", ['CREATE DATABASE "ara_prod" OWNER "ara_prod_owner" TEMPLATE "template0" ENCODING \'UTF8\' '
                             " ALLOW_CONNECTIONS true CONNECTION LIMIT 52 IS_TEMPLATE false"]),
        # resource_postgresql_grant.go: database grants borrow no role (getRolesToGrant)
        ("ara-db-revoke-public-connect", ['REVOKE ALL PRIVILEGES ON DATABASE "ara_prod" FROM "public"']),
        ("ara-db-backup-connect", ['REVOKE ALL PRIVILEGES ON DATABASE "ara_prod" FROM "ara_prod_backup"',
                                   'GRANT CONNECT ON DATABASE "ara_prod" TO "ara_prod_backup"']),
        ("ara-db-backup-sequences", ['REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA "public" FROM "ara_prod_backup"',
                                     'GRANT SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "ara_prod_backup"']),
        # resource_postgresql_default_privileges.go revokeRoleDefaultPrivileges, grantRoleDefaultPrivileges
        ("ara-db-app-default-tables", [
            'ALTER DEFAULT PRIVILEGES FOR ROLE "ara_prod_owner" IN SCHEMA "public" REVOKE ALL ON TABLES'
            ' FROM "ara_prod_app"',
            'ALTER DEFAULT PRIVILEGES FOR ROLE "ara_prod_owner" IN SCHEMA "public" GRANT SELECT,INSERT,UPDATE,DELETE'
            ' ON TABLES TO "ara_prod_app"',
        ]),
    ],
)
def test_the_model_sends_the_provider_statements(applied, name, expected):
    assert _statements(applied, name) == expected


REFUSED = r"(permission denied to create extension|no schema has been selected to create in)"


def test_without_the_admin_membership_extensions_fail_and_database_grants_do_nothing(
    postgres_server: PostgresServer,
):
    # The design before the membership, on a database and roles of its own.
    capture = run_program("prod", {"appDirectory": APP_FIXTURE, "dbName": "ara_nomember"})
    membership = capture.one(catalog.PG_GRANT_ROLE, "ara-db-admin-owner-membership").name
    # Whichever extension the engine reaches first (siblings register in no fixed order) is refused:
    # for want of CREATE on the database, or, once PUBLIC's CREATE on schema public is revoked
    # first, for want of a schema the admin may create in. Either way the admin is not the owner.
    with pytest.raises(ProviderError, match=r'CREATE EXTENSION IF NOT EXISTS "(vector|pg_stat_statements)": '
                                            + REFUSED):
        apply_capture(capture, postgres_server, skip=[membership])
    # The engine goes on with what does not depend on the failed extension: the database grants.
    provider = ProviderModel(capture.one(catalog.PG_PROVIDER).plain, postgres_server)
    for extension in capture.of_type(catalog.PG_EXTENSION):
        with pytest.raises(ProviderError, match=REFUSED):
            provider.create(extension)
    revoke = provider.create(capture.one(catalog.PG_GRANT, "ara-db-revoke-public-connect"))
    assert "no privileges could be revoked" in " ".join(revoke.warnings)
    # The skipped REVOKE still writes the default ACL out, so the read-back sees PUBLIC's privileges.
    assert revoke.drift == "read back differs in privileges"
    assert sorted(revoke.state["privileges"]) == ["CONNECT", "TEMPORARY"]
    connect = provider.create(capture.one(catalog.PG_GRANT, "ara-db-app-connect"))
    assert connect.drift == "read back differs in privileges" and connect.state["privileges"] == []
    stranger = postgres_server.create_login_role("stranger_nomember")
    assert postgres_server.psql("SELECT current_database()", role=stranger, database="ara_nomember") == "ara_nomember"


# --- what the roles can and cannot do ----------------------------------------------------------

def test_both_extensions_exist(postgres_server: PostgresServer, db: str, owner: Credentials):
    installed = postgres_server.psql(
        "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname <> 'plpgsql'",
        role=owner, database=db,
    )
    assert installed == "pg_stat_statements,vector"


def test_only_the_owner_app_and_backup_roles_may_connect(postgres_server: PostgresServer, db: str, app: Credentials):
    acl = postgres_server.psql(f"SELECT datacl::text FROM pg_database WHERE datname = '{db}'", role=app, database=db)
    # The entries come in grant order, and sibling grants run in no fixed order.
    assert set(acl.strip("{}").split(",")) == {
        "ara_prod_owner=CTc/ara_prod_owner", "ara_prod_app=c/ara_prod_owner", "ara_prod_backup=c/ara_prod_owner"}
    stranger = postgres_server.create_login_role("someone_else")
    assert f'permission denied for database "{db}"' in _refused(postgres_server, "SELECT 1", stranger, db)
    # TEMP went with PUBLIC's privileges; the app was only given CONNECT.
    assert "permission denied to create temporary tables" in _refused(
        postgres_server, "CREATE TEMP TABLE t (x int)", app, db
    )


def test_app_reads_and_writes_rows_and_runs_a_nearest_neighbour_query(
    postgres_server: PostgresServer, db: str, app: Credentials, migrated: int
):
    out = postgres_server.psql(
        "INSERT INTO items (label, embedding) VALUES ('new', '[100,200,300]') RETURNING id;"
        "UPDATE items SET label = 'renamed' WHERE label = 'new';"
        "SELECT label FROM items ORDER BY embedding <-> '[99,199,299]' LIMIT 1;"
        "DELETE FROM items WHERE label = 'renamed' RETURNING label;",
        role=app, database=db,
    ).splitlines()
    assert out[0] == str(migrated + 1)  # the bigserial sequence is usable by the app
    assert out[1:] == ["renamed", "renamed"]


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("DROP TABLE items", "must be owner of table items"),
        ("TRUNCATE items", "permission denied for table items"),
        ("ALTER TABLE items ADD COLUMN x int", "must be owner of table items"),
        ("CREATE TABLE public.t (x int)", "permission denied for schema public"),
        ("CREATE ROLE intruder", "permission denied to create role"),
        ("CREATE DATABASE intruder", "permission denied to create database"),
    ],
)
def test_app_cannot_change_the_schema_or_make_roles_or_databases(
    postgres_server: PostgresServer, db: str, app: Credentials, migrated: int, statement: str, error: str
):
    assert error in _refused(postgres_server, statement, app, db)


def test_app_timeouts_are_in_effect_as_role_defaults(postgres_server: PostgresServer, db: str, app: Credentials):
    settings = postgres_server.psql(
        "SELECT string_agg(name || '=' || setting || ':' || source, ' ' ORDER BY name) FROM pg_settings"
        " WHERE name IN ('statement_timeout', 'idle_in_transaction_session_timeout')",
        role=app, database=db,
    )
    assert settings == "idle_in_transaction_session_timeout=60000:user statement_timeout=30000:user"
    # A default, not a limit: the app may lift it for its own session (docs/explanation/database-design.md).
    assert postgres_server.psql("SET statement_timeout = 0; SHOW statement_timeout", role=app, database=db) == "0"


def test_idle_in_transaction_session_is_ended_by_the_server(postgres_server: PostgresServer, db: str,
                                                             app: Credentials):
    # The role default is 60 s; the mechanism is the same at 300 ms.
    with psycopg.connect(postgres_server.url(app, db)) as conn:
        conn.execute("SET idle_in_transaction_session_timeout = 300")
        conn.execute("SELECT 1")  # opens the transaction
        conn.execute("SELECT pg_sleep(0)")  # still inside it
        time.sleep(0.8)
        with pytest.raises(psycopg.Error, match="idle-in-transaction timeout"):
            conn.execute("SELECT 1")


def test_admin_owner_and_backup_connect_while_the_app_holds_all_its_connections(
    prod, postgres_server: PostgresServer, db: str, app: Credentials, owner: Credentials, backup: Credentials
):
    limit = int(prod.one(catalog.PG_ROLE, "ara-db-app").plain["connectionLimit"])
    held: list[psycopg.Connection] = []
    try:
        for _ in range(limit):
            held.append(psycopg.connect(postgres_server.url(app, db), autocommit=True))
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            psycopg.connect(postgres_server.url(app, db)).close()
        for role in (postgres_server.admin, owner, backup):
            assert postgres_server.psql("SELECT current_user", role=role, database=db) == role.user
    finally:
        for conn in held:
            conn.close()


# --- backups ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dump(tmp_path_factory, postgres_server: PostgresServer, db: str, backup: Credentials, migrated: int) -> Iterator:
    path = tmp_path_factory.mktemp("dump") / f"{db}.dump"
    result = postgres_server.pg_dump("-Fc", "-f", str(path), role=backup, database=db)
    assert result.returncode == 0, result.stderr
    yield path


def test_backup_role_dumps_the_database_but_cannot_write(
    postgres_server: PostgresServer, db: str, backup: Credentials, dump
):
    assert dump.stat().st_size > 0
    assert "permission denied for table items" in _refused(postgres_server, "DELETE FROM items", backup, db)
    assert "permission denied for sequence items_id_seq" in _refused(
        postgres_server, "SELECT nextval('items_id_seq')", backup, db
    )


def test_dump_restores_into_a_fresh_database_with_matching_row_counts(
    postgres_server: PostgresServer, db: str, owner: Credentials, dump
):
    fresh = f"{db}_restore"
    # The admin creates it for the owner (it is a member); the owner restores, as a restore drill would.
    postgres_server.psql(f"CREATE DATABASE {fresh} OWNER {owner.user} TEMPLATE template0", role=postgres_server.admin)
    # Neither extension is trusted: the admin (the platform's privileged role) creates them first, as
    # docs/how-to/runbooks/rollback.md says; the dump's `CREATE EXTENSION IF NOT EXISTS` then no-ops, and its
    # COMMENT ON EXTENSION (the admin's extensions) is left out (audit B7).
    postgres_server.psql("CREATE EXTENSION vector; CREATE EXTENSION pg_stat_statements",
                         role=postgres_server.admin, database=fresh)
    result = postgres_server.pg_restore("--no-owner", "--no-comments", "--exit-on-error", str(dump), role=owner,
                                        database=fresh)
    assert result.returncode == 0, result.stderr
    count = "SELECT count(*) FROM items"
    assert (postgres_server.psql(count, role=owner, database=fresh)
            == postgres_server.psql(count, role=owner, database=db))
    nearest = "SELECT label FROM items ORDER BY embedding <-> '[3,6,9]' LIMIT 1"
    assert postgres_server.psql(nearest, role=owner, database=fresh) == "item 3"



# --- rollback step 1: stop the app's writes through config ------------------------------------

def test_a_connection_limit_of_0_through_config_refuses_the_apps_new_sessions(
    postgres_server: PostgresServer, db: str, app: Credentials
):
    # docs/how-to/runbooks/rollback.md, "Data", step 1: `pulumi config set dbConnectionLimit 0` then `up`.
    declared = run_program("prod", {"dbConnectionLimit": 0}).one(catalog.PG_ROLE, "ara-db-app").plain
    assert declared["connectionLimit"] == 0
    # What the provider's update runs for it (terraform-provider-postgresql resource_postgresql_role.go
    # setRoleConnLimit: ALTER ROLE ... CONNECTION LIMIT n), as the admin.
    postgres_server.psql(f'ALTER ROLE "{app.user}" CONNECTION LIMIT 0', role=postgres_server.admin, database=db)
    try:
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            psycopg.connect(postgres_server.url(app, db)).close()
    finally:
        limit = run_program("prod").one(catalog.PG_ROLE, "ara-db-app").plain["connectionLimit"]
        postgres_server.psql(f'ALTER ROLE "{app.user}" CONNECTION LIMIT {int(limit)}', role=postgres_server.admin,
                             database=db)
    assert postgres_server.psql("SELECT current_user", role=app, database=db) == app.user
