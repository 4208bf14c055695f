"""Shared fixtures: captures of the real stacks and a fresh mock monitor per test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from review import capture
from tests.support import APP_FIXTURE, ROOT, run_program, stack_config


@pytest.fixture(scope="session")
def prod() -> capture.Capture:
    return run_program("prod", {"appDirectory": APP_FIXTURE})


@pytest.fixture(scope="session")
def preview() -> capture.Capture:
    return run_program("preview", {"appDirectory": APP_FIXTURE})


@pytest.fixture(scope="session")
def prod_with_guardrails() -> capture.Capture:
    """prod with the repository's guardrails declared (off by default: they need an admin token)."""
    return run_program("prod", {"appDirectory": APP_FIXTURE, "githubGuardrails": True,
                                "githubReviewerTeamIds": ["4242"], "githubReviewerUserIds": ["1001"]})


@pytest.fixture
def mocks() -> Iterator[capture.RecordingMonitor]:
    """A fresh recording mock monitor for a test that returns an Output (`@pulumi.runtime.test`)."""
    source = stack_config("prod")
    monitor = capture.start(stack="prod", config=source.values, secret_keys=source.secret_keys, program_dir=ROOT)
    yield monitor
    loop = asyncio.get_event_loop()
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture(autouse=True)
def _cwd_is_program_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI runs programs from their own directory; relative paths resolve there.
    monkeypatch.chdir(ROOT)

