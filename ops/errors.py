"""The failures `python -m ops` reports, each with its exit code (README, "Operations")."""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
"""An unexpected error (a bug); the message says so, `--debug` shows the traceback."""
EXIT_USAGE = 2
"""Bad usage or configuration: a missing variable, a URL without TLS, a refused restore target."""
EXIT_DATABASE = 3
"""PostgreSQL or its tools failed: connection, pg_dump/pg_restore, a tool older than the server."""
EXIT_STORAGE = 4
"""The bucket failed: credentials, missing bucket, interrupted upload, failed verification, no dump."""
EXIT_CHECK = 5
"""A check failed: checksum or row counts of a restore, connection use over the threshold."""


class OpsError(Exception):
    """A failure with a clear message for the operator and the exit code it maps to."""

    code = EXIT_INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(OpsError):
    code = EXIT_USAGE


class DatabaseError(OpsError):
    code = EXIT_DATABASE


class StorageError(OpsError):
    code = EXIT_STORAGE


class CheckFailed(OpsError):
    code = EXIT_CHECK


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM (exit 130), after cleaning up; `message` says what was cleaned up."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
