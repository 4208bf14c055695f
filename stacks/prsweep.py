"""Which pull-request stacks the scheduled sweep destroys, and why (.github/workflows/sweep-pr-stacks.yml).

A `pr-<n>` stack normally goes when its pull request is merged (pull-request-closed.yml). It lives
on when that job fails, when the pull request is closed without merging (GitHub then runs the
pull request's own copy of the close workflow, which the main-only `pull-requests` environment
refuses), or while an open pull request sits untouched. The sweep lists the project's stacks and
destroys those that are left over:

    python -m stacks.prsweep plan --stacks FILE --open-pull-requests FILE [--max-age-days 30]
                                 [--limit 1000] [--now ISO] [--github-output FILE] [--summary FILE]
    python -m stacks.prsweep confirm --number N --reason closed|stale --pull-request FILE
                                    [--github-output FILE]

`plan` reads `pulumi stack ls --json` (pkg/cmd/pulumi/stack/stack_ls.go: `name`, `lastUpdate` in
RFC 5424 form with milliseconds, `updateInProgress`) and `gh pr list --state open --json number
--limit L`. A stack is destroyed when its name is exactly `pr-<n>` (the name the close workflow
builds: this project, the default organization), no update is running on it, and either pull
request #n is not open (reason `closed`: closed, merged, or no such pull request) or it was last
updated more than `--max-age-days` ago (reason `stale`; 0 turns this off; the next approved run of
pull-request-deploy.yml creates it again). Every other stack is kept, with the reason. A listing of
`--limit` open pull requests or more may be cut short, so it decides nothing (exit 2). Writes
`stacks=<JSON [{"number": n, "reason": r}]>` and `count=<n>` to `--github-output`, and a table
to `--summary`.

`confirm` runs right before a destroy, on `gh pr view N --json number,state,headRefName` (or `{}`
when there is no such pull request): a stack planned as `closed` whose pull request is open again
is kept (`destroy=false`); otherwise `destroy=true` and `branch=<the head branch>` for
`python -m stacks.prstack --branch` (`pr-<n>` when unknown; `destroy` reads no program, so only
the CLI's config check sees it).

Bad input exits 2 with a message naming the option and the entry; nothing is written. Exit codes are
the repository's one scheme (`infra.exitcodes`, docs/reference/exit-codes.md): 0 decided, 2 bad
input, 5 a bug (`--debug` shows the traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.config import git_branch_problem
from infra.exitcodes import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, epilog, run_command

EXIT_CODES = {
    EXIT_OK: "ok (decided, outputs written)",
    EXIT_USAGE: "bad input (named, nothing written)",
    EXIT_INTERNAL: "internal error (--debug shows the traceback)",
    EXIT_INTERRUPTED: "interrupted",
}
"""What each code `python -m stacks.prsweep` can return (its --help, docs/reference/exit-codes.md). It
calls no service (the workflow's `pulumi` and `gh` steps do), so it never returns 4."""

PR_STACK = re.compile(r"pr-([1-9][0-9]{0,8})")
DEFAULT_MAX_AGE_DAYS = 30
DEFAULT_LIMIT = 1000
REASONS = ("closed", "stale")


class SweepError(Exception):
    """Bad input; the message names the option and the entry."""


@dataclass(frozen=True)
class Stack:
    name: str
    last_update: datetime | None
    updating: bool


@dataclass(frozen=True)
class Decision:
    stack: str
    number: int | None
    destroy: bool
    reason: str
    why: str


def _read_json(path: str, option: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SweepError(f"{option} {path}: not readable JSON ({exc})") from None


def _time(text: Any, where: str) -> datetime | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise SweepError(f"{where}: lastUpdate must be a time string")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SweepError(f"{where}: lastUpdate {text[:40]!r} is not an RFC 3339 time") from None
    if when.tzinfo is None:
        raise SweepError(f"{where}: lastUpdate {text[:40]!r} has no UTC offset")
    return when


def read_stacks(data: Any, option: str = "--stacks") -> list[Stack]:
    """The entries of `pulumi stack ls --json`."""
    if not isinstance(data, list):
        raise SweepError(f"{option}: expected the JSON list `pulumi stack ls --json` prints")
    stacks = []
    for i, entry in enumerate(data):
        where = f"{option}: entry {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise SweepError(f"{where}: expected an object with a string `name`")
        updating = entry.get("updateInProgress", False)
        if not isinstance(updating, bool):
            raise SweepError(f"{where}: updateInProgress must be true or false")
        stacks.append(Stack(name=entry["name"], last_update=_time(entry.get("lastUpdate"), where), updating=updating))
    return stacks


def read_open_numbers(data: Any, limit: int, option: str = "--open-pull-requests") -> set[int]:
    """The numbers of `gh pr list --state open --json number`; a full page may be cut short."""
    if not isinstance(data, list):
        raise SweepError(f"{option}: expected the JSON list `gh pr list --json number` prints")
    numbers = set()
    for i, entry in enumerate(data):
        number = entry.get("number") if isinstance(entry, dict) else None
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise SweepError(f"{option}: entry {i}: expected an object with a positive integer `number`")
        numbers.add(number)
    if len(data) >= limit:
        raise SweepError(f"{option}: {len(data)} open pull requests, the listing's limit ({limit}): the list may be "
                         "cut short, so no stack can be judged closed; raise --limit (and gh's --limit)")
    return numbers


def decide(stack: Stack, open_numbers: set[int], now: datetime, max_age_days: int) -> Decision:
    """Whether to destroy one stack, and why."""
    match = PR_STACK.fullmatch(stack.name)
    if not match:
        return Decision(stack.name, None, False, "kept", "not a pull-request stack of this project")
    number = int(match.group(1))
    if stack.updating:
        return Decision(stack.name, number, False, "kept", "an update is in progress")
    if number not in open_numbers:
        return Decision(stack.name, number, True, "closed", f"pull request #{number} is not open")
    if max_age_days and stack.last_update and now - stack.last_update > timedelta(days=max_age_days):
        days = (now - stack.last_update).days
        return Decision(stack.name, number, True, "stale",
                        f"pull request #{number} is open, but its stack was last updated {days} days ago "
                        f"(more than {max_age_days})")
    return Decision(stack.name, number, False, "kept", f"pull request #{number} is open")


def plan(stacks: Sequence[Stack], open_numbers: set[int], now: datetime, max_age_days: int) -> list[Decision]:
    return [decide(s, open_numbers, now, max_age_days) for s in stacks]


def _cell(text: str) -> str:
    """A name from the backend in a Markdown table cell: no markup, no control character."""
    return re.sub(r"[^A-Za-z0-9._/-]", "?", text)[:100]


def summary(decisions: Sequence[Decision], max_age_days: int) -> str:
    age = f"{max_age_days} days" if max_age_days else "off"
    lines = [f"### Pull-request stacks (age limit: {age})", "", "| stack | decision | why |", "|---|---|---|"]
    for d in decisions:
        lines.append(f"| `{_cell(d.stack)}` | {'destroy' if d.destroy else 'keep'} | {d.why} |")
    if not decisions:
        lines.append("| (none) | | |")
    return "\n".join(lines) + "\n"


def _append(path: str | None, text: str, option: str) -> None:
    if path:
        try:
            with open(path, "a", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:
            raise SweepError(f"{option} {path}: cannot append to it ({exc.strerror or type(exc).__name__})") from None


def _plan_command(args: argparse.Namespace) -> int:
    if not 0 <= args.max_age_days <= 3650:
        raise SweepError(f"--max-age-days: {args.max_age_days} is not from 0 (off) to 3650")
    now = (_time(args.now, "--now") if args.now else None) or datetime.now(UTC)
    stacks = read_stacks(_read_json(args.stacks, "--stacks"))
    open_numbers = read_open_numbers(_read_json(args.open_pull_requests, "--open-pull-requests"), args.limit)
    decisions = plan(stacks, open_numbers, now, args.max_age_days)
    chosen = [{"number": d.number, "reason": d.reason} for d in decisions if d.destroy]
    _append(args.github_output, f"stacks={json.dumps(chosen, separators=(',', ':'))}\ncount={len(chosen)}\n",
            "--github-output")
    _append(args.summary, summary(decisions, args.max_age_days), "--summary")
    for d in decisions:
        print(f"{'destroy' if d.destroy else 'keep'}\t{_cell(d.stack)}\t{d.why}")
    return EXIT_OK


def confirm(number: int, reason: str, pull: Any) -> tuple[bool, str, str]:
    """(destroy?, head branch, why) right before destroying stack pr-<number>."""
    if not isinstance(pull, dict):
        raise SweepError("--pull-request: expected the JSON object `gh pr view --json number,state,headRefName` prints")
    if pull and pull.get("number") != number:
        raise SweepError(f"--pull-request: describes pull request {pull.get('number')!r}, not #{number}")
    state, branch = pull.get("state"), pull.get("headRefName")
    if reason == "closed" and state == "OPEN":
        return False, "", f"pull request #{number} is open again: its stack stays"
    if not isinstance(branch, str) or git_branch_problem(branch):
        branch = f"pr-{number}"
    return True, branch, f"destroying pr-{number} ({reason})"


def _confirm_command(args: argparse.Namespace) -> int:
    if not PR_STACK.fullmatch(f"pr-{args.number}"):
        raise SweepError(f"--number: {args.number[:20]!r} is not a pull-request number (1-999999999)")
    destroy, branch, why = confirm(int(args.number), args.reason, _read_json(args.pull_request, "--pull-request"))
    written = f"destroy={'true' if destroy else 'false'}\n" + (f"branch={branch}\n" if destroy else "")
    _append(args.github_output, written, "--github-output")
    print(why)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stacks.prsweep", description=__doc__.splitlines()[0],
                                     epilog=epilog(EXIT_CODES))
    parser.add_argument("--debug", action="store_true", help="show a traceback on an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="which pr-<n> stacks to destroy")
    p.add_argument("--stacks", required=True, help="`pulumi stack ls --json` output")
    p.add_argument("--open-pull-requests", required=True, help="`gh pr list --state open --json number` output")
    p.add_argument("--max-age-days", type=int, default=DEFAULT_MAX_AGE_DAYS,
                   help=f"destroy stacks not updated for longer, even with their pull request open "
                        f"(default {DEFAULT_MAX_AGE_DAYS}; 0: never)")
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="the --limit given to `gh pr list`")
    p.add_argument("--now", help="the time to judge ages at (default: now)")
    p.add_argument("--github-output", help="append stacks= and count= here ($GITHUB_OUTPUT)")
    p.add_argument("--summary", help="append a Markdown table here ($GITHUB_STEP_SUMMARY)")
    c = sub.add_parser("confirm", help="right before destroying one stack")
    c.add_argument("--number", required=True)
    c.add_argument("--reason", required=True, choices=REASONS)
    c.add_argument("--pull-request", required=True, help="`gh pr view N --json number,state,headRefName` output")
    c.add_argument("--github-output", help="append destroy= and branch= here ($GITHUB_OUTPUT)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = _plan_command if args.command == "plan" else _confirm_command
    return run_command(f"python -m stacks.prsweep {args.command}", lambda: command(args), debug=args.debug,
                       refused=(SweepError,))


if __name__ == "__main__":
    raise SystemExit(main())
