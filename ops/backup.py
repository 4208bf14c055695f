"""`python -m ops backup`: pg_dump -Fc of DATABASE_URL's database to the backups bucket, verified."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from ops import pgtools, pgurl, store
from ops.errors import StorageError, UsageError
from ops.text import clean


def database_url(env: Mapping[str, str]) -> pgurl.PgUrl:
    raw = env.get("DATABASE_URL")
    if not raw:
        raise UsageError("missing DATABASE_URL: the backup role's URL (postgresql://ROLE:PASSWORD@HOST/DB?sslmode=require)")
    url = pgurl.parse(raw, name="DATABASE_URL")
    pgurl.require_tls(url)
    return url


def run(env: Mapping[str, str], *, now: datetime | None = None, part_size: int = store.PART_SIZE,
        log=None) -> str:
    """Dump, upload, verify; return the object key. Any failure raises an OpsError and leaves no object."""
    log = log or (lambda msg: print(clean(msg), file=sys.stderr, flush=True))
    url = database_url(env)
    bucket = store.bucket_from_env(env)
    s3 = store.Store(bucket)
    s3.check_bucket()

    dump_major = pgtools.tool_major("pg_dump", url)
    server_major = pgtools.server_major(url)
    pgtools.check_dump_version(dump_major, server_major)

    when = (now or datetime.now(UTC)).astimezone(UTC)
    key = store.dump_key(url.database, when)
    if s3.exists(key):
        raise StorageError(f"{key} already exists in bucket {bucket.name!r}; not overwriting a backup")

    with tempfile.TemporaryDirectory(prefix="ara-backup-") as tmp:
        path = Path(tmp) / "dump"
        log(f"dumping {url.display} with pg_dump {dump_major} (server {server_major})")
        pgtools.run(url, "pg_dump", ["--format=custom", "--no-password", "--lock-wait-timeout=120s",
                                     f"--file={path}", f"--dbname={url.conninfo()}"], what="pg_dump")
        # A dump pg_restore cannot list is corrupt: refuse it before it reaches the bucket.
        pgtools.run(url, "pg_restore", ["--list", str(path)], what="reading back the dump")
        size = path.stat().st_size
        digest = store.file_sha256(path)
        log(f"uploading {size} bytes to {bucket.name}/{key}")
        s3.upload(key, path, sha256=digest, part_size=part_size, meta={
            store.META_SOURCE: url.source,
            "pg-dump-major": str(dump_major),
            "server-major": str(server_major),
            "created": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
        s3.verify(key, size=size, sha256=digest)
    log(f"backup verified: {size} bytes, sha256 {digest}")
    return key
