"""What `python -m review` can fail with, and the exit code each maps to.

The codes are the repository's one scheme (`infra.exitcodes`, a standard-library leaf;
docs/reference/exit-codes.md): 0 ok, 1 a finding (a mandatory violation, a flagged replacement),
2 bad usage or input, 3 the program or the policy pack failed, 5 a bug in this tool, 130 interrupted.
`review` talks to no service, so it never returns 4.
"""

from __future__ import annotations

from infra.exitcodes import (
    EXIT_FINDING,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROGRAM,
    EXIT_USAGE,
)

__all__ = ["EXIT_CODES", "EXIT_FINDING", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PROGRAM",
           "EXIT_USAGE", "EvaluationError", "InternalError", "UsageError"]

EXIT_CODES = {
    EXIT_OK: "ok",
    EXIT_FINDING: "finding (a mandatory policy violation, or diff: a stateful resource deleted or replaced)",
    EXIT_USAGE: "bad usage or input (config the CLI refuses, a needed --answers entry such as an invoke's)",
    EXIT_PROGRAM: "the program or the policy pack failed",
    EXIT_INTERNAL: "internal error (a bug in review: --debug shows the traceback)",
    EXIT_INTERRUPTED: "interrupted",
}
"""What each code `python -m review` can return means for it (its --help, docs/reference/exit-codes.md)."""


class UsageError(Exception):
    """Bad usage or invalid input (stack, config, files): exit code 2."""


class EvaluationError(Exception):
    """The program (or the policy pack) failed for another reason: exit code 3."""


class InternalError(Exception):
    """Something this tool guarantees did not hold (a bug in `review`, not in the program): exit code 5."""
