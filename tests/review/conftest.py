"""Evaluate each (program, stack, config, answers) once per test session.

The review tool's tests run its commands in-process many times over the same two stacks;
evaluating a stack costs far more than any command's own work. `evaluate.evaluate` is memoised
here, keyed on everything it reads: the source (program directory, stack, config values, secret
keys), the answers, and a fingerprint of the program directory's files, so a test that edits a
program (its own copy) is never served a stale evaluation.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from review import evaluate

_SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", "node_modules", "build", ".pytest_cache"}


def _fingerprint(root: Path) -> tuple:
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        # Any virtualenv (.venv, .venv-ops) is installed packages, not the program.
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".venv"))
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


# The official SARIF 2.1.0 schema, obtained at set-up time and never committed: PyPI's sdist of
# sarif-pydantic 0.6.2 ships it. Both hashes are checked; a test that cannot have it fails.
SARIF_SDIST = "sarif-pydantic==0.6.2"
SARIF_SDIST_SHA256 = "634df2784533fcac8e86f0c60a0e45ead1d35452dc2331d32596275595906e7f"
SARIF_SCHEMA_MEMBER = "sarif_pydantic-0.6.2/sarif-schema-2.1.0.json"
SARIF_SCHEMA_SHA256 = "6352a05f9d03f181b8d9c71a46bdacc4fcff9d8ade5364858b425ba0c0994ed7"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def sarif_schema(tmp_path_factory) -> dict:
    """The SARIF 2.1.0 JSON schema ("Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema")."""
    cached = Path(__file__).resolve().parents[2] / ".venv" / "sarif-schema-2.1.0.json"
    if cached.is_file() and _sha256(cached.read_bytes()) == SARIF_SCHEMA_SHA256:
        return json.loads(cached.read_text())
    where = tmp_path_factory.mktemp("sarif-sdist")
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
                           "--no-binary", ":all:", SARIF_SDIST, "-d", str(where)],
                          capture_output=True, text=True, timeout=600, check=False)
    sdists = list(where.glob("*.tar.gz"))
    if proc.returncode != 0 or len(sdists) != 1:
        pytest.fail(f"cannot download {SARIF_SDIST} (the SARIF schema's source): {proc.stderr[-2000:]}", pytrace=False)
    data = sdists[0].read_bytes()
    assert _sha256(data) == SARIF_SDIST_SHA256, f"{sdists[0].name}: sha256 differs from the pinned one"
    with tarfile.open(sdists[0]) as tar:
        member = tar.extractfile(SARIF_SCHEMA_MEMBER)
        assert member is not None, f"{SARIF_SCHEMA_MEMBER} missing from {sdists[0].name}"
        schema_bytes = member.read()
    assert _sha256(schema_bytes) == SARIF_SCHEMA_SHA256, "the SARIF schema's sha256 differs from the pinned one"
    if cached.parent.is_dir():
        partial = cached.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(schema_bytes)
        partial.replace(cached)  # atomic: parallel workers each write a whole file
    schema = json.loads(schema_bytes)
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return schema
