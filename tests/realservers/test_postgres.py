"""The throwaway PostgreSQL server looks like a managed one: PG 18, non-superuser admin, pgvector."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from tests.realservers.postgres import (
    Credentials,
    PostgresServer,
    ServerStartError,
    SqlError,
    find_bin_dir,
    start_postgres,
)

# Starts a real PostgreSQL server (`make test-fast` leaves these out).
pytestmark = pytest.mark.slow


def test_server_is_postgresql_18(postgres_server: PostgresServer) -> None:
    assert 180000 <= postgres_server.server_version_num() < 190000


def test_admin_has_managed_service_attributes_not_superuser(postgres_server: PostgresServer) -> None:
    row = postgres_server.psql(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, rolreplication, rolbypassrls"
        " FROM pg_roles WHERE rolname = current_user",
        role=postgres_server.admin,
    )
    assert row == "f|t|t|t|f|f"


def test_every_connection_authenticates_by_password_over_loopback_tcp(postgres_server: PostgresServer) -> None:
    methods = postgres_server.psql(
        "SELECT string_agg(DISTINCT auth_method, ',') FROM pg_hba_file_rules", role=postgres_server.superuser
    )
    assert methods == "scram-sha-256"
    assert postgres_server.psql("SELECT inet_server_addr()", role=postgres_server.admin) == "127.0.0.1"
    wrong = Credentials(user=postgres_server.admin.user, password="not-the-password")
    refused = postgres_server.run_psql("SELECT 1", role=wrong)
    assert refused.returncode != 0
    assert "password authentication failed" in refused.stderr


def test_vector_and_pg_stat_statements_are_available_and_preloaded(postgres_server: PostgresServer) -> None:
    available = postgres_server.psql(
        "SELECT string_agg(name, ',' ORDER BY name) FROM pg_available_extensions"
        " WHERE name IN ('vector', 'pg_stat_statements')",
        role=postgres_server.admin,
    )
    assert available == "pg_stat_statements,vector"
    assert postgres_server.psql("SHOW shared_preload_libraries", role=postgres_server.superuser) == "pg_stat_statements"


def test_admin_cannot_create_extension_without_create_on_the_database(postgres_server: PostgresServer) -> None:
    # Like a managed allow-list: trusted, but only for a role with CREATE on the database.
    postgres_server.psql("CREATE DATABASE fixture_foreign", role=postgres_server.superuser)
    with pytest.raises(SqlError, match="permission denied to create extension"):
        postgres_server.psql("CREATE EXTENSION vector", role=postgres_server.admin, database="fixture_foreign")


def test_admin_creates_extension_in_its_own_database(postgres_server: PostgresServer) -> None:
    postgres_server.psql("CREATE DATABASE fixture_own", role=postgres_server.admin)
    postgres_server.psql("CREATE EXTENSION vector", role=postgres_server.admin, database="fixture_own")
    assert postgres_server.psql(
        "SELECT '[1,2,3]'::vector(3) <-> '[1,2,4]'::vector(3)", role=postgres_server.admin, database="fixture_own"
    ) == "1"


def test_sql_errors_raise_with_postgres_message(postgres_server: PostgresServer) -> None:
    with pytest.raises(SqlError) as error:
        postgres_server.psql("SELECT * FROM no_such_table", role=postgres_server.admin)
    assert 'relation "no_such_table" does not exist' in error.value.stderr


def test_pg_dump_binary_runs_as_a_role(postgres_server: PostgresServer) -> None:
    result = postgres_server.pg_dump("--schema-only", role=postgres_server.admin, database="fixture_own")
    assert result.returncode == 0, result.stderr
    assert "CREATE EXTENSION IF NOT EXISTS vector" in result.stdout


def test_stopped_server_refuses_connections_and_leaves_no_files() -> None:
    with start_postgres() as server:
        assert server.psql("SELECT 1", role=server.admin) == "1"
        root = server.root
    assert not root.exists()
    # Checked at the socket: the binaries may have been a copy inside the deleted cluster directory.
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=2).close()


def test_missing_binaries_are_a_start_error_naming_them(tmp_path: Path) -> None:
    (tmp_path / "psql").write_text("")
    with pytest.raises(ServerStartError, match="lack initdb, pg_ctl"):
        PostgresServer(bin_dir=tmp_path).start()


def test_binaries_in_a_private_directory_still_start_as_the_unprivileged_user(tmp_path: Path) -> None:
    # A checkout under /root (mode 700) hides the venv's binaries from `nobody`: the fixture then
    # runs a copy of the install tree from the cluster's own directory.
    install = find_bin_dir().parent
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    shutil.copytree(install, private / install.parent.name / install.name, symlinks=True)
    libs = install.parent.parent / f"{install.parent.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, private / libs.name, symlinks=True)
    with start_postgres(bin_dir=private / install.parent.name / install.name / "bin") as server:
        assert server.psql("SELECT 1", role=server.admin) == "1"
        if os.geteuid() == 0:
            assert server.bin_dir.is_relative_to(server.root)
