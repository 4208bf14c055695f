"""Pull-request stacks: `pr-<number>`, one per open pull request, derived from the preview stack.

What is shared by the program (`infra.config` validates a `pr-<n>` stack, `stacks` composes it),
the review tool (`check --stack pr-123` without a stack file) and the workflows (which write the
stack file before `pulumi up`):

    python -m stacks.prstack --number 123 --branch feature/search [--out FILE] [--program DIR]

writes `Pulumi.pr-123.yaml` (or FILE, `-` for stdout) from `stacks/pull_request.yaml`: the plain
values of the preview stack's file, then the template's values with {number} and {branch}
filled in, each typed by its declaration in Pulumi.yaml (the CLI checks declared types). Bad
input exits 2 with a message naming the argument; nothing is written. Exit codes are the
repository's one scheme (`infra.exitcodes`, docs/reference/exit-codes.md).

`--state FILE` (the output of `pulumi stack export` for an existing stack) restores the stack's
passphrase salt as `encryptionsalt:`: a CI runner starts without the stack file, and the CLI does
not bring the secrets-provider settings back from the state by itself (pulumi/pulumi#7282,
whose workaround reads `deployment.secrets_providers.state.salt`; #5657). Other providers are
not restored: the Pulumi Cloud's needs nothing in the file; a KMS provider is reported.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from infra import projectfile
from infra.config import PR_STACK, git_branch_problem, pr_number
from infra.exitcodes import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, epilog, run_command

EXIT_CODES = {
    EXIT_OK: "ok (the stack file is written)",
    EXIT_USAGE: "bad input (named, nothing written)",
    EXIT_INTERNAL: "internal error (--debug shows the traceback)",
    EXIT_INTERRUPTED: "interrupted",
}
"""What each code `python -m stacks.prstack` can return (its --help, docs/reference/exit-codes.md). It
calls no service (the workflow's `pulumi` and `gh` steps do), so it never returns 4."""

TEMPLATE = Path("stacks") / "pull_request.yaml"
"""The template, relative to the program directory."""
POLICY_CONFIG_STACK = "preview"
"""A pull-request stack is judged with the preview stack's policy config."""
UNREAD_SECRET_VALUE = "unread-by-pull-request-stacks"
"""What the workflows set each app secret of a pull-request stack to (`pulumi config set-all --secret`):
Pulumi.yaml declares them without a default, so the CLI refuses `up` and `destroy` of a stack that
lacks one (pulumi/pulumi pkg/workspace/config.go, `mergeConfig`), although the stack reads none of
them (infra.config.PR_UNREAD_SECRETS). Not a credential: a value nothing reads."""


class PullRequestStackError(Exception):
    """Bad number, branch or template; the message names which."""


def is_pr_stack(stack: str) -> bool:
    return pr_number(stack) is not None


def stack_name(number: int) -> str:
    name = f"pr-{number}"
    if not PR_STACK.match(name):
        raise PullRequestStackError(f"--number: {number!r} is not a pull-request number (1-999999999)")
    return name


def _template(program_dir: Path) -> tuple[str, Mapping[str, Any]]:
    path = program_dir / TEMPLATE
    if not path.exists() and not path.is_symlink():
        raise PullRequestStackError(f"{path}: the pull-request stack template is missing")
    # projectfile reads it as it reads every stack file: no symlink out of the program, bounded size.
    data = projectfile.read_yaml(projectfile.program_file(program_dir, TEMPLATE.as_posix()))
    if not isinstance(data, dict) or not isinstance(data.get("base"), str) or not isinstance(data.get("config"), dict):
        raise PullRequestStackError(f"{path}: needs 'base' (a stack name) and a 'config' mapping")
    return data["base"], data["config"]


def template_base(program_dir: Path) -> str:
    """The stack a pull-request stack is derived from (the template's `base`)."""
    return _template(program_dir)[0]


def _typed(value: Any, decl: projectfile.Declaration | None, key: str) -> Any:
    if decl is None or not isinstance(value, str):
        return value
    try:
        if decl.type == "integer":
            return int(value)
        if decl.type == "boolean" and value.lower() in ("true", "false"):
            return value.lower() == "true"
    except ValueError:
        raise PullRequestStackError(f"{TEMPLATE}: {key}: {value!r} is not {decl.type}") from None
    return value


def derive(number: int, branch: str, program_dir: Path) -> dict[str, Any]:
    """The `config:` mapping of stack `pr-<number>` for git branch `branch` (plain values only)."""
    stack = stack_name(number)
    problem = git_branch_problem(branch)
    if problem:
        raise PullRequestStackError(f"--branch: {problem}")
    base, overrides = _template(program_dir)
    if is_pr_stack(base):
        raise PullRequestStackError(f"{TEMPLATE}: base must be a long-lived stack, not {base!r}")
    project = projectfile.project_name(program_dir)
    decls = projectfile.declarations(program_dir)
    base_file = program_dir / f"Pulumi.{base}.yaml"
    if not base_file.exists() and not base_file.is_symlink():
        raise PullRequestStackError(f"{base_file}: the base stack's file is missing")
    base_data = projectfile.read_yaml(projectfile.program_file(program_dir, base_file.name)) or {}
    config = base_data.get("config", {}) if isinstance(base_data, dict) else None
    if not isinstance(config, dict):
        raise PullRequestStackError(f"{base_file}: 'config' must be a mapping")
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            continue  # encrypted for the base stack only; the workflow sets the PR stack's own
        out[key] = value
    for key, value in overrides.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, str):
            value = value.format(number=number, branch=branch, stack=stack)
        out[full] = _typed(value, decls.get(full.partition(":")[2]) if full.startswith(f"{project}:") else None, full)
    return out


def secrets_settings(state: Mapping[str, Any], where: str) -> dict[str, str]:
    """Stack-file settings of the secrets provider recorded in an exported state."""
    deployment = state.get("deployment") if isinstance(state, Mapping) else None
    if not isinstance(deployment, Mapping):
        raise PullRequestStackError(f"{where}: not the output of `pulumi stack export` (no 'deployment')")
    provider = deployment.get("secrets_providers")
    if not isinstance(provider, Mapping):
        return {}  # a stack with no secret yet
    kind, provider_state = provider.get("type"), provider.get("state")
    if kind == "passphrase":
        salt = provider_state.get("salt") if isinstance(provider_state, Mapping) else None
        if not isinstance(salt, str) or not salt.startswith("v1:"):
            raise PullRequestStackError(f"{where}: the passphrase provider's state has no salt")
        return {"encryptionsalt": salt}
    if kind == "service":
        return {}
    raise PullRequestStackError(f"{where}: secrets provider {kind!r} is not restored by this tool; use the "
                                "passphrase provider or the Pulumi Cloud for pull-request stacks "
                                "(docs/how-to/pull-request-stacks.md)")


def render(number: int, branch: str, program_dir: Path, secrets: Mapping[str, str] | None = None) -> str:
    """The text of Pulumi.pr-<number>.yaml."""
    header = (f"# Stack {stack_name(number)}: written by `python -m stacks.prstack` from {TEMPLATE.as_posix()}.\n"
              "# Not committed; the pull-request workflow writes it on every run.\n")
    body: dict[str, Any] = {**(secrets or {}), "config": derive(number, branch, program_dir)}
    return header + yaml.safe_dump(body, sort_keys=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stacks.prstack",
                                     description="Write the config of a pull-request stack pr-<number>.",
                                     epilog=epilog(EXIT_CODES))
    parser.add_argument("--number", required=True, help="the pull request's number")
    parser.add_argument("--branch", required=True, help="the pull request's head branch")
    parser.add_argument("--program", default=None, help="program directory (default: this repository)")
    parser.add_argument("--out", default=None, help="file to write (default: Pulumi.pr-<number>.yaml; - for stdout)")
    parser.add_argument("--state", default=None, help="`pulumi stack export` of the existing stack: keep its salt")
    parser.add_argument("--debug", action="store_true", help="show a traceback on an unexpected error")
    return parser


def _write(args: argparse.Namespace) -> None:
    program_dir = Path(args.program or projectfile.default_program_dir()).resolve()
    if not re.fullmatch(r"[1-9][0-9]{0,8}", args.number):
        raise PullRequestStackError(f"--number: {args.number!r} is not a pull-request number (1-999999999)")
    number = int(args.number)
    secrets: dict[str, str] = {}
    if args.state:
        try:
            state = json.loads(Path(args.state).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PullRequestStackError(f"--state {args.state}: not readable JSON ({exc})") from None
        secrets = secrets_settings(state, f"--state {args.state}")
    text = render(number, args.branch, program_dir, secrets)
    if args.out == "-":
        sys.stdout.write(text)
        return
    out = Path(args.out) if args.out else program_dir / f"Pulumi.{stack_name(number)}.yaml"
    try:
        out.write_text(text)
    except OSError as exc:
        raise PullRequestStackError(f"{'--out ' if args.out else ''}{out}: cannot write it "
                                    f"({exc.strerror or type(exc).__name__})") from None
    print(f"wrote {out}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Exit codes: the repository's one scheme (infra.exitcodes)."""
    args = build_parser().parse_args(argv)

    def write() -> int:
        _write(args)
        return EXIT_OK

    return run_command("python -m stacks.prstack", write, debug=args.debug,
                       refused=(PullRequestStackError, projectfile.ProjectFileError))


if __name__ == "__main__":
    raise SystemExit(main())
