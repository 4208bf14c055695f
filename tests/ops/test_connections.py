"""`python -m ops connections` against a real server: use per role, database and server vs limits."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.ops.conftest import SourceDb, run_ops
from tests.realservers.postgres import Credentials, PostgresServer

# Real servers (PostgreSQL, S3) or subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow


@contextmanager
def held_connection(server: PostgresServer, role: Credentials, database: str) -> Iterator[None]:
    """A session of `role` that stays connected for the block; terminated afterwards."""
    count = f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{role.user}'"
    proc = subprocess.Popen([str(server.bin_dir / "psql"), "-X", "-q", "-c", "SELECT pg_sleep(60)"],
                            env=server.env(role, database), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: server.psql(count, role=server.superuser) == "1")
        yield
    finally:
        proc.kill()
        proc.wait()
        # A backend in pg_sleep outlives its killed client; end it so later tests see no session.
        server.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role.user}'",
                    role=server.superuser)
        wait_for(lambda: server.psql(count, role=server.superuser) == "0")


def wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached within the timeout")
        time.sleep(0.1)


def test_use_under_the_threshold_passes_and_reports_each_limit(
        postgres_server: PostgresServer, source_db: SourceDb) -> None:
    result = run_ops("connections", env={"DATABASE_URL": source_db.backup_url})
    assert result.returncode == 0, result.stderr
    # The backup role (limit 2) is this check's only session: 1 of 2.
    assert f"role {source_db.backup.user}: 1/2 connections (50 %)" in result.stdout
    assert "server: " in result.stdout
    assert source_db.backup.password not in result.stdout + result.stderr


def test_use_above_the_threshold_is_a_finding_exit_1(postgres_server: PostgresServer, source_db: SourceDb) -> None:
    with held_connection(postgres_server, source_db.backup, source_db.name):
        result = run_ops("connections", env={"DATABASE_URL": source_db.backup_url})
    assert result.returncode == 1
    assert f"connection use above 80 %: role {source_db.backup.user}: 2/2 connections (100 %)" in result.stderr


def test_a_database_limit_is_checked_with_sessions_of_every_role(
        postgres_server: PostgresServer, source_db: SourceDb) -> None:
    # Non-superusers see every session's database in pg_stat_activity, so the backup role counts
    # the owner's sessions too.
    postgres_server.psql(f"ALTER DATABASE {source_db.name} CONNECTION LIMIT 10", role=postgres_server.superuser)
    try:
        with held_connection(postgres_server, source_db.owner, source_db.name):
            result = run_ops("connections", "--threshold", "15", env={"DATABASE_URL": source_db.backup_url})
    finally:
        postgres_server.psql(f"ALTER DATABASE {source_db.name} CONNECTION LIMIT -1", role=postgres_server.superuser)
    assert result.returncode == 1
    assert f"database {source_db.name}: 2/10 connections (20 %)" in result.stdout
    assert "connection use above 15 %: database" in result.stderr
