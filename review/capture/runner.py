"""Run a program inside a root stack, as the Python language host does, and capture it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi.runtime import mocks as _mocks
from pulumi.runtime import settings as _settings
from pulumi.runtime import stack as _stack
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
    on_register: Callable[[CapturedResource], None] | None = None,
    state: Any = None,
) -> RecordingMonitor:
    """Point the Pulumi runtime at a fresh recording mock monitor (no root stack yet).

    `preview`: a dry run as `pulumi preview` (see `RecordingMonitor`), planned against `state`
    (`review.capture.state`; none: a stack never deployed)."""
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet_abandoned_tasks)
    asyncio.set_event_loop(loop)
    _settings.reset_options(project=project, stack=stack, preview=preview)
    monitor = RecordingMonitor(ProgramMocks(program_dir, answers), config=config, secret_keys=secret_keys,
                               on_register=on_register, preview=preview, state=state)
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
    on_register: Callable[[CapturedResource], None] | None = None,
    state: Any = None,
) -> Capture:
    """Run `program` inside a root stack, as the Python language host does, and capture it.

    `preview=False` (the default here) answers every registration as a finished `pulumi up` would
    (the real-server tests apply what it captures); `preview=True` is `pulumi preview`'s dry run.

    If the program raises, the exception carries the partial capture as `.capture`; a program
    that calls `sys.exit()` raises `ProgramExited` (it did not finish declaring its resources).
    `on_register` is called with each registration as it arrives (see `RecordingMonitor`).
    """
    monitor = start(
        project=project, stack=stack, config=config, secret_keys=secret_keys,
        preview=preview, program_dir=program_dir, answers=answers, on_register=on_register, state=state,
    )
    loop = asyncio.get_event_loop()
    sdk_wait = _stack.wait_for_rpcs
    _stack.wait_for_rpcs = wait_for_rpcs
    try:
        _sync_await(run_in_stack(_no_exit(program)))
        return finish(monitor)
    except Exception as exc:
        # Callers report what a failed run had declared (nothing, for bad config).
        exc.capture = finish(monitor)  # type: ignore[attr-defined]  # carried on the exception to the caller
        raise
    finally:
        _stack.wait_for_rpcs = sdk_wait
        _close_loop(loop)


async def wait_for_rpcs(await_all_outstanding_tasks: bool = True) -> None:
    """The SDK's `pulumi.runtime.stack.wait_for_rpcs`, in linear rather than quadratic time.

    The SDK (pulumi 3.x `runtime/stack.py`) drains outstanding RPCs, then waits on every pending
    output with `asyncio.wait(..., FIRST_COMPLETED)` once per completion: each call adds a callback
    to every pending task, so a program with thousands of outputs spends seconds there (about a
    third of a 1,200-resource evaluation). Waiting with `FIRST_EXCEPTION` returns when all are done
    or one has failed: the same completions, the same first exception re-raised the same way, the
    outputs added meanwhile picked up on the next round. Installed for the length of `run` only.
    """
    rpc_manager = _settings._get_rpc_manager()
    while True:
        while len(rpc_manager.rpcs) > 0:
            await asyncio.sleep(0)
            try:
                await rpc_manager.rpcs.pop()
            except Exception as exn:
                if rpc_manager.unhandled_exception is not None:
                    raise exn from rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
                raise
        if rpc_manager.unhandled_exception is not None:
            raise rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
        if await_all_outstanding_tasks:
            while True:
                with _settings.SETTINGS.lock:
                    if not _settings.SETTINGS.outputs:
                        break
                    pending = list(_settings.SETTINGS.outputs)
                    _settings.SETTINGS.outputs.clear()
                done, not_done = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    await task
                if not_done:
                    with _settings.SETTINGS.lock:
                        _settings.SETTINGS.outputs.update(not_done)
        if len(rpc_manager.rpcs) == 0:
            break


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


_ABANDONED = ("Task was destroyed but it is pending!", "Task exception was never retrieved")


def _quiet_abandoned_tasks(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's exception handler: a failed run leaves registrations in flight, and asyncio
    reports each at garbage collection ("Task was destroyed but it is pending!", "Task exception
    was never retrieved"), burying the one message that matters, which the run raised. Anything
    else goes to asyncio's default handler."""
    if context.get("message") not in _ABANDONED:
        loop.default_exception_handler(context)


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    # Pending callbacks of a finished run must not leak into the next one.
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
