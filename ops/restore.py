"""`python -m ops restore --into URL [--key KEY]`: a verified dump into a database the operator names.

Never into the live database: the target must differ from DATABASE_URL's database (under any
spelling of the URL, and, when DATABASE_URL answers, by asking both servers) and from the
database the dump was taken from (recorded with the dump). The target must be empty and already
hold every extension the dump needs (created beforehand by a role allowed to: on a managed
server the platform's admin, in the drill the throwaway server's superuser); the dump's own
extension entries are left out. The restore runs as the `--into` role (`--no-owner`), in one
transaction that stops at the first error, so it either restores everything or nothing. Row
counts are then compared with the dump.

Trust: a dump is SQL run with the restoring role's privileges, and anyone who can write the
bucket, or create a function in the source database, decides what it contains. So the restoring
role must be unable to do harm beyond its own database: a superuser, a role with CREATEROLE, or a
member of pg_execute_server_program / pg_read_server_files / pg_write_server_files is refused
unless `--allow-privileged-role` says the operator means it. COPY … TO PROGRAM, untrusted
languages and CREATE ROLE in a dump then fail on PostgreSQL's own privilege checks, the single
transaction rolls everything back, and ops says the dump is suspect. The PostgreSQL tools get no
cloud credentials (pgurl.tool_env). An interrupted restore ends its own server session before ops
exits. A restore whose row counts match marks the database verified (its comment starts with
VERIFIED_MARK), the only kind the runbook's swap promotes.

`--jobs N` restores in parallel, which cannot be one transaction: ops/parallel.py keeps it all or
nothing (the fresh database is dropped on failure) and holds the role's other databases open.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ops import parallel, pgtools, pgurl, store
from ops.errors import CheckFailed, DatabaseError, Interrupted, OpsError, UsageError
from ops.text import clean, shown

_COPY = re.compile(r"^COPY (?P<table>.+?) (?:\(.*\) )?FROM stdin;$")
# The dump's extension entries: created beforehand by a role allowed to (neither vector nor
# pg_stat_statements is trusted), and their comments need the extension's owner.
_EXTENSION_TOC = re.compile(r"^\d+; \d+ \d+ (?:COMMENT - )?EXTENSION ")
_IDENT = r'"(?:[^"]|"")+"|[^\s;"]+'
_CREATE_EXTENSION = re.compile(
    rf"^CREATE EXTENSION IF NOT EXISTS (?P<name>{_IDENT})(?: WITH SCHEMA (?P<schema>{_IDENT}))?;$")
PRIVILEGED_PREDEFINED = ("pg_execute_server_program", "pg_read_server_files", "pg_write_server_files")

USER_RELATIONS = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
"""
# Every role whose privileges the restoring role can use or SET ROLE to, that could act beyond
# its own database: run programs or read/write server files, create roles, or everything.
PRIVILEGED_MEMBERSHIPS = f"""
SELECT r.rolname, r.rolsuper, r.rolcreaterole FROM pg_roles r
 WHERE pg_has_role(current_user, r.oid, 'MEMBER')
   AND (r.rolsuper OR r.rolcreaterole OR r.rolname IN ({", ".join(f"'{n}'" for n in PRIVILEGED_PREDEFINED)}))
 ORDER BY r.rolname <> current_user, r.rolname
"""
INSTALLED_EXTENSIONS = ("SELECT e.extname, n.nspname FROM pg_extension e "
                        "JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1")
SERVER_FINGERPRINT = ("SELECT pg_postmaster_start_time(), current_database(), "
                      "(SELECT oid FROM pg_database WHERE datname = current_database())")
CANCEL_TIMEOUT_MS = 5000


VERIFIED_MARK = "ara-ops: restore verified"
"""The start of the database comment `ops restore` sets once the row counts match: the runbook's
swap promotes only a database carrying it (docs/how-to/runbooks/rollback.md step 4)."""
MAINTENANCE_WORK_MEM = re.compile(r"[1-9][0-9]{0,6}(kB|MB|GB)")


@dataclass(frozen=True)
class Result:
    key: str
    target: str
    tables: int
    rows: int
    restore_seconds: float = 0.0
    """pg_restore, wall time."""
    verify_seconds: float = 0.0
    """Row counts against the dump's, wall time."""
    jobs: int = 1


@dataclass(frozen=True, kw_only=True)
class Tuning:
    """How pg_restore runs: `jobs` parallel workers (1: one transaction) and the sessions'
    maintenance_work_mem (None: the server's); `guard` holds the role's other databases open
    during a parallel restore (ops/parallel.py)."""

    jobs: int = 1
    maintenance_work_mem: str | None = None
    guard: pgurl.PgUrl | None = None

    @property
    def options(self) -> str | None:
        # pgvector builds an HNSW index much faster while its graph fits in maintenance_work_mem
        # (github.com/pgvector/pgvector#index-build-time).
        return f"-c maintenance_work_mem={self.maintenance_work_mem}" if self.maintenance_work_mem else None


@dataclass(frozen=True)
class Dump:
    """A downloaded, verified dump and what it needs."""

    key: str
    path: Path
    meta: Mapping[str, str]
    toc: tuple[str, ...]
    """`pg_restore --list` lines."""
    extensions: tuple[tuple[str, str], ...]
    """(extension, schema) the dump's objects need."""
    row_counts: Mapping[str, int]


def _unquote(ident: str) -> str:
    return ident[1:-1].replace('""', '"') if ident.startswith('"') else ident


def dump_row_counts(dump: Path) -> dict[str, int]:
    """Rows per table in the dump's data section (COPY blocks of `pg_restore --data-only -f -`)."""
    proc = subprocess.Popen([pgtools.tool("pg_restore"), "--data-only", "--file=-", str(dump)],
                            env=pgurl.tool_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
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
        raise DatabaseError(f"reading the dump's data failed (pg_restore): {stderr.strip()}")
    return counts


def dump_extensions(dump: Path, toc: tuple[str, ...], workdir: Path) -> tuple[tuple[str, str], ...]:
    """(name, schema) of each extension the dump creates, read from its own SQL."""
    entries = [line for line in toc if _EXTENSION_TOC.match(line) and " COMMENT - " not in line]
    if not entries:
        return ()
    listing = workdir / "extensions.list"
    listing.write_text("".join(line + "\n" for line in entries))
    sql = pgtools.run_local("pg_restore", [f"--use-list={listing}", "--file=-", str(dump)],
                            what="reading the dump's extensions").stdout
    found = [m for m in (_CREATE_EXTENSION.match(line) for line in sql.splitlines()) if m]
    return tuple((_unquote(m.group("name")), _unquote(m.group("schema") or "public")) for m in found)


def inspect(path: Path, key: str, meta: Mapping[str, str]) -> Dump:
    """What a downloaded dump holds and needs (pg_restore reads the file; nothing connects)."""
    toc = tuple(pgtools.run_local("pg_restore", ["--list", str(path)], what="listing the dump").stdout.splitlines())
    return Dump(key=key, path=path, meta=meta, toc=toc, extensions=dump_extensions(path, toc, path.parent),
                row_counts=dump_row_counts(path))


@contextmanager
def fetched(s3: store.Store, key: str, *, log: Callable[[str], None]) -> Iterator[Dump]:
    """Download `key` (sha256 checked) into a private temporary directory, with what it needs."""
    store.require_key(key)
    with tempfile.TemporaryDirectory(prefix="ara-restore-") as tmp:
        path = Path(tmp) / "dump"
        meta = s3.download(key, path)
        log(f"downloaded {shown(key)} ({path.stat().st_size} bytes, sha256 verified)")
        yield inspect(path, key, meta)


def drop_cloud_credentials(env: Mapping[str, str]) -> dict[str, str]:
    """After the download: no process started from here on (the PostgreSQL tools, a server) can
    inherit the bucket's credentials. Returns `env` without them."""
    for var in store.CREDENTIAL_VARS:
        os.environ.pop(var, None)
    return {k: v for k, v in env.items() if k not in store.CREDENTIAL_VARS}


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
                             "database and switch over deliberately (docs/how-to/runbooks/rollback.md)")
    if source and _is_source(source, into):
        raise UsageError(f"--into {into.display} is the database this dump was taken from: restore into a new, "
                         "empty database and switch over deliberately (docs/how-to/runbooks/rollback.md)")


def refuse_live_server(into: pgurl.PgUrl, env: Mapping[str, str], log: Callable[[str], None]) -> None:
    """Ask both servers which database they are: catches what no URL comparison can (a pooler's
    host name and the direct one, two CNAMEs). Skipped, with a note, when DATABASE_URL does not answer."""
    live = env.get("DATABASE_URL")
    if not live:
        return
    live_url = pgurl.parse(live, name="DATABASE_URL")
    try:
        pgurl.require_tls(live_url)
        theirs = pgtools.query(live_url, SERVER_FINGERPRINT, what="asking DATABASE_URL's server who it is")
    except (UsageError, DatabaseError) as exc:
        log(f"note: could not ask DATABASE_URL's server who it is ({exc.message.splitlines()[0]}); "
            "relying on host, port and database name")
        return
    ours = pgtools.query(into, SERVER_FINGERPRINT, what=f"asking {into.display} who it is")
    if ours == theirs:
        raise UsageError(f"--into {into.display} is DATABASE_URL's database (the same server and database under "
                         "another name): restore into a new, empty database and switch over deliberately "
                         "(docs/how-to/runbooks/rollback.md)")


def _is_source(source: str, into: pgurl.PgUrl) -> bool:
    """Whether `into` is the database a dump recorded as its source (`address:port/database`)."""
    host_port, _, database = source.rpartition("/")
    host, _, port = host_port.rpartition(":")
    try:
        recorded = pgurl.PgUrl(name="source", user="-", password="", host=host, port=int(port), database=database,
                               params=())
    except ValueError:
        return source.lower() == into.source.lower()
    return pgurl.same_database(recorded, into)


def refuse_privileged_role(into: pgurl.PgUrl, allow: bool, log: Callable[[str], None]) -> None:
    """A restore runs the dump's SQL with the role's privileges: refuse a role that could act
    beyond its own database, unless the operator says they mean it."""
    rows = pgtools.query(into, PRIVILEGED_MEMBERSHIPS, what=f"checking the privileges of {into.user}")
    if not rows:
        return
    if rows[0][0] == into.user and rows[0][1] == "t":
        rows = rows[:1]  # a superuser "has" every role: the attribute says it all
    why = "; ".join(_privilege(into.user, name, sup == "t", createrole == "t") for name, sup, createrole in rows)
    if allow:
        log(f"warning: restoring as a privileged role ({why}): the dump's SQL runs with all of it")
        return
    raise UsageError(
        f"--into role {shown(into.user)} is privileged: {why}. A restore runs whatever SQL the dump holds with the "
        "role's privileges, so a hostile dump could run programs on the server or create roles. Restore as a "
        "role that owns the target database and nothing more (the stack's owner role, "
        "docs/how-to/runbooks/rollback.md), or pass --allow-privileged-role if you mean it")


def _privilege(user: str, name: str, superuser: bool, createrole: bool) -> str:
    what = "is superuser" if superuser else "has CREATEROLE" if createrole else "may run programs or use server files"
    subject = "it" if name == user else f"it is a member of {shown(name)}, which"
    return f"{subject} {what}"


def check_extensions(into: pgurl.PgUrl, dump: Dump) -> None:
    """Every extension the dump needs must already be in the target, in the dump's schema."""
    installed = {(name, schema) for name, schema in pgtools.query(into, INSTALLED_EXTENSIONS,
                                                                  what=f"listing extensions in {into.display}")}
    missing = [(name, schema) for name, schema in dump.extensions if (name, schema) not in installed]
    if not missing:
        return
    names = ", ".join(f"{shown(n)} (schema {shown(s)})" for n, s in missing)
    sql = "; ".join(f"CREATE EXTENSION {pgurl.quote_ident(n)} WITH SCHEMA {pgurl.quote_ident(s)}" for n, s in missing)
    raise UsageError(
        f"--into {into.display} lacks extensions the dump needs: {names}. The restore role may not create them "
        "(neither vector nor pg_stat_statements is trusted): a role allowed to must, in that database, first — on a "
        "managed server the stack's admin (dbAdminUser: a member of rds_superuser, neon_superuser or Supabase's "
        f"postgres), as docs/how-to/runbooks/rollback.md step 2 shows: {clean(sql)}")


def restore_into(into: pgurl.PgUrl, dump: Dump, *, no_privileges: bool, workdir: Path,
                 log: Callable[[str], None], tuning: Tuning = Tuning()) -> Result:
    """pg_restore `dump` into the empty `into` as its role, then compare row counts. One job: in
    one transaction (all or nothing); more: in parallel (ops/parallel.py: the caller discards the
    database when this raises)."""
    check_extensions(into, dump)
    toc = workdir / "toc"
    toc.write_text("".join(line + "\n" for line in dump.toc if not _EXTENSION_TOC.match(line)))
    args = ["--no-owner", "--no-password", "--exit-on-error", f"--use-list={toc}", f"--dbname={into.conninfo()}"]
    args.insert(0, "--single-transaction" if tuning.jobs == 1 else f"--jobs={tuning.jobs}")
    if no_privileges:
        args.insert(0, "--no-privileges")
    tag = f"ara-ops-restore-{secrets.token_hex(6)}"
    started = time.monotonic()
    try:
        if tuning.jobs == 1:
            log(f"restoring into {into.display} as {into.user} (one transaction)")
            pgtools.run(into, "pg_restore", [*args, str(dump.path)], what="pg_restore", app_name=tag,
                        options=tuning.options)
        else:
            _restore_parallel(into, [*args, str(dump.path)], tag=tag, tuning=tuning, workdir=workdir, log=log)
    except KeyboardInterrupt:
        raise Interrupted(end_session(into, tag, tuning.jobs)) from None
    except DatabaseError as exc:
        if tuning.jobs > 1:
            end_session(into, tag, tuning.jobs)
        raise _suspect(exc, into) from None
    restored = time.monotonic()
    result = verify_rows(into, dump)
    return replace(result, restore_seconds=restored - started, verify_seconds=time.monotonic() - restored,
                   jobs=tuning.jobs)


def _restore_parallel(into: pgurl.PgUrl, args: list[str], *, tag: str, tuning: Tuning, workdir: Path,
                      log: Callable[[str], None]) -> None:
    parallel.check_headroom(into, tuning.jobs)
    others = parallel.owned_elsewhere(into)
    with parallel.held_open(into, others, tuning.guard, log) as alive:
        log(f"restoring into {into.display} as {into.user} ({tuning.jobs} jobs in parallel; not one transaction: "
            "a failure discards the database)")
        parallel.run_pg_restore(into, args, tag=tag, options=tuning.options, workdir=workdir, alive=alive)


def verify_rows(into: pgurl.PgUrl, dump: Dump) -> Result:
    """Every table's row count in `into` against the dump's data section."""
    expected = dump.row_counts
    actual = table_row_counts(into, sorted(expected))
    wrong = [f"{t}: dump {expected[t]}, restored {actual.get(t)}"
             for t in sorted(expected) if actual.get(t) != expected[t]]
    if wrong:
        raise CheckFailed("row counts differ from the dump:\n  " + "\n  ".join(wrong))
    return Result(key=dump.key, target=into.display, tables=len(expected), rows=sum(expected.values()))


def _suspect(exc: DatabaseError, into: pgurl.PgUrl) -> DatabaseError:
    """A privilege refusal in a restore: the dump asked for more than tables, data and functions."""
    if not re.search(r"ERROR:\s+(permission denied|must be superuser|must be owner of)", exc.message):
        return exc
    return DatabaseError(
        f"{exc.message}\nThe dump tried something its restore role ({shown(into.user)}: no superuser, no "
        "CREATEROLE) may not do, and nothing of the restore was kept. A dump `ops backup` writes only creates "
        "objects and data in a database the role owns: treat this one as hostile, do not restore it with more "
        "privilege, and find out who wrote it (docs/how-to/runbooks/incident-response.md, \"Restore drill failed\")")


def end_session(into: pgurl.PgUrl, tag: str, jobs: int = 1) -> str:
    """Terminate the interrupted pg_restore's own server sessions (a role may end its own sessions;
    PostgreSQL docs, pg_terminate_backend), so its transaction is rolled back now, not when the
    server next notices the closed connection. Returns what happened, for the operator."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    sql = (f"SELECT count(*) FILTER (WHERE NOT pg_terminate_backend(pid, {CANCEL_TIMEOUT_MS})) "
           f"FROM pg_stat_activity WHERE application_name = '{tag}' AND usename = current_user "
           "AND pid <> pg_backend_pid()")
    try:
        left = pgtools.query(into, sql, what="ending the interrupted restore's session")
        if left and left[0][0] == "0" and jobs > 1:
            return "the restore's server sessions were ended before exit"
        if left and left[0][0] == "0":
            return (f"the restore's server session was ended before exit; its single transaction rolled back, "
                    f"{into.display} is as it was")
        return (f"the restore's server session did not end within {CANCEL_TIMEOUT_MS // 1000} s: "
                f"check pg_stat_activity for application_name {tag}")
    except DatabaseError as exc:
        return (f"could not end the restore's server session ({exc.message.splitlines()[0]}): check pg_stat_activity "
                f"on {into.display} for application_name {tag}")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(env: Mapping[str, str], *, into_raw: str, key: str | None, no_privileges: bool = False,
        allow_privileged_role: bool = False, jobs: int = 1, maintenance_work_mem: str | None = None,
        log=None) -> Result:
    log = log or (lambda msg: print(clean(msg), file=sys.stderr, flush=True))
    into = pgurl.parse(into_raw, name="--into")
    pgurl.require_tls(into)
    refuse_live(into, env, None)
    if key is not None:
        store.require_key(key)
    refuse_privileged_role(into, allow_privileged_role, log)
    refuse_live_server(into, env, log)
    empty = pgtools.query(into, USER_RELATIONS, what=f"checking that {into.display} is empty")
    if int(empty[0][0]) != 0:
        raise UsageError(f"--into {into.display} is not empty ({empty[0][0]} relations): restore into a new, "
                         "empty database (CREATE DATABASE … OWNER <role>)")
    tuning = Tuning(jobs=jobs, maintenance_work_mem=maintenance_work_mem)
    if jobs > 1:
        tuning = replace(tuning, guard=_preflight_parallel(into, env, jobs, allow_privileged_role))
    s3 = store.Store(store.bucket_from_env(env))
    s3.check_bucket()
    if key is None:
        live = env.get("DATABASE_URL")
        key = s3.latest(pgurl.parse(live, name="DATABASE_URL").database if live else None, log=log)
        log(f"latest dump: {shown(key)}")
    with fetched(s3, key, log=log) as dump:
        env = drop_cloud_credentials(env)
        refuse_live(into, env, dump.meta.get(store.META_SOURCE))
        check_extensions(into, dump)  # before anything is restored: the database stays as it was
        mark(into, None, log)
        try:
            result = restore_into(into, dump, no_privileges=no_privileges, workdir=dump.path.parent, log=log,
                                  tuning=tuning)
        except (OpsError, KeyboardInterrupt) as exc:
            raise _discarded(exc, into, tuning, log) from None
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        mark(into, f"{VERIFIED_MARK}: {key}, {result.tables} tables, {result.rows} rows, {stamp}", log)
        return result


def _preflight_parallel(into: pgurl.PgUrl, env: Mapping[str, str], jobs: int,
                        allow_privileged_role: bool) -> pgurl.PgUrl | None:
    """Before anything is downloaded: what a parallel restore needs (ops/parallel.py)."""
    if allow_privileged_role:
        raise UsageError("--jobs with --allow-privileged-role: outside one transaction a privileged role's dump "
                         "could drop any database; restore without --jobs")
    parallel.check_headroom(into, jobs)
    live = env.get("DATABASE_URL")
    guard = pgurl.parse(live, name="DATABASE_URL") if live else None
    if guard is not None:
        pgurl.require_tls(guard)
    others = parallel.owned_elsewhere(into)
    if others:
        parallel.refuse_unguarded(into, others, guard)
    return guard


def mark(into: pgurl.PgUrl, text: str | None, log: Callable[[str], None]) -> None:
    """Set (or clear) the database's comment: the verified mark the runbook's swap looks for."""
    value = pgurl.quote_literal(text) if text is not None else "NULL"
    try:
        pgtools.query(into, f"COMMENT ON DATABASE {pgurl.quote_ident(into.database)} IS {value}",
                      what=f"marking {into.display}")
    except DatabaseError as exc:
        log(f"note: could not {'mark' if text else 'clear the mark of'} {into.display} "
            f"({exc.message.splitlines()[-1]}); the runbook's swap promotes only a database marked verified")


def _discarded(exc: BaseException, into: pgurl.PgUrl, tuning: Tuning,
               log: Callable[[str], None]) -> BaseException:
    """The restore failed, was interrupted or did not verify: nothing of it may be promoted. One
    transaction left nothing (or, when only the row counts differ, no mark); a parallel restore's
    database is dropped. Returns `exc` with what was done added."""
    if tuning.jobs == 1:
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            mark(into, None, log)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return exc
    dropped = parallel.drop_database(into)
    if isinstance(exc, Interrupted):
        return Interrupted(f"{exc.message}; {dropped}")
    if isinstance(exc, OpsError):
        return type(exc)(f"{exc.message}\n{dropped}")
    return Interrupted(f"the restore's server sessions were ended; {dropped}")


NEXT_STEPS = """\
Dumps do not carry the database's own ACL (CONNECT grants, PUBLIC revoked) or role passwords.
Before an app uses this database: make it the stack's database (docs/how-to/runbooks/rollback.md) and
re-apply the program, `pulumi up --stack <stack>`, which re-grants the database ACL and the
runtime and backup roles' privileges; then run the app's migrations (`npx prisma migrate deploy`
with the stack's migrationDatabaseUrl) if the dump predates the deployed schema."""
