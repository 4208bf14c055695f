"""Issue 18's fuzz of the gate, one row per class: each ends as a clear exit-2 refusal naming the key
or file (never exit 3, never a traceback), and nothing shaped like a credential is printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.review.test_cli_helpers import run
from tests.support import ROOT

# Starts the CLI and the policy pack in-process: left out of `make test-fast`.
pytestmark = pytest.mark.slow

CANARY = "CANARY9e3b"


def _file(tmp_path: Path, name: str, data: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
    return str(path)


def _answers_with(**extra) -> str:
    return json.dumps({**json.loads((ROOT / "stacks" / "offline-answers.json").read_text()), **extra})


# class -> (arguments given the files made in tmp_path, text the error must hold)
REFUSED = {
    "oversized integer in the policy config": (
        lambda t: ["--policy-config", _file(t, "p.json", '{"postgresql-database-require-connection-headroom": '
                                                         '{"minHeadroom": ' + "9" * 400 + "}}")],
        "postgresql-database-require-connection-headroom.minHeadroom: the number is out of range"),
    "1e400 in the policy config": (
        lambda t: ["--policy-config", _file(t, "p.json", '{"postgresql-database-require-connection-headroom": '
                                                         '{"minHeadroom": 1e400}}')],
        "the number is out of range"),
    "NaN in the policy config": (
        lambda t: ["--policy-config", _file(t, "p.json", '{"postgresql-database-require-connection-headroom": '
                                                         '{"minHeadroom": NaN}}')],
        "NaN is not JSON"),
    "policy config that is not UTF-8": (
        lambda t: ["--policy-config", _file(t, "p.json", b'\xff\xfe{"a": 1}')], "not UTF-8 text (byte 0)"),
    "oversized integer in the answers": (
        lambda t: ["--answers", _file(t, "a.json", _answers_with(
            resources={"vercel:index/project:Project": {"big": int("9" * 400)}}))],
        "resources.vercel:index/project:Project.big: number out of range"),
    "oversized integer as a config value": (
        lambda t: ["--config", "dbConnectionLimit=" + "9" * 40], "dbConnectionLimit: must be an integer"),
    "a Clerk secret key as the publishable key": (
        lambda t: ["--config", f"clerkPublishableKey=sk_live_{CANARY}"],
        "ara-infra:clerkPublishableKey: must be a Clerk publishable key"),
    "a word as a secret": (lambda t: ["--config", "posthogApiKey=production"],
                           "ara-infra:posthogApiKey: is too short to be a credential"),
    "a region that is not Vercel's": (lambda t: ["--config", 'functionRegions=["iad1", "xyz9"]'],
                                      "ara-infra:functionRegions: must be a Vercel function region"),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_a_fuzzed_input_is_refused_with_exit_2_naming_it(case, tmp_path):
    make_args, expected = REFUSED[case]
    res = run("check", "--stack", "prod", *make_args(tmp_path))
    assert res.code == 2, res.all
    assert expected in res.err
    assert "Traceback" not in res.all and CANARY not in res.all and "sk_live_" not in res.all


def test_a_word_given_as_a_secret_does_not_turn_that_word_into_secret_text_anywhere():
    res = run("check", "--stack", "prod", "--config", "posthogApiKey=production")
    assert res.code == 2
    assert "[secret]" not in res.all  # `production` is not scrubbed, so nothing reveals where it occurs
    assert "secret ara-infra:posthogApiKey is weak: its value is shorter than 16 characters" in res.err


def test_a_credential_under_a_key_nothing_checks_is_never_printed():
    # buildCommand takes any command; a token pasted into it must not reach the plan's output.
    res = run("plan", "--stack", "prod", "--config", f"buildCommand=npm run build -- --token sk_live_{CANARY}")
    assert CANARY not in res.all and "sk_live_" not in res.all


def test_a_bad_pull_request_branch_is_named_as_the_key_given_not_as_prstacks_flag():
    res = run("check", "--stack", "pr-5", "--config", "pullRequestBranch=a..b")
    assert res.code == 2, res.all
    assert "pullRequestBranch (--config or --answers): must be a git branch name: 'a..b'" in res.err
    assert "--branch" not in res.err
