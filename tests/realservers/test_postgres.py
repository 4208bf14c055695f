"""The throwaway PostgreSQL server looks like a managed one and grants no more: PG 18, a non-superuser
admin in the platform's privileged role, pgvector and pg_stat_statements untrusted."""

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


def test_vector_and_pg_stat_statements_are_available_untrusted_and_preloaded(postgres_server: PostgresServer) -> None:
    # Stock control files: neither extension is trusted, as upstream ships them.
    available = postgres_server.psql(
        "SELECT string_agg(DISTINCT name || '=' || trusted, ',' ORDER BY name || '=' || trusted)"
        " FROM pg_available_extension_versions WHERE name IN ('vector', 'pg_stat_statements')",
        role=postgres_server.admin,
    )
    assert available == "pg_stat_statements=false,vector=false"
    preloaded = postgres_server.psql("SHOW shared_preload_libraries", role=postgres_server.superuser).split(",")
    assert preloaded == ["pg_stat_statements", str(postgres_server.platform_module)]


def test_the_platform_role_is_nologin_without_attributes_and_the_admin_is_its_only_member(
        postgres_server: PostgresServer) -> None:
    role = postgres_server.psql(
        "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,"
        " (SELECT count(*) FROM pg_auth_members WHERE member = r.oid)"
        f" FROM pg_roles r WHERE rolname = '{postgres_server.privileged_role}'",
        role=postgres_server.admin,
    )
    assert role == "f|f|f|f|f|f|0"
    members = postgres_server.psql(
        "SELECT string_agg(m.rolname, ',') FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member"
        f" WHERE a.roleid = '{postgres_server.privileged_role}'::regrole", role=postgres_server.admin)
    assert members == postgres_server.admin.user


def test_admin_cannot_create_extension_without_create_on_the_database(postgres_server: PostgresServer) -> None:
    # The platform's allowance still needs CREATE on the database (PostgreSQL's trusted-extension rule).
    postgres_server.psql("CREATE DATABASE fixture_foreign", role=postgres_server.superuser)
    refused = postgres_server.run_psql("CREATE EXTENSION vector", role=postgres_server.admin,
                                       database="fixture_foreign")
    assert 'permission denied to create extension "vector"' in refused.stderr
    assert "Must have CREATE privilege on current database" in refused.stderr


def test_admin_creates_both_extensions_in_its_own_database_and_owns_them(postgres_server: PostgresServer) -> None:
    postgres_server.psql("CREATE DATABASE fixture_own", role=postgres_server.admin)
    postgres_server.psql("CREATE EXTENSION vector; CREATE EXTENSION pg_stat_statements",
                         role=postgres_server.admin, database="fixture_own")
    assert postgres_server.psql(
        "SELECT '[1,2,3]'::vector(3) <-> '[1,2,4]'::vector(3)", role=postgres_server.admin, database="fixture_own"
    ) == "1"
    owners = postgres_server.psql("SELECT string_agg(extname || ':' || extowner::regrole, ',' ORDER BY extname)"
                                  " FROM pg_extension WHERE extname <> 'plpgsql'",
                                  role=postgres_server.admin, database="fixture_own")
    assert owners == "pg_stat_statements:ara_admin,vector:ara_admin"


def test_a_database_owner_outside_the_platform_role_may_not_create_them(postgres_server: PostgresServer) -> None:
    owner = postgres_server.create_login_role("fixture_plain_owner")
    postgres_server.psql("CREATE DATABASE fixture_plain OWNER fixture_plain_owner", role=postgres_server.superuser)
    for extension in ("vector", "pg_stat_statements"):
        refused = postgres_server.run_psql(f"CREATE EXTENSION {extension}", role=owner, database="fixture_plain")
        assert f'permission denied to create extension "{extension}"' in refused.stderr
        assert "Must be superuser to create this extension" in refused.stderr
    # Membership is what counts: the platform grants it, and then the same owner may.
    postgres_server.psql(f"GRANT {postgres_server.privileged_role} TO fixture_plain_owner",
                         role=postgres_server.superuser)
    postgres_server.psql("CREATE EXTENSION vector", role=owner, database="fixture_plain")


def test_if_not_exists_of_an_existing_extension_is_a_no_op_for_any_role(postgres_server: PostgresServer) -> None:
    # CreateExtension checks existence before privileges: a restore's or a migration's
    # `CREATE EXTENSION IF NOT EXISTS` passes once someone allowed to has created it.
    owner = postgres_server.create_login_role("fixture_late_owner")
    postgres_server.psql("CREATE DATABASE fixture_late OWNER fixture_late_owner", role=postgres_server.superuser)
    postgres_server.psql("CREATE EXTENSION vector", role=postgres_server.superuser, database="fixture_late")
    result = postgres_server.run_psql("CREATE EXTENSION IF NOT EXISTS vector", role=owner, database="fixture_late")
    assert result.returncode == 0 and 'extension "vector" already exists, skipping' in result.stderr
    refused = postgres_server.run_psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", role=owner,
                                       database="fixture_late")
    assert "Must be superuser to create this extension" in refused.stderr


def test_no_session_can_change_the_platform_settings(postgres_server: PostgresServer) -> None:
    for setting in ("extension_control_path = '/tmp'", "ara_platform.privileged_role = 'ara_admin'",
                    "ara_platform.privileged_extensions = 'plpython3u'"):
        refused = postgres_server.run_psql(f"SET {setting}", role=postgres_server.admin)
        assert refused.returncode != 0, setting
        assert "permission denied" in refused.stderr or "without restarting the server" in refused.stderr


def test_a_dump_carries_no_trace_of_the_platform(postgres_server: PostgresServer) -> None:
    postgres_server.psql("CREATE DATABASE fixture_traceless", role=postgres_server.admin)
    postgres_server.psql("CREATE EXTENSION vector", role=postgres_server.admin, database="fixture_traceless")
    dump = postgres_server.pg_dump("--schema-only", role=postgres_server.superuser, database="fixture_traceless")
    assert dump.returncode == 0, dump.stderr
    assert "CREATE EXTENSION IF NOT EXISTS vector" in dump.stdout
    assert "ara_platform" not in dump.stdout and postgres_server.privileged_role not in dump.stdout
    assert "EVENT TRIGGER" not in dump.stdout


def test_options_take_the_allowance_away_or_trust_an_extension_for_everyone() -> None:
    with start_postgres(admin_in_privileged_role=False, trusted_extensions=("vector",)) as server:
        server.psql("CREATE DATABASE own", role=server.admin)
        refused = server.run_psql("CREATE EXTENSION pg_stat_statements", role=server.admin, database="own")
        assert "Must be superuser to create this extension" in refused.stderr
        plain = server.create_login_role("plain_owner")
        server.psql("CREATE DATABASE plain OWNER plain_owner", role=server.superuser)
        server.psql("CREATE EXTENSION vector", role=plain, database="plain")


def test_sql_errors_raise_with_postgres_message(postgres_server: PostgresServer) -> None:
    with pytest.raises(SqlError) as error:
        postgres_server.psql("SELECT * FROM no_such_table", role=postgres_server.admin)
    assert 'relation "no_such_table" does not exist' in error.value.stderr


def test_pg_dump_binary_runs_as_a_role(postgres_server: PostgresServer) -> None:
    postgres_server.psql("CREATE DATABASE fixture_dumped", role=postgres_server.admin)
    postgres_server.psql("CREATE EXTENSION vector", role=postgres_server.admin, database="fixture_dumped")
    result = postgres_server.pg_dump("--schema-only", role=postgres_server.admin, database="fixture_dumped")
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
