"""`check --format sarif`: the policy check as SARIF 2.1.0, for GitHub code scanning.

One run (GitHub refuses several runs of one tool and category in an upload) holding every stack's
violations. Each result points at the line that declared the resource (review.provenance) as its
location; config keys that fed the value and the program's calls above that line are related
locations; a finding without a program line points at the stack's file. Rules carry the policy's
severity as GitHub's `security-severity` (critical 9.5, high 8.0, medium 5.5, low 2.0: GitHub's
bands are 9.0+, 7.0-8.9, 4.0-6.9, 0.1-3.9) and its enforcement level as the result's `level`
(mandatory: error, advisory: warning). `partialFingerprints` follow the stack, policy and URN, so
an alert survives edits that move the line.

Format: https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html; GitHub's use of it:
docs.github.com, "SARIF support for code scanning".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "ara-infra policy check"
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0", "": "2.0"}
LEVEL = {"mandatory": "error", "advisory": "warning"}
SRCROOT = "%SRCROOT%"


def _rule(violation: Any, url: str) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": violation.policy,
        "name": "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", violation.policy) if part),
        "shortDescription": {"text": violation.description or violation.policy},
        "fullDescription": {"text": violation.description or violation.policy},
        "help": {"text": f"{violation.description}\n\nThe finding's fix names what to change; "
                         f"`python -m review check --stack {violation.stack}` reproduces it offline."},
        "defaultConfiguration": {"level": LEVEL.get(violation.level, "warning")},
        "properties": {"tags": ["security", "iac", "pulumi"], "precision": "very-high",
                       "security-severity": SECURITY_SEVERITY.get(violation.severity, "2.0")},
    }
    if url:
        rule["helpUri"] = url
    return rule


def _physical(path: str, line: int | None) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": path, "uriBaseId": SRCROOT}}
    if line:
        location["region"] = {"startLine": line}
    return location


def _split(where: str) -> tuple[str, int | None]:
    path, _, line = where.rpartition(":")
    return (path, int(line)) if path and line.isdigit() else (where, None)


def _result(violation: Any, rule_index: int) -> dict[str, Any]:
    path, line = _split(violation.location) if violation.location else (f"Pulumi.{violation.stack}.yaml", 1)
    related, next_id = [], 1
    for feed in violation.config:
        if feed.get("line") and not feed["file"].startswith("--"):
            related.append({"id": next_id, "physicalLocation": _physical(feed["file"], feed["line"]),
                            "message": {"text": f"config {feed['text']}"}})
            next_id += 1
    for frame in violation.trace[:5]:
        frame_path, frame_line = _split(frame)
        related.append({"id": next_id, "physicalLocation": _physical(frame_path, frame_line),
                        "message": {"text": "called from here"}})
        next_id += 1
    text = f"[{violation.stack}] {violation.problem}"
    if violation.fix:
        text += f" Fix: {violation.fix}"
    if violation.config:
        text += " (config: " + "; ".join(c["text"] for c in violation.config) + ")"
    fingerprint = hashlib.sha256(f"{violation.stack}\0{violation.policy}\0{violation.urn}".encode()).hexdigest()
    result: dict[str, Any] = {
        "ruleId": violation.policy,
        "ruleIndex": rule_index,
        "level": LEVEL.get(violation.level, "warning"),
        "message": {"text": text},
        "locations": [{
            "physicalLocation": _physical(path, line),
            "logicalLocations": [{"name": violation.name, "fullyQualifiedName": violation.urn, "kind": "resource"}],
        }],
        "partialFingerprints": {"araInfraFinding/v1": fingerprint[:32]},
        "properties": {"stack": violation.stack, "urn": violation.urn, "resourceType": violation.type,
                       "enforcementLevel": violation.level, "severity": violation.severity or "low"},
    }
    if related:
        result["relatedLocations"] = related
    return result


def sarif(reports: Sequence[Any]) -> dict[str, Any]:
    """The SARIF log of `reports` (review.check.StackReport)."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results = []
    for rep in reports:
        for v in rep.violations:
            if v.policy not in index:
                index[v.policy] = len(rules)
                rules.append(_rule(v, v.url))
            results.append(_result(v, index[v.policy]))
    pack = reports[0].pack if reports else ""
    name, _, version = pack.partition("@")
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL_NAME, "version": version or "0", "organization": "ara-infra",
                                "informationUri": "https://www.pulumi.com/docs/iac/using-pulumi/crossguard/",
                                "rules": rules, "properties": {"policyPack": name}}},
            "automationDetails": {"id": "ara-infra-policy/"},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"stacks": [{"stack": r.stack, "resources": r.resources, "policies": r.policies,
                                       "passed": r.passed, "failed": len(r.failed), "skipped": len(r.skipped)}
                                      for r in reports]},
        }],
    }
