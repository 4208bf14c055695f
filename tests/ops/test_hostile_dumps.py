"""A hostile dump can neither take over the runner nor leave anything behind (issue 17, item 1).

Each payload is real: a function behind a CHECK constraint that runs `COPY … TO PROGRAM` or
`CREATE ROLE` when its rows are restored (what the owner role can put in prod, and the daily
backup then dumps), and dumps built as superuser and uploaded with valid sha256 metadata (what
anyone who can write the bucket can do): an untrusted language, an event trigger. Every one is
refused by PostgreSQL's privilege checks, not by ops reading the SQL.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ops.conftest import (
    TargetDb,
    backup_env,
    crafted_dump,
    environment_of,
    make_source,
    make_target,
    objects,
    processes_mentioning,
    run_ops,
)
from tests.realservers.postgres import PostgresServer
from tests.realservers.s3 import S3Server
from tests.support import ROOT

# Real servers (PostgreSQL, S3) or subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow

SUSPECT = "The dump tried something its restore role"


def copy_to_program_schema(database: str, marker: Path) -> str:
    # Harmless in its own database (the backup then dumps it), a program anywhere else.
    return f"""
CREATE FUNCTION audit_ok(v int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF current_database() <> '{database}' THEN
    EXECUTE 'COPY (SELECT 1) TO PROGRAM ' || quote_literal('env > {marker}/ran; id >> {marker}/ran');
  END IF;
  RETURN true;
END $$;
CREATE TABLE audited (v int CHECK (audit_ok(v)));
INSERT INTO audited VALUES (1), (2), (3);
"""


def create_role_schema(database: str, role: str) -> str:
    return f"""
CREATE FUNCTION member_ok(v int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF current_database() <> '{database}' THEN
    EXECUTE 'CREATE ROLE {role} LOGIN SUPERUSER PASSWORD ''owned''';
  END IF;
  RETURN true;
END $$;
CREATE TABLE members (v int CHECK (member_ok(v)));
INSERT INTO members VALUES (1);
"""


def slow_schema(database: str, rows: int, delay: float) -> str:
    # Each restored row sleeps on the server: a restore that runs long server-side.
    return f"""
CREATE FUNCTION slow_ok(v int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF current_database() <> '{database}' THEN PERFORM pg_sleep({delay}); END IF;
  RETURN true;
END $$;
CREATE TABLE slow (v int CHECK (slow_ok(v)));
INSERT INTO slow SELECT generate_series(1, {rows});
"""


def assert_nothing_left(ops_tmp: Path, marker_dir: Path) -> None:
    assert list(marker_dir.iterdir()) == [], "a program from the dump ran"
    assert list(ops_tmp.iterdir()) == [], "ops left files behind"
    assert processes_mentioning(str(ops_tmp)) == {}, "ops left a process behind"


def role_exists(server: PostgresServer, role: str) -> bool:
    return server.psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{role}'", role=server.superuser) == "1"


def public_tables(server: PostgresServer, target: TargetDb) -> str:
    return server.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", role=server.superuser,
                       database=target.name)


# --- the drill ----------------------------------------------------------------------------------

def test_a_dump_whose_check_runs_copy_to_program_fails_the_drill_and_runs_nothing(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, ops_tmp: Path,
        marker_dir: Path) -> None:
    src = make_source(postgres_server, "ara_hostile_copy", copy_to_program_schema("ara_hostile_copy", marker_dir),
                      extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    key = run_ops("backup", env=env).stdout.strip()
    result = run_ops("drill", "--extension", "plpgsql", env={**env, "TMPDIR": str(ops_tmp)})
    assert result.returncode == 4, result.stderr
    assert "permission denied to COPY to or from an external program" in result.stderr
    assert SUSPECT in result.stderr and "drill passed" not in result.stderr
    assert s3_server.secret_access_key not in result.stdout + result.stderr
    assert_nothing_left(ops_tmp, marker_dir)
    # Nothing lost either: the evidence stays in the bucket, the source as it was.
    assert objects(s3_server, s3_bucket) == [key]
    assert postgres_server.psql("SELECT count(*) FROM audited", role=src.owner, database=src.name) == "3"


def test_a_dump_that_creates_a_role_fails_the_drill(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, ops_tmp: Path,
        marker_dir: Path) -> None:
    evil = f"ara_evil_{secrets.token_hex(3)}"
    src = make_source(postgres_server, "ara_hostile_role", create_role_schema("ara_hostile_role", evil), extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    result = run_ops("drill", "--extension", "plpgsql", env={**env, "TMPDIR": str(ops_tmp)})
    assert result.returncode == 4, result.stderr
    assert "permission denied to create role" in result.stderr and SUSPECT in result.stderr
    assert_nothing_left(ops_tmp, marker_dir)


@pytest.mark.parametrize("payload, refusal", [
    # Untrusted languages: only a superuser may create functions in them.
    ("CREATE FUNCTION text_length(text) RETURNS int LANGUAGE internal IMMUTABLE STRICT AS 'textlen'",
     "permission denied for language internal"),
    ("CREATE FUNCTION my_handler() RETURNS language_handler LANGUAGE c AS '$libdir/plpgsql', "
     "'plpgsql_call_handler'", "permission denied for language c"),
    # Event triggers run on every DDL of the database, with their creator's rights.
    ("CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$; "
     "CREATE EVENT TRIGGER watch_ddl ON ddl_command_end EXECUTE FUNCTION on_ddl()",
     "permission denied to create event trigger"),
], ids=["language-internal", "language-c", "event-trigger"])
def test_a_crafted_dump_needing_superuser_fails_the_drill(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, ops_tmp: Path, marker_dir: Path,
        tmp_path: Path, payload: str, refusal: str) -> None:
    database = f"ara_crafted_{secrets.token_hex(3)}"
    crafted_dump(postgres_server, s3_server, s3_bucket, database, f"CREATE TABLE t (x int); {payload}", tmp_path)
    result = run_ops("drill", "--extension", "plpgsql", env={**s3_server.env(s3_bucket), "TMPDIR": str(ops_tmp)})
    assert result.returncode == 4, result.stderr
    assert refusal in result.stderr and SUSPECT in result.stderr
    assert_nothing_left(ops_tmp, marker_dir)


def test_no_process_of_the_drill_has_the_bucket_credentials_while_the_dump_runs(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, ops_tmp: Path,
        marker_dir: Path) -> None:
    # A slow, benign dump: while its rows restore, look at every process the drill runs.
    src = make_source(postgres_server, "ara_slow_drill", slow_schema("ara_slow_drill", 40, 0.1), extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    token = "Session-Token-" + secrets.token_hex(8)
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(ROOT),
            "TMPDIR": str(ops_tmp)}
    drill = subprocess.Popen([sys.executable, "-m", "ops", "drill", "--extension", "plpgsql"], cwd=ROOT,
                             env={**base, **env, "AWS_SESSION_TOKEN": token}, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: dict[int, dict[str, str]] = {}
    deadline = time.monotonic() + 60
    while drill.poll() is None and time.monotonic() < deadline:
        running = processes_mentioning(str(ops_tmp))
        if any("pg_restore" in cmd and "--single-transaction" in cmd for cmd in running.values()):
            for pid in [drill.pid, *running]:
                try:
                    seen[pid] = environment_of(pid)
                except OSError:
                    pass
            break
        time.sleep(0.05)
    out, err = drill.communicate(timeout=120)
    assert drill.returncode == 0, err
    assert "restarts itself without them" in err and "drill passed" in err
    assert drill.pid in seen and len(seen) >= 3, seen.keys()  # ops itself, the server, pg_restore
    for pid, environment in seen.items():
        leaked = [k for k, v in environment.items()
                  if k.startswith("AWS_") or v in (s3_server.secret_access_key, s3_server.access_key_id, token)]
        assert leaked == [], f"process {pid} has {leaked}"
    assert token not in out + err and s3_server.secret_access_key not in out + err
    assert_nothing_left(ops_tmp, marker_dir)


# --- ops restore ---------------------------------------------------------------------------------

def test_ops_restore_of_a_copy_to_program_dump_is_refused_by_privilege_and_leaves_the_target_empty(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, ops_tmp: Path,
        marker_dir: Path) -> None:
    src = make_source(postgres_server, "ara_hostile_rst", copy_to_program_schema("ara_hostile_rst", marker_dir),
                      extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    target = make_target(postgres_server, ())
    result = run_ops("restore", "--into", target.url, env={**env, "TMPDIR": str(ops_tmp)})
    assert result.returncode == 4, result.stderr
    assert "permission denied to COPY to or from an external program" in result.stderr and SUSPECT in result.stderr
    assert public_tables(postgres_server, target) == "0"
    assert_nothing_left(ops_tmp, marker_dir)


@pytest.mark.parametrize("attributes, why", [
    (("SUPERUSER",), "it is superuser"),
    (("CREATEROLE",), "it has CREATEROLE"),
], ids=["superuser", "createrole"])
def test_ops_restore_refuses_a_privileged_role_before_downloading(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, ops_tmp: Path, marker_dir: Path,
        attributes: tuple[str, ...], why: str) -> None:
    evil = f"ara_evil_{secrets.token_hex(3)}"
    src = make_source(postgres_server, f"ara_hr_{attributes[0].lower()}",
                      create_role_schema(f"ara_hr_{attributes[0].lower()}", evil), extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    target = make_target(postgres_server, (), *attributes)
    result = run_ops("restore", "--into", target.url, env={**env, "TMPDIR": str(ops_tmp)})
    assert result.returncode == 2, result.stderr
    assert f"--into role {target.role.user} is privileged: {why}" in result.stderr
    assert "--allow-privileged-role" in result.stderr and "downloaded" not in result.stderr
    assert not role_exists(postgres_server, evil)
    assert public_tables(postgres_server, target) == "0"
    assert_nothing_left(ops_tmp, marker_dir)


def test_a_role_that_can_become_a_privileged_one_is_refused_too(postgres_server: PostgresServer) -> None:
    # SET ROLE is one statement of a dump away: membership counts like the attribute.
    suffix = secrets.token_hex(3)
    postgres_server.psql(f"CREATE ROLE role_maker_{suffix} NOLOGIN CREATEROLE", role=postgres_server.superuser)
    member = make_target(postgres_server, ())
    postgres_server.psql(f"GRANT role_maker_{suffix} TO {member.role.user}", role=postgres_server.superuser)
    programs = make_target(postgres_server, ())
    postgres_server.psql(f"GRANT pg_execute_server_program TO {programs.role.user}", role=postgres_server.superuser)
    for target, why in ((member, f"it is a member of role_maker_{suffix}, which has CREATEROLE"),
                        (programs, "it is a member of pg_execute_server_program, which may run programs")):
        result = run_ops("restore", "--into", target.url, env={"BACKUP_BUCKET": "unused"})
        assert result.returncode == 2, result.stderr
        assert why in result.stderr


def test_allow_privileged_role_restores_as_a_superuser_when_the_operator_means_it(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str) -> None:
    src = make_source(postgres_server, "ara_benign_su", "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2);",
                      extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    target = make_target(postgres_server, (), "SUPERUSER")
    result = run_ops("restore", "--into", target.url, "--allow-privileged-role", env=env)
    assert result.returncode == 0, result.stderr
    assert "warning: restoring as a privileged role (it is superuser)" in result.stderr
    assert postgres_server.psql("SELECT count(*) FROM t", role=target.role, database=target.name) == "2"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_restore_ends_its_server_session_before_ops_exits(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, ops_tmp: Path, sig: int) -> None:
    name = f"ara_slow_{sig.name.lower()}"
    src = make_source(postgres_server, name, slow_schema(name, 150, 0.2), extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    target = make_target(postgres_server, ())
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(ROOT),
            "TMPDIR": str(ops_tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "ops", "restore", "--into", target.url], cwd=ROOT,
                            env={**base, **env}, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sessions = ("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'ara-ops-restore-%' "
                f"AND datname = '{target.name}'")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if postgres_server.psql(sessions + " AND state = 'active'", role=postgres_server.superuser) == "1":
            break
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the ~30 s the server would otherwise keep restoring
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    # Checked the moment ops has exited: its session is already gone, its transaction rolled back.
    assert postgres_server.psql(sessions, role=postgres_server.superuser) == "0"
    assert proc.returncode == 130, err
    assert "interrupted; the restore's server session was ended before exit" in err
    assert out == ""
    assert public_tables(postgres_server, target) == "0"
    assert list(ops_tmp.iterdir()) == []
