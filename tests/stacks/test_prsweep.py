"""Which pull-request stacks the sweep destroys, and why (stacks/prsweep.py): the decisions, the
input it refuses, and what it hands the workflow."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from stacks import prsweep

NOW = datetime(2026, 12, 6, 6, 37, tzinfo=UTC)


def stack(name: str, days_ago: float | None = 1, updating: bool | None = None) -> dict:
    """One entry as `pulumi stack ls --json` prints it (RFC 5424 time, milliseconds)."""
    entry: dict = {"name": name, "current": False}
    if days_ago is not None:
        entry["lastUpdate"] = (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if updating is not None:
        entry["updateInProgress"] = updating
    return entry


def decisions(stacks: list[dict], open_numbers: set[int], max_age_days: int = 30) -> dict[str, prsweep.Decision]:
    return {d.stack: d for d in prsweep.plan(prsweep.read_stacks(stacks), open_numbers, NOW, max_age_days)}


def test_a_stack_whose_pull_request_is_not_open_is_destroyed_and_an_open_ones_kept():
    found = decisions([stack("pr-12"), stack("pr-13")], {13})
    assert found["pr-12"] == prsweep.Decision("pr-12", 12, True, "closed", "pull request #12 is not open")
    assert found["pr-13"] == prsweep.Decision("pr-13", 13, False, "kept", "pull request #13 is open")


def test_an_open_pull_requests_stack_goes_once_nobody_updated_it_for_the_age_limit():
    found = decisions([stack("pr-20", days_ago=31), stack("pr-21", days_ago=29)], {20, 21})
    assert (found["pr-20"].destroy, found["pr-20"].reason) == (True, "stale")
    assert "last updated 31 days ago (more than 30)" in found["pr-20"].why
    assert not found["pr-21"].destroy
    assert not decisions([stack("pr-20", days_ago=400)], {20}, max_age_days=0)["pr-20"].destroy  # 0: off


def test_a_stack_being_updated_is_never_destroyed_and_one_never_updated_has_no_age():
    found = decisions([stack("pr-30", days_ago=90, updating=True), stack("pr-31", days_ago=None)], {31})
    assert found["pr-30"].why == "an update is in progress" and not found["pr-30"].destroy
    assert not found["pr-31"].destroy
    assert decisions([stack("pr-32", days_ago=None)], set())["pr-32"].reason == "closed"


@pytest.mark.parametrize("name", ["prod", "preview", "pr-0", "pr-007", "pr-1234567890", "PR-5", "pr-5 ", "pr-5\n",
                                  "acme/pr-5", "organization/other-project/pr-5", "pr-5x", "feature-pr-5"])
def test_only_a_name_the_close_workflow_builds_is_ever_destroyed(name):
    # Another organization's or project's pr-5 is not the stack `destroy --stack pr-5` would reach.
    found = decisions([stack(name, days_ago=999)], set())[name]
    assert not found.destroy and found.number is None


@pytest.mark.parametrize("data, problem", [
    ({"name": "pr-1"}, "expected the JSON list `pulumi stack ls --json` prints"),
    ([{"nom": "pr-1"}], "entry 0: expected an object with a string `name`"),
    ([{"name": "pr-1", "lastUpdate": "yesterday"}], "entry 0: lastUpdate 'yesterday' is not an RFC 3339 time"),
    ([{"name": "pr-1", "lastUpdate": "2026-12-01T10:00:00"}], "has no UTC offset"),
    ([{"name": "pr-1", "updateInProgress": "no"}], "entry 0: updateInProgress must be true or false"),
])
def test_a_stack_listing_that_is_not_pulumis_is_refused_naming_the_entry(data, problem):
    with pytest.raises(prsweep.SweepError, match="^--stacks: .*" + problem.replace("(", r"\(").replace(")", r"\)")
                       .replace("`", "`")):
        prsweep.read_stacks(data)


@pytest.mark.parametrize("data, problem", [
    ([{"number": "12"}], "entry 0: expected an object with a positive integer `number`"),
    ([{"number": True}], "entry 0: expected an object"),
    ([{"number": 0}], "entry 0: expected an object"),
    ({"number": 1}, "expected the JSON list"),
])
def test_an_open_pull_request_listing_that_is_not_ghs_is_refused(data, problem):
    with pytest.raises(prsweep.SweepError, match=problem):
        prsweep.read_open_numbers(data, limit=1000)


def test_a_full_page_of_open_pull_requests_decides_nothing():
    # gh stops at --limit: pull request 1001 might be open, so its stack cannot be judged closed.
    with pytest.raises(prsweep.SweepError, match=r"1000 open pull requests, the listing's limit \(1000\)"):
        prsweep.read_open_numbers([{"number": n} for n in range(1, 1001)], limit=1000)


def _files(tmp_path, stacks, open_prs):
    (tmp_path / "stacks.json").write_text(json.dumps(stacks))
    (tmp_path / "open.json").write_text(json.dumps(open_prs))
    for name in ("output", "summary"):
        (tmp_path / name).write_text("")
    return ["--stacks", str(tmp_path / "stacks.json"), "--open-pull-requests", str(tmp_path / "open.json"),
            "--github-output", str(tmp_path / "output"), "--summary", str(tmp_path / "summary"),
            "--now", NOW.isoformat()]


def test_plan_hands_the_workflow_the_numbers_and_reasons_and_summarises_every_stack(tmp_path, capsys):
    args = _files(tmp_path, [stack("pr-12"), stack("pr-13", days_ago=45), stack("pr-14"), stack("prod"),
                             stack("x|`<b>`")], [{"number": 13}, {"number": 14}])
    assert prsweep.main(["plan", *args]) == 0
    assert (tmp_path / "output").read_text() == ('stacks=[{"number":12,"reason":"closed"},'
                                                 '{"number":13,"reason":"stale"}]\ncount=2\n')
    summary = (tmp_path / "summary").read_text()
    assert summary.startswith("### Pull-request stacks (age limit: 30 days)")
    assert "| `pr-12` | destroy | pull request #12 is not open |" in summary
    assert "| `pr-14` | keep | pull request #14 is open |" in summary
    assert "| `x???b??` | keep | not a pull-request stack of this project |" in summary  # no markup from a name
    assert "destroy\tpr-12" in capsys.readouterr().out


def test_plan_with_nothing_to_do_says_count_0(tmp_path):
    args = _files(tmp_path, [], [])
    assert prsweep.main(["plan", *args]) == 0
    assert (tmp_path / "output").read_text() == "stacks=[]\ncount=0\n"


@pytest.mark.parametrize("change, problem", [
    (lambda p: (p / "stacks.json").write_text("not json"), "--stacks "),
    (lambda p: (p / "open.json").unlink(), "--open-pull-requests "),
])
def test_plan_refuses_bad_input_and_writes_nothing(tmp_path, capsys, change, problem):
    args = _files(tmp_path, [stack("pr-12")], [])
    change(tmp_path)
    assert prsweep.main(["plan", *args]) == 2
    assert problem in capsys.readouterr().err
    assert (tmp_path / "output").read_text() == "" and (tmp_path / "summary").read_text() == ""


def test_plan_refuses_an_age_limit_out_of_range(tmp_path, capsys):
    assert prsweep.main(["plan", *_files(tmp_path, [], []), "--max-age-days", "-1"]) == 2
    assert "--max-age-days: -1 is not from 0 (off) to 3650" in capsys.readouterr().err


@pytest.mark.parametrize("pull, reason, expected", [
    ({"number": 12, "state": "CLOSED", "headRefName": "feature/x"}, "closed", "destroy=true\nbranch=feature/x\n"),
    ({"number": 12, "state": "MERGED", "headRefName": "feature/x"}, "closed", "destroy=true\nbranch=feature/x\n"),
    ({"number": 12, "state": "OPEN", "headRefName": "feature/x"}, "closed", "destroy=false\n"),
    ({"number": 12, "state": "OPEN", "headRefName": "feature/x"}, "stale", "destroy=true\nbranch=feature/x\n"),
    ({}, "closed", "destroy=true\nbranch=pr-12\n"),  # no such pull request: a stand-in branch
    ({"number": 12, "state": "CLOSED", "headRefName": "bad..name"}, "closed", "destroy=true\nbranch=pr-12\n"),
])
def test_confirm_keeps_a_reopened_pull_requests_stack_and_names_the_branch(tmp_path, pull, reason, expected):
    (tmp_path / "pull.json").write_text(json.dumps(pull))
    out = tmp_path / "output"
    assert prsweep.main(["confirm", "--number", "12", "--reason", reason, "--pull-request", str(tmp_path / "pull.json"),
                         "--github-output", str(out)]) == 0
    assert out.read_text() == expected


@pytest.mark.parametrize("number, pull, problem", [
    ("012", {}, "--number: '012' is not a pull-request number"),
    ("12\nprod", {}, "is not a pull-request number"),
    ("12", {"number": 13, "state": "CLOSED"}, "describes pull request 13, not #12"),
    ("12", [], "expected the JSON object"),
])
def test_confirm_refuses_a_number_or_pull_request_that_does_not_fit(tmp_path, capsys, number, pull, problem):
    (tmp_path / "pull.json").write_text(json.dumps(pull))
    out = tmp_path / "output"
    out.write_text("")
    assert prsweep.main(["confirm", "--number", number, "--reason", "closed",
                         "--pull-request", str(tmp_path / "pull.json"), "--github-output", str(out)]) == 2
    assert problem in capsys.readouterr().err and out.read_text() == ""


def test_an_unwritable_output_is_refused_naming_the_option(tmp_path, capsys):
    args = _files(tmp_path, [stack("pr-12")], [])
    args[args.index("--github-output") + 1] = str(tmp_path / "no-such-dir" / "output")
    assert prsweep.main(["plan", *args]) == 2
    err = capsys.readouterr().err
    assert f"--github-output {tmp_path / 'no-such-dir' / 'output'}: cannot append to it" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("debug", [False, True])
def test_a_bug_exits_5_in_one_line_unless_debug(tmp_path, capsys, monkeypatch, debug):
    def broken(*args):
        raise TypeError("unexpected shape")

    monkeypatch.setattr(prsweep, "plan", broken)
    assert prsweep.main([*(["--debug"] if debug else []), "plan", *_files(tmp_path, [], [])]) == 5
    err = capsys.readouterr().err
    assert err.startswith("python -m stacks.prsweep plan: internal error:")
    assert ("Traceback (most recent call last)" in err) == debug


def test_ctrl_c_exits_130(tmp_path, capsys, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(prsweep, "plan", interrupted)
    assert prsweep.main(["plan", *_files(tmp_path, [], [])]) == 130
    assert "interrupted" in capsys.readouterr().err
