"""`plan` text a reviewer reads at a glance: fits the width, short type names, the settings that matter."""

from __future__ import annotations

import re

import pytest

from infra import catalog
from tests.review.test_cli_helpers import run


@pytest.mark.parametrize("columns", [80, 120])
def test_every_plan_line_fits_the_terminal_width(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    res = run("plan", "--stack", "preview")
    assert res.code == 0, res.err
    assert max(len(line) for line in res.out.splitlines()) <= columns


def test_piped_output_has_a_fixed_width(monkeypatch):
    # The tests' stdout is not a terminal: like a CI log, it gets the fixed width.
    monkeypatch.delenv("COLUMNS", raising=False)
    from review import output

    assert output.output_width() == output.PIPED_WIDTH
    assert max(len(line) for line in run("plan", "--stack", "prod").out.splitlines()) <= output.PIPED_WIDTH


def test_types_are_shown_by_their_short_names():
    out = run("plan", "--stack", "prod").out
    assert "vercel:ProjectEnvironmentVariable ara-env-database-url" in out
    assert catalog.VERCEL_ENV_VAR not in out and catalog.PG_DATABASE not in out
    assert "ara:database:Database ara-db" in out  # component tokens are short already


SETTINGS = {
    "rate limit and window": re.compile(r"rule rate-limit-api: \d+ requests / \d+(s|min|h) per ip \(fixed_window\) "
                                        r"→ rate_limit on pre /api"),
    "header names": "Strict-Transport-Security",
    "lifecycle age": "rule expire-after-30-days: delete objects after 30d, abort uploads after 1d",
    "CORS origins": "cors app-origin-only: origins https://app.appstoagents.com methods GET,HEAD",
    "role attributes": "name=ara_prod_app attributes=login connectionLimit=40",
    "bucket lock": "lock lock-for-30-days: objects locked for 30d",
    "token scope": "scope allow 1 permission group(s) on 0123456789abcdef0123456789abcdef_default_ara-prod-reports",
    "public variable value": "key=NEXT_PUBLIC_APP_URL targets=[production] sensitive=false value=https://app.appstoagents.com",
    "secret variable value": "key=DATABASE_URL targets=[production] sensitive=true value=[secret]",
}


@pytest.mark.parametrize("what", list(SETTINGS), ids=list(SETTINGS))
def test_plan_shows_the_settings_that_matter_per_type(monkeypatch, what):
    monkeypatch.setenv("COLUMNS", "200")  # one line per setting, unwrapped
    out = run("plan", "--stack", "prod").out
    expected = SETTINGS[what]
    assert expected.search(out) if isinstance(expected, re.Pattern) else expected in out


def test_a_variable_the_program_left_non_sensitive_shows_its_value_in_markdown_too():
    out = run("plan", "--stack", "prod", "--format", "markdown").out
    assert "value=https://app.appstoagents.com" in out and "value=ara-prod-reports" in out
