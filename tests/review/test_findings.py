"""Findings that point at the fix: the declaring line, the config key and stack file that fed the
value, fix texts from what the program declares, totals by severity, and SARIF for code scanning
validated against the official SARIF 2.1.0 schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from tests.review.test_cli_helpers import copy_program, edit, run
from tests.support import ROOT

# Starts the policy pack: left out of `make test-fast`.
pytestmark = pytest.mark.slow


def _line_of(path: Path, pattern: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if re.search(pattern, line))


@pytest.fixture(scope="module")
def short_retention(tmp_path_factory) -> Path:
    """A copy of the program whose prod stack file keeps backups 7 days (the lock policy wants 30)."""
    program = copy_program(tmp_path_factory.mktemp("findings") / "program")
    edit(program / "Pulumi.prod.yaml", "  ara-infra:r2Location: enam\n",
         "  ara-infra:r2Location: enam\n  ara-infra:backupRetentionDays: 7\n")
    return program


def test_a_violation_names_the_declaring_line_and_the_config_key_in_its_stack_file(short_retention):
    res = run("check", "--stack", "prod", "--program", str(short_retention))
    assert res.code == 1, res.all
    lock_line = _line_of(ROOT / "infra" / "storage.py", r"cloudflare\.R2BucketLock\(")
    # The lock is declared in a step of the constructor: the trace names the call, then the stack.
    step_line = _line_of(ROOT / "infra" / "storage.py", r"self\._backups_lock\(")
    key_line = _line_of(short_retention / "Pulumi.prod.yaml", r"backupRetentionDays")
    assert f"at infra/storage.py:{lock_line} (via infra/storage.py:{step_line}, stacks/common.py:" in res.out
    assert f"config backupRetentionDays = 7 (Pulumi.prod.yaml:{key_line})" in res.out
    # Only the key that fed the named property, not every key the resource carries.
    assert "config backupsBucketName" not in res.out and "config cloudflareAccountId" not in res.out


def test_the_fix_changes_the_lock_the_program_declares_instead_of_adding_one(short_retention):
    res = run("check", "--stack", "prod", "--program", str(short_retention))
    assert "add cloudflare.R2BucketLock" not in res.out
    assert "change rules[0].condition.maxAgeSeconds (max_age_seconds) from 604800 to at least 2592000" in res.out
    assert "R2BucketLock ara-storage-backups-lock" in res.out


def test_totals_count_checks_and_violations_by_severity(short_retention):
    res = run("check", "--stack", "prod", "--program", str(short_retention))
    assert re.search(r"checks: \d+ passed, 1 failed, \d+ skipped; violations: 1 "
                     r"\(CRITICAL: 0, HIGH: 1, MEDIUM: 0, LOW: 0\)", res.out), res.out
    data = json.loads(run("check", "--stack", "prod", "--program", str(short_retention), "--format", "json").out)
    assert data["bySeverity"] == {"critical": 0, "high": 1, "medium": 0, "low": 0}
    stack = data["stacks"][0]
    assert stack["checks"]["failed"] == 1 and stack["checks"]["passed"] + 1 + stack["checks"]["skipped"] == \
        stack["policies"]
    violation = stack["violations"][0]
    assert violation["location"].startswith("infra/storage.py:") and violation["config"][0]["key"] == \
        "backupRetentionDays"
    markdown = run("check", "--stack", "prod", "--program", str(short_retention), "--format", "markdown").out
    assert "| checks passed | failed | skipped |" in markdown and "config backupRetentionDays = 7" in markdown


def _validate(schema: dict, log: dict) -> None:
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_the_sarif_of_a_failing_check_is_valid_sarif_2_1_0_that_points_at_the_line(short_retention, sarif_schema):
    res = run("check", "--stack", "prod", "--stack", "preview", "--program", str(short_retention), "--format",
              "sarif")
    assert res.code == 1, res.err
    log = json.loads(res.out)
    _validate(sarif_schema, log)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1  # GitHub: one run per tool and category
    run_ = log["runs"][0]
    (result,) = run_["results"]
    rule = run_["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == result["ruleId"] == "cloudflare-r2-require-backup-lock"
    assert result["level"] == "error" and 7.0 <= float(rule["properties"]["security-severity"]) < 9.0  # high
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "infra/storage.py"
    assert location["region"]["startLine"] == _line_of(ROOT / "infra" / "storage.py", r"cloudflare\.R2BucketLock\(")
    related = {(r["physicalLocation"]["artifactLocation"]["uri"], r["message"]["text"].split(" = ")[0])
               for r in result["relatedLocations"]}
    assert ("Pulumi.prod.yaml", "config backupRetentionDays") in related
    assert result["partialFingerprints"]["araInfraFinding/v1"]


def test_the_sarif_of_a_passing_check_is_valid_and_empty(sarif_schema):
    res = run("check", "--stack", "prod", "--stack", "preview", "--format", "sarif")
    assert res.code == 0, res.err
    log = json.loads(res.out)
    _validate(sarif_schema, log)
    assert log["runs"][0]["results"] == []


def test_the_schema_refuses_a_broken_sarif_log(sarif_schema):
    # The validation can fail: a result without its message is not SARIF.
    with pytest.raises(AssertionError):
        _validate(sarif_schema, {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                                                               "results": [{"ruleId": "r"}]}]})


def test_a_cross_stack_violation_is_located_like_a_pack_violation():
    # stacks-disallow-shared-secret-values is added after the pack's report (review.crossstack.attach).
    from review import check, evaluate
    from tests.support import offline_secrets

    source = evaluate.load_source("preview", None, offline_secrets())
    ev = evaluate.evaluate(source, evaluate.load_answers(None))
    var = next(r for r in ev.capture.resources if r.type.endswith("ProjectEnvironmentVariable"))
    violation = check.Violation(policy="stacks-disallow-shared-secret-values", level="mandatory", severity="high",
                                description="", stack="preview", urn=var.urn, type=var.type, name=var.name,
                                problem="reuses a production value", fix="set its own value")
    report = check.StackReport(project="ara-infra", stack="preview", pack="p@1", resources=1, policies=1,
                               violations=[violation], severities={"some-pack-policy": "low"})
    check.locate_all([report], [ev])
    assert violation.location and violation.location.startswith("infra/environment.py:")
    assert report.failed == [] and report.passed == 1  # not one of the pack's policies
