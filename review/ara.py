"""What `review` knows about ARA's own program beyond its files: the one module of the tool that
imports this repository's program (`infra.config`, `stacks.prstack`).

Every other module of `review/` works on any Pulumi Python program and imports only the
leaves `infra.catalog`, `infra.projectfile` and `infra.exitcodes`, which import the standard
library only (and PyYAML, for projectfile) (tests/review/test_boundaries.py holds them to it).
What lives here:

- pull-request stacks `pr-<n>`: a stack without its file is derived as `python -m stacks.prstack`
  writes it, from the program's `stacks/pull_request.yaml`;
- ARA's default policy config: `<pack>/config/<stack>.json`, and for `pr-<n>` the config of the
  stack it is derived from.

The imports stay inside the functions: only pull-request stacks and ARA's project need them, and
while the main thread evaluates another program directory `infra` may temporarily be that program's
package (see `evaluate.isolated_imports`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra import catalog, projectfile
from review.errors import UsageError


def pr_number(stack: str) -> int | None:
    """The pull request's number when `stack` is named `pr-<n>`, else None."""
    from infra import config  # noqa: PLC0415 - see the module docstring

    return config.pr_number(stack)


def derivable_at(program_dir: Path, stack: str) -> bool:
    """True when `stack` is a pull-request stack the program at `program_dir` can derive (its template exists)."""
    from stacks import prstack  # noqa: PLC0415 - see the module docstring

    return pr_number(stack) is not None and (program_dir / prstack.TEMPLATE).is_file()


def pull_request_stack(stack: str, program_dir: Path, overrides: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `config:` `python -m stacks.prstack` writes for `pr-<n>` (stacks.prstack), or None for any
    other name. The branch is `--config pullRequestBranch=B` when given (the workflows pass the
    real one), else `pr-<n>`; `--config` values apply on top as they do to any stack file."""
    from infra import config  # noqa: PLC0415 - see the module docstring
    from stacks import prstack  # noqa: PLC0415 - see the module docstring

    number = config.pr_number(stack)
    if number is None:
        return None
    given = {k.rpartition(":")[2]: v for k, v in overrides.items()}
    branch = str(given.get("pullRequestBranch") or stack)
    problem = config.git_branch_problem(branch)
    if problem and given.get("pullRequestBranch"):
        # Named as the reviewer gave it: `--config pullRequestBranch`, not prstack's --branch.
        raise UsageError(f"stack {stack!r}: pullRequestBranch (--config or --answers): {problem}")
    try:
        return prstack.derive(number, branch, program_dir)
    except (prstack.PullRequestStackError, projectfile.ProjectFileError) as exc:
        raise UsageError(f"stack {stack!r}: {exc}") from None


def default_policy_config(stack: str, pack_dir: Path, project: str) -> Path | None:
    """`<pack>/config/<stack>.json` for ARA's own project only (those files are ARA's, not the config
    of any stack that happens to be called `prod`); a pull-request stack is judged as the stack it
    is derived from. None when there is no such file."""
    if project != catalog.PROJECT_NAME:
        return None
    default = pack_dir / "config" / f"{stack}.json"
    if not default.is_file() and pr_number(stack) is not None:
        from stacks import prstack  # noqa: PLC0415 - see the module docstring

        default = pack_dir / "config" / f"{prstack.POLICY_CONFIG_STACK}.json"
    return default if default.is_file() else None
