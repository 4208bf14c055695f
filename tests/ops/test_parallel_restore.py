"""`ops restore --jobs N` (issue 20, item 2): pg_restore in parallel into the fresh database, still
all or nothing, against the real PostgreSQL 18 and S3 servers. A restore that fails half-way, is
interrupted, or meets a dump that tries DROP DATABASE leaves no database behind, no session and no
process; every check of the one-transaction restore still applies."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ops import store
from tests.ops.conftest import (
    SourceDb,
    TargetDb,
    backup_env,
    make_source,
    make_target,
    processes_mentioning,
    run_ops,
)
from tests.ops.test_backup_restore import schema, table_digests
from tests.ops.test_hostile_dumps import SUSPECT, copy_to_program_schema
from tests.realservers.postgres import PostgresServer
from tests.realservers.s3 import S3Server
from tests.support import ROOT

# Real servers (PostgreSQL, S3) or subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow

RESTORE_SESSIONS = "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'ara-ops-restore-%'"


def slow_tables(database: str, tables: int, rows: int, delay: float, fail_at: int | None = None) -> str:
    """`tables` tables whose rows each sleep on the server when restored elsewhere, so several
    workers are busy at once; with `fail_at`, one more table whose row `fail_at` is refused there."""
    sql = f"""
CREATE FUNCTION slow_ok(v int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF current_database() <> '{database}' THEN PERFORM pg_sleep({delay}); END IF;
  RETURN true;
END $$;
CREATE FUNCTION fails_at(v int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF current_database() <> '{database}' THEN
    PERFORM pg_sleep({delay});
    IF v = {fail_at or 0} THEN RAISE EXCEPTION 'row % refused by the target', v; END IF;
  END IF;
  RETURN true;
END $$;
"""
    for i in range(tables):
        sql += (f"CREATE TABLE slow_{i} (v int CHECK (slow_ok(v))); "
                f"INSERT INTO slow_{i} SELECT generate_series(1, {rows});\n")
    if fail_at:
        sql += (f"CREATE TABLE failing (v int CHECK (fails_at(v))); "
                f"INSERT INTO failing SELECT generate_series(1, {rows});\n")
    return sql


def database_exists(server: PostgresServer, name: str) -> bool:
    return server.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'", role=server.superuser) == "1"


def comment_of(server: PostgresServer, name: str) -> str:
    return server.psql(f"SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
                       f"WHERE datname = '{name}'", role=server.superuser)


def assert_nothing_left(server: PostgresServer, target: TargetDb, ops_tmp: Path) -> None:
    assert not database_exists(server, target.name), "the half-restored database is still there"
    assert server.psql(RESTORE_SESSIONS, role=server.superuser) == "0", "a restore session is still running"
    assert processes_mentioning(str(ops_tmp)) == {}, "a pg_restore process is still running"
    assert list(ops_tmp.iterdir()) == [], "ops left files behind"


def test_a_parallel_restore_gives_the_same_schema_and_rows_and_marks_the_database_verified(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb,
        fresh_db: TargetDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    key = run_ops("backup", env=env).stdout.strip().splitlines()[-1]
    restored = run_ops("restore", "--into", fresh_db.url, "--jobs", "3", "--maintenance-work-mem", "128MB", env=env)
    assert restored.returncode == 0, restored.stderr
    assert "(3 jobs in parallel; not one transaction: a failure discards the database)" in restored.stderr
    assert "4 tables, 1503 rows, row counts match the dump; marked verified" in restored.stderr
    assert re.search(r"restore timing: pg_restore \d+\.\d s \(3 jobs\), row counts \d+\.\d s", restored.stderr)
    assert schema(postgres_server, fresh_db.name) == schema(postgres_server, source_db.name)
    assert table_digests(postgres_server, fresh_db.name) == table_digests(postgres_server, source_db.name)
    comment = comment_of(postgres_server, fresh_db.name)
    assert comment.startswith(f"ara-ops: restore verified: {key}, 4 tables, 1503 rows"), comment


def test_a_parallel_restore_that_fails_half_way_leaves_no_database_session_or_process(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, ops_tmp: Path) -> None:
    src = make_source(postgres_server, "ara_par_fail", slow_tables("ara_par_fail", 3, 40, 0.05, fail_at=20),
                      extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    target = make_target(postgres_server, ())
    result = run_ops("restore", "--into", target.url, "--jobs", "3", env={**env, "TMPDIR": str(ops_tmp)})
    assert result.returncode == 4, result.stderr
    assert "row 20 refused by the target" in result.stderr
    assert f"the database {target.name} was dropped: recreate it empty (rollback.md step 2) to retry" in result.stderr
    assert_nothing_left(postgres_server, target, ops_tmp)


def test_a_parallel_restore_whose_rows_differ_from_the_dump_is_not_kept(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, ops_tmp: Path) -> None:
    # Outside its source, each row of `eater` empties `kept`: pg_restore succeeds, the row counts
    # do not match, and a database that did not verify is never left to be promoted.
    name = "ara_par_rows"
    src = make_source(postgres_server, name, f"""
CREATE TABLE kept (v int); INSERT INTO kept SELECT generate_series(1, 5);
CREATE FUNCTION eats_kept(v int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF current_database() <> '{name}' THEN PERFORM pg_sleep(0.05); DELETE FROM public.kept; END IF;
  RETURN true;
END $$;
CREATE TABLE eater (v int CHECK (eats_kept(v))); INSERT INTO eater SELECT generate_series(1, 40);
""", extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    target = make_target(postgres_server, ())
    result = run_ops("restore", "--into", target.url, "--jobs", "2", env={**env, "TMPDIR": str(ops_tmp)})
    assert result.returncode == 1, result.stderr
    assert "row counts differ from the dump:\n  public.kept: dump 5, restored 0" in result.stderr
    assert f"the database {target.name} was dropped" in result.stderr
    assert_nothing_left(postgres_server, target, ops_tmp)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_parallel_restore_stops_its_workers_and_drops_the_database(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, ops_tmp: Path, sig: int) -> None:
    name = f"ara_par_{sig.name.lower()}"
    src = make_source(postgres_server, name, slow_tables(name, 3, 150, 0.2), extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    target = make_target(postgres_server, ())
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(ROOT),
            "TMPDIR": str(ops_tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "ops", "restore", "--into", target.url, "--jobs", "3"], cwd=ROOT,
                            env={**base, **env}, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    busy = RESTORE_SESSIONS + f" AND datname = '{target.name}' AND state = 'active'"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if int(postgres_server.psql(busy, role=postgres_server.superuser)) >= 2:
            break
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the ~30 s each worker would otherwise keep loading
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; the restore's server sessions were ended before exit" in err
    assert f"the database {target.name} was dropped" in err and out == ""
    # Checked the moment ops has exited: nothing keeps running on the server or the machine.
    assert_nothing_left(postgres_server, target, ops_tmp)


def test_a_hostile_dump_restored_in_parallel_is_refused_by_privilege_and_dropped(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, ops_tmp: Path,
        marker_dir: Path) -> None:
    src = make_source(postgres_server, "ara_par_hostile", copy_to_program_schema("ara_par_hostile", marker_dir),
                      extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    target = make_target(postgres_server, ())
    result = run_ops("restore", "--into", target.url, "--jobs", "2", env={**env, "TMPDIR": str(ops_tmp)})
    assert result.returncode == 4, result.stderr
    assert "permission denied to COPY to or from an external program" in result.stderr and SUSPECT in result.stderr
    assert list(marker_dir.iterdir()) == [], "a program from the dump ran"
    assert_nothing_left(postgres_server, target, ops_tmp)


# --- a dump's DROP DATABASE, which only a transaction refuses ----------------------------------

def drop_database_dump(server: PostgresServer, s3: S3Server, bucket: str, victim: str, workdir: Path) -> str:
    """A dump whose one statement, sent outside any transaction, is `DROP DATABASE victim`: what
    anyone who can write the bucket can upload (pg_dump's archive with a comment's SQL rewritten
    in place, same length, so the archive stays valid), with the sha256 metadata ops checks."""
    database = f"ara_crafted_{secrets.token_hex(3)}"
    server.psql(f'CREATE DATABASE "{database}"', role=server.superuser)
    server.psql("CREATE TABLE d (v int); INSERT INTO d VALUES (1); COMMENT ON TABLE d IS '" + "x" * 60 + "'",
                role=server.superuser, database=database)
    path = workdir / "crafted.dump"
    assert server.pg_dump("--format=custom", f"--file={path}", role=server.superuser, database=database).returncode == 0
    raw = path.read_bytes()
    comment = re.search(rb"COMMENT ON TABLE public\.d IS 'x+';\n", raw).group(0)
    statement = f"DROP DATABASE {victim} WITH (FORCE);".encode()
    path.write_bytes(raw.replace(comment, statement.ljust(len(comment) - 1) + b"\n"))
    key = store.dump_key(database, datetime.now(UTC))
    store.Store(store.bucket_from_env(s3.env(bucket))).upload(
        key, path, sha256=store.file_sha256(path), meta={store.META_SOURCE: f"{server.host}:{server.port}/{database}"})
    return key


@pytest.fixture
def live_and_target(postgres_server: PostgresServer) -> tuple[SourceDb, TargetDb]:
    """A live database and a fresh one, both owned by the same owner role: rollback.md's layout."""
    live = make_source(postgres_server, f"ara_live_{secrets.token_hex(3)}",
                       "CREATE TABLE keep (x int); INSERT INTO keep VALUES (1);", extensions=())
    name = f"{live.name}_restore"
    postgres_server.psql(f'CREATE DATABASE "{name}" OWNER "{live.owner.user}"', role=postgres_server.superuser)
    return live, TargetDb(name=name, role=live.owner, url=postgres_server.url(live.owner, name))


def test_a_dumps_drop_database_of_the_live_database_fails_while_ops_holds_it_open(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, tmp_path: Path, ops_tmp: Path,
        live_and_target: tuple[SourceDb, TargetDb]) -> None:
    live, target = live_and_target
    key = drop_database_dump(postgres_server, s3_server, s3_bucket, live.name, tmp_path)
    env = {**s3_server.env(s3_bucket), "DATABASE_URL": live.backup_url, "TMPDIR": str(ops_tmp)}
    result = run_ops("restore", "--into", target.url, "--key", key, "--jobs", "2", env=env)
    assert result.returncode == 4, result.stderr
    assert f"holding {live.name} open as {live.backup.user} while pg_restore runs" in result.stderr
    assert "permission denied to terminate process" in result.stderr
    assert database_exists(postgres_server, live.name)
    assert postgres_server.psql("SELECT count(*) FROM keep", role=live.owner, database=live.name) == "1"
    assert_nothing_left(postgres_server, target, ops_tmp)


def test_without_a_session_to_hold_the_live_database_jobs_are_refused_before_any_download(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, tmp_path: Path,
        live_and_target: tuple[SourceDb, TargetDb]) -> None:
    live, target = live_and_target
    key = drop_database_dump(postgres_server, s3_server, s3_bucket, live.name, tmp_path)
    result = run_ops("restore", "--into", target.url, "--key", key, "--jobs", "2", env=s3_server.env(s3_bucket))
    assert result.returncode == 2, result.stderr
    assert f"--jobs: {live.owner.user} also owns {live.name}" in result.stderr and "downloaded" not in result.stderr
    assert database_exists(postgres_server, target.name)  # refused before anything: the target stays
    # In one transaction the same dump is refused by PostgreSQL itself.
    serial = run_ops("restore", "--into", target.url, "--key", key, env=s3_server.env(s3_bucket))
    assert serial.returncode == 4
    assert "DROP DATABASE cannot run inside a transaction block" in serial.stderr
    assert database_exists(postgres_server, live.name) and database_exists(postgres_server, target.name)
    assert comment_of(postgres_server, target.name) == ""


# --- what a parallel restore needs, refused up front ---------------------------------------------

def test_a_target_without_the_dumps_extensions_is_refused_and_kept(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    target = make_target(postgres_server, ())
    result = run_ops("restore", "--into", target.url, "--jobs", "2", env=env)
    assert result.returncode == 2
    assert "lacks extensions the dump needs: vector (schema public)" in result.stderr
    assert database_exists(postgres_server, target.name) and "dropped" not in result.stderr


def test_jobs_must_fit_the_roles_connection_limit_with_one_to_spare(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    target = make_target(postgres_server, ("vector",), "CONNECTION LIMIT 3")
    refused = run_ops("restore", "--into", target.url, "--jobs", "3", env=env)
    assert refused.returncode == 2
    assert (f"--jobs 3: role {target.role.user} allows 3 connections and 0 are in use; a parallel restore needs 3 "
            "(one per job) and one for its clean-up: use --jobs 2 or fewer") in refused.stderr
    assert run_ops("restore", "--into", target.url, "--jobs", "2", env=env).returncode == 0


def test_jobs_need_a_database_the_role_owns_and_no_privileged_role(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    borrowed = make_target(postgres_server, ())
    guest = postgres_server.create_login_role(f"guest_{secrets.token_hex(3)}")
    postgres_server.psql(f'GRANT CREATE, CONNECT ON DATABASE "{borrowed.name}" TO "{guest.user}"',
                         role=postgres_server.superuser)
    not_owner = run_ops("restore", "--into", postgres_server.url(guest, borrowed.name), "--jobs", "2", env=env)
    assert not_owner.returncode == 2 and f"--jobs: {guest.user} does not own" in not_owner.stderr
    superuser = make_target(postgres_server, (), "SUPERUSER")
    privileged = run_ops("restore", "--into", superuser.url, "--jobs", "2", "--allow-privileged-role", env=env)
    assert privileged.returncode == 2 and "--jobs with --allow-privileged-role" in privileged.stderr


@pytest.mark.parametrize("args, problem", [
    (["--jobs", "0"], "argument --jobs: '0' is not a number of jobs from 1 to 32"),
    (["--jobs", "33"], "argument --jobs: '33' is not a number of jobs from 1 to 32"),
    (["--jobs", "2x"], "argument --jobs: '2x' is not a number of jobs"),
    (["--maintenance-work-mem", "1GB; DROP"], "argument --maintenance-work-mem: '1GB; DROP' is not a size"),
    (["--maintenance-work-mem", "-c fsync=off"], "argument --maintenance-work-mem: '-c fsync=off' is not a size"),
])
def test_bad_tuning_is_refused_naming_the_option(args: list[str], problem: str) -> None:
    result = run_ops("restore", "--into", "postgresql://r@127.0.0.1/db", *args, env={})
    assert result.returncode == 2 and problem in result.stderr
