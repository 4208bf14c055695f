"""The workflow-credentials page says which job can read which secrets, read off the workflow files."""

from __future__ import annotations

import importlib.util
import re
import textwrap

from tests.support import ROOT


def _generator():
    spec = importlib.util.spec_from_file_location("gen_workflows", ROOT / "docs" / "gen_workflows.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(page: str, job: str, after: str) -> str:
    section = page.split(f"## `{after}`", 1)[1]
    return next(line for line in section.splitlines() if line.startswith(f"| `{job}` |"))


def test_the_prod_deploy_job_reads_prod_secrets_in_the_production_environment():
    page = _generator().page(ROOT)
    row = _row(page, "prod", "deploy.yml")
    assert "| `production` |" in row
    assert "`PULUMI_CONFIG_PASSPHRASE`" in row and "`GITHUB_ADMIN_TOKEN`" in row


def test_the_required_check_holds_no_secret():
    # pull-request.yml runs for forks too: any secret it named would be in reach of their code.
    page = _generator().page(ROOT)
    section = page.split("## `pull-request.yml`", 1)[1].split("\n## ", 1)[0]
    job_rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert job_rows
    assert all(line.split(" | ")[3] == "none" for line in job_rows), job_rows


def test_every_workflow_file_has_a_section():
    page = _generator().page(ROOT)
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        assert f"## `{path.name}`" in page, path.name


def test_an_expression_with_pipes_stays_in_its_table_cell(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "x.yml").write_text(textwrap.dedent("""\
        on:
          schedule: [{cron: "1 2 * * *"}]
        permissions: {}
        jobs:
          run:
            environment: ${{ github.ref == 'a' || 'b' }}
            permissions: {contents: read}
            steps:
              - run: echo "${{ secrets.TOKEN }} ${{ vars.URL }}"
        """))
    page = _generator().page(tmp_path)
    row = _row(page, "run", "x.yml")
    cells = re.split(r"(?<!\\)\|", row)[1:-1]  # Markdown ends a cell at any unescaped pipe
    assert len(cells) == 5, row
    assert "`TOKEN`" in row and "`URL`" in row and "contents: read" in row
    assert "`schedule` `1 2 * * *`" in page
