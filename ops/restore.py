"""`python -m ops restore --into URL [--key KEY]`: a verified dump into a database the operator names.

Never into the live database: the target must differ from DATABASE_URL's database and from the
database the dump was taken from (recorded with the dump). The target must be empty; the
restore runs as the `--into` role (`--no-owner`), in one transaction that stops at the first
error, so it either restores everything or nothing. Row counts are then compared with the dump.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ops import pgtools, pgurl, store
from ops.errors import CheckFailed, DatabaseError, UsageError

_COPY = re.compile(r"^COPY (?P<table>.+?) (?:\(.*\) )?FROM stdin;$")
# Comments on extensions need the extension's owner (a superuser on managed servers); they are
# not data, and the target's extensions carry their own.
_SKIPPED_TOC = re.compile(r"^\d+; \d+ \d+ COMMENT - EXTENSION ")

USER_RELATIONS = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
"""


@dataclass(frozen=True)
class Result:
    key: str
    target: str
    tables: int
    rows: int


def dump_row_counts(url: pgurl.PgUrl, dump: Path) -> dict[str, int]:
    """Rows per table in the dump's data section (COPY blocks of `pg_restore --data-only -f -`)."""
    proc = subprocess.Popen([pgtools.tool("pg_restore", url), "--data-only", "--file=-", str(dump)],
                            env=url.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    counts: dict[str, int] = {}
    table: str | None = None
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.rstrip(b"\n")
        if table is None:
            if line.startswith(b"COPY "):
                match = _COPY.match(line.decode("utf-8", "replace"))
                if match:
                    table = match.group("table")
                    counts[table] = 0
        elif line == b"\\.":
            table = None
        else:
            counts[table] += 1
    stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.wait() != 0:
        raise DatabaseError(f"reading the dump's data failed (pg_restore): {url.scrub(stderr.strip())}")
    return counts


def table_row_counts(url: pgurl.PgUrl, tables: list[str]) -> dict[str, int]:
    if not tables:
        return {}
    sql = " UNION ALL ".join(f"SELECT {i}, count(*) FROM ONLY {t}" for i, t in enumerate(tables))
    rows = pgtools.query(url, sql, what=f"counting rows in {url.display}")
    return {tables[int(i)]: int(n) for i, n in rows}


def refuse_live(into: pgurl.PgUrl, env: Mapping[str, str], source: str | None) -> None:
    live = env.get("DATABASE_URL")
    if live:
        live_url = pgurl.parse(live, name="DATABASE_URL")
        if pgurl.same_database(live_url, into):
            raise UsageError(f"--into {into.display} is DATABASE_URL's database: restore into a new, empty "
                             "database and switch over deliberately (docs/runbooks/rollback.md)")
    if source and _is_source(source, into):
        raise UsageError(f"--into {into.display} is the database this dump was taken from: restore into a new, "
                         "empty database and switch over deliberately (docs/runbooks/rollback.md)")


def _is_source(source: str, into: pgurl.PgUrl) -> bool:
    """Whether `into` is the database a dump recorded as its source (`host:port/database`)."""
    host_port, _, database = source.rpartition("/")
    host, _, port = host_port.rpartition(":")
    try:
        recorded = pgurl.PgUrl(name="source", user="-", password="", host=host, port=int(port), database=database,
                               params=())
    except ValueError:
        return source.lower() == into.source.lower()
    return pgurl.same_database(recorded, into)


def run(env: Mapping[str, str], *, into_raw: str, key: str | None, no_privileges: bool = False,
        log=None) -> Result:
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    into = pgurl.parse(into_raw, name="--into")
    pgurl.require_tls(into)
    refuse_live(into, env, None)
    bucket = store.bucket_from_env(env)
    s3 = store.Store(bucket)
    s3.check_bucket()
    if key is None:
        live = env.get("DATABASE_URL")
        key = s3.latest(pgurl.parse(live, name="DATABASE_URL").database if live else None)
        log(f"latest dump: {key}")

    empty = pgtools.query(into, USER_RELATIONS, what=f"checking that {into.display} is empty")
    if int(empty[0][0]) != 0:
        raise UsageError(f"--into {into.display} is not empty ({empty[0][0]} relations): restore into a new, "
                         "empty database (CREATE DATABASE … OWNER <role>)")

    with tempfile.TemporaryDirectory(prefix="ara-restore-") as tmp:
        dump = Path(tmp) / "dump"
        meta = s3.download(key, dump)
        refuse_live(into, env, meta.get(store.META_SOURCE))
        log(f"downloaded {key} ({dump.stat().st_size} bytes, sha256 verified)")
        expected = dump_row_counts(into, dump)
        listing = pgtools.run(into, "pg_restore", ["--list", str(dump)], what="listing the dump").stdout
        toc = Path(tmp) / "toc"
        toc.write_text("".join(line + "\n" for line in listing.splitlines() if not _SKIPPED_TOC.match(line)))
        args = ["--no-owner", "--no-password", "--exit-on-error", "--single-transaction",
                f"--use-list={toc}", f"--dbname={into.conninfo()}"]
        if no_privileges:
            args.insert(0, "--no-privileges")
        log(f"restoring into {into.display} as {into.user}")
        pgtools.run(into, "pg_restore", [*args, str(dump)], what="pg_restore")

    actual = table_row_counts(into, sorted(expected))
    wrong = [f"{t}: dump {expected[t]}, restored {actual.get(t)}" for t in sorted(expected) if actual.get(t) != expected[t]]
    if wrong:
        raise CheckFailed("row counts differ from the dump:\n  " + "\n  ".join(wrong))
    return Result(key=key, target=into.display, tables=len(expected), rows=sum(expected.values()))


NEXT_STEPS = """\
Dumps do not carry the database's own ACL (CONNECT grants, PUBLIC revoked) or role passwords.
Before an app uses this database: make it the stack's database (docs/runbooks/rollback.md) and
re-apply the program, `pulumi up --stack <stack>`, which re-grants the database ACL and the
runtime and backup roles' privileges; then run the app's migrations (`npx prisma migrate deploy`
with the stack's migrationDatabaseUrl) if the dump predates the deployed schema."""
