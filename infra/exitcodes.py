"""The one exit-code scheme of every command this repository ships: `python -m review`, `python -m ops`,
`python -m cicd` and the pull-request stack tools. Standard library only, so any of them can import it.

A workflow or an operator reads a code the same way whatever command returned it; the message on
stderr says what exactly happened. docs/reference/exit-codes.md is generated from this module.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DOC = "docs/reference/exit-codes.md"


@dataclass(frozen=True)
class ExitCode:
    code: int
    name: str
    meaning: str
    examples: str


OK = ExitCode(0, "ok", "done; what was checked passes", "a clean policy check, a verified backup, a passing drill")
FINDING = ExitCode(1, "finding", "the command ran, and what it checked does not pass",
                   "a mandatory policy violation, a database or bucket a change would replace, a code-owned "
                   "change without an owner's approval, a restore whose row counts differ, a stale dump, "
                   "connection use over the threshold, a live site failing its smoke test")
USAGE = ExitCode(2, "refused", "bad usage, input or config: refused before anything was done",
                 "an invalid or missing config key, a stack the Pulumi CLI would refuse, a URL without TLS, "
                 "a restore target that is the live database, an unreadable file, a needed --answers entry")
PROGRAM = ExitCode(3, "program failed", "the code under evaluation failed: the Pulumi program or the policy pack",
                   "an exception in the program, a pack that crashes or does not start")
SERVICE = ExitCode(4, "service failed", "a service the command depends on failed",
                   "PostgreSQL or its tools (connection, permissions, pg_dump, pg_restore), the bucket "
                   "(credentials, missing bucket, interrupted upload), pip or the package index "
                   "(`python -m cicd lock`)")
INTERNAL = ExitCode(5, "internal error", "a bug in the command itself; `--debug` shows the traceback", "")
INTERRUPTED = ExitCode(130, "interrupted", "Ctrl-C, or SIGTERM when CI cancels the job; the message says what "
                       "was cleaned up", "")

ALL = (OK, FINDING, USAGE, PROGRAM, SERVICE, INTERNAL, INTERRUPTED)

EXIT_OK = OK.code
EXIT_FINDING = FINDING.code
EXIT_USAGE = USAGE.code
EXIT_PROGRAM = PROGRAM.code
EXIT_SERVICE = SERVICE.code
EXIT_INTERNAL = INTERNAL.code
EXIT_INTERRUPTED = INTERRUPTED.code

BY_CODE = {c.code: c for c in ALL}


def epilog(codes: Mapping[int, str]) -> str:
    """The `exit codes:` line of a command's --help from what each code it can return means for it
    (the command's EXIT_CODES; docs/generate.py reads the same mapping). A code outside the scheme is a bug."""
    unknown = sorted(set(codes) - set(BY_CODE))
    if unknown:
        raise ValueError(f"exit codes {unknown} are not in infra.exitcodes.ALL")
    if any(";" in what for what in codes.values()):
        raise ValueError("a code's meaning has a ';', which separates the codes")
    return "exit codes: " + "; ".join(f"{code} {what}" for code, what in codes.items()) + f". See {DOC}."


def internal_error(prog: str, exc: BaseException, debug: bool = False) -> str:
    """What a command prints for an exception it did not expect (a bug: exit 5): one line naming the
    exception and how to see more, or with `debug` the traceback."""
    if debug:
        return f"{prog}: internal error:\n{''.join(traceback.format_exception(exc)).rstrip()}"
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{prog}: internal error: {type(exc).__name__}{': ' + first if first else ''} (a bug; rerun with --debug)"


def run_command(prog: str, action: Callable[[], int], *, refused: tuple[type[Exception], ...],
                debug: bool = False) -> int:
    """Run a command's `action` under the scheme: its code, or for an exception of `refused` (bad input,
    named in the message) "error: ..." and 2, for Ctrl-C or SIGTERM 130, for anything else a bug: 5
    with `internal_error`'s one line (the traceback with `debug`). Every message goes to stderr."""
    try:
        return action()
    except refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback with --debug
        print(internal_error(prog, exc, debug), file=sys.stderr)
        return EXIT_INTERNAL
