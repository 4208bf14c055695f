"""check's analysis shared across two processes of the same pack gives what one pack gives."""

from __future__ import annotations

import dataclasses

import pytest

from review import check, evaluate
from tests.support import ROOT, offline_secrets

# Starts several policy-pack processes.
pytestmark = pytest.mark.slow

PACK = ROOT / "policies"


def _analyse(source, evaluation, *, max_packs: int, backlog: int):
    # The pack's defaults: unlike preview's config they require protect, which the override drops.
    starter = check.PackStarter(PACK, source, None)
    starter.start()
    analysis = check.StackAnalysis(starter, source, max_packs=max_packs)
    analysis.SHARD_BACKLOG = backlog
    analysis.start()
    for resource in evaluation.capture.resources:
        analysis.put(resource)
    analysis.done(evaluation)
    return analysis.result(), analysis.packs


def _verdict(report):
    return [dataclasses.astuple(v) for v in report.violations], report.remediations, report.resources


@pytest.fixture(scope="module")
def broken_preview():
    # Unprotected stateful resources break a policy, so there are diagnostics to compare.
    source = evaluate.load_source("preview", ROOT, {**offline_secrets(), "appDirectory": "tests/fixtures/ara-app",
                                                    "protectStatefulResources": False})
    return source, evaluate.evaluate(source)


def test_two_packs_report_exactly_what_one_pack_reports(broken_preview):
    source, evaluation = broken_preview
    one, packs_one = _analyse(source, evaluation, max_packs=1, backlog=0)
    two, packs_two = _analyse(source, evaluation, max_packs=2, backlog=0)
    assert (packs_one, packs_two) == (1, 2)
    assert one.mandatory > 0
    assert _verdict(two) == _verdict(one)


def test_a_small_stack_keeps_to_one_pack(broken_preview):
    source, evaluation = broken_preview
    _, packs = _analyse(source, evaluation, max_packs=2, backlog=10_000)
    assert packs == 1
