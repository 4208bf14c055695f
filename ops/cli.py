"""Command line: `python -m ops backup|restore|drill|list|connections|smoke`.

Exit codes: the repository's one scheme (`infra.exitcodes`), what each means for ops in
`ops.errors.EXIT_CODES` (docs/reference/exit-codes.md).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from infra.exitcodes import epilog
from ops import errors, pgurl, smoke, target
from ops.parallel import MAX_JOBS
from ops.text import clean, clean_line

MAX_BUDGET_MINUTES = 7 * 24 * 60


def build_parser() -> argparse.ArgumentParser:
    """The parser of `python -m ops` (docs/reference/ops-cli.md is generated from it)."""
    parser = argparse.ArgumentParser(prog="python -m ops", epilog=epilog(errors.EXIT_CODES),
                                     description="Backups of ARA's database to its bucket, restores, restore drills "
                                                 "and connection checks; the live site's smoke test after a deploy.")
    parser.add_argument("--debug", action="store_true", help="show a traceback on an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True)

    stack_help = "read DATABASE_URL, BACKUP_BUCKET and the S3 variables from this stack's outputs (Pulumi CLI)"
    backup = sub.add_parser("backup", help="pg_dump DATABASE_URL's database to BACKUP_BUCKET; prints the key last")
    backup.add_argument("--stack", help=stack_help)

    restore = sub.add_parser("restore", help="restore a dump into a new, empty database")
    restore.add_argument("--into", required=True, metavar="URL",
                         help="the database to restore into (never DATABASE_URL's); its role runs pg_restore")
    restore.add_argument("--key", help="the dump's object key (default: the newest)")
    restore.add_argument("--no-privileges", action="store_true",
                         help="skip GRANT/REVOKE of the dump (a throwaway server without the stack's roles)")
    restore.add_argument("--allow-privileged-role", action="store_true",
                         help="restore even though the --into role is superuser, has CREATEROLE or may run "
                              "programs on the server (the dump's SQL runs with all of it)")
    _restore_tuning(restore)
    restore.add_argument("--stack", help=stack_help)

    drill = sub.add_parser("drill", help="restore the newest dump into a throwaway local server and check it")
    drill.add_argument("--key", help="the dump's object key (default: the newest)")
    drill.add_argument("--max-age-hours", type=float, default=36.0,
                       help="fail when the newest dump is older (default 36: a missed daily backup)")
    drill.add_argument("--min-tables", type=int, default=1, help="fail with fewer restored tables (default 1)")
    drill.add_argument("--extension", action="append", default=None, dest="extensions",
                       help="an extension the restored database must have (repeatable; default: vector)")
    drill.add_argument("--restore-budget-minutes", type=_minutes, default=None, metavar="MINUTES",
                       help="fail when pg_restore takes longer (default: 5 min + 20 min per GiB of dump; "
                            "set it to your recovery time objective)")
    _restore_tuning(drill)
    drill.add_argument("--stack", help=stack_help)
    # Internal: the drill restarts itself with these once the dump is downloaded and the bucket's
    # credentials are gone from its environment (ops/drill.py).
    drill.add_argument("--downloaded", help=argparse.SUPPRESS)
    drill.add_argument("--sha256", help=argparse.SUPPRESS)
    drill.add_argument("--download-seconds", type=float, default=0.0, help=argparse.SUPPRESS)

    listing = sub.add_parser("list", help="the dumps in BACKUP_BUCKET, newest first (key and size)")
    listing.add_argument("--database", help="only this database's dumps")
    listing.add_argument("--stack", help=stack_help)

    conns = sub.add_parser("connections", help="connection use of DATABASE_URL's database, role and server")
    conns.add_argument("--threshold", type=float, default=80.0, metavar="PERCENT",
                       help="fail above this use of any limit (default 80, the guide's alert)")
    conns.add_argument("--stack", help=stack_help)

    smoke = sub.add_parser("smoke", help="after a deploy: the live site's status, declared headers and health check")
    smoke.add_argument("--url", required=True, help="the production origin, e.g. https://app.appstoagents.com")
    smoke.add_argument("--headers", required=True, metavar="FILE",
                       help="JSON of the declared headers: `pulumi stack output productionHeaders --json`")
    smoke.add_argument("--attempts", type=int, default=3, help="checks before giving up (default 3)")
    smoke.add_argument("--wait", type=float, default=20.0, metavar="SECONDS",
                       help="between attempts, while a fresh deployment settles (default 20)")
    smoke.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS", help="per request (default 15)")
    return parser


def _restore_tuning(command: argparse.ArgumentParser) -> None:
    command.add_argument("--jobs", type=_jobs, default=1, metavar="N",
                         help="pg_restore workers (default 1: one transaction). More: in parallel into the fresh "
                              "database, which is dropped if the restore fails (docs/how-to/runbooks/rollback.md)")
    command.add_argument("--maintenance-work-mem", type=_memory, default=None, metavar="SIZE",
                         help="maintenance_work_mem of the restore's sessions, e.g. 1GB (default: the server's); "
                              "pgvector builds HNSW indexes much faster when the graph fits")


def _jobs(text: str) -> int:
    if not re.fullmatch(r"[1-9][0-9]?", text) or int(text) > MAX_JOBS:
        raise argparse.ArgumentTypeError(f"{clean_line(text)!r} is not a number of jobs from 1 to {MAX_JOBS}")
    return int(text)


def _minutes(text: str) -> float:
    if not re.fullmatch(r"[0-9]{1,5}(\.[0-9]{1,3})?", text) or not 0 < float(text) <= MAX_BUDGET_MINUTES:
        raise argparse.ArgumentTypeError(f"{clean_line(text)!r} is not a number of minutes above 0 and at most "
                                         f"{MAX_BUDGET_MINUTES} (e.g. 30 or 7.5)")
    return float(text)


def _memory(text: str) -> str:
    # ops.restore imports ops.store, so botocore, which deploy.yml's .venv (where `ops smoke` runs) lacks.
    from ops.restore import MAINTENANCE_WORK_MEM  # noqa: PLC0415 - lazy: loads botocore; only restore and drill need it

    if not MAINTENANCE_WORK_MEM.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{clean_line(text)!r} is not a size such as 256MB or 1GB (kB, MB or GB)")
    return text


def _secrets(env: Mapping[str, str], argv: Sequence[str]) -> list[str]:
    found = [env.get("AWS_SESSION_TOKEN", ""), env.get("AWS_SECRET_ACCESS_KEY", ""), env.get("AWS_ACCESS_KEY_ID", "")]
    for raw in [env.get("DATABASE_URL", ""), *argv]:
        try:
            found.append(pgurl.parse(raw, name="-").password)
        except errors.OpsError:
            pass
    return [s for s in found if s]


INTERRUPTED = {
    "backup": "no object was written (an open upload is aborted)",
    "restore": "nothing was restored (a pg_restore still running is stopped and its server session ended)",
    "drill": "the throwaway server was stopped and deleted",
}


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def _say(text: str, *, err: bool = False) -> None:
    print(clean(text), file=sys.stderr if err else sys.stdout, flush=True)


def _drill(args: argparse.Namespace, env: Mapping[str, str], restart: bool) -> None:
    from ops import drill  # noqa: PLC0415 - lazy: loads botocore (ops.store), which `ops smoke`'s .venv lacks

    options = drill.Options(key=args.key, max_age_hours=args.max_age_hours, min_tables=args.min_tables,
                            extensions=tuple(args.extensions if args.extensions is not None else ["vector"]),
                            jobs=args.jobs, restore_budget_minutes=args.restore_budget_minutes,
                            maintenance_work_mem=args.maintenance_work_mem)
    if args.downloaded:
        report = drill.run_downloaded(Path(args.downloaded), args.sha256 or "", options,
                                      download_seconds=args.download_seconds)
    else:
        report = drill.run(env, options, restart=restart)
    _say(drill.timing_line(report), err=True)
    _summary(drill.summary_lines(report))
    drill.verdict(report)
    _say(f"drill passed: {report.key} ({report.age_hours:.1f} h old) restored into a throwaway server "
         f"as an unprivileged role: {report.tables} tables, {report.rows} rows match the dump; extensions "
         f"{', '.join(report.extensions)}", err=True)
    _say(report.key)


def _command(args: argparse.Namespace, env: Mapping[str, str]) -> None:
    """backup, restore, list or connections."""
    # These import ops.store, so botocore, which deploy.yml's .venv (where `ops smoke` runs) lacks.
    from ops import backup, connections, restore, store  # noqa: PLC0415 - lazy: they load botocore

    if args.command == "backup":
        _say(backup.run(env))
    elif args.command == "restore":
        result = restore.run(env, into_raw=args.into, key=args.key, no_privileges=args.no_privileges,
                             allow_privileged_role=args.allow_privileged_role, jobs=args.jobs,
                             maintenance_work_mem=args.maintenance_work_mem)
        _say(f"restored {result.key} into {result.target}: {result.tables} tables, "
             f"{result.rows} rows, row counts match the dump; marked verified ({restore.VERIFIED_MARK})", err=True)
        _say(f"restore timing: pg_restore {result.restore_seconds:.1f} s "
             f"({result.jobs} job{'s' if result.jobs > 1 else ''}), row counts {result.verify_seconds:.1f} s",
             err=True)
        _say(restore.NEXT_STEPS, err=True)
        _say(result.key)
    elif args.command == "list":
        for key, size in store.Store(store.bucket_from_env(env)).dumps(args.database):
            _say(f"{key}\t{size}")
    else:
        usages = connections.measure(env)
        for usage in usages:
            _say(usage.line())
        connections.check(usages, args.threshold)


def _summary(lines: Sequence[str]) -> None:
    """Append to the GitHub job summary ($GITHUB_STEP_SUMMARY), when there is one; escaped like
    every other line ops prints."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write("".join(clean_line(line) + "\n" for line in lines))
    except OSError as exc:
        _say(f"note: could not write the job summary ({exc.strerror})", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    # Only a real command line may restart the process (the drill does, to drop credentials).
    restart = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    # CI cancels a job with SIGTERM: unwind like Ctrl-C so an open upload is aborted.
    signal.signal(signal.SIGTERM, _interrupt)
    env: Mapping[str, str] = os.environ
    name = f"ops {args.command}"
    hidden = _secrets(env, argv)
    try:
        if args.command == "smoke":
            report = smoke.run(args.url, args.headers, attempts=args.attempts, wait_seconds=args.wait,
                               timeout=args.timeout)
            _say(f"smoke passed: {report.url} answers, serves its {report.checked_headers} declared headers and "
                 f"{smoke.HEALTH_PATH} is healthy (attempt {report.attempts})")
            return errors.EXIT_OK
        env = target.environment(args.stack)
        # Taken now: a restore drops the bucket's credentials from os.environ once it has the dump.
        hidden = _secrets(env, argv)
        if args.command == "drill":
            _drill(args, env, restart)
        else:
            _command(args, env)
        return errors.EXIT_OK
    except errors.OpsError as exc:
        _say(f"{name}: error: {pgurl.scrub(exc.message, *hidden)}", err=True)
        return exc.code
    except errors.Interrupted as exc:
        _say(f"{name}: interrupted; {pgurl.scrub(exc.message, *hidden)}", err=True)
        return errors.EXIT_INTERRUPTED
    except KeyboardInterrupt:
        _say(f"{name}: interrupted; {INTERRUPTED.get(args.command, 'nothing was changed')}", err=True)
        return errors.EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug: say so without echoing secrets
        detail = traceback.format_exc() if args.debug else f"{type(exc).__name__}: {exc}"
        _say(f"{name}: internal error: {pgurl.scrub(detail, *hidden)}", err=True)
        return errors.EXIT_INTERNAL
