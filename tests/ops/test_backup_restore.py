"""Backup → bucket → restore into a fresh database, against real PostgreSQL 18 and a real S3 API."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest

from ops import backup, store
from tests.ops.conftest import SourceDb, TargetDb, backup_env, make_source, objects, run_ops
from tests.realservers.postgres import PostgresServer
from tests.realservers.s3 import S3Server

# Real servers (PostgreSQL, S3) or subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow

KEY = re.compile(r"^postgres/ara_src/\d{4}/\d{2}/\d{2}/ara_src-\d{8}T\d{6}Z\.dump$")


def schema(server: PostgresServer, database: str) -> list[str]:
    """The schema as pg_dump prints it, without ownership, privileges and per-run tokens."""
    result = server.pg_dump("--schema-only", "--no-owner", "--no-privileges", role=server.superuser, database=database)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines()
            if line and not line.startswith(("--", "\\restrict", "\\unrestrict"))]


def table_digests(server: PostgresServer, database: str) -> dict[str, str]:
    tables = server.psql("SELECT string_agg(format('%I', tablename), ',' ORDER BY tablename) FROM pg_tables "
                         "WHERE schemaname = 'public'", role=server.superuser, database=database).split(",")
    return {t: server.psql(f"SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') "
                           f"FROM {t} x", role=server.superuser, database=database) for t in tables}


def secrets_of(*values: str) -> list[str]:
    return [v for v in values if v]


def assert_no_secret(output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in output


def test_backup_then_restore_into_a_fresh_database_gives_equal_schema_and_rows(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb,
        fresh_db: TargetDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    done = run_ops("backup", env=env)
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    assert KEY.match(key)
    assert objects(s3_server, s3_bucket) == [key]
    head = s3_server.client().head_object(Bucket=s3_bucket, Key=key)
    body = s3_server.client().get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert store.metadata(head)["sha256"] == hashlib.sha256(body).hexdigest()
    assert body[:5] == b"PGDMP"  # pg_dump's custom format

    restored = run_ops("restore", "--into", fresh_db.url, env=env)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip().splitlines()[-1] == key
    assert "4 tables, 1503 rows, row counts match the dump" in restored.stderr
    assert "pulumi up" in restored.stderr  # what to re-apply: the database ACL is not in a dump
    assert schema(postgres_server, fresh_db.name) == schema(postgres_server, source_db.name)
    assert table_digests(postgres_server, fresh_db.name) == table_digests(postgres_server, source_db.name)
    # --no-owner: everything belongs to the role that restored.
    owners = postgres_server.psql(
        "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'",
        role=postgres_server.superuser, database=fresh_db.name)
    assert owners == fresh_db.role.user
    everything = done.stdout + done.stderr + restored.stdout + restored.stderr
    assert_no_secret(everything, source_db.backup.password, fresh_db.role.password, s3_server.secret_access_key)


def test_restore_without_a_key_takes_the_newest_dump(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb,
        fresh_db: TargetDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)

    def quiet(_msg: str) -> None:
        pass

    older = backup.run(env, now=datetime(2026, 11, 30, 3, 0, tzinfo=UTC), log=quiet)
    newer = backup.run(env, now=datetime(2026, 12, 1, 3, 0, tzinfo=UTC), log=quiet)
    assert older < newer
    restored = run_ops("restore", "--into", fresh_db.url, env=env)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip().splitlines()[-1] == newer


def test_restore_of_a_named_key_restores_that_dump(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, fresh_db: TargetDb) -> None:
    small = make_source(postgres_server, "ara_small", "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2);")
    env = backup_env(s3_server, s3_bucket, small.backup_url)
    key = backup.run(env, now=datetime(2026, 1, 1, tzinfo=UTC), log=lambda _m: None)
    backup.run(env, now=datetime(2026, 6, 1, tzinfo=UTC), log=lambda _m: None)
    postgres_server.psql("INSERT INTO t VALUES (3)", role=small.owner, database="ara_small")
    restored = run_ops("restore", "--into", fresh_db.url, "--key", key, env=env)
    assert restored.returncode == 0, restored.stderr
    assert postgres_server.psql("SELECT count(*) FROM t", role=fresh_db.role, database=fresh_db.name) == "2"


def test_an_existing_key_is_never_overwritten(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    when = datetime(2026, 3, 1, tzinfo=UTC)
    key = backup.run(env, now=when, log=lambda _m: None)
    before = s3_server.client().head_object(Bucket=s3_bucket, Key=key)["ETag"]
    with pytest.raises(store.StorageError, match="already exists"):
        backup.run(env, now=when, log=lambda _m: None)
    assert s3_server.client().head_object(Bucket=s3_bucket, Key=key)["ETag"] == before


def test_restore_refuses_the_live_database(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    # The owner's URL names the same database as DATABASE_URL (the backup role's): refused.
    owner_url = postgres_server.url(source_db.owner, source_db.name)
    refused = run_ops("restore", "--into", owner_url, env=env)
    assert refused.returncode == 2
    assert "is DATABASE_URL's database" in refused.stderr
    assert_no_secret(refused.stdout + refused.stderr, source_db.owner.password, source_db.backup.password)


def test_restore_refuses_the_dump_source_even_without_database_url(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str) -> None:
    # An empty source database passes the emptiness check, so only the dump's recorded source stops it.
    empty = make_source(postgres_server, "ara_empty_src", "SELECT 1;")
    env = backup_env(s3_server, s3_bucket, empty.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    no_live = {k: v for k, v in env.items() if k != "DATABASE_URL"}
    refused = run_ops("restore", "--into", postgres_server.url(empty.owner, empty.name), env=no_live)
    assert refused.returncode == 2
    assert "the database this dump was taken from" in refused.stderr


def test_restore_refuses_a_database_that_is_not_empty(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb,
        fresh_db: TargetDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    postgres_server.psql("CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (42)",
                         role=fresh_db.role, database=fresh_db.name)
    refused = run_ops("restore", "--into", fresh_db.url, env=env)
    assert refused.returncode == 2
    assert "is not empty" in refused.stderr
    assert postgres_server.psql("SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'",
                                role=fresh_db.role, database=fresh_db.name) == "keep_me"


def test_a_dump_whose_bytes_changed_in_the_bucket_is_not_restored(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb,
        fresh_db: TargetDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    key = run_ops("backup", env=env).stdout.strip().splitlines()[-1]
    # Rewrite the object through the S3 API, keeping its metadata (a bit flip, a bad copy).
    client = s3_server.client()
    head = client.head_object(Bucket=s3_bucket, Key=key)
    body = bytearray(client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0xFF
    client.put_object(Bucket=s3_bucket, Key=key, Body=bytes(body), Metadata=store.metadata(head))
    refused = run_ops("restore", "--into", fresh_db.url, "--key", key, env=env)
    assert refused.returncode == 1
    assert "do not match the sha256 recorded at backup" in refused.stderr
    assert postgres_server.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                                role=fresh_db.role, database=fresh_db.name) == "0"


def test_restore_from_an_empty_bucket_says_there_is_no_dump(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb, fresh_db: TargetDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    refused = run_ops("restore", "--into", fresh_db.url, env=env)
    assert refused.returncode == 4
    assert f"no dump under postgres/ara_src/ in bucket '{s3_bucket}'" in refused.stderr


def test_restore_without_privileges_needs_none_of_the_source_roles(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb,
        fresh_db: TargetDb) -> None:
    # The restore drill's throwaway server has none of production's roles: --no-privileges.
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    restored = run_ops("restore", "--into", fresh_db.url, "--no-privileges", env=env)
    assert restored.returncode == 0, restored.stderr
    grants = postgres_server.psql(
        "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = "
        f"'{source_db.backup.user}' AND table_catalog = current_database()",
        role=postgres_server.superuser, database=fresh_db.name)
    assert grants == "0"


def test_list_shows_dumps_newest_first_with_their_sizes(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    keys = [backup.run(env, now=datetime(2026, 5, day, tzinfo=UTC), log=lambda _m: None) for day in (3, 1, 2)]
    s3_server.client().put_object(Bucket=s3_bucket, Key="postgres/notes.txt", Body=b"not a dump")
    listed = run_ops("list", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [key for key, _ in rows] == sorted(keys, reverse=True)
    head = s3_server.client().head_object(Bucket=s3_bucket, Key=rows[0][0])
    assert int(rows[0][1]) == head["ContentLength"]


def test_a_restore_that_fails_at_the_end_leaves_the_target_empty(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, fresh_db: TargetDb) -> None:
    # The dump grants to a role that is gone by restore time: the GRANT (restored last) fails,
    # and the single transaction takes the tables and rows restored before it back out.
    src = make_source(postgres_server, "ara_grants", "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2);")
    postgres_server.psql("CREATE ROLE gone_reader", role=postgres_server.superuser)
    postgres_server.psql("GRANT SELECT ON t TO gone_reader", role=src.owner, database=src.name)
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    postgres_server.psql("REVOKE SELECT ON t FROM gone_reader", role=src.owner, database=src.name)
    postgres_server.psql("DROP ROLE gone_reader", role=postgres_server.superuser)

    failed = run_ops("restore", "--into", fresh_db.url, env=env)
    assert failed.returncode == 4
    assert "pg_restore failed" in failed.stderr and 'role "gone_reader" does not exist' in failed.stderr
    assert postgres_server.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                                role=fresh_db.role, database=fresh_db.name) == "0"
    # Without the dump's privileges the same dump restores.
    restored = run_ops("restore", "--into", fresh_db.url, "--no-privileges", env=env)
    assert restored.returncode == 0, restored.stderr
    assert postgres_server.psql("SELECT count(*) FROM t", role=fresh_db.role, database=fresh_db.name) == "2"


def test_restore_refuses_the_live_database_under_another_host_name(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    other_name = postgres_server.url(source_db.owner, source_db.name).replace("127.0.0.1", "localhost")
    refused = run_ops("restore", "--into", other_name, env=env)
    assert refused.returncode == 2
    assert "is DATABASE_URL's database" in refused.stderr
