"""ruff over the whole repository and mypy over the product code find nothing (`make lint` runs the same).

The tools are pinned dev requirements (requirements-dev.txt); a missing or differently versioned one
fails here rather than skipping, so a fresh clone's `make test` lints or says why it could not. Each
tool is also shown one broken file under the repository's settings, so a configuration that silently
checks nothing fails too, and the files each run covers are compared with the repository's own.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

from tests.support import ROOT

# Starts the linters as processes (mypy takes a while with a cold cache): left out of `make test-fast`.
pytestmark = [pytest.mark.lint, pytest.mark.slow]

PYPROJECT = ROOT / "pyproject.toml"
PRODUCT = ("__main__.py", "infra", "stacks", "policies", "review", "ops", "cicd")
"""What mypy checks: the program, the pack, the review tool, ops and cicd (bench, docs and tests are ruff's only)."""

RUFF = ("ruff", "check", "--output-format", "concise")
MYPY = (("mypy",), ("mypy", "--follow-imports=silent", "policies/__main__.py"))
"""mypy's runs; policies/__main__.py has its own: it and ./__main__.py are both the module `__main__`."""


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          check=False)


def _pinned(name: str) -> str:
    text = (ROOT / "requirements-dev.txt").read_text()
    match = re.search(rf"^{re.escape(name)}==(\S+)", text, re.M)
    assert match, f"requirements-dev.txt does not pin {name} with =="
    return match.group(1)


def _tracked_python(*roots: str) -> set[str]:
    listed = subprocess.run(["git", "ls-files", "--", *roots], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()
    return {p for p in listed if p.endswith(".py") and (ROOT / p).is_file()}


@pytest.mark.parametrize("tool", ["ruff", "mypy"])
def test_the_installed_tool_is_the_pinned_one(tool: str) -> None:
    result = _run(tool, "--version")
    if result.returncode != 0:
        pytest.fail(f"{tool} is not installed in {sys.prefix} (requirements-dev.txt); run `make venv`\n"
                    f"{result.stderr}")
    assert result.stdout.split()[1] == _pinned(tool), (result.stdout, "run `make venv` to install the pins")


def test_make_lint_runs_the_same_commands() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no `lint:` rule in the Makefile"
    commands = re.findall(r"\$\(PY\) -m (.+?) \|\| status=1", recipe.group(1))
    assert commands == [" ".join(RUFF[:2]), *(" ".join(run) for run in MYPY)]


def test_ruff_finds_nothing() -> None:
    result = _run(*RUFF)
    assert result.returncode == 0, f"ruff (`make lint`) found:\n{result.stdout}{result.stderr}"


def test_ruff_checks_every_python_file() -> None:
    result = _run("ruff", "check", "--show-files")
    assert result.returncode == 0, result.stderr
    shown = {Path(line).resolve().relative_to(ROOT).as_posix() for line in result.stdout.splitlines() if line}
    missing = _tracked_python(".") - shown
    assert not missing, f"ruff does not check {sorted(missing)}"


def test_mypy_checks_all_of_the_product_code_and_finds_nothing() -> None:
    # One test, the runs in turn: two mypy processes sharing .mypy_cache at once would race.
    main, pack_entry = (_run(*run) for run in MYPY)
    checked = re.search(r"(?:checked|in) (\d+) source files?", main.stdout)
    assert checked, main.stdout + main.stderr
    product = _tracked_python(*PRODUCT) - {"policies/__main__.py"}
    assert int(checked.group(1)) == len(product), (checked.group(0), f"{len(product)} product files")
    for run, result in zip(MYPY, (main, pack_entry), strict=True):
        assert result.returncode == 0, f"`{' '.join(run)}` (`make lint`) found:\n{result.stdout}{result.stderr}"


_SUPPRESSION = re.compile(r"#\s*(?:noqa:\s*[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*"
                          r"|type:\s*ignore\[[a-z-]+(?:\s*,\s*[a-z-]+)*\])(?P<reason>.*)")


def test_every_noqa_and_type_ignore_names_its_codes_and_says_why() -> None:
    # ruff (PGH004) and mypy (ignore-without-code) refuse a suppression without codes; a reason after
    # them is this repository's rule, as in `noqa: PLC0415 - imports pulumi: kept out of the CLI's start-up`.
    bare = []
    for path in sorted(_tracked_python(".")):
        tokens = tokenize.generate_tokens(io.StringIO((ROOT / path).read_text()).readline)
        for token in tokens:
            if token.type != tokenize.COMMENT or not re.search(r"#\s*(?:noqa|type:\s*ignore)", token.string):
                continue
            found = _SUPPRESSION.search(token.string)
            if not found or not re.search(r"[A-Za-z]{2,}", found.group("reason")):
                bare.append(f"{path}:{token.start[0]}: {token.string}")
    assert not bare, "a suppression without its codes or a reason:\n" + "\n".join(bare)


def test_each_tool_reports_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import os\n\n\ndef half(n: int) -> str:\n    return n / 2\n")
    ruff = _run("ruff", "check", "--config", str(PYPROJECT), "--output-format", "concise", str(broken))
    assert ruff.returncode == 1 and "F401" in ruff.stdout, ruff.stdout + ruff.stderr
    mypy = _run("mypy", "--config-file", str(PYPROJECT), "--cache-dir", "/dev/null", str(broken), cwd=tmp_path)
    assert mypy.returncode == 1 and "[return-value]" in mypy.stdout, mypy.stdout + mypy.stderr
