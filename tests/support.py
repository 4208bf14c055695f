"""Helpers for the tests: run the real program (or one component) under Pulumi's mock runtime."""

from __future__ import annotations

import ast
import gc
import json
import runpy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from infra import projectfile
from review import capture

ROOT = Path(__file__).resolve().parent.parent
APP_FIXTURE = "tests/fixtures/ara-app"
OFFLINE_ANSWERS = ROOT / "stacks" / "offline-answers.json"
"""What `make check` passes with `--answers`: stand-ins for the secrets the committed stack files lack."""


def parse(source: str, filename: str = "<source>") -> ast.Module:
    """`ast.parse` with the garbage collector held off.

    On this machine's CPython 3.11.7, `ast.parse` in an xdist worker that had run the review tool's
    tests failed with "SystemError: AST constructor recursion depth mismatch" (2 runs of 2 of
    `pytest tests/review -n 2`); with collection held off during the parse, 3 runs of 3 passed. A
    collection there runs finalizers (the SDK's never-awaited Output coroutines of earlier tests)
    in the middle of the parser's recursion bookkeeping. The error and its flakiness are known:
    python/cpython#106905, pytest-dev/pytest#10763."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source, filename)
    finally:
        if enabled:
            gc.enable()


def offline_secrets() -> dict[str, Any]:
    """The stand-in secret values an operator would have set with `pulumi config set --secret`."""
    return dict(json.loads(OFFLINE_ANSWERS.read_text())["config"])


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None) -> projectfile.StackConfigSource:
    """The config the CLI would pass for `stack`, given the offline stand-ins for its secrets
    (the committed stack files hold none; without them the CLI refuses the stack)."""
    return projectfile.stack_config(stack, ROOT, overrides={**offline_secrets(), **(overrides or {})})


def secret_values(source: projectfile.StackConfigSource) -> set[str]:
    """Every secret value a run of `source` is given (stand-ins, placeholders of `secure:` values)."""
    return {source.values[k] for k in source.secret_keys if k in source.values}


def run_program(stack: str, overrides: Mapping[str, Any] | None = None, *, preview: bool = False) -> capture.Capture:
    """Run __main__.py for `stack` exactly as the language host would, under mocks: as `pulumi up`
    runs it (every provider output known, from the mocks) unless `preview` (a dry run: what
    providers compute is unknown), which the real-server tests must not use."""
    source = stack_config(stack, overrides)
    return capture.run(
        lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"),
        stack=stack,
        config=source.values,
        secret_keys=source.secret_keys,
        preview=preview,
        program_dir=ROOT,
    )


def run_component(build: Callable[[], Any], stack: str = "prod") -> capture.Capture:
    """Declare one component inside a root stack and capture its registrations."""
    source = stack_config(stack)
    return capture.run(build, stack=stack, config=source.values, secret_keys=source.secret_keys, program_dir=ROOT)


def pull_request_config(number: int, branch: str,
                        overrides: Mapping[str, Any] | None = None) -> projectfile.StackConfigSource:
    """The config of stack pr-<number> as `python -m stacks.prstack` derives it, with the offline
    stand-ins for the secrets the workflow sets (`pulumi config set --secret`)."""
    from stacks import prstack  # only the pull-request tests need it

    derived = prstack.derive(number, branch, ROOT)
    return projectfile.stack_config(f"pr-{number}", ROOT, stack_values=derived,
                                    overrides={**offline_secrets(), **(overrides or {})})


def run_pull_request(number: int, branch: str, overrides: Mapping[str, Any] | None = None) -> capture.Capture:
    """Run __main__.py for stack pr-<number> under mocks, with its derived config."""
    source = pull_request_config(number, branch, overrides)
    return capture.run(
        lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"),
        stack=f"pr-{number}",
        config=source.values,
        secret_keys=source.secret_keys,
        program_dir=ROOT,
    )
