"""`python -m cicd`: see the package docstring."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from cicd import approval, codeowners, lock, pack
from infra.exitcodes import (
    EXIT_FINDING,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVICE,
    EXIT_USAGE,
    epilog,
    run_command,
)

EXIT_CODES = {
    EXIT_OK: "ok (approved or nothing to approve, or pack: the copy is current)",
    EXIT_FINDING: "finding (not approved, or pack --check: the copy is stale)",
    EXIT_USAGE: "bad input (named)",
    EXIT_SERVICE: "pip or the package index failed (lock)",
    EXIT_INTERNAL: "internal error (--debug shows the traceback)",
    EXIT_INTERRUPTED: "interrupted",
}
"""What each code `python -m cicd` can return means for it (its --help, docs/reference/exit-codes.md)."""


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise approval.ApprovalInputError(f"{what} {path}: cannot read it ({exc.strerror or exc})") from None


def _owners(base: str) -> tuple[Path | None, codeowners.CodeOwners]:
    try:
        return codeowners.load(Path(base))
    except codeowners.CodeOwnersError as exc:
        raise approval.ApprovalInputError(f"base branch CODEOWNERS: {exc}") from None


def cmd_gate(args: argparse.Namespace) -> int:
    if not approval.SHA.fullmatch(args.head_sha):
        raise approval.ApprovalInputError(f"--head-sha {approval.safe(args.head_sha)!r}: not a 40-digit commit id")
    path, owners = _owners(args.base)
    changed = [p for p in _read(args.changed, "--changed").decode("utf-8", "replace").split("\0") if p]
    reviews = approval.parse_reviews(_read(args.reviews, "--reviews").decode("utf-8"))
    if path is None:
        print("Code owners: the base branch has no CODEOWNERS, so no file is code-owned "
              "(this is how a first CODEOWNERS is merged).")
        return EXIT_OK
    for note in owners.skipped:
        print(f"Code owners: CODEOWNERS {note}")
    approved = approval.approvers(reviews, args.head_sha, args.author)
    verdict = approval.owned_changes(changed, owners, approved)
    print(verdict.text(), end="")
    return EXIT_OK if verdict.ok else EXIT_FINDING


def cmd_approved_head(args: argparse.Namespace) -> int:
    _, owners = _owners(args.base)
    try:
        pull = json.loads(_read(args.pull, "--pull"))
    except json.JSONDecodeError:
        raise approval.ApprovalInputError(f"--pull {args.pull}: not JSON") from None
    if not isinstance(pull, dict):
        raise approval.ApprovalInputError(f"--pull {args.pull}: not a pull request object")
    reviews = approval.parse_reviews(_read(args.reviews, "--reviews").decode("utf-8"))
    verdict, outputs = approval.approved_head(pull, reviews, owners, args.repository, args.base_branch)
    print(verdict.text(), end="")
    if verdict.ok and args.github_output:
        branch = outputs["branch"]
        # A branch name is text the pull request's author chose: one line, or refuse it.
        if "\n" in branch or "\r" in branch:
            raise approval.ApprovalInputError("the head branch name has a line break")
        with open(args.github_output, "a", encoding="utf-8") as out:
            out.write(f"sha={outputs['sha']}\nbranch={branch}\n")
    return EXIT_OK if verdict.ok else EXIT_FINDING


def cmd_lock(_: argparse.Namespace) -> int:
    try:
        return lock.main()
    except lock.LockError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exc.code


def cmd_pack(args: argparse.Namespace) -> int:
    return pack.main(check=args.check)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cicd", description=__doc__, epilog=epilog(EXIT_CODES))
    parser.add_argument("--debug", action="store_true", help="show a traceback on an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("gate", help="changed code-owned files need a code owner's approval of this commit")
    p.add_argument("--base", required=True, metavar="DIR", help="the base branch's tree (its CODEOWNERS decides)")
    p.add_argument("--changed", required=True, metavar="FILE", help="changed paths, NUL-separated (git diff -z)")
    p.add_argument("--reviews", required=True, metavar="FILE", help="the pull request's reviews, one JSON a line")
    p.add_argument("--head-sha", required=True, metavar="SHA", help="the pull request's head commit")
    p.add_argument("--author", required=True, metavar="LOGIN", help="the pull request's author")
    p.set_defaults(func=cmd_gate)
    p = sub.add_parser("approved-head", help="the pull request's head commit, if a code owner approved it")
    p.add_argument("--base", required=True, metavar="DIR", help="the trusted tree whose CODEOWNERS names the owners")
    p.add_argument("--pull", required=True, metavar="FILE", help="the pull request (GET …/pulls/{number})")
    p.add_argument("--reviews", required=True, metavar="FILE", help="its reviews, one JSON a line")
    p.add_argument("--repository", required=True, metavar="OWNER/NAME", help="this repository")
    p.add_argument("--base-branch", default="main", help="the branch it must merge into (default main)")
    p.add_argument("--github-output", metavar="FILE", help="append sha= and branch= here when approved")
    p.set_defaults(func=cmd_approved_head)
    p = sub.add_parser("lock", help="regenerate requirements.lock and policies/requirements.lock")
    p.set_defaults(func=cmd_lock)
    p = sub.add_parser("pack", help="refresh the policy pack's copy of infra/catalog.py")
    p.add_argument("--check", action="store_true", help="only compare: exit 1 while the copy is stale")
    p.set_defaults(func=cmd_pack)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(f"python -m cicd {args.command}", lambda: args.func(args), debug=args.debug,
                       refused=(approval.ApprovalInputError,))


if __name__ == "__main__":
    sys.exit(main())
