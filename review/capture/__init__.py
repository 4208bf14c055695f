"""Run a Pulumi program under Pulumi's mock runtime and capture what the engine would see.

This is the documented way to evaluate a Pulumi program without the CLI
(`pulumi.runtime.Mocks` + `MockMonitor`). The recording monitor (`monitor`) keeps every
`RegisterResource` request as it arrives over the wire: properties still carry Pulumi's secret
sentinels, options such as `protect` and `aliases` are kept, and URNs are built the way the
engine builds them (the root stack's type is elided). `mocks` answers registrations and invokes
with plausible provider outputs; `runner` runs a program inside a root stack; `model` holds what a
run registered. The review tool, the policy-pack driver and the tests all use it.
"""

from review.capture.mocks import AnswerNeeded, Answers, InvokeNotMocked, ProgramMocks, StackReferenceNotAnswered
from review.capture.model import Capture, CapturedResource
from review.capture.monitor import RecordingMonitor
from review.capture.runner import ProgramExited, finish, run, start

__all__ = [
    "AnswerNeeded", "Answers", "Capture", "CapturedResource", "InvokeNotMocked", "ProgramExited", "ProgramMocks",
    "StackReferenceNotAnswered",
    "RecordingMonitor",
    "finish", "run", "start",
]
