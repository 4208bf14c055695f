"""Evaluate each (program, stack, config, answers) once per test session.

The review tool's tests run its commands in-process many times over the same two stacks;
evaluating a stack costs far more than any command's own work. `evaluate.evaluate` is memoised
here, keyed on everything it reads: the source (program directory, stack, config values, secret
keys), the answers, and a fingerprint of the program directory's files, so a test that edits a
program (its own copy) is never served a stale evaluation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from review import evaluate

_SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", "node_modules", "build", ".pytest_cache"}


def _fingerprint(root: Path) -> tuple:
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            st = os.stat(os.path.join(dirpath, name))
            entries.append((dirpath, name, st.st_mtime_ns, st.st_size))
    return tuple(entries)


@pytest.fixture(autouse=True, scope="session")
def _evaluate_once_per_session():
    real = evaluate.evaluate
    memo: dict[tuple, evaluate.Evaluation] = {}

    def memoised(source: evaluate.Source, answers=None, on_register=None, *, preview: bool = True,
                 state=None) -> evaluate.Evaluation:
        if state is not None:  # planned against a state: one run each
            return real(source, answers, on_register, preview=preview, state=state)
        key = (str(source.program_dir), str(source.main), source.stack, json.dumps(source.values, sort_keys=True),
               source.secret_keys, repr(answers), _fingerprint(source.program_dir), preview)
        if key not in memo:
            memo[key] = real(source, answers, preview=preview, state=state)
        if on_register is not None:
            # Replay the registrations in order, as a live run streams them to `check`'s pack.
            for resource in memo[key].capture.resources:
                on_register(resource)
        return memo[key]

    evaluate.evaluate = memoised
    yield
    evaluate.evaluate = real
