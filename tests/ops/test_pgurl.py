"""Connection URLs: TLS required off loopback, the password kept out of every string we print."""

from __future__ import annotations

import pytest

from ops import pgurl
from ops.errors import UsageError


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "[::1]", "%2Ftmp%2Fsock"])
def test_loopback_and_sockets_need_no_tls(host: str) -> None:
    url = pgurl.parse(f"postgresql://u:pw@{host}/db", name="DATABASE_URL")
    assert url.is_local
    pgurl.require_tls(url)


@pytest.mark.parametrize("mode", ["require", "verify-ca", "verify-full"])
def test_remote_hosts_pass_with_a_tls_sslmode(mode: str) -> None:
    pgurl.require_tls(pgurl.parse(f"postgresql://u:pw@db.example.com/db?sslmode={mode}", name="DATABASE_URL"))


@pytest.mark.parametrize("query", ["", "?sslmode=prefer", "?sslmode=allow", "?sslmode=disable"])
def test_remote_hosts_without_tls_are_refused_naming_the_variable(query: str) -> None:
    url = pgurl.parse(f"postgresql://u:Secret-Pw-1@db.example.com:6543/db{query}", name="DATABASE_URL")
    with pytest.raises(UsageError) as err:
        pgurl.require_tls(url)
    assert err.value.message.startswith("DATABASE_URL: u@db.example.com:6543/db")
    assert "Secret-Pw-1" not in err.value.message


def test_conninfo_and_display_never_hold_the_password() -> None:
    url = pgurl.parse("postgresql://ara%40x:p%2Fss%3Aword@db.example.com/ara_prod?sslmode=verify-full&sslrootcert=/ca.pem",
                      name="DATABASE_URL")
    assert url.user == "ara@x" and url.password == "p/ss:word"
    assert url.conninfo() == "postgresql://ara%40x@db.example.com:5432/ara_prod?sslmode=verify-full&sslrootcert=%2Fca.pem"
    assert "word" not in url.display + url.conninfo()
    assert url.env()["PGPASSWORD"] == "p/ss:word"
    assert url.conninfo("other").split("?")[0].endswith("/other")


def test_scrub_removes_raw_and_url_encoded_passwords() -> None:
    url = pgurl.parse("postgresql://u:p%2Fss%3Aword@h/db", name="x")
    assert url.scrub("failed for p/ss:word and p%2Fss%3Aword") == "failed for *** and ***"


def test_identity_ignores_the_role_and_defaults_the_port() -> None:
    a = pgurl.parse("postgresql://app:x@DB.example.com/ara_prod?sslmode=require", name="a")
    b = pgurl.parse("postgresql://owner:y@db.example.com:5432/ara_prod", name="b")
    assert a.identity == b.identity


@pytest.mark.parametrize("raw, problem", [
    ("mysql://u:p@h/db", "must be a postgresql:// URL"),
    ("postgresql://h/db", "names no role"),
    ("postgresql://u:p@h:notaport/db", "not a valid postgresql:// URL"),
    ("postgresql://u:p@h1,h2/db", "one host"),
])
def test_malformed_urls_are_refused_without_echoing_them(raw: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem) as err:
        pgurl.parse(raw, name="--into")
    assert err.value.message.startswith("--into: ")
    assert ":p@" not in err.value.message


def test_the_same_database_by_another_host_name_is_recognised() -> None:
    # localhost and 127.0.0.1 are one server; so are a CNAME and the provider's host name.
    a = pgurl.parse("postgresql://app:x@127.0.0.1:5432/ara_prod", name="a")
    b = pgurl.parse("postgresql://owner:y@localhost/ara_prod", name="b")
    assert pgurl.same_database(a, b)
    assert not pgurl.same_database(a, pgurl.parse("postgresql://owner:y@localhost/ara_prod_restore", name="c"))
    assert not pgurl.same_database(a, pgurl.parse("postgresql://owner:y@localhost:6543/ara_prod", name="d"))


def test_verify_full_uses_the_system_ca_roots_unless_a_root_cert_is_named(monkeypatch, tmp_path) -> None:
    # libpq's default root certificate is ~/.postgresql/root.crt; a runner has none, and a managed
    # server's public certificate verifies against the system roots (`sslrootcert=system`).
    monkeypatch.setattr(pgurl, "DEFAULT_ROOT_CERT", tmp_path / "absent.crt")
    full = pgurl.parse("postgresql://b:pw@db.example.com/ara_prod?sslmode=verify-full", name="DATABASE_URL")
    assert full.conninfo().endswith("?sslmode=verify-full&sslrootcert=system")
    own = pgurl.parse("postgresql://b:pw@db.example.com/ara_prod?sslmode=verify-full&sslrootcert=/etc/rds-ca.pem",
                      name="DATABASE_URL")
    assert own.conninfo().endswith("?sslmode=verify-full&sslrootcert=%2Fetc%2Frds-ca.pem")
    # libpq allows `system` with verify-full only; verify-ca needs the CA file named.
    ca = pgurl.parse("postgresql://b:pw@db.example.com/ara_prod?sslmode=verify-ca", name="DATABASE_URL")
    assert "sslrootcert" not in ca.conninfo()
    plain = pgurl.parse("postgresql://b:pw@db.example.com/ara_prod?sslmode=require", name="DATABASE_URL")
    assert "sslrootcert" not in plain.conninfo()
    (tmp_path / "root.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(pgurl, "DEFAULT_ROOT_CERT", tmp_path / "root.crt")
    assert "sslrootcert" not in full.conninfo()


# libpq's URI rules (fe-connect.c conninfo_uri_parse_options/_params, conninfo_storeval): the query
# comes after the parts before it and replaces them; the last of a repeated parameter wins.
@pytest.mark.parametrize("raw, expected", [
    ("postgresql://u:pw@h.example.com:1111/db?port=2222", ("h.example.com", 2222, "db", "")),
    ("postgresql://u:pw@h.example.com/path_db?dbname=query_db", ("h.example.com", 5432, "query_db", "")),
    ("postgresql://u:pw@h.example.com/db?host=other.example.com", ("other.example.com", 5432, "db", "")),
    ("postgresql://u:pw@h.example.com/db?host=a.example.com&host=b.example.com", ("b.example.com", 5432, "db", "")),
    ("postgresql://u:pw@h.example.com/db?hostaddr=192.0.2.7", ("h.example.com", 5432, "db", "192.0.2.7")),
    ("postgresql://u:pw@/db?host=%2Fvar%2Frun%2Fpostgresql", ("/var/run/postgresql", 5432, "db", "")),
    ("postgresql://u:pw@[2001:db8::1]:6543/db", ("2001:db8::1", 6543, "db", "")),
])
def test_host_port_and_database_are_read_as_libpq_reads_them(raw: str, expected: tuple) -> None:
    url = pgurl.parse(raw, name="DATABASE_URL")
    assert (url.host, url.port, url.database, url.hostaddr) == expected


def test_query_user_and_password_replace_the_userinfo() -> None:
    url = pgurl.parse("postgresql://a:first@h/db?user=b&password=sec%2Bret+x", name="x")
    # Percent-decoding only: libpq keeps '+' as '+' (no form encoding).
    assert (url.user, url.password) == ("b", "sec+ret+x")


@pytest.mark.parametrize("query, mode", [("ssl=true", "require"), ("requiressl=1", "require"),
                                         ("requiressl=0", "prefer"), ("sslmode=disable&sslmode=require", "require")])
def test_sslmode_aliases_and_repeats_follow_libpq(query: str, mode: str) -> None:
    assert pgurl.parse(f"postgresql://u:pw@db.example.com/db?{query}", name="x").sslmode == mode


@pytest.mark.parametrize("raw, local", [
    ("postgresql://u:pw@db.example.com/db?hostaddr=127.0.0.1", True),
    ("postgresql://u:pw@localhost/db?hostaddr=192.0.2.10", False),
    ("postgresql://u:pw@/db", True),
    ("postgresql://u:pw@/db?host=@abstract", True),
    ("postgresql://u:pw@[::1]/db", True),
])
def test_tls_is_decided_on_the_address_libpq_connects_to(raw: str, local: bool) -> None:
    url = pgurl.parse(raw, name="DATABASE_URL")
    assert url.is_local is local
    if local:
        pgurl.require_tls(url)
    else:
        with pytest.raises(UsageError, match="must use TLS"):
            pgurl.require_tls(url)


def test_conninfo_is_rebuilt_from_the_parse_with_hostaddr_and_no_unvetted_parameter() -> None:
    url = pgurl.parse("postgresql://u:pw@db.example.com:1111/path?port=2222&hostaddr=192.0.2.7&sslmode=require"
                      "&application_name=a%20b", name="x")
    assert url.conninfo() == ("postgresql://u@db.example.com:2222/path?sslmode=require&application_name=a%20b"
                              "&hostaddr=192.0.2.7")


@pytest.mark.parametrize("raw, problem", [
    ("postgresql://u:pw@h/db?service=prod", "'service' is not accepted"),
    ("postgresql://u:pw@h/db?passfile=/tmp/x", "'passfile' is not accepted"),
    ("postgresql://u:pw@h/db?sslmode", "malformed query parameter"),
    ("postgresql://u:pw@h/db?options=a%00b", "%00 is not allowed"),
    ("postgresql://u:pw@h:0/db", "the port must be a number from 1 to 65535"),
])
def test_what_libpq_would_read_elsewhere_or_reject_is_refused(raw: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        pgurl.parse(raw, name="--into")


def test_a_socket_and_loopback_on_the_same_port_are_one_server() -> None:
    tcp = pgurl.parse("postgresql://a:x@127.0.0.1:5433/ara_prod", name="a")
    sock = pgurl.parse("postgresql://b:y@/ara_prod?host=/var/run/postgresql&port=5433", name="b")
    assert pgurl.same_database(tcp, sock)
    assert not pgurl.same_database(tcp, pgurl.parse("postgresql://b:y@/ara_prod?host=/tmp", name="c"))
    remote = pgurl.parse("postgresql://b:y@db.example.invalid:5433/ara_prod?hostaddr=127.0.0.1", name="d")
    assert pgurl.same_database(tcp, remote)


def test_tools_get_no_cloud_credential_and_no_pg_variable(monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cloud-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "cloud-token")
    monkeypatch.setenv("PGSERVICEFILE", "/tmp/evil")
    env = pgurl.parse("postgresql://u:pw@h/db", name="x").env()
    assert not any(k.startswith(("AWS_", "PGSERVICE")) for k in env)
    assert env["PGPASSWORD"] == "pw" and "PATH" in env
