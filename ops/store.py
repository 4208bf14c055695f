"""The backups bucket over the S3 API (R2 in production, `rclone serve s3` in the tests).

An object appears in S3 only when its PUT or CompleteMultipartUpload succeeds, so an interrupted
upload never leaves a partial object; a failed multipart upload is aborted here (and the bucket's
lifecycle aborts what a killed process leaves, after a day). An upload that does not verify is
deleted. There is no "latest" pointer object: the newest key is found by listing.

Keys are untrusted input (anyone who can write the bucket names objects): only keys `dump_key`
writes are ever listed, chosen or restored (`parse_key`: the backup prefix, a plain database name,
a date path that matches the stamp), a key dated in the future or after its own upload never
counts as the newest, and a key is printed only through `text.shown` (escaped, one line).
"""

from __future__ import annotations

import hashlib
import os
import re
from base64 import b64encode
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from ops.errors import CheckFailed, StorageError, UsageError
from ops.pgurl import is_local_host
from ops.text import shown

PREFIX = "postgres/"
PART_SIZE = 64 * 1024 * 1024
"""Multipart part size; dumps up to this size go in one PUT. R2 allows 5 MiB to 5 GiB per part."""
META_SHA256 = "sha256"
META_SOURCE = "source-database"
DATABASE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}")
"""Database names a key may carry (ARA's are ara_<stack>); anything else is refused at backup."""
_KEY = re.compile(r"postgres/(?P<db>[A-Za-z0-9_][A-Za-z0-9_.-]{0,62})/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
                  r"(?P=db)-(?P<stamp>(?P=y)(?P=m)(?P=d)T\d{6}Z)\.dump")
STAMP = "%Y%m%dT%H%M%SZ"
CLOCK_SKEW = timedelta(minutes=5)
"""How far a key's stamp may lie after now, or after its object's upload, and still count."""
CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass(frozen=True, kw_only=True)
class Bucket:
    """Where dumps go: bucket name, S3 endpoint and the bucket token's S3 credentials."""

    name: str
    endpoint: str
    access_key_id: str
    secret_access_key: str
    region: str = "auto"
    session_token: str = ""
    """AWS_SESSION_TOKEN of temporary credentials (R2's temporary access credentials, AWS STS)."""

    def scrub(self, text: str) -> str:
        for secret in (self.session_token, self.secret_access_key, self.access_key_id):
            if secret:
                text = text.replace(secret, "***")
        return text


def dump_key(database: str, when: datetime) -> str:
    """`postgres/<db>/YYYY/MM/DD/<db>-YYYYMMDDTHHMMSSZ.dump` (UTC), sortable by time."""
    if not DATABASE_NAME.fullmatch(database):
        raise UsageError(f"database name {shown(database)!s} cannot be part of a backup key: ops backs up "
                         "databases named with letters, digits, '_', '.' and '-' (at most 63)")
    return f"{PREFIX}{database}/{when:%Y/%m/%d}/{database}-{when:%Y%m%dT%H%M%SZ}.dump"


def parse_key(key: str) -> tuple[str, str] | None:
    """(database, stamp) of a key `dump_key` wrote, else None: the whole key must match."""
    match = _KEY.fullmatch(key)
    if not match:
        return None
    try:
        datetime.strptime(match.group("stamp"), STAMP)
    except ValueError:
        return None
    return (match.group("db"), match.group("stamp")) if match else None


def key_time(key: str) -> datetime:
    """When the dump behind a valid key was taken (UTC)."""
    parsed = parse_key(key)
    if parsed is None:
        raise UsageError(f"{shown(key)} is not a key `ops backup` writes")
    return datetime.strptime(parsed[1], STAMP).replace(tzinfo=UTC)


def require_key(key: str, what: str = "--key") -> str:
    """`key` if `ops backup` could have written it; refused (exit 2) otherwise, before any download."""
    if parse_key(key) is None:
        raise UsageError(f"{what} {shown(key)} is not a key `ops backup` writes "
                         f"({PREFIX}<database>/YYYY/MM/DD/<database>-YYYYMMDDTHHMMSSZ.dump); not restoring it")
    return key


def metadata(response: Mapping[str, Any]) -> dict[str, str]:
    """User metadata with lower-case keys (rclone answers `Sha256`, R2 and AWS `sha256`)."""
    return {k.lower(): v for k, v in (response.get("Metadata") or {}).items()}


class Store:
    """S3 operations on one bucket; every botocore failure becomes a StorageError with a clear message."""

    def __init__(self, bucket: Bucket) -> None:
        import boto3  # noqa: PLC0415 - lazy: ~0.1 s to import, paid only by a command that reaches the bucket
        from botocore.config import Config  # noqa: PLC0415 - lazy, as boto3: loads botocore's client machinery

        self.bucket = bucket
        self.client = boto3.client(
            "s3", endpoint_url=bucket.endpoint, region_name=bucket.region,
            aws_access_key_id=bucket.access_key_id, aws_secret_access_key=bucket.secret_access_key,
            aws_session_token=bucket.session_token or None,
            config=Config(
                # R2 supports path-style; it also works for any host, including loopback test servers.
                s3={"addressing_style": "path"},
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=10, read_timeout=120,
                # Integrity comes from Content-MD5 per request and the SHA-256 in metadata; the
                # newer default CRC trailers are not supported by every S3-compatible server.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    # -- errors ------------------------------------------------------------------------------
    def _fail(self, action: str, exc: BaseException) -> StorageError:
        where = f"bucket {self.bucket.name!r} at {self.bucket.endpoint}"
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code.isdigit() or not code:
                # A HEAD answer has no body, so no code: ask again with a request whose answer has one.
                code = self._probe_code() or code
            message = self.bucket.scrub(str(exc.response.get("Error", {}).get("Message", "")))
            return StorageError(f"{action}: {where}: {self.explain(code, status, message, action)}")
        if isinstance(exc, EndpointConnectionError):
            return StorageError(f"{action}: cannot reach {self.bucket.endpoint} (check AWS_ENDPOINT_URL)")
        if isinstance(exc, NoCredentialsError):
            return StorageError(f"{action}: no S3 credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
        return StorageError(f"{action}: {where}: {self.bucket.scrub(f'{type(exc).__name__}: {exc}')}")

    @staticmethod
    def explain(code: str, status: int | None, message: str, action: str = "") -> str:
        """What an S3 error code means for the operator (docs.aws.amazon.com/AmazonS3/latest/API/
        ErrorResponses.html, "List of error codes"; R2 answers the same codes)."""
        said = f" ({shown(message)})" if message else ""
        if code == "NoSuchBucket" or (code == "404" and action == "checking the bucket"):
            return "does not exist (check BACKUP_BUCKET)"
        if code in ("ExpiredToken", "TokenRefreshRequired"):
            return (f"the temporary credentials have expired ({code}): get new ones and set AWS_ACCESS_KEY_ID, "
                    "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN again")
        if code in ("InvalidToken", "InvalidSecurity"):
            return (f"the session token was refused ({code}): AWS_SESSION_TOKEN must belong to the same "
                    "temporary credentials as AWS_ACCESS_KEY_ID (unset it for a long-lived token)")
        if code == "InvalidAccessKeyId":
            return ("does not know the access key (InvalidAccessKeyId): check AWS_ACCESS_KEY_ID "
                    "(the backups bucket's token)")
        if code == "SignatureDoesNotMatch":
            return ("refused the signature (SignatureDoesNotMatch): AWS_SECRET_ACCESS_KEY does not belong to "
                    "AWS_ACCESS_KEY_ID")
        if code == "RequestTimeTooSkewed":
            return "refused the request time (RequestTimeTooSkewed): this machine's clock is off; fix it"
        if code == "AccessDenied" or status == 403:
            return (f"denied access ({code or status}){said}: the token must allow object read and write on "
                    "this bucket (the backups bucket's token), and this machine's clock must be right")
        return f"answered {shown(code) or status}{said}"

    def _probe_code(self) -> str:
        try:
            self.client.list_objects_v2(Bucket=self.bucket.name, Prefix=PREFIX, MaxKeys=1)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            return "" if code.isdigit() else code
        except BotoCoreError:
            return ""
        return ""

    def _call(self, action: str, fn, **kwargs: Any) -> Any:
        try:
            return fn(Bucket=self.bucket.name, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(action, exc) from None

    # -- operations --------------------------------------------------------------------------
    def check_bucket(self) -> None:
        # A listing, not HEAD: its error answers carry the S3 error code (HEAD's carry none).
        self._call("checking the bucket", self.client.list_objects_v2, Prefix=PREFIX, MaxKeys=1)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket.name, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._fail(f"checking {key}", exc) from None

    def upload(self, key: str, path: Path, *, sha256: str, meta: Mapping[str, str],
               part_size: int = PART_SIZE) -> None:
        """Upload `path` to `key` with `meta`; a failure (or interrupt) leaves no object and no open upload."""
        size = path.stat().st_size
        meta = {META_SHA256: sha256, **meta}
        if size <= part_size:
            with path.open("rb") as body:
                md5 = _md5_b64(path)
                self._call(f"uploading {key}", self.client.put_object, Key=key, Body=body, ContentLength=size,
                           ContentMD5=md5, Metadata=meta, ContentType="application/octet-stream")
            return
        upload_id = self._call(f"starting the upload of {key}", self.client.create_multipart_upload, Key=key,
                               Metadata=meta, ContentType="application/octet-stream")["UploadId"]
        try:
            parts = []
            with path.open("rb") as body:
                number = 1
                while chunk := body.read(part_size):
                    md5 = b64encode(hashlib.md5(chunk, usedforsecurity=False).digest()).decode()
                    etag = self._call(f"uploading part {number} of {key}", self.client.upload_part, Key=key,
                                      UploadId=upload_id, PartNumber=number, Body=chunk, ContentMD5=md5)["ETag"]
                    parts.append({"PartNumber": number, "ETag": etag})
                    number += 1
            self._call(f"completing the upload of {key}", self.client.complete_multipart_upload, Key=key,
                       UploadId=upload_id, MultipartUpload={"Parts": parts})
        except StorageError as exc:
            if not self.abort(key, upload_id):
                raise StorageError(f"{exc.message}; aborting the incomplete upload failed too (no object exists; "
                                   "the bucket's lifecycle rule aborts the upload after a day)") from None
            raise
        except BaseException:
            self.abort(key, upload_id)
            raise

    def abort(self, key: str, upload_id: str) -> bool:
        """Abort a multipart upload; False when that failed too (the original failure is what matters)."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket.name, Key=key, UploadId=upload_id)
            return True
        except Exception:  # noqa: BLE001 - best effort: the caller reports the failure that made it abort
            return False

    def verify(self, key: str, *, size: int, sha256: str) -> None:
        """HEAD the object: its size and recorded SHA-256 must be ours, else it is deleted."""
        head = self._call(f"verifying {key}", self.client.head_object, Key=key)
        problems = []
        if head.get("ContentLength") != size:
            problems.append(f"size {head.get('ContentLength')} != {size}")
        if metadata(head).get(META_SHA256) != sha256:
            problems.append("sha256 metadata does not match the dump")
        if problems:
            try:
                self.delete(key)
            except StorageError:
                # prod's backups bucket is locked (R2 bucket lock): nothing is deleted before it expires.
                raise StorageError(f"verifying {key}: {'; '.join(problems)}; it could not be deleted (a bucket "
                                   "lock keeps objects until they expire): do not use it; restores check each "
                                   "dump's sha256 and refuse it") from None
            raise StorageError(f"verifying {key}: {'; '.join(problems)}; the object was deleted")

    def delete(self, key: str) -> None:
        self._call(f"deleting {key}", self.client.delete_object, Key=key)

    def listing(self, database: str | None = None) -> list[tuple[str, int, datetime]]:
        """(key, size, upload time) of every dump `dump_key` wrote (of `database`, when given),
        newest stamp first; any other object is left out."""
        prefix = f"{PREFIX}{database}/" if database else PREFIX
        found: list[tuple[str, str, int, datetime]] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket.name, Prefix=prefix):
                for obj in page.get("Contents", []):
                    parsed = parse_key(obj["Key"])
                    if parsed:
                        found.append((parsed[1], obj["Key"], obj["Size"], obj["LastModified"]))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("listing dumps", exc) from None
        return [(key, size, uploaded) for _stamp, key, size, uploaded in sorted(found, reverse=True)]

    def dumps(self, database: str | None = None) -> list[tuple[str, int]]:
        """(key, size) of every dump `dump_key` wrote (of `database`, when given), newest first."""
        return [(key, size) for key, size, _uploaded in self.listing(database)]

    def latest(self, database: str | None = None, *, now: datetime | None = None,
               log: Callable[[str], None] | None = None) -> str:
        """The newest dump key (of `database`, when given). A key stamped in the future, or later
        than its object was uploaded (a dump is stamped before it is taken), is not a dump
        `ops backup` made when it says: it never counts as the newest."""
        now = now or datetime.now(UTC)
        usable: list[str] = []
        skipped: list[str] = []
        for key, _size, uploaded in self.listing(database):
            taken = key_time(key)
            (skipped if taken > now + CLOCK_SKEW or taken > uploaded + CLOCK_SKEW else usable).append(key)
        if skipped and log:
            log(f"ignoring {len(skipped)} dump(s) dated in the future or after their upload, e.g. "
                f"{shown(skipped[0])}: not counted as the newest")
        if not usable:
            prefix = f"{PREFIX}{database}/" if database else PREFIX
            raise StorageError(f"no dump under {prefix} in bucket {self.bucket.name!r}"
                               + (" (only future-dated ones)" if skipped else ""))
        return usable[0]

    def download(self, key: str, path: Path) -> dict[str, str]:
        """Download `key` to `path`; its SHA-256 must match the one recorded at backup. Returns its metadata."""
        try:
            response = self.client.get_object(Bucket=self.bucket.name, Key=key)
            digest = hashlib.sha256()
            with path.open("wb") as out:
                for chunk in response["Body"].iter_chunks(1024 * 1024):
                    digest.update(chunk)
                    out.write(chunk)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise StorageError(f"downloading {shown(key)}: no such object in bucket {self.bucket.name!r}") from None
            raise self._fail(f"downloading {shown(key)}", exc) from None
        except BotoCoreError as exc:
            raise self._fail(f"downloading {shown(key)}", exc) from None
        meta = metadata(response)
        expected = meta.get(META_SHA256)
        if not expected:
            raise CheckFailed(f"{shown(key)} has no sha256 metadata: it was not written by `python -m ops backup`")
        if digest.hexdigest() != expected:
            raise CheckFailed(f"{shown(key)}: downloaded bytes do not match the sha256 recorded at backup; "
                              "not restoring")
        return meta


def _md5_b64(path: Path) -> str:
    """Content-MD5 of a PUT: S3's transfer integrity check, not a security measure (the dump's
    SHA-256 in its metadata is what a restore trusts)."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return b64encode(digest.digest()).decode()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def bucket_from_env(env: Mapping[str, str] = os.environ) -> Bucket:
    """BACKUP_BUCKET, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (every missing one
    named) and, for temporary credentials, AWS_SESSION_TOKEN."""
    names = ("BACKUP_BUCKET", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise UsageError(f"missing {', '.join(missing)}: set them (the backups bucket, its S3 endpoint and "
                         "the bucket token's S3 keys), or pass --stack with the Pulumi CLI installed")
    endpoint = env["AWS_ENDPOINT_URL"]
    match = re.match(r"^(https?)://([^/\s:]+|\[[0-9a-fA-F:]+\])(:\d+)?/?$", endpoint)
    if not match:
        raise UsageError(f"AWS_ENDPOINT_URL: must be an https:// endpoint without a path (got {shown(endpoint)})")
    if match.group(1) == "http" and not is_local_host(match.group(2)):
        raise UsageError(f"AWS_ENDPOINT_URL: {endpoint} is not https; only a loopback endpoint may use http")
    return Bucket(name=env["BACKUP_BUCKET"], endpoint=endpoint.rstrip("/"),
                  access_key_id=env["AWS_ACCESS_KEY_ID"], secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                  session_token=env.get("AWS_SESSION_TOKEN", ""),
                  region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "auto")
