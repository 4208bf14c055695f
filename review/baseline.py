"""The base side of `review diff`: the program as of a git revision, and its plan.

The revision is exported with `git archive` into a temporary directory and evaluated by a child
`python -m review plan --program <tmp> --out <file> --as-deployed` (the current CLI and interpreter,
so nothing the working tree imported leaks into the base's run), while the working tree is
evaluated in the diffing process at the same time. `review.diff` compares the two manifests.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from review import manifest as mf
from review.errors import EvaluationError, UsageError
from review.evaluate import HOME


def _git(repo: Path, *args: str, binary: bool = False) -> Any:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("diff needs git on PATH") from None
    if proc.returncode != 0:
        raise UsageError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout if binary else proc.stdout.decode().strip()


def export_revision(program_dir: Path, ref: str, dest: Path) -> tuple[Path, str]:
    """Extract the program directory as of `ref` into `dest`; return its path there and the commit."""
    try:
        top = Path(_git(program_dir, "rev-parse", "--show-toplevel")).resolve()
    except UsageError:
        raise UsageError(f"{program_dir} is not inside a git repository") from None
    try:
        commit = _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except UsageError:
        raise UsageError(f"--base {ref}: not a git revision of {top}") from None
    rel = program_dir.resolve().relative_to(top)
    args = ["archive", "--format=tar", commit]
    if str(rel) != ".":
        args += ["--", rel.as_posix()]
    data = _git(top, *args, binary=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        try:
            tar.extractall(dest, filter="data")
        except TypeError:  # Python < 3.11.4: no extraction filters
            tar.extractall(dest)  # noqa: S202 - our own repository's archive
    return dest / rel, commit


def start_base_plan(base_dir: Path, stack: str, out: Path, key: bytes, *, eager: bool,
                    overrides: Sequence[str], answers: str | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "review", "plan", "--stack", stack, "--program", str(base_dir),
           "--out", str(out), "--quiet", "--as-deployed"]
    if eager:
        cmd.append("--eager-imports")
    for o in overrides:
        cmd += ["--config", o]
    if answers:
        cmd += ["--answers", str(Path(answers).resolve())]
    env = dict(os.environ)
    env[mf.DIGEST_ENV] = key.hex()
    env["PYTHONPATH"] = str(HOME) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.Popen(cmd, cwd=HOME, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish_base_plan(proc: subprocess.Popen, out: Path, ref: str) -> dict[str, Any]:
    _, err = proc.communicate()
    message = err.decode(errors="replace").strip()
    if proc.returncode == 2:
        raise UsageError(f"base revision {ref}: {message}")
    if proc.returncode != 0:
        raise EvaluationError(f"base revision {ref}: {message or f'exit code {proc.returncode}'}")
    return mf.load(out)


class TempDir:
    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix="ara-infra-diff-"))
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
