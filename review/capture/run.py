"""Run a program inside a root stack, as the Python language host does, and capture it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi.runtime import mocks as _mocks
from pulumi.runtime import settings as _settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from infra import catalog
from review.capture.mocks import Answers, ProgramMocks
from review.capture.model import Capture, CapturedResource
from review.capture.monitor import RecordingMonitor
from review.wire import STACK_TYPE

def start(
    *,
    project: str = catalog.PROJECT_NAME,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: Iterable[str] = (),
    preview: bool = False,
    program_dir: str | os.PathLike[str] | None = None,
    answers: Answers | None = None,
) -> RecordingMonitor:
    """Point the Pulumi runtime at a fresh recording mock monitor (no root stack yet)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    _settings.reset_options(project=project, stack=stack, preview=preview)
    monitor = RecordingMonitor(ProgramMocks(program_dir, answers), config=config, secret_keys=secret_keys)
    features = set(monitor.GetDeploymentInfo(None).supportedFeatures)
    _settings.configure(
        _mocks.MockSettings(
            monitor=monitor,
            monitor_features=features,
            engine=_mocks.MockEngine(None),
            project=project,
            stack=stack,
            dry_run=preview,
            organization=None,
            callbacks=None,
        )
    )
    set_all_config(dict(config or {}), list(secret_keys))
    return monitor


def finish(monitor: RecordingMonitor) -> Capture:
    """Collect what a finished run registered."""
    resources = []
    for urn in monitor.order:
        rec = monitor.records[urn]
        if urn in monitor.outputs:
            rec = CapturedResource(**{**rec.__dict__, "outputs": monitor.outputs[urn]})
        resources.append(rec)
    root = next((r for r in resources if r.type == STACK_TYPE), None)
    stack_outputs = monitor.outputs.get(root.urn, {}) if root else {}
    mocks = monitor.mocks
    return Capture(
        project=_settings.get_project(),
        stack=_settings.get_stack(),
        resources=resources,
        stack_outputs=stack_outputs,
        invokes=list(getattr(mocks, "invokes", [])),
        warnings=list(dict.fromkeys(getattr(mocks, "warnings", []))),
    )


def run(
    program: Callable[[], Any],
    *,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: Iterable[str] = (),
    project: str = catalog.PROJECT_NAME,
    preview: bool = False,
    program_dir: str | os.PathLike[str] | None = None,
    answers: Answers | None = None,
) -> Capture:
    """Run `program` inside a root stack, as the Python language host does, and capture it.

    If the program raises, the exception carries the partial capture as `.capture`; a program
    that calls `sys.exit()` raises `ProgramExited` (it did not finish declaring its resources).
    """
    monitor = start(
        project=project, stack=stack, config=config, secret_keys=secret_keys,
        preview=preview, program_dir=program_dir, answers=answers,
    )
    loop = asyncio.get_event_loop()
    try:
        _sync_await(run_in_stack(_no_exit(program)))
        return finish(monitor)
    except Exception as exc:
        # Callers report what a failed run had declared (nothing, for bad config).
        exc.capture = finish(monitor)  # type: ignore[attr-defined]
        raise
    finally:
        _close_loop(loop)


class ProgramExited(RuntimeError):
    """The program called `sys.exit()` (or raised SystemExit) before it finished."""

    def __init__(self, code: object) -> None:
        self.code = code
        super().__init__(f"the program called sys.exit({code!r}) before it finished declaring its resources")


def _no_exit(program: Callable[[], Any]) -> Callable[[], Any]:
    # SystemExit is not an Exception: left alone it would end the review tool itself, exit 0.
    def guarded() -> Any:
        try:
            return program()
        except SystemExit as exc:
            raise ProgramExited(exc.code) from None

    return guarded


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    # Pending callbacks of a finished run must not leak into the next one.
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
