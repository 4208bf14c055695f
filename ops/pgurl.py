"""PostgreSQL connection URLs: what libpq will connect to, the TLS policy, identity, secrecy.

A URL is parsed the way libpq parses it (PostgreSQL 18 docs, 32.1.1 "Connection Strings" and
32.1.2 "Parameter Key Words", https://www.postgresql.org/docs/18/libpq-connect.html; the code:
src/interfaces/libpq/fe-connect.c `conninfo_uri_parse_options`, `conninfo_uri_parse_params`,
`conninfo_storeval`, `parseServiceInfo`):

* `postgresql://user:password@host:port/dbname?key=value&...`; query parameters are stored after
  the parts before them and replace them (`?host=`, `?port=`, `?dbname=`, `?user=`, `?password=`
  win), a repeated parameter keeps its last value, `ssl=true` means `sslmode=require` and
  `requiressl=1`/`0` means `require`/`prefer`; values are percent-decoded (`+` stays `+`).
* `hostaddr` is where libpq connects when it is given; `host` is then only the name for
  authentication and `verify-full` (32.1.2, "hostaddr"). A `host` starting with `/` (or `@`, a
  Linux abstract socket) is a Unix-socket directory; an empty host is the default socket.
* the default `sslmode` is `prefer`, which falls back to clear text.
* `service` (a section of a connection service file, 32.17 libpq-pgservice.html: ~/.pg_service.conf,
  then the system one) can set host, hostaddr, port and sslmode from a file outside the URL; ops
  refuses it, so the URL alone decides. The tools run with no PG* variable in their environment
  (`env`), so none of 32.15's variables (libpq-envars.html: PGSERVICE, PGHOSTADDR, PGSSLMODE, …)
  steers them.

The tools never get the URL the operator typed: they get `conninfo()`, rebuilt from this parse
(host, hostaddr, port and database explicit; only the parameters below passed on), so the TLS
decision is made on exactly what libpq is handed. One server per URL: host, hostaddr and port
lists are refused. The password goes in PGPASSWORD, never on a command line or in a message.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlencode

from ops.errors import UsageError

TLS_MODES = ("require", "verify-ca", "verify-full")
"""libpq sslmodes that refuse a connection without TLS (`prefer`/`allow` fall back to clear text)."""
SSL_MODES = ("disable", "allow", "prefer", *TLS_MODES)
DEFAULT_PORT = 5432
DEFAULT_ROOT_CERT = Path.home() / ".postgresql" / "root.crt"
_SCHEMES = ("postgresql://", "postgres://")
# Parameters passed on to libpq as given (32.1.2); host, hostaddr, port, dbname, user and password
# are taken apart and rebuilt.
PASSED_ON = frozenset({
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslcrldir", "sslsni", "sslnegotiation",
    "sslcertmode", "ssl_min_protocol_version", "ssl_max_protocol_version", "channel_binding", "require_auth",
    "connect_timeout", "application_name", "keepalives", "keepalives_idle", "keepalives_interval",
    "keepalives_count", "tcp_user_timeout", "target_session_attrs", "client_encoding", "options", "gssencmode",
})
REFUSED = {
    "service": "a connection service file could send libpq elsewhere than the URL says; put host, port "
               "and sslmode in the URL",
    "passfile": "ops passes the URL's password itself",
    "load_balance_hosts": "ops connects to one host",
    "replication": "ops needs an ordinary session",
}
# The environment a PostgreSQL tool may see: no PG* variable, no cloud credential.
TOOL_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR",
            "SSL_CERT_FILE", "SSL_CERT_DIR", "SYSTEMROOT")


@dataclass(frozen=True)
class PgUrl:
    """A parsed libpq URL. `password` is never part of `display` or `conninfo`."""

    name: str
    """The variable or option it came from (for messages)."""
    user: str
    password: str
    host: str
    """Host name, IP address or, for a Unix socket, its directory ('' = the default socket)."""
    port: int
    database: str
    params: tuple[tuple[str, str], ...]
    hostaddr: str = ""
    """The numeric address libpq connects to instead of resolving `host`, when given."""

    @property
    def sslmode(self) -> str:
        return dict(self.params).get("sslmode", "")

    @property
    def address(self) -> str:
        """What libpq connects to: `hostaddr` if given, else `host`."""
        return self.hostaddr or self.host

    @property
    def is_local(self) -> bool:
        """Loopback or a Unix socket: nothing crosses a network, so TLS adds nothing."""
        return is_local_host(self.address)

    @property
    def identity(self) -> tuple[str, int, str]:
        """Which database this is, whoever connects: (address, port, database); every local
        endpoint (socket, loopback) counts as one machine."""
        where = "local" if self.is_local else self.address.lower().rstrip(".")
        return (where, self.port, self.database)

    @property
    def display(self) -> str:
        """`user@host:port/database` (with `[hostaddr]` when given), safe to print."""
        where = f"{self.host}[{self.hostaddr}]" if self.hostaddr else self.host
        return f"{self.user}@{where}:{self.port}/{self.database}"

    @property
    def source(self) -> str:
        """`address:port/database` (no role), recorded with each dump."""
        return f"{self.address}:{self.port}/{self.database}"

    def conninfo(self, database: str | None = None) -> str:
        """The URL libpq gets, without the password, optionally for another database on the server."""
        params = list(self.params)
        if self.sslmode == "verify-full" and "sslrootcert" not in dict(params) and not DEFAULT_ROOT_CERT.exists():
            # libpq verifies against ~/.postgresql/root.crt only, unless told `system` (the TLS
            # library's CA roots; PostgreSQL 16+ libpq, "sslrootcert", which allows `system` with
            # verify-full only). A managed server's public certificate then verifies; a private CA
            # (and verify-ca) needs `&sslrootcert=<file>` in the URL.
            params.append(("sslrootcert", "system"))
        netloc_host = self.host
        if self.host.startswith(("/", "@")):
            params.append(("host", self.host))
            netloc_host = ""
        elif ":" in self.host:
            netloc_host = f"[{self.host}]"
        if self.hostaddr:
            params.append(("hostaddr", self.hostaddr))
        query = f"?{urlencode(params, quote_via=quote)}" if params else ""
        user = quote(self.user, safe="")
        return f"postgresql://{user}@{netloc_host}:{self.port}/{quote(database or self.database, safe='')}{query}"

    def env(self) -> dict[str, str]:
        """The environment for a libpq tool: a few basics from ours (no PG*, no cloud credential)
        and the password."""
        return tool_env({"PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "15", "PGAPPNAME": "ara-ops"})

    def scrub(self, text: str) -> str:
        """`text` with the password (raw and URL-encoded) replaced by `***`."""
        return scrub(text, self.password)


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A child process's environment: only TOOL_ENV from ours, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k in TOOL_ENV}
    env.update(extra or {})
    return env


def addresses(host: str) -> set[str]:
    """The IP addresses `host` resolves to (a socket directory: itself); empty when it does not resolve."""
    if host == "" or host.startswith(("/", "@")):
        return {host or "/tmp"}
    try:
        found = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return set()
    # An IPv4 or IPv6 socket address starts with its address (typeshed also allows the int of other families).
    return {address for *_, sockaddr in found if isinstance(address := sockaddr[0], str)}


def same_database(a: PgUrl, b: PgUrl) -> bool:
    """Whether two URLs may reach the same database: same name and port, and the same machine —
    any two local endpoints (a socket and loopback are one machine), the same host name, or a
    shared address (a CNAME and the provider's host name are one server)."""
    if (a.port, a.database) != (b.port, b.database):
        return False
    if a.is_local or b.is_local:
        return a.is_local and b.is_local
    return a.identity[0] == b.identity[0] or bool(addresses(a.address) & addresses(b.address))


def scrub(text: str, *secrets: str) -> str:
    for secret in secrets:
        # Very short strings would mangle the message; no real secret is that short.
        if len(secret) >= 4:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, "***")
    return text


def is_local_host(host: str) -> bool:
    if host == "" or host.startswith("/") or host.startswith("@"):
        return True
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _decode(text: str, name: str) -> str:
    if "%00" in text:
        raise UsageError(f"{name}: %00 is not allowed in a connection URL (value not shown)")
    return unquote(text)


def _query(raw: str, name: str) -> dict[str, str]:
    """fe-connect.c `conninfo_uri_parse_params`: key=value pairs, each decoded, the last one winning."""
    found: dict[str, str] = {}
    for pair in raw.split("&") if raw else []:
        key, sep, value = pair.partition("=")
        if not sep or "=" in value:
            raise UsageError(f"{name}: malformed query parameter in the URL (value not shown)")
        key, value = _decode(key, name).strip(" "), _decode(value, name).strip(" ")
        if key == "ssl" and value == "true":
            key, value = "sslmode", "require"
        elif key == "requiressl":
            key, value = "sslmode", "require" if value.startswith("1") else "prefer"
        found[key] = value
    return found


def _split(url: str, name: str) -> tuple[str, str, str, str]:
    """(userinfo, hostport, path, query) the way `conninfo_uri_parse_options` cuts them."""
    text = url.strip()
    prefix = next((p for p in _SCHEMES if text.startswith(p)), None)
    if prefix is None:
        raise UsageError(f"{name}: must be a postgresql:// URL (value not shown)")
    rest = text[len(prefix):]
    rest, _, query = rest.partition("?")
    head, slash, path = rest.partition("/")
    userinfo, at, hostport = head.partition("@") if "@" in head else ("", "", head)
    return userinfo, hostport, path if slash else "", query


def _host_port(hostport: str, name: str) -> tuple[str, str]:
    if "," in hostport:
        raise UsageError(f"{name}: give one host, not a list")
    if hostport.startswith("["):
        host, bracket, after = hostport[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise UsageError(f"{name}: not a valid postgresql:// URL (value not shown)")
        return host, after[1:]
    host, _, port = hostport.partition(":")
    return host, port


def _check_params(query: dict[str, str], name: str) -> None:
    for key in query:
        if key in REFUSED:
            raise UsageError(f"{name}: the URL parameter {key!r} is not accepted: {REFUSED[key]}")
        if key not in PASSED_ON and key not in ("host", "hostaddr", "port", "dbname", "user", "password"):
            raise UsageError(f"{name}: {key!r} is not a libpq connection parameter ops passes on")
    if query.get("sslmode", "prefer") not in SSL_MODES:
        raise UsageError(f"{name}: sslmode must be one of {', '.join(SSL_MODES)}")
    for key in ("host", "hostaddr", "port"):
        if "," in query.get(key, ""):
            raise UsageError(f"{name}: give one {key}, not a list")


def _port(text: str, name: str) -> int:
    if text == "":
        return DEFAULT_PORT
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"{name}: not a valid postgresql:// URL: the port must be a number from 1 to 65535")
    return int(text)


def _hostaddr(text: str, name: str) -> str:
    if not text:
        return ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise UsageError(f"{name}: hostaddr must be a numeric IP address (libpq does not resolve it)") from None


def parse(url: str, *, name: str) -> PgUrl:
    """Parse a libpq URL as libpq would; anything ops cannot be sure of raises UsageError naming
    `name` (never the value)."""
    userinfo, hostport, path, raw_query = _split(url, name)
    query = _query(raw_query, name)
    _check_params(query, name)
    netloc_host, netloc_port = _host_port(hostport, name)
    raw_user, _, raw_password = userinfo.partition(":")
    user = query.get("user") or _decode(raw_user, name)
    password = query.get("password") or _decode(raw_password, name)
    database = query.get("dbname") or _decode(path, name) or user
    host = query["host"] if "host" in query else _decode(netloc_host, name)
    port = _port(query["port"] if "port" in query else netloc_port, name)
    hostaddr = _hostaddr(query.get("hostaddr", ""), name)
    if not user:
        raise UsageError(f"{name}: the URL names no role (postgresql://ROLE:PASSWORD@HOST/DB)")
    if not database or "/" in database:
        raise UsageError(f"{name}: the URL names no database (postgresql://ROLE:PASSWORD@HOST/DB)")
    params = tuple((k, v) for k, v in query.items() if k in PASSED_ON)
    return PgUrl(name=name, user=user, password=password, host=host, port=port, database=database,
                 params=params, hostaddr=hostaddr)


def require_tls(url: PgUrl) -> None:
    """Refuse a URL whose connection would cross a network without TLS: decided on the address
    libpq connects to (hostaddr, else host)."""
    if url.is_local:
        return
    mode = url.sslmode
    if mode not in TLS_MODES:
        got = f"sslmode={mode}" if mode else "no sslmode"
        raise UsageError(
            f"{url.name}: {url.display} has {got}; a connection over the network must use TLS: "
            f"add ?sslmode=require (or verify-ca, verify-full). Only loopback hosts and sockets may go without."
        )


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """`text` as an SQL string literal (standard_conforming_strings, on since PostgreSQL 9.1)."""
    return "'" + text.replace("'", "''") + "'"
