"""`python -m ops` ends with the repository's exit codes (infra.exitcodes), through its real main:
PostgreSQL failing is a service failure (4), a check that does not pass a finding (1), a bug 5.

Unit level: `connections` runs as on the command line, with the one call that reaches the server
(`pgtools.query`) standing in for PostgreSQL. The real-server tests (test_connections.py,
test_backup_failures.py, ...) see the same codes from the real tools.
"""

from __future__ import annotations

import signal

import pytest

from infra import exitcodes
from ops import cli, errors, pgtools

PASSWORD = "s3cret-in-the-url"
URL = f"postgresql://ara_backup:{PASSWORD}@127.0.0.1:5432/ara?sslmode=disable"


@pytest.fixture
def ops_main(monkeypatch):
    """ops' main with DATABASE_URL set; its SIGTERM handler is put back afterwards."""
    monkeypatch.setenv("DATABASE_URL", URL)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    handler = signal.getsignal(signal.SIGTERM)
    yield cli.main
    signal.signal(signal.SIGTERM, handler)


def _server(monkeypatch, answer) -> None:
    def query(url, sql, *, what, database=None):
        if isinstance(answer, BaseException):
            raise answer
        return answer

    monkeypatch.setattr(pgtools, "query", query)


def test_a_database_failure_exits_4_naming_it_without_the_password(ops_main, monkeypatch, capsys):
    _server(monkeypatch, errors.DatabaseError(f"reading connection use failed (psql on {URL}): could not connect"))
    assert ops_main(["connections"]) == exitcodes.EXIT_SERVICE == 4
    err = capsys.readouterr().err
    assert "ops connections: error: reading connection use failed" in err and "could not connect" in err
    assert PASSWORD not in err


def test_a_failed_check_exits_1(ops_main, monkeypatch, capsys):
    _server(monkeypatch, [["database ara", "9", "10"], ["server", "12", "97"]])
    assert ops_main(["connections", "--threshold", "80"]) == exitcodes.EXIT_FINDING == 1
    captured = capsys.readouterr()
    assert "database ara: 9/10 connections (90 %)" in captured.out
    assert "ops connections: error: connection use above 80 %: database ara" in captured.err


def test_a_passing_check_exits_0(ops_main, monkeypatch):
    _server(monkeypatch, [["database ara", "2", "10"]])
    assert ops_main(["connections", "--threshold", "80"]) == exitcodes.EXIT_OK


def test_bad_configuration_exits_2(ops_main, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql://ara_backup:x@db.example.com/ara")
    assert ops_main(["connections"]) == exitcodes.EXIT_USAGE == 2
    assert "DATABASE_URL" in capsys.readouterr().err


def test_a_bug_exits_5_in_one_line_and_with_debug_shows_the_traceback(ops_main, monkeypatch, capsys):
    _server(monkeypatch, ZeroDivisionError(f"division by zero near {PASSWORD}"))
    assert ops_main(["connections"]) == exitcodes.EXIT_INTERNAL == 5
    err = capsys.readouterr().err
    assert "ops connections: internal error: ZeroDivisionError" in err
    assert "Traceback" not in err and PASSWORD not in err
    assert ops_main(["--debug", "connections"]) == 5
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and PASSWORD not in err


def test_ctrl_c_exits_130(ops_main, monkeypatch, capsys):
    _server(monkeypatch, KeyboardInterrupt())
    assert ops_main(["connections"]) == exitcodes.EXIT_INTERRUPTED == 130
    assert "ops connections: interrupted; nothing was changed" in capsys.readouterr().err


def test_usage_errors_of_the_parser_exit_2(ops_main, capsys):
    with pytest.raises(SystemExit) as exc:
        ops_main(["connections", "--threshold", "many"])
    assert exc.value.code == exitcodes.EXIT_USAGE
    assert "--threshold" in capsys.readouterr().err
