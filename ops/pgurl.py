"""PostgreSQL connection URLs: TLS policy, identity, and keeping the password out of sight.

A URL is handed to libpq tools without its password (the password goes in PGPASSWORD), so it
never appears in a process list, an error message or a log line.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from ops.errors import UsageError

TLS_MODES = ("require", "verify-ca", "verify-full")
"""libpq sslmodes that refuse a connection without TLS (`prefer`/`allow` fall back to clear text)."""
DEFAULT_PORT = 5432
DEFAULT_ROOT_CERT = Path.home() / ".postgresql" / "root.crt"


@dataclass(frozen=True)
class PgUrl:
    """A parsed libpq URL. `password` is never part of `display` or `conninfo`."""

    name: str
    """The variable or option it came from (for messages)."""
    user: str
    password: str
    host: str
    """Host name, IP address or, for a Unix socket, its directory."""
    port: int
    database: str
    params: tuple[tuple[str, str], ...]

    @property
    def sslmode(self) -> str:
        return dict(self.params).get("sslmode", "")

    @property
    def is_local(self) -> bool:
        """Loopback or a Unix socket: nothing crosses a network, so TLS adds nothing."""
        return is_local_host(self.host)

    @property
    def identity(self) -> tuple[str, int, str]:
        """Which database this is, whoever connects: (host, port, database)."""
        return (self.host.lower().rstrip("."), self.port, self.database)

    @property
    def display(self) -> str:
        """`user@host:port/database`, safe to print."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def source(self) -> str:
        """`host:port/database` (no role), recorded with each dump."""
        return f"{self.host}:{self.port}/{self.database}"

    def conninfo(self, database: str | None = None) -> str:
        """The URL without the password, optionally for another database on the same server."""
        params = [(k, v) for k, v in self.params if k != "host"]
        if self.sslmode == "verify-full" and "sslrootcert" not in dict(params) and not DEFAULT_ROOT_CERT.exists():
            # libpq verifies against ~/.postgresql/root.crt only, unless told `system` (the TLS
            # library's CA roots; PostgreSQL 16+ libpq, "sslrootcert", which allows `system` with
            # verify-full only). A managed server's public certificate then verifies; a private CA
            # (and verify-ca) needs `&sslrootcert=<file>` in the URL.
            params.append(("sslrootcert", "system"))
        netloc_host = self.host
        if self.host.startswith("/"):
            params.append(("host", self.host))
            netloc_host = ""
        elif ":" in self.host:
            netloc_host = f"[{self.host}]"
        query = f"?{urlencode(params)}" if params else ""
        user = quote(self.user, safe="")
        return f"postgresql://{user}@{netloc_host}:{self.port}/{quote(database or self.database, safe='')}{query}"

    def env(self) -> dict[str, str]:
        """The environment for a libpq tool: the caller's, minus any PG* steering, plus the password."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = self.password
        env["PGCONNECT_TIMEOUT"] = "15"
        env["PGAPPNAME"] = "ara-ops"
        return env

    def scrub(self, text: str) -> str:
        """`text` with the password (raw and URL-encoded) replaced by `***`."""
        return scrub(text, self.password)


def addresses(host: str) -> set[str]:
    """The IP addresses `host` resolves to (a socket directory: itself); empty when it does not resolve."""
    import socket

    if host == "" or host.startswith(("/", "@")):
        return {host or "/tmp"}
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return set()


def same_database(a: PgUrl, b: PgUrl) -> bool:
    """Whether two URLs reach the same database: same name and port, and the same host by name
    or by any address (a CNAME and the provider's host name are one server)."""
    if (a.port, a.database) != (b.port, b.database):
        return False
    return a.identity[0] == b.identity[0] or bool(addresses(a.host) & addresses(b.host))


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


_SCHEMES = ("postgresql", "postgres")


def parse(url: str, *, name: str) -> PgUrl:
    """Parse a libpq URL; a malformed one raises UsageError naming `name` (never the value)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UsageError(f"{name}: not a valid postgresql:// URL (value not shown)") from None
    if parts.scheme not in _SCHEMES:
        raise UsageError(f"{name}: must be a postgresql:// URL (value not shown)")
    params = tuple(parse_qsl(parts.query, keep_blank_values=True))
    query = dict(params)
    password = unquote(parts.password or "") or query.get("password", "")
    params = tuple((k, v) for k, v in params if k != "password")
    host = query.get("host") or unquote(parts.hostname or "")
    user = unquote(parts.username or "") or query.get("user", "")
    params = tuple((k, v) for k, v in params if k != "user")
    database = unquote(parts.path.lstrip("/")) or query.get("dbname", "") or user
    params = tuple((k, v) for k, v in params if k != "dbname")
    if not user:
        raise UsageError(f"{name}: the URL names no role (postgresql://ROLE:PASSWORD@HOST/DB)")
    if not database or "/" in database:
        raise UsageError(f"{name}: the URL names no database (postgresql://ROLE:PASSWORD@HOST/DB)")
    if "," in host:
        raise UsageError(f"{name}: give one host, not a list")
    return PgUrl(name=name, user=user, password=password, host=host, port=port or DEFAULT_PORT,
                 database=database, params=params)


def require_tls(url: PgUrl) -> None:
    """Refuse a remote URL whose sslmode would allow clear text."""
    if url.is_local:
        return
    mode = url.sslmode
    if mode not in TLS_MODES:
        got = f"sslmode={mode}" if mode else "no sslmode"
        raise UsageError(
            f"{url.name}: {url.display} has {got}; a connection over the network must use TLS: "
            f"add ?sslmode=require (or verify-ca, verify-full). Only loopback hosts may go without."
        )




def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
