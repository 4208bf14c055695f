"""`--jobs N`: pg_restore in parallel into a fresh database, still all or nothing.

`pg_restore --jobs` cannot run in one transaction (`--single-transaction` refuses `--jobs`), so a
failure half-way leaves part of the dump behind. What keeps it all or nothing instead:

* the target is a fresh database its role owns (rollback.md step 2: the admin creates it for the
  restore), never the live one; `ops restore` drops it when the restore fails, is interrupted or
  does not verify (DROP DATABASE needs ownership only, not CREATEDB: PostgreSQL docs, DROP
  DATABASE), after ending every session of the restore (`restore.end_session`), so nothing is
  left half-done and the server-side work stops; the drill deletes its whole server;
* only a restore whose row counts match marks the database verified (`ops restore`), and the
  runbook's swap promotes only a verified database.

Outside a transaction block the dump's SQL can run statements a single transaction refuses, as
`DROP DATABASE`: a role may drop every database it owns, and the stack's owner role owns the live
one. So while pg_restore runs, every other database the restore role owns is held open by a
session of DATABASE_URL's role (the read-only backup role), which the restore role may not end:
DROP DATABASE then fails ("is being accessed by other users"; WITH (FORCE): "permission denied to
terminate process"). Without such a session for each of them, `--jobs` is refused. pg_restore's
workers each open one connection (the leader disconnects before forking them: src/bin/pg_dump/
pg_backup_archiver.c, RestoreArchive), so `--jobs` must fit the role's and the database's
connection limits with one to spare for the clean-up.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ops import pgtools, pgurl
from ops.errors import DatabaseError, UsageError
from ops.text import shown

MAX_JOBS = 32
POLL_S = 0.2
GUARD_READY_S = 15.0
STOP_GRACE_S = 5.0
OWNED_ELSEWHERE = """
SELECT d.datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
 WHERE r.rolname = current_user AND d.datname <> current_database() ORDER BY 1
"""
HEADROOM = """
SELECT r.rolconnlimit, d.datconnlimit,
       (SELECT count(*) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()),
       (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()),
       d.datdba = r.oid
  FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()
"""


def check_headroom(into: pgurl.PgUrl, jobs: int) -> None:
    """`jobs` connections, and one more for the clean-up, within the role's and the database's
    connection limits; and the role owns the database (it drops it when the restore fails)."""
    role_limit, db_limit, role_used, db_used, owns = pgtools.query(
        into, HEADROOM, what=f"checking connection limits on {into.display}")[0]
    if owns != "t":
        raise UsageError(f"--jobs: {into.user} does not own {into.display}; a parallel restore drops the database "
                         "when it fails, so its role must own it (CREATE DATABASE … OWNER <role>, rollback.md step 2)")
    for limit, used, what in ((int(role_limit), int(role_used), f"role {shown(into.user)}"),
                              (int(db_limit), int(db_used), f"database {shown(into.database)}")):
        if limit >= 0 and used + jobs + 1 > limit:
            raise UsageError(f"--jobs {jobs}: {what} allows {limit} connections and {used} are in use; a parallel "
                             f"restore needs {jobs} (one per job) and one for its clean-up: use --jobs "
                             f"{max(1, limit - used - 1)} or fewer")


def owned_elsewhere(into: pgurl.PgUrl) -> list[str]:
    """The other databases the restore role owns: a dump's DROP DATABASE could reach them."""
    return [row[0] for row in pgtools.query(into, OWNED_ELSEWHERE, what=f"listing databases {into.user} owns")]


def refuse_unguarded(into: pgurl.PgUrl, databases: Sequence[str], guard: pgurl.PgUrl | None) -> pgurl.PgUrl:
    if guard is None:
        names = ", ".join(shown(d) for d in databases)
        raise UsageError(
            f"--jobs: {into.user} also owns {names}. Outside one transaction a dump could DROP DATABASE them, so ops "
            "holds each open with DATABASE_URL's role while pg_restore runs; set DATABASE_URL (or --stack) to the "
            "stack's backup URL, or restore without --jobs (one transaction, which refuses DROP DATABASE)")
    if guard.user == into.user:
        raise UsageError("--jobs: DATABASE_URL's role is the restore role; its sessions could be ended by the dump. "
                         "Use the stack's backup URL (--stack), or restore without --jobs")
    sql = ("SELECT r.rolconnlimit, (SELECT count(*) FROM pg_stat_activity a WHERE a.usename = r.rolname) "
           f"FROM pg_roles r WHERE r.rolname = {pgurl.quote_literal(guard.user)}")
    rows = pgtools.query(into, sql, what=f"checking {guard.user}'s connection limit")
    if rows and int(rows[0][0]) >= 0 and int(rows[0][1]) + len(databases) > int(rows[0][0]):
        names = ", ".join(shown(d) for d in databases)
        raise UsageError(
            f"--jobs: holding {names} open takes {len(databases)} session(s) of DATABASE_URL's role "
            f"{shown(guard.user)}, which allows {rows[0][0]} and has {rows[0][1]} in use. Drop the databases the "
            "owner no longer needs (rollback.md step 6: an old ara_prod_broken_…), or restore without --jobs")
    return guard


def _guard_process(guard: pgurl.PgUrl, database: str, tag: str) -> subprocess.Popen[bytes]:
    """An idle psql session of the guard role on `database`, open until its stdin closes."""
    env = guard.env() | {"PGAPPNAME": tag}
    return subprocess.Popen([pgtools.tool("psql", guard), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                             "-d", guard.conninfo(database)], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for_guards(into: pgurl.PgUrl, guard: pgurl.PgUrl, procs: dict[str, subprocess.Popen[bytes]],
                     tag: str) -> None:
    """Until the server shows each guard session, seen from the restore role's side (so on the same server)."""
    sql = ("SELECT count(DISTINCT datname) FROM pg_stat_activity WHERE application_name = "
           f"'{tag}' AND usename = {pgurl.quote_literal(guard.user)}")
    deadline = time.monotonic() + GUARD_READY_S
    while True:
        for database, proc in procs.items():
            if proc.poll() is not None:
                detail = guard.scrub((proc.stderr.read() if proc.stderr else b"").decode("utf-8", "replace").strip())
                raise DatabaseError(f"--jobs: DATABASE_URL's role could not hold {shown(database)} open: {detail}")
        seen = int(pgtools.query(into, sql, what="finding the guard sessions")[0][0])
        if seen == len(procs):
            return
        if time.monotonic() > deadline:
            raise DatabaseError(f"--jobs: the sessions of DATABASE_URL's role ({guard.display}) do not show on "
                                f"{into.display}'s server: is DATABASE_URL the same server?")
        time.sleep(POLL_S)


def _refuse_signallable(into: pgurl.PgUrl, guard: pgurl.PgUrl) -> None:
    sql = (f"SELECT pg_has_role(current_user, {pgurl.quote_literal(guard.user)}, 'USAGE') "
           "OR pg_has_role(current_user, 'pg_signal_backend', 'USAGE')")
    if pgtools.query(into, sql, what=f"checking what {into.user} may end")[0][0] == "t":
        raise UsageError(f"--jobs: {into.user} may end {guard.user}'s sessions (a member of it or of "
                         "pg_signal_backend), so they cannot hold its other databases: restore without --jobs")


@contextmanager
def held_open(into: pgurl.PgUrl, databases: Sequence[str], guard: pgurl.PgUrl | None,
              log: Callable[[str], None]) -> Iterator[Callable[[], None]]:
    """Sessions of `guard`'s role on each of `databases` for the duration; yields a check that
    raises DatabaseError once any of them is gone."""
    if not databases:
        yield lambda: None
        return
    guard = refuse_unguarded(into, databases, guard)
    tag = f"ara-ops-hold-{secrets.token_hex(6)}"
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for database in databases:
            procs[database] = _guard_process(guard, database, tag)
        _wait_for_guards(into, guard, procs, tag)
        _refuse_signallable(into, guard)
        log(f"holding {', '.join(shown(d) for d in databases)} open as {guard.user} while pg_restore runs "
            "(a dump's DROP DATABASE cannot take them)")

        def alive() -> None:
            gone = [d for d, p in procs.items() if p.poll() is not None]
            if gone:
                raise DatabaseError(f"the session holding {', '.join(shown(d) for d in gone)} open ended; "
                                    "the parallel restore was stopped")

        yield alive
    finally:
        for proc in procs.values():
            _close(proc)


def _close(proc: subprocess.Popen[bytes]) -> None:
    try:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=STOP_GRACE_S)
    except (OSError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop pg_restore and the workers it forked (its own process group)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_pg_restore(into: pgurl.PgUrl, args: Sequence[str], *, tag: str, options: str | None, workdir: Path,
                   alive: Callable[[], None]) -> None:
    """`pg_restore ARGS` as `into`'s role, in its own process group, checking `alive` while it runs.
    Interrupted (KeyboardInterrupt) or stopped by `alive`, pg_restore and its workers are stopped
    and the exception propagates; a non-zero exit raises DatabaseError with its stderr."""
    env = into.env() | {"PGAPPNAME": tag} | ({"PGOPTIONS": options} if options else {})
    errors = workdir / "pg_restore.stderr"
    with errors.open("wb") as err:
        proc = subprocess.Popen([pgtools.tool("pg_restore", into), *args], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            deadline = time.monotonic() + pgtools.TIMEOUT_S
            while proc.poll() is None:
                alive()
                if time.monotonic() > deadline:
                    raise DatabaseError(f"pg_restore did not finish within {pgtools.TIMEOUT_S // 3600} h")
                time.sleep(POLL_S)
        except BaseException:
            stop(proc)
            raise
    if proc.returncode != 0:
        detail = into.scrub(errors.read_text(errors="replace").strip()) or f"exit code {proc.returncode}"
        raise DatabaseError(f"pg_restore failed (pg_restore on {into.display}):\n{detail}")


def drop_database(into: pgurl.PgUrl) -> str:
    """DROP DATABASE `into` (its role owns it) from the server's maintenance database, ending its
    own sessions there first (WITH (FORCE)). Returns what happened, for the operator."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    sql = f"DROP DATABASE IF EXISTS {pgurl.quote_ident(into.database)} WITH (FORCE)"
    problems = []
    try:
        for maintenance in ("postgres", "template1"):
            try:
                pgtools.query(into, sql, what=f"dropping {into.display}", database=maintenance)
                return (f"the database {shown(into.database)} was dropped: recreate it empty (rollback.md step 2) "
                        "to retry")
            except DatabaseError as exc:
                problems.append(exc.message.splitlines()[-1])
        return (f"could not drop {into.display} ({'; '.join(problems)}): it may hold part of the dump; drop it as "
                f"admin: DROP DATABASE {pgurl.quote_ident(into.database)}")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
