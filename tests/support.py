"""Helpers for the tests: run the real program (or one component) under Pulumi's mock runtime."""

from __future__ import annotations

import runpy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from infra import projectfile
from review import capture

ROOT = Path(__file__).resolve().parent.parent
APP_FIXTURE = "tests/fixtures/ara-app"


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None) -> projectfile.StackConfigSource:
    """The config the CLI would pass for `stack`, secrets replaced by known placeholders."""
    return projectfile.stack_config(stack, ROOT, overrides=overrides)


def run_program(stack: str, overrides: Mapping[str, Any] | None = None, *, preview: bool = False) -> capture.Capture:
    """Run __main__.py for `stack` exactly as the language host would, under mocks."""
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
    """The config of stack pr-<number> as `python -m infra.prstack` derives it, secrets as placeholders."""
    from infra import prstack  # noqa: PLC0415 - only the pull-request tests need it

    derived = prstack.derive(number, branch, ROOT)
    # The base stack's file supplies nothing the derivation did not copy; only its secrets stay out.
    return projectfile.stack_config(prstack.POLICY_CONFIG_STACK, ROOT, overrides={**derived, **(overrides or {})})


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
