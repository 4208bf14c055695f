"""Reading the repository's GitHub workflows: every file in .github/workflows/, whoever wrote it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
SCRIPTS = ROOT / ".github" / "scripts"
SCRIPT_CALL = re.compile(r"^\s*bash (\.github/scripts/[\w.-]+\.sh)\s*$", re.M)
"""A step that runs one of the repository's scripts, as the workflows write it."""
PULUMI_ACTION = "pulumi/actions"

# Full commit SHAs of the release tags, read from the actions' own repositories
# (`git rev-parse <tag>^{commit}` in snapshots of github.com/actions/checkout,
# actions/setup-python and pulumi/actions): one pin per action across all workflows.
PINNED = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    PULUMI_ACTION: ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
    # github/codeql-action: `git rev-parse v4.36.2^{commit}` in a snapshot of its repository.
    "github/codeql-action/upload-sarif": ("8aad20d150bbac5944a9f9d289da16a4b0d87c1e", "v4.36.2"),
}

# The inputs of pulumi/actions v7.0.0 (its action.yml at the pinned commit).
PULUMI_ACTION_INPUTS = frozenset({
    "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
    "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel",
    "message", "config-map", "expect-no-changes", "diff", "replace", "exclude", "exclude-dependents", "target",
    "target-dependents", "policyPacks", "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment",
    "color", "exclude-protected", "plan", "suppress-outputs", "suppress-progress", "always-include-summary",
    "continue-on-error", "log-verbosity", "log-flow", "debug",
})

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def workflow_files() -> list[Path]:
    return sorted(p for p in WORKFLOWS.iterdir() if p.suffix in (".yml", ".yaml"))


@dataclass(frozen=True)
class Step:
    workflow: str
    job_id: str
    job: dict[str, Any]
    index: int
    step: dict[str, Any]

    @property
    def where(self) -> str:
        label = self.step.get("name") or self.step.get("uses")
        return f"{self.workflow}: jobs.{self.job_id}.steps[{self.index}] ({label})"

    @property
    def action(self) -> str | None:
        uses = self.step.get("uses")
        return uses.partition("@")[0] if isinstance(uses, str) else None

    @property
    def with_(self) -> dict[str, Any]:
        return self.step.get("with") or {}


def run_text(step: dict[str, Any]) -> str:
    """A step's shell as it runs: its `run:`, each `bash .github/scripts/X.sh` line replaced by that
    script's text (a script the checkout lacks fails here)."""
    script = step.get("run") or ""
    return SCRIPT_CALL.sub(lambda m: (ROOT / m.group(1)).read_text(), script)


def script_files() -> list[Path]:
    return sorted(SCRIPTS.glob("*.sh")) if SCRIPTS.is_dir() else []


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow.get("on")
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on or {})


def steps(path: Path) -> Iterator[Step]:
    workflow = load(path)
    for job_id, job in (workflow.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            yield Step(path.name, job_id, job, index, step)


def all_steps() -> list[Step]:
    return [s for p in workflow_files() for s in steps(p)]


def pulumi_commands(path: Path) -> list[Step]:
    """The pulumi/actions steps that run a command (not the install-only ones)."""
    return [s for s in steps(path) if s.action == PULUMI_ACTION and s.with_.get("command")]


def matrix_values(job: dict[str, Any], key: str) -> list[Any] | None:
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    values = matrix.get(key)
    return list(values) if isinstance(values, list) else None


def expand(text: str, job: dict[str, Any]) -> list[str]:
    """`text` once per value of the matrix variables it uses (itself when it uses none)."""
    names = set(re.findall(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", text))
    results = [text]
    for name in names:
        values = matrix_values(job, name)
        assert values, f"matrix.{name} is used but not a list in the job's strategy"
        results = [re.sub(r"\$\{\{\s*matrix\." + name + r"\s*\}\}", str(v), r) for r in results for v in values]
    return results
