"""Diffs you can read: long strings at the point of change, JSON strings by key, lists by item,
and a Vercel variable the program declares public shown alike in plan and diff."""

from __future__ import annotations

import json

import pytest

from review import diff
from tests.review.test_cli_helpers import edit, run
from tests.review.test_diff import git, repo, worktree  # noqa: F401 - module fixtures reused

CSP = ("default-src 'self'; script-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='; "
       "connect-src 'self' https://us.i.posthog.com https://o0.ingest.sentry.io "
       "https://0123456789abcdef.r2.cloudflarestorage.com; img-src 'self' data:; frame-ancestors 'none'")


def test_a_change_deep_in_a_long_string_is_shown_where_it_happens():
    text = diff.Change("props.route.headers.Content-Security-Policy", CSP,
                       CSP.replace("o0.ingest.sentry.io", "o1.ingest.sentry.io")).text()
    assert "…og.com https://o[-0-]{+1+}.ingest.sentry.i…" in text  # 16 characters each side
    assert len(text) < 120  # a few characters each side, not the header twice


def test_an_insertion_and_a_removal_in_a_long_string_show_only_what_moved():
    added = CSP.replace("img-src 'self' data:", "img-src 'self' data: https://img.example.com")
    assert "{+ https://img.example.com+}" in diff.Change("p", CSP, added).text()
    assert "[- https://img.example.com-]" in diff.Change("p", added, CSP).text()


def test_a_long_change_is_cut_and_counted():
    text = diff.point_of_change("a" * 20 + "x" * 500, "a" * 20 + "y" * 500)
    assert "(+420 characters)" in text and len(text) < 300


def test_json_strings_are_compared_by_key():
    old = {"resources": json.dumps({"com.cloudflare.edge.r2.bucket.acct_default_ara-prod-backups": "*"})}
    new = {"resources": json.dumps({"com.cloudflare.edge.r2.bucket.acct_default_ara-prod-backups": "*",
                                    "com.cloudflare.api.account.acct": "*"})}
    (change,) = diff.compare(old, new)
    assert change.path == "resources<json>.com.cloudflare.api.account.acct"
    assert change.text().endswith("(absent) → *")


def test_a_list_that_grows_names_the_new_item():
    changes = diff.compare({"regions": ["iad1", "sfo1"]}, {"regions": ["iad1", "sfo1", "fra1"]})
    assert [c.text() for c in changes] == ["regions[+]: (absent) → fra1"]


def test_a_secret_inside_a_json_looking_string_stays_secret():
    secret = {"secret": True, "digest": "a"}
    changes = diff.compare({"v": secret}, {"v": {"secret": True, "digest": "b"}})
    assert [c.text() for c in changes] == ["v: [secret] changed"]


@pytest.mark.slow  # runs git and the CLI
def test_a_public_variable_shows_its_values_in_diff_as_in_plan(worktree):  # noqa: F811 - the module fixture imported above
    edit(worktree / "Pulumi.prod.yaml", "ara-infra:domain: app.appstoagents.com",
         "ara-infra:domain: www.appstoagents.com")
    res = run("diff", "--stack", "prod", "--base", "HEAD", "--program", str(worktree))
    assert res.code == 0, res.all
    assert "props.value: https://app.appstoagents.com → https://www.appstoagents.com" in res.out
    assert "props.value: [secret] changed" not in res.out.split("ara-env-public-app-url", 1)[-1].split("\n  ", 2)[1]
    plan = run("plan", "--stack", "prod", "--program", str(worktree))
    assert "value=https://www.appstoagents.com" in plan.out
