"""Helpers (no tests) for the `python -m review` tests: run the CLI in-process or as a subprocess, copy the program."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from review import cli
from tests.support import ROOT

PROGRAM_FILES = ("Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.preview.yaml", "__main__.py")
PROGRAM_DIRS = ("infra", "stacks", "policies")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


def with_offline_answers(argv: tuple[str, ...]) -> list[str]:
    """`argv` with `--answers <program>/stacks/offline-answers.json` when the program is ARA's (or a
    copy) and the test gave no answers: what `make check` passes, the secrets an operator would have
    set. Other programs, and tests of what happens without them (`run_bare`), get nothing added."""
    if "--answers" in argv or not argv or argv[0] not in ("plan", "check", "diff", "graph"):
        return list(argv)
    program = Path(argv[argv.index("--program") + 1]) if "--program" in argv else ROOT
    answers = program / "stacks" / "offline-answers.json"
    return [*argv, "--answers", str(answers)] if answers.is_file() else list(argv)


def run(*argv: str) -> Result:
    """`python -m review ...` in this process (SDKs imported eagerly: the test process shares them),
    with ARA's offline answers (`with_offline_answers`)."""
    return run_bare(*with_offline_answers(argv))


def run_bare(*argv: str) -> Result:
    """`python -m review ...` in this process, exactly these arguments."""
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([*argv, "--eager-imports"])
    finally:
        os.chdir(cwd)
    return Result(code, out.getvalue(), err.getvalue())


def run_subprocess(*argv: str, cwd: Path = ROOT) -> Result:
    """`python -m review ...` as a user runs it (lazy SDK imports), with ARA's offline answers."""
    proc = subprocess.run([sys.executable, "-m", "review", *with_offline_answers(argv)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def copy_program(dest: Path) -> Path:
    """A copy of this repository's Pulumi program (project, stacks, infra, policies)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROGRAM_FILES:
        shutil.copy2(ROOT / name, dest / name)
    for name in PROGRAM_DIRS:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
