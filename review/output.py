"""Where `python -m review` writes: the scrubbing `Output` writer, the width of text output, JSON.

Every byte the tool prints or writes goes through `Output`, which replaces each secret the run was
given (and each string that only occurs inside secret values) by `[secret]`: the second guard
behind the manifest's own redaction.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from infra import catalog
from review.errors import UsageError


class Output:
    """Writes scrubbed text to stdout/stderr/files and counts what the scrubber had to remove."""

    def __init__(self) -> None:
        from review.render import Scrubber  # noqa: PLC0415 - imports pulumi: kept out of the CLI's start-up

        self.scrubber = Scrubber()
        self.leaks = 0
        self.weak: dict[str, str] = {}
        """Secret config key -> why its value cannot be kept out of the output (named, never shown)."""
        self._public: set[str] = set()
        self._noted: set[str] = set()

    def learn_source(self, source: Any) -> None:
        """Every secret the run was given (stack file placeholders, --config values), before the
        program runs: a program exception or a pack crash may quote them.

        A secret equal to a public config value (dbAdminPassword=ara_admin), too short to look for or
        made of words (posthogApiKey=production) is not scrubbed: that would turn every copy of that
        text into [secret] and so reveal the secret. It is reported as weak instead (ARA's program
        refuses it, naming the key). A value shaped like a credential under a key that is not secret
        (clerkPublishableKey=sk_live_...) is scrubbed like a secret."""
        from review.render import weak_reason  # noqa: PLC0415 - imports pulumi: kept out of the CLI's start-up

        public = {v: k for k, v in source.values.items() if k not in source.secret_keys}
        self._public.update(v for v in public if not catalog.contains_credential(v))
        self.scrubber.add(v for v in public if catalog.contains_credential(v))
        for key in source.secret_keys:
            value = source.values.get(key)
            if value is None:
                continue
            if value in public:
                self.weak[key] = f"its value is the public value of {public[value]}"
            elif weak_reason(value):
                self.weak[key] = f"its value {weak_reason(value)}"
            else:
                self.scrubber.add([value])
        self.scrubber.add(set(source.placeholders.values()))
        for note in getattr(source, "notes", ()):
            if note not in self._noted:
                self._noted.add(note)
                sys.stderr.write(self.clean(f"warning: stack {source.stack!r}: {note}\n"))

    def learn(self, evaluation: Any) -> None:
        from review import wire  # noqa: PLC0415 - imports pulumi: kept out of the CLI's start-up

        capture, source = evaluation.capture, evaluation.source
        self.learn_source(source)
        secret: set[str] = set()
        plain: set[str] = set(self._public)
        for r in capture.resources:
            for value in (r.props, r.outputs or {}):
                wire.secret_strings(value, secret)
                wire.plain_strings(value, plain)
        wire.secret_strings(capture.stack_outputs, secret)
        wire.plain_strings(capture.stack_outputs, plain)
        # Derived secret strings when they are long enough to be credentials rather than words
        # (the Vercel SDK wraps every env-var value, so "production" is secret-wrapped too) and
        # never occur as plain values.
        # An unknown is the engine's marker, not a value, wherever it sits.
        self.scrubber.add(s for s in secret - plain - {wire.UNKNOWN} if len(s) >= 16)
        for warning in capture.warnings:
            sys.stderr.write(self.clean(f"warning: stack {source.stack!r}: {warning}\n"))

    def clean(self, text: str) -> str:
        cleaned = self.scrubber.clean(text)
        if cleaned != text:
            self.leaks += 1
        return cleaned

    def print(self, text: str) -> None:
        sys.stdout.write(self.clean(text))
        sys.stdout.flush()

    def write(self, path: str, text: str) -> None:
        target = Path(path)
        try:
            if target.is_dir():
                raise IsADirectoryError(21, "is a directory")
            target.write_text(self.clean(text))
        except OSError as exc:
            raise UsageError(f"--out {path}: cannot write it ({exc.strerror or exc})") from None

    def warn_leaks(self) -> None:
        for key, why in sorted(self.weak.items()):
            sys.stderr.write(f"warning: secret {key} is weak: {why}; it cannot be kept out of the output. "
                             f"Set a strong value with `pulumi config set --secret {key.split(':')[-1]}`\n")
        if self.leaks:
            sys.stderr.write("warning: a secret value appeared outside a secret (a plain property, an output "
                             "or a message) and was replaced by [secret]; mark it secret in the program\n")


PIPED_WIDTH = 120
"""Columns of text output when stdout is not a terminal (CI logs, files): fixed, so it diffs."""


def output_width() -> int:
    """The terminal's width (COLUMNS when set), or PIPED_WIDTH when stdout is not a terminal."""
    if os.environ.get("COLUMNS", "").isdigit():
        return max(40, int(os.environ["COLUMNS"]))
    if sys.stdout.isatty():
        return max(40, shutil.get_terminal_size((PIPED_WIDTH, 24)).columns)
    return PIPED_WIDTH


def json_text(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
