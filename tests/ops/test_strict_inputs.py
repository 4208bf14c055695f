"""Untrusted text never steers ops (issue 17, item 2), against the real PostgreSQL and S3 servers:
TLS is decided on what libpq connects to, the live database is recognised under every spelling,
bucket keys are checked and escaped, future-dated dumps never count, S3 errors are named by code,
temporary credentials work."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore.auth
import pytest

from ops import backup, store
from ops.errors import StorageError
from tests.ops.conftest import SourceDb, backup_env, make_source, objects, run_ops
from tests.ops.proxy import cutting_proxy
from tests.realservers.postgres import PostgresServer
from tests.realservers.s3 import S3Server

# Real servers (PostgreSQL, S3) or subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


def output(result) -> str:
    return result.stdout + result.stderr


def assert_inert(text: str) -> None:
    """No control character and no line a CI runner would take as a workflow command."""
    assert not CONTROL.search(text), repr(text)
    for line in text.splitlines():
        assert not line.lstrip().startswith(("::", "##[")), line


# --- TLS: what libpq will connect to ------------------------------------------------------------

def test_hostaddr_decides_tls_a_loopback_host_name_does_not(s3_server: S3Server, s3_bucket: str) -> None:
    # libpq connects to hostaddr; host is only the name for authentication (32.1.2).
    url = "postgresql://ara_prod_backup:Pw-0123456789@localhost/ara_prod?hostaddr=192.0.2.10&sslmode=disable"
    result = run_ops("backup", env=backup_env(s3_server, s3_bucket, url))
    assert result.returncode == 2
    assert "localhost[192.0.2.10]:5432/ara_prod has sslmode=disable" in result.stderr
    assert "must use TLS" in result.stderr and "Pw-0123456789" not in output(result)


def test_a_remote_name_with_a_loopback_hostaddr_connects_to_loopback(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    # The name never resolves (.invalid): the dump succeeding shows libpq used hostaddr, as ops assumed.
    url = (f"postgresql://{source_db.backup.user}:{source_db.backup.password}@db.example.invalid:"
           f"{postgres_server.port}/{source_db.name}?hostaddr=127.0.0.1&sslmode=disable")
    result = run_ops("backup", env=backup_env(s3_server, s3_bucket, url))
    assert result.returncode == 0, result.stderr
    assert "db.example.invalid[127.0.0.1]" in result.stderr


def test_a_unix_socket_needs_no_tls_and_reaches_the_server(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    url = (f"postgresql://{source_db.backup.user}:{source_db.backup.password}@/{source_db.name}"
           f"?host={postgres_server.root}&port={postgres_server.port}")
    result = run_ops("backup", env=backup_env(s3_server, s3_bucket, url))
    assert result.returncode == 0, result.stderr
    head = s3_server.client().head_object(Bucket=s3_bucket, Key=result.stdout.strip())
    assert store.metadata(head)[store.META_SOURCE] == f"{postgres_server.root}:{postgres_server.port}/{source_db.name}"


@pytest.mark.parametrize("url, problem", [
    ("postgresql://b:Pw-0123456789@h1.example.com,h2.example.com/db?sslmode=require", "give one host, not a list"),
    ("postgresql://b:Pw-0123456789@db.example.com/db?host=127.0.0.1,db.example.com", "give one host, not a list"),
    ("postgresql://b:Pw-0123456789@localhost/db?hostaddr=127.0.0.1,192.0.2.1", "give one hostaddr, not a list"),
    ("postgresql://b:Pw-0123456789@localhost/db?port=5432,5433", "give one port, not a list"),
    ("postgresql://b:Pw-0123456789@localhost/db?hostaddr=db.example.com", "hostaddr must be a numeric IP address"),
    ("postgresql://b:Pw-0123456789@localhost/db?service=prod", "the URL parameter 'service' is not accepted"),
    ("postgresql://b:Pw-0123456789@localhost/db?sslmode=maybe", "sslmode must be one of"),
    ("postgresql://b:Pw-0123456789@localhost/db?nonsense=1", "'nonsense' is not a libpq connection parameter"),
])
def test_connection_spellings_ops_cannot_be_sure_of_are_refused_before_connecting(
        url: str, problem: str, s3_server: S3Server, s3_bucket: str) -> None:
    result = run_ops("backup", env=backup_env(s3_server, s3_bucket, url))
    assert result.returncode == 2
    assert problem in result.stderr
    assert "Pw-0123456789" not in output(result)
    assert objects(s3_server, s3_bucket) == []


# --- the live database under every spelling --------------------------------------------------------

def _live_spellings(server: PostgresServer, src: SourceDb) -> dict[str, str]:
    owner, port = f"{src.owner.user}:{src.owner.password}", server.port
    return {
        "socket": f"postgresql://{owner}@/{src.name}?host={server.root}&port={port}",
        "query-port": f"postgresql://{owner}@localhost/{src.name}?port={port}&sslmode=disable",
        "hostaddr": f"postgresql://{owner}@db.example.invalid:{port}/{src.name}?hostaddr=127.0.0.1&sslmode=disable",
        "query-dbname": f"postgresql://{owner}@127.0.0.1:{port}/ara_other?dbname={src.name}&sslmode=disable",
        "ipv6-loopback-name": f"postgresql://{owner}@[::1]:{port}/{src.name}?hostaddr=127.0.0.1",
    }


@pytest.mark.parametrize("spelling", ["socket", "query-port", "hostaddr", "query-dbname", "ipv6-loopback-name"])
def test_restore_recognises_the_live_database_under_every_spelling(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb,
        spelling: str) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    refused = run_ops("restore", "--into", _live_spellings(postgres_server, source_db)[spelling], env=env)
    assert refused.returncode == 2, refused.stderr
    assert "is DATABASE_URL's database" in refused.stderr
    assert source_db.owner.password not in output(refused)


def test_restore_recognises_the_live_database_behind_another_port_by_asking_the_servers(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    # A pooler (here a plain TCP relay) puts the same database on another port: no URL comparison
    # can tell, the servers can.
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    with cutting_proxy(postgres_server.port, cut_after=None) as port:
        into = postgres_server.url(source_db.owner, source_db.name).replace(f":{postgres_server.port}/", f":{port}/")
        refused = run_ops("restore", "--into", into, env=env)
    assert refused.returncode == 2, refused.stderr
    assert "the same server and database under another name" in refused.stderr


def test_restore_recognises_the_dump_source_recorded_through_a_socket(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str) -> None:
    empty = make_source(postgres_server, "ara_sock_src", "SELECT 1;", extensions=())
    socket_url = (f"postgresql://{empty.backup.user}:{empty.backup.password}@/{empty.name}"
                  f"?host={postgres_server.root}&port={postgres_server.port}")
    assert run_ops("backup", env=backup_env(s3_server, s3_bucket, socket_url)).returncode == 0
    refused = run_ops("restore", "--into", postgres_server.url(empty.owner, empty.name), env=s3_server.env(s3_bucket))
    assert refused.returncode == 2, refused.stderr
    assert "the database this dump was taken from" in refused.stderr


# --- object keys -----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    "other/ara_src.dump",
    "postgres/ara_src/2026/13/01/ara_src-20261301T000000Z.dump",
    "postgres/ara_src/2026/12/01/ara_src-20261201T000000Z.dump\n::error::pwned",
    "postgres/ara_src/2026/12/01/ara_src-20261201T000000Z.dump\x1b[2J",
    "postgres/ara_src/2026/12/02/ara_src-20261201T000000Z.dump",
], ids=["outside-prefix", "no-such-date", "newline-command", "ansi", "date-mismatch"])
def test_a_key_ops_backup_does_not_write_is_refused_before_any_download(
        s3_server: S3Server, s3_bucket: str, fresh_db, key: str) -> None:
    # Even when the object exists with valid sha256 metadata.
    body = b"PGDMP not really"
    s3_server.client().put_object(Bucket=s3_bucket, Key=key, Body=body,
                                  Metadata={"sha256": hashlib.sha256(body).hexdigest()})
    for command in (["restore", "--into", fresh_db.url, "--key", key], ["drill", "--key", key]):
        result = run_ops(*command, env=s3_server.env(s3_bucket))
        assert result.returncode == 2, result.stderr
        assert "is not a key `ops backup` writes" in result.stderr and "downloaded" not in result.stderr
        assert_inert(output(result))


def test_hostile_keys_in_the_bucket_are_never_listed_chosen_or_printed_raw(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, source_db: SourceDb,
        fresh_db) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    good = backup.run(env, now=datetime.now(UTC) - timedelta(hours=1), log=lambda _m: None)
    body = s3_server.client().get_object(Bucket=s3_bucket, Key=good)["Body"].read()
    meta = {"sha256": hashlib.sha256(body).hexdigest()}
    for hostile in ("postgres/ara_src/2026/12/05/ara_src-20261205T000000Z.dump\n::error::pwned",
                    "postgres/ara_src\x1b[31m/2026/12/05/ara_src\x1b[31m-20261205T000000Z.dump",
                    "postgres/ara_src/2026/12/05/\n::warning::x/ara_src-20261205T000000Z.dump"):
        s3_server.client().put_object(Bucket=s3_bucket, Key=hostile, Body=body, Metadata=meta)
    listed = run_ops("list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [good]
    restored = run_ops("restore", "--into", fresh_db.url, env=env)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip() == good
    for result in (listed, restored):
        assert_inert(output(result))


def test_text_from_a_hostile_dump_is_escaped_in_errors(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, tmp_path: Path) -> None:
    # A table name carrying a newline, a workflow command and an escape sequence, in a dump whose
    # restore fails on it: pg_restore's message quotes the name.
    from tests.ops.conftest import crafted_dump

    name = 'x\n::error file=README.md::pwned\x1b[2J'
    crafted_dump(postgres_server, s3_server, s3_bucket, f"ara_quoted_{secrets.token_hex(3)}",
                 f'CREATE TABLE "{name}" (v int); INSERT INTO "{name}" VALUES (1);'
                 "CREATE FUNCTION f() RETURNS int LANGUAGE internal AS 'textlen';", tmp_path)
    result = run_ops("drill", "--extension", "plpgsql", env=s3_server.env(s3_bucket))
    assert result.returncode == 4, result.stderr
    assert_inert(output(result))


# --- future-dated dumps --------------------------------------------------------------------------------

def test_a_future_dated_object_never_counts_as_the_newest_dump(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    stale = backup.run(env, now=datetime.now(UTC) - timedelta(days=3), log=lambda _m: None)
    client = s3_server.client()
    body = client.get_object(Bucket=s3_bucket, Key=stale)["Body"].read()
    future = "postgres/ara_src/2099/01/01/ara_src-20990101T000000Z.dump"
    client.put_object(Bucket=s3_bucket, Key=future, Body=body, Metadata={"sha256": hashlib.sha256(body).hexdigest()})
    drilled = run_ops("drill", env=env)
    assert drilled.returncode == 1, drilled.stderr
    assert f"the newest dump {stale} is 72.0 h old" in drilled.stderr
    assert "ignoring 1 dump(s) dated in the future or after their upload" in drilled.stderr
    named = run_ops("drill", "--key", future, env=env)
    assert named.returncode == 1 and "h in the future" in named.stderr


# --- S3 errors by code, temporary credentials ----------------------------------------------------------

def test_a_request_the_server_finds_expired_is_named_by_its_code_not_a_bare_400(
        s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A clock an hour behind: rclone answers AccessDenied, with status 400 (gofakes3
    # signature/signature-errors.go `errExpiredRequest`). HEAD answers carry no code at all.
    s3 = store.Store(store.bucket_from_env(s3_server.env(s3_bucket)))
    behind = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: behind)
    with pytest.raises(StorageError) as listing:
        s3.check_bucket()
    with pytest.raises(StorageError) as head:
        s3.exists("postgres/x/2026/01/01/x-20260101T000000Z.dump")
    for error in (listing.value, head.value):
        assert "denied access (AccessDenied)" in error.message
        assert "clock must be right" in error.message
        assert "answered 400" not in error.message


def test_a_missing_bucket_is_named_for_restore_and_drill(s3_server: S3Server, fresh_db) -> None:
    env = s3_server.env("no-such-bucket-here")
    for command in (["restore", "--into", fresh_db.url], ["drill"]):
        result = run_ops(*command, env=env)
        assert result.returncode == 4
        assert "bucket 'no-such-bucket-here'" in result.stderr
        assert "does not exist (check BACKUP_BUCKET)" in result.stderr


@pytest.mark.parametrize("code, meaning", [
    ("ExpiredToken", "the temporary credentials have expired (ExpiredToken)"),
    ("InvalidToken", "the session token was refused (InvalidToken)"),
    ("AccessDenied", "denied access (AccessDenied)"),
    ("NoSuchBucket", "does not exist (check BACKUP_BUCKET)"),
    ("InvalidAccessKeyId", "check AWS_ACCESS_KEY_ID"),
])
def test_s3_error_codes_read_as_what_they_mean(code: str, meaning: str) -> None:
    # rclone serve s3 never answers ExpiredToken or InvalidToken (it ignores session tokens), so
    # these are the codes AWS documents (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html);
    # the server-answered ones are tested above.
    assert meaning in store.Store.explain(code, 400, "The provided token has expired.")


def test_temporary_credentials_send_the_session_token_and_never_print_it(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb) -> None:
    token = "FwoGZXIvYXdzE" + secrets.token_hex(24)
    sent: list[bytes] = []
    with cutting_proxy(s3_server.port, cut_after=None, record=sent) as port:
        env = {**backup_env(s3_server, s3_bucket, source_db.backup_url), "AWS_SESSION_TOKEN": token,
               "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
        result = run_ops("backup", env=env)
        listed = run_ops("list", env=env)
    assert result.returncode == 0, result.stderr
    assert listed.stdout.split("\t")[0] == result.stdout.strip()
    requests = b"".join(sent).lower()
    assert requests.count(b"x-amz-security-token: " + token.lower().encode()) >= 3  # list, put, head
    assert token not in output(result) + output(listed)


def test_the_session_token_is_scrubbed_from_errors(s3_server: S3Server, source_db: SourceDb) -> None:
    token = "Session-" + secrets.token_hex(16)
    env = {**backup_env(s3_server, "no-such-bucket-here", source_db.backup_url), "AWS_SESSION_TOKEN": token}
    result = run_ops("backup", env=env)
    assert result.returncode == 4
    assert token not in output(result)
