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
