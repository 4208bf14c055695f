"""`python -m cicd` ends with the repository's exit codes (infra.exitcodes), through its real main."""

from __future__ import annotations

import subprocess

import pytest

from cicd import __main__ as cicd_main
from cicd import lock, pack
from infra import exitcodes


def test_a_stale_pack_copy_is_a_finding(monkeypatch, capsys):
    assert cicd_main.main(["pack", "--check"]) == exitcodes.EXIT_OK
    monkeypatch.setattr(pack, "is_current", lambda: False)
    monkeypatch.setattr(pack, "COPY", pack.ROOT / "no-such-dir" / "catalog.py")  # --check writes nothing
    assert cicd_main.main(["pack", "--check"]) == exitcodes.EXIT_FINDING == 1
    assert "is stale: run `make pack`" in capsys.readouterr().out


def test_lock_on_another_interpreter_is_refused_with_2(monkeypatch, capsys):
    monkeypatch.setattr(lock, "TARGET_PYTHON", (3, 99))
    assert cicd_main.main(["lock"]) == exitcodes.EXIT_USAGE == 2
    assert "CPython 3.99 on Linux x86_64" in capsys.readouterr().err


def test_pip_failing_to_resolve_is_a_service_failure(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(lock, "check_interpreter", lambda: None)
    monkeypatch.setattr(lock.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 1, "", "ERROR: Could not find a version that satisfies the requirement (index unreachable)"))
    assert cicd_main.main(["lock"]) == exitcodes.EXIT_SERVICE == 4
    assert "pip could not resolve" in capsys.readouterr().err


@pytest.mark.parametrize("debug", [False, True])
def test_a_bug_exits_5_in_one_line_unless_debug(monkeypatch, capsys, debug):
    def broken(check):
        raise KeyError("catalog")

    monkeypatch.setattr(pack, "main", broken)
    assert cicd_main.main([*(["--debug"] if debug else []), "pack"]) == exitcodes.EXIT_INTERNAL == 5
    err = capsys.readouterr().err
    assert "python -m cicd pack: internal error:" in err
    assert ("Traceback (most recent call last)" in err) == debug
    if not debug:
        assert err.strip() == "python -m cicd pack: internal error: KeyError: 'catalog' (a bug; rerun with --debug)"


def test_ctrl_c_exits_130(monkeypatch, capsys):
    def interrupted(check):
        raise KeyboardInterrupt

    monkeypatch.setattr(pack, "main", interrupted)
    assert cicd_main.main(["pack"]) == exitcodes.EXIT_INTERRUPTED == 130
    assert "interrupted" in capsys.readouterr().err
