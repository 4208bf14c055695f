"""Whether a pull request's commit carries a code owner's approval, from GitHub's own records.

Inputs are what a workflow's GITHUB_TOKEN can read with `pull-requests: read` (forks included:
GitHub gives a fork's pull request a read-only token, docs.github.com "GITHUB_TOKEN reference",
github/docs `content/actions/reference/github_token-reference.md`): the reviews of the pull request
(`GET /repos/{owner}/{repo}/pulls/{number}/reviews`, one JSON object a line) and the pull request
itself (`GET /repos/{owner}/{repo}/pulls/{number}`).

A review counts only when it is the reviewer's latest deciding review (APPROVED, CHANGES_REQUESTED
or DISMISSED; a later comment does not withdraw an approval), is APPROVED, was given on exactly the
commit being judged (`commit_id`), and its author is not the pull request's author. Owners are
single accounts named in the base branch's CODEOWNERS: team membership and e-mail addresses cannot
be resolved with GITHUB_TOKEN (it has no organization `members` permission; same reference), so a
path owned only by a team or an address fails closed, saying so.

Every path and login is printed through `safe()`: file names come from the pull request, and a line
of a job log starting with `::` is a workflow command (docs.github.com "Workflow commands").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cicd.codeowners import CodeOwners

SHA = re.compile(r"[0-9a-f]{40}")
DECIDING = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})


class ApprovalInputError(ValueError):
    """Input that cannot be trusted as GitHub's answer (named in the message)."""


def safe(text: str, limit: int = 200) -> str:
    """`text` for a log line or a Markdown summary: control characters and backticks escaped, cut."""
    out = []
    for ch in text:
        if ch == "`":
            out.append("'")
        elif ord(ch) < 32 or ord(ch) == 127 or 0x80 <= ord(ch) < 0xA0 or ch in "\u2028\u2029":
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    cleaned = "".join(out)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"


def parse_reviews(text: str) -> list[dict[str, Any]]:
    """One review object a line (`gh api --paginate … --jq '.[]'`), in GitHub's order (oldest first)."""
    reviews = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            review = json.loads(line)
        except json.JSONDecodeError:
            raise ApprovalInputError(f"reviews line {number}: not JSON") from None
        if not isinstance(review, dict) or not isinstance(review.get("state"), str):
            raise ApprovalInputError(f"reviews line {number}: not a review object (no state)")
        reviews.append(review)
    return reviews


def approvers(reviews: Iterable[dict[str, Any]], commit: str, author: str) -> frozenset[str]:
    """Lower-case logins whose latest deciding review approves exactly `commit`, the author excluded."""
    latest: dict[str, dict[str, Any]] = {}
    for review in reviews:
        user = (review.get("user") or {}).get("login")
        if isinstance(user, str) and review["state"] in DECIDING:
            latest[user.lower()] = review
    return frozenset(user for user, review in latest.items()
                     if review["state"] == "APPROVED" and review.get("commit_id") == commit
                     and user != author.lower())


@dataclass
class Verdict:
    """The decision and the lines that explain it."""

    ok: bool
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def owned_changes(changed: Sequence[str], owners: CodeOwners, approved: frozenset[str]) -> Verdict:
    """Every changed path the base branch's CODEOWNERS assigns needs one of its owners' approval."""
    missing: dict[int, tuple[Any, list[str]]] = {}
    covered = 0
    for path in changed:
        rule = owners.owner_of(path)
        if rule is None:
            continue
        covered += 1
        if not approved & set(rule.users):
            missing.setdefault(rule.line, (rule, []))[1].append(path)
    if not missing:
        head = (f"Code owners: {covered} changed file(s) are code-owned and approved on this commit."
                if covered else "Code owners: no changed file is code-owned.")
        return Verdict(True, [head])
    lines = ["Code owners: changed code-owned files lack an approval of this commit by one of their owners "
             "(a new push needs a new approval):"]
    for rule, paths in missing.values():
        who = ", ".join(safe(o) for o in rule.owners)
        more = f" and {len(paths) - 10} more" if len(paths) > 10 else ""
        shown = ", ".join(f"`{safe(p)}`" for p in paths[:10]) + more
        lines.append(f"- CODEOWNERS line {rule.line} (`{safe(rule.pattern)}`, owners {who}): {shown}")
        if not rule.users:
            lines.append(f"  owners {who} cannot be checked with GITHUB_TOKEN (no access to team membership "
                         "or e-mail addresses): name people (@login) on that line")
    return Verdict(False, lines)


def approved_head(pull: dict[str, Any], reviews: Sequence[dict[str, Any]], owners: CodeOwners,
                  repository: str, base_branch: str) -> tuple[Verdict, dict[str, str]]:
    """For running a pull request's code with credentials: the pull request is open, from this
    repository, into `base_branch`, and its head commit is approved by a code owner (any account
    CODEOWNERS names) who is not its author. Returns the verdict and, when ok, the outputs
    `sha` (the approved commit) and `branch` (its head branch name, untrusted text)."""
    try:
        head, base = pull["head"], pull["base"]
        sha, author = head["sha"], pull["user"]["login"]
        head_repo = (head.get("repo") or {}).get("full_name")
        state, base_ref, branch = pull["state"], base["ref"], head["ref"]
    except (KeyError, TypeError):
        raise ApprovalInputError("pull request: missing head, base, user or state") from None
    if not isinstance(sha, str) or not SHA.fullmatch(sha):
        raise ApprovalInputError("pull request: head.sha is not a 40-digit commit id")
    problems = []
    if state != "open":
        problems.append(f"the pull request is {safe(str(state))}, not open")
    if head_repo != repository:
        problems.append(f"its head is in {safe(str(head_repo))}, not {safe(repository)}: code from forks never runs "
                        "with this repository's credentials")
    if base_ref != base_branch:
        problems.append(f"it merges into {safe(str(base_ref))}, not {safe(base_branch)}")
    if not owners.users:
        problems.append("the base branch's CODEOWNERS names no person (@login) who could approve")
    elif not approvers(reviews, sha, author) & owners.users:
        problems.append(f"no code owner (CODEOWNERS: {', '.join('@' + u for u in sorted(owners.users))}) other "
                        f"than its author has approved its head commit {sha[:12]}; approve it, then run this again")
    if problems:
        return Verdict(False, ["Not run with credentials:", *(f"- {p}" for p in problems)]), {}
    return Verdict(True, [f"Head commit {sha[:12]} is approved by a code owner: it runs with the "
                          "pull-requests environment."]), {"sha": sha, "branch": branch}
