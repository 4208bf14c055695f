"""The failures `python -m ops` reports, each with its exit code.

The codes are the repository's one scheme (`infra.exitcodes`, a standard-library leaf;
docs/reference/exit-codes.md): 0 ok, 1 a finding (a drill, check or smoke test that does not pass:
row counts that differ, a stale dump, connection use over the threshold, a live site failing its
smoke test), 2 bad usage or configuration (refused before anything was done), 4 a service failed
(PostgreSQL or its tools, the bucket), 5 a bug in ops (`--debug` shows the traceback), 130
interrupted. ops evaluates no program, so it never returns 3.
"""

from __future__ import annotations

from infra.exitcodes import (
    EXIT_FINDING,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVICE,
    EXIT_USAGE,
)

__all__ = ["EXIT_CODES", "EXIT_FINDING", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_SERVICE",
           "EXIT_USAGE", "CheckFailed", "DatabaseError", "Interrupted", "OpsError", "StorageError", "UsageError"]

EXIT_CODES = {
    EXIT_OK: "ok",
    EXIT_FINDING: "finding (a drill, check or smoke test that does not pass: row counts or checksum, a stale "
                  "dump, connection use over the threshold, a live site failing its smoke test)",
    EXIT_USAGE: "bad usage or configuration (refused before anything was done)",
    EXIT_SERVICE: "PostgreSQL or its tools or the bucket failed",
    EXIT_INTERNAL: "internal error (a bug in ops: --debug shows the traceback)",
    EXIT_INTERRUPTED: "interrupted (the message says what was cleaned up)",
}
"""What each code `python -m ops` can return means for it (its --help, docs/reference/exit-codes.md)."""


class OpsError(Exception):
    """A failure with a clear message for the operator and the exit code it maps to."""

    code = EXIT_INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(OpsError):
    """Bad usage or configuration: a missing variable, a URL without TLS, a refused restore target (exit 2)."""

    code = EXIT_USAGE


class DatabaseError(OpsError):
    """PostgreSQL or its tools failed: connection, pg_dump/pg_restore, a tool older than the server (exit 4)."""

    code = EXIT_SERVICE


class StorageError(OpsError):
    """The bucket failed: credentials, missing bucket, interrupted upload, failed verification, no dump (exit 4)."""

    code = EXIT_SERVICE


class CheckFailed(OpsError):
    """A check did not pass: row counts of a restore, a stale dump, connection use over the threshold,
    a live site failing its smoke test (exit 1)."""

    code = EXIT_FINDING


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM (exit 130), after cleaning up; `message` says what was cleaned up."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
