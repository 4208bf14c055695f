"""The S3 test server is a real S3 API: SigV4 enforced, objects persisted, always stopped."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.realservers.s3 import S3Server, rclone_binary, running_s3

# Real servers (PostgreSQL, S3) or subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow


def test_objects_round_trip_with_metadata(s3_server: S3Server, s3_bucket: str) -> None:
    client = s3_server.client()
    client.put_object(Bucket=s3_bucket, Key="a/b.bin", Body=b"payload", Metadata={"sha256": "abc"})
    head = client.head_object(Bucket=s3_bucket, Key="a/b.bin")
    assert head["ContentLength"] == 7
    # rclone returns metadata keys in Go's canonical header case (Sha256); R2 and AWS lower-case
    # them. Readers must compare keys case-insensitively.
    assert {k.lower(): v for k, v in head["Metadata"].items()} == {"sha256": "abc"}
    assert client.get_object(Bucket=s3_bucket, Key="a/b.bin")["Body"].read() == b"payload"
    assert (s3_server.root / s3_bucket / "a" / "b.bin").read_bytes() == b"payload"


def test_wrong_secret_is_refused(s3_server: S3Server, s3_bucket: str) -> None:
    wrong = S3Server(endpoint=s3_server.endpoint, port=s3_server.port, access_key_id=s3_server.access_key_id,
                     secret_access_key="not-the-secret", root=s3_server.root, log=s3_server.log)
    with pytest.raises(ClientError) as err:
        wrong.client().put_object(Bucket=s3_bucket, Key="x", Body=b"x")
    assert err.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId"}
    assert not (s3_server.root / s3_bucket / "x").exists()


def test_server_stops_when_the_context_exits(tmp_path: Path) -> None:
    with running_s3(tmp_path) as server:
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def test_open_multipart_uploads_are_listed_and_aborted(s3_server: S3Server, s3_bucket: str) -> None:
    # The ops tests read "no open upload" from this listing; rclone answers NoSuchUpload for a
    # bucket that never had one, so this pins that it does list one that exists.
    client = s3_server.client()
    upload = client.create_multipart_upload(Bucket=s3_bucket, Key="big.dump")["UploadId"]
    listed = client.list_multipart_uploads(Bucket=s3_bucket)["Uploads"]
    assert [u["Key"] for u in listed] == ["big.dump"]
    client.abort_multipart_upload(Bucket=s3_bucket, Key="big.dump", UploadId=upload)
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_a_binary_in_a_private_directory_still_serves(tmp_path: Path) -> None:
    # CI clones into a home only root can enter; the server (nobody, under root) must still start.
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    binary = private / "rclone"
    shutil.copy2(rclone_binary(), binary)
    with running_s3(tmp_path / "work", str(binary)) as server:
        server.client().create_bucket(Bucket="private-ok")
        assert [b["Name"] for b in server.client().list_buckets()["Buckets"]] == ["private-ok"]
