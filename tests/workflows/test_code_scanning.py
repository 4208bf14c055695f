"""The pull-request workflow's code-scanning job: the policy check as SARIF, uploaded by the one
job that may write security events, never for forks, failing only when the check itself fails."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.workflows.workflows import PINNED, WORKFLOWS, load

UPLOAD = "github/codeql-action/upload-sarif"


def _jobs() -> dict:
    return load(WORKFLOWS / "pull-request.yml")["jobs"]


def _scanning() -> tuple[str, dict]:
    found = [(name, job) for name, job in _jobs().items()
             if any(s.get("uses", "").startswith(UPLOAD + "@") for s in job.get("steps", []))]
    assert len(found) == 1, "one job uploads the SARIF"
    return found[0]


def test_only_the_uploading_job_may_write_security_events_and_never_for_a_fork():
    name, job = _scanning()
    assert job["permissions"] == {"contents": "read", "security-events": "write"}
    for other, spec in _jobs().items():
        if other != name:
            assert "security-events" not in (spec.get("permissions") or {}), other
    assert job["if"].endswith("github.event.pull_request.head.repo.full_name == github.repository")
    assert load(WORKFLOWS / "pull-request.yml")["permissions"] == {}


def test_the_upload_is_pinned_and_reads_the_file_the_check_writes():
    _, job = _scanning()
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith(UPLOAD + "@"))
    assert upload["uses"] == f"{UPLOAD}@{PINNED[UPLOAD][0]}"
    check = next(s for s in job["steps"] if "--format sarif" in s.get("run", ""))
    assert upload["with"]["sarif_file"] == "${{ runner.temp }}/policy.sarif"
    assert '"$RUNNER_TEMP/policy.sarif"' in check["run"]
    assert "make venv-plan" in check["run"]  # the lean set-up: no test toolchain for a check
    assert upload["with"]["checkout_path"] == "pr"  # the SARIF's paths are the pull request's files


def _run_check_step(tmp_path: Path, status: int, base_knows_sarif: bool = True) -> subprocess.CompletedProcess[str]:
    """The SARIF step's script in a copy of its layout (`base/` judging `pr/`), with stand-ins for
    make and the review tool that answer `status`."""
    _, job = _scanning()
    step = next(s for s in job["steps"] if "--format sarif" in s.get("run", ""))
    assert step["working-directory"] == "base"
    base, bin_dir = tmp_path / "base", tmp_path / "bin"
    (base / ".venv" / "bin").mkdir(parents=True)
    (base / "review").mkdir()
    (base / "review" / "cli.py").write_text('formats=("text", "json", "markdown", "sarif")' if base_knows_sarif
                                             else 'formats=("text", "json", "markdown")')
    bin_dir.mkdir()
    (bin_dir / "make").write_text("#!/bin/sh\nexit 0\n")
    (base / ".venv" / "bin" / "python").write_text(f"#!/bin/sh\necho '{{}}'\nexit {status}\n")
    for f in (bin_dir / "make", base / ".venv" / "bin" / "python"):
        f.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=base, env=env, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.mark.parametrize("status, expected", [(0, 0), (1, 0), (2, 2), (3, 3)])
def test_violations_are_findings_but_a_failing_check_fails_the_step(tmp_path: Path, status: int, expected: int):
    proc = _run_check_step(tmp_path, status)
    assert proc.returncode == expected, proc.stderr
    assert (tmp_path / "policy.sarif").read_text().strip() == "{}"


def test_a_base_branch_without_sarif_uploads_an_empty_log_and_says_so(tmp_path: Path):
    proc = _run_check_step(tmp_path, 3, base_knows_sarif=False)
    assert proc.returncode == 0, proc.stderr
    assert '"runs": []' in (tmp_path / "policy.sarif").read_text()
    assert "no SARIF output yet" in (tmp_path / "summary").read_text()


def test_the_job_runs_on_pull_request_events_only():
    _, job = _scanning()
    assert job["if"].startswith("github.event_name == 'pull_request' && ")
