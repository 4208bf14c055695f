"""Backup and the rollback runbook's restore on the prod stack's own database, as declared.

The prod program's postgresql resources are applied to a real PostgreSQL 18 server the way the
pinned provider applies them (tests/database_real/provider_model.py, with its citations); then
`ops backup` runs as the declared read-only backup role, and docs/how-to/runbooks/rollback.md's data
restore runs as written: step 2's admin commands are read from the runbook and run as the
non-superuser admin (a member of the platform's privileged role: the database, then both
extensions, neither of which is trusted), `ops restore` as the owner, the swap by the admin.
Its own server: the roles and database are prod's names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from infra import catalog
from tests.database_real.provider_model import apply_capture
from tests.ops.conftest import backup_env, objects, run_ops
from tests.realservers.postgres import Credentials, PostgresServer, start_postgres
from tests.realservers.s3 import S3Server
from tests.support import ROOT

RUNBOOK = ROOT / "docs" / "how-to" / "runbooks" / "rollback.md"
SWAP = re.compile(r"<<'SQL'\n(?P<sql>.*?)\nSQL\n", re.S)
ADMIN_PSQL = re.compile(r'^"\$PGBIN/psql" "\$ADMIN_URL/(?P<database>[^?"]+)\?[^"]*"(?P<commands>.*)$')


def runbook_admin_steps() -> list[tuple[str, str]]:
    """(database, SQL) of every psql command in rollback.md's data-restore step 2, in order."""
    text = RUNBOOK.read_text()
    step = text[text.index("2. As admin, create an empty database"):text.index("3. Pick the dump")]
    steps = []
    for line in step.splitlines():
        match = ADMIN_PSQL.match(line.strip())
        if match:
            steps += [(match.group("database"), sql) for sql in re.findall(r"-c '([^']*)'", match.group("commands"))]
    return steps

def runbook_swap() -> str:
    """The SQL of rollback.md's step 4, as written."""
    text = RUNBOOK.read_text()
    step = text[text.index("4. Swap the databases"):text.index("5. Re-apply the program")]
    (sql,) = [m.group("sql") for m in SWAP.finditer(step)]
    return sql


# Real servers (PostgreSQL, S3) or subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow


def _role(capture, name: str) -> Credentials:
    props = capture.one(catalog.PG_ROLE, name).plain
    return Credentials(user=props["name"], password=props["password"])


@pytest.fixture(scope="module")
def prod_server(prod) -> Iterator[PostgresServer]:
    with start_postgres() as server:
        apply_capture(prod, server)
        owner = _role(prod, "ara-db-owner")
        # What a migration does, as the owner role.
        server.psql("CREATE TABLE items (id bigserial PRIMARY KEY, label text NOT NULL, embedding vector(3));"
                    "CREATE INDEX items_embedding ON items USING hnsw (embedding vector_l2_ops);"
                    "INSERT INTO items (label, embedding) SELECT 'item ' || i, ARRAY[i, i, i]::real[]::vector(3)"
                    " FROM generate_series(1, 40) AS i", role=owner, database="ara_prod")
        yield server


def test_backup_as_the_declared_backup_role_then_the_runbooks_restore_and_swap(
        prod, prod_server: PostgresServer, s3_server: S3Server, s3_bucket: str) -> None:
    pg = prod_server
    owner, app, backup = _role(prod, "ara-db-owner"), _role(prod, "ara-db-app"), _role(prod, "ara-db-backup")
    env = backup_env(s3_server, s3_bucket, pg.url(backup, "ara_prod"))
    done = run_ops("backup", env=env)
    assert done.returncode == 0, done.stderr
    assert objects(s3_server, s3_bucket) == [done.stdout.strip().splitlines()[-1]]

    # rollback.md, step 2, as written: the database, then the extensions, by the admin.
    steps = runbook_admin_steps()
    assert steps == [("postgres", "CREATE DATABASE ara_prod_restore OWNER ara_prod_owner"),
                     ("ara_prod_restore", "CREATE EXTENSION vector"),
                     ("ara_prod_restore", "CREATE EXTENSION pg_stat_statements")]
    for database, sql in steps:
        pg.psql(sql, role=pg.admin, database=database)
    # Step 4 refuses a database ops has not marked verified, and changes nothing.
    refused = pg.run_psql(runbook_swap(), role=pg.admin)
    assert "ara_prod_restore is not marked verified by ops restore" in refused.stderr
    assert pg.psql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'ara_prod%'",
                   role=pg.admin) == "ara_prod,ara_prod_restore"
    # Step 3: restore as the owner role; DATABASE_URL (the backup role's) names the live database.
    restored = run_ops("restore", "--into", pg.url(owner, "ara_prod_restore"), env=env)
    assert restored.returncode == 0, restored.stderr
    assert "1 tables, 40 rows, row counts match the dump" in restored.stderr
    # The dump does not carry the database ACL: PUBLIC may connect to the restored database
    # until the program is re-applied (what restore tells the operator).
    acl = "SELECT coalesce(datacl::text, 'default') FROM pg_database WHERE datname = '{}'"
    assert pg.psql(acl.format("ara_prod_restore"), role=pg.admin) == "default"
    assert "=Tc/" not in pg.psql(acl.format("ara_prod"), role=pg.admin)
    assert "pulumi up" in restored.stderr

    # Step 4 as written: the swap in one transaction, by the non-superuser admin (a member of the owner role).
    swapped = pg.run_psql(runbook_swap(), role=pg.admin)
    assert swapped.returncode == 0, swapped.stderr
    assert pg.psql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'ara_prod%'",
                   role=pg.admin) == "ara_prod,ara_prod_broken_20261201"
    # The table grants came with the dump: the app and backup roles work on the restored data.
    assert pg.psql("SELECT count(*) FROM items", role=app, database="ara_prod") == "40"
    assert pg.psql("INSERT INTO items (label) VALUES ('after restore') RETURNING id", role=app,
                   database="ara_prod") == "41"
    assert pg.psql("SELECT count(*) FROM items", role=backup, database="ara_prod") == "41"


def test_without_the_admins_extensions_the_restore_names_them_and_who_must_create_them(
        prod, prod_server: PostgresServer, s3_server: S3Server, s3_bucket: str) -> None:
    # Audit B7: the owner role may not create either extension (neither is trusted), so a restore
    # that relied on the dump's CREATE EXTENSION would roll back whole on a managed server.
    pg = prod_server
    owner, backup = _role(prod, "ara-db-owner"), _role(prod, "ara-db-backup")
    env = backup_env(s3_server, s3_bucket, pg.url(backup, "ara_prod"))
    assert run_ops("backup", env=env).returncode == 0
    pg.psql("CREATE DATABASE ara_prod_no_ext OWNER ara_prod_owner", role=pg.admin)
    for extension in ("vector", "pg_stat_statements"):
        refused = pg.run_psql(f"CREATE EXTENSION {extension}", role=owner, database="ara_prod_no_ext")
        assert "Must be superuser to create this extension" in refused.stderr

    result = run_ops("restore", "--into", pg.url(owner, "ara_prod_no_ext"), env=env)
    assert result.returncode == 2, result.stderr
    needs = "lacks extensions the dump needs: pg_stat_statements (schema public), vector (schema public)"
    assert needs in result.stderr
    assert "dbAdminUser" in result.stderr and "rollback.md step 2" in result.stderr
    assert pg.psql("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace",
                   role=owner, database="ara_prod_no_ext") == "0"
    # One extension is not enough either.
    pg.psql("CREATE EXTENSION vector", role=pg.admin, database="ara_prod_no_ext")
    again = run_ops("restore", "--into", pg.url(owner, "ara_prod_no_ext"), env=env)
    assert again.returncode == 2
    assert "lacks extensions the dump needs: pg_stat_statements (schema public)." in again.stderr


def test_the_runbooks_parallel_restore_as_the_owner_holds_prods_database_and_verifies(
        prod, prod_server: PostgresServer, s3_server: S3Server, s3_bucket: str) -> None:
    # rollback.md step 3 with --jobs: the owner role owns prod's database too, so ops holds it open
    # with the backup role (DATABASE_URL, from --stack) while pg_restore runs outside a transaction.
    pg = prod_server
    owner, backup = _role(prod, "ara-db-owner"), _role(prod, "ara-db-backup")
    env = backup_env(s3_server, s3_bucket, pg.url(backup, "ara_prod"))
    assert run_ops("backup", env=env).returncode == 0
    # Each database the owner owns takes one of the backup role's 2 connections while it is held:
    # what the other tests left (a broken copy kept after a swap, a database without extensions)
    # is one too many, and refused before anything is downloaded.
    pg.psql("CREATE DATABASE ara_prod_parallel OWNER ara_prod_owner", role=pg.admin)
    for name in ("ara_prod_leftover_1", "ara_prod_leftover_2"):
        pg.psql(f"CREATE DATABASE {name} OWNER ara_prod_owner", role=pg.admin)
    owned = int(pg.psql("SELECT count(*) FROM pg_database WHERE datdba = 'ara_prod_owner'::regrole", role=pg.admin))
    crowded = run_ops("restore", "--into", pg.url(owner, "ara_prod_parallel"), "--jobs", "2", env=env)
    assert crowded.returncode == 2, crowded.stderr
    assert f"takes {owned - 1} session(s) of DATABASE_URL's role ara_prod_backup, which allows 2" in crowded.stderr
    assert "downloaded" not in crowded.stderr
    # rollback.md step 6: what is no longer needed is dropped, as admin.
    for name in ("ara_prod_leftover_1", "ara_prod_leftover_2", "ara_prod_no_ext"):
        pg.psql(f"DROP DATABASE IF EXISTS {name}", role=pg.admin)
    pg.psql("CREATE EXTENSION vector; CREATE EXTENSION pg_stat_statements", role=pg.admin, database="ara_prod_parallel")
    # The owner's connection limit (5) leaves room for 4 jobs and the clean-up.
    too_many = run_ops("restore", "--into", pg.url(owner, "ara_prod_parallel"), "--jobs", "5", env=env)
    assert too_many.returncode == 2 and "use --jobs 4 or fewer" in too_many.stderr
    restored = run_ops("restore", "--into", pg.url(owner, "ara_prod_parallel"), "--jobs", "4",
                       "--maintenance-work-mem", "64MB", env=env)
    assert restored.returncode == 0, restored.stderr
    assert "holding ara_prod" in restored.stderr and f"open as {backup.user}" in restored.stderr
    assert "row counts match the dump; marked verified" in restored.stderr
    assert pg.psql("SELECT shobj_description(oid, 'pg_database') LIKE 'ara-ops: restore verified:%' FROM pg_database "
                   "WHERE datname = 'ara_prod_parallel'", role=pg.admin) == "t"
