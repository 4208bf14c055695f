"""`check` on a program that is not ARA's: ARA's policy configs are not applied to it by stack name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.review.test_any_program import program
from tests.review.test_cli_helpers import run

# A typical small Vercel program: no edge rate limit, no header route (ARA's architecture, not a
# security property), and its database URL from secret config, which the offline run replaces by
# a placeholder.
SITE = """
    import pulumi
    import pulumiverse_vercel as vercel

    cfg = pulumi.Config()
    project = vercel.Project("web", name="web", framework="nextjs")
    vercel.ProjectEnvironmentVariable("db", project_id=project.id, key="DATABASE_URL",
                                      value=cfg.require_secret("databaseUrl"), targets=["production"],
                                      sensitive=True)
"""
pytestmark = pytest.mark.slow  # each test starts the policy pack

CONFIG = """
    config:
      databaseUrl:
        type: string
        secret: true
"""


def site(tmp_path: Path, project: str) -> Path:
    # The stack sets the secret, encrypted, as `pulumi config set --secret` writes it (the CLI
    # refuses the stack without it); offline it cannot be decrypted.
    return program(tmp_path, SITE, project=project, config=CONFIG, stack="prod",
                   stack_config=f"{project}:databaseUrl:\n  secure: v1:bm9uY2U=:Y2lwaGVy\n")


def test_a_stack_called_prod_of_another_project_runs_the_packs_defaults_and_says_so(tmp_path):
    result = run("check", "--stack", "prod", "--program", str(site(tmp_path, "shop")))
    assert result.code == 0, result.all
    assert "policy config" not in result.out.splitlines()[0]
    assert "the pack's defaults (its config/<stack>.json files are for project ara-infra" in result.out
    # ARA's architecture rules only advise here.
    assert "warn [advisory, medium] vercel-firewall-require-api-rate-limit" in result.out
    assert "warn [advisory, high] web-headers-require-security-headers-route" in result.out
    # The secret DATABASE_URL is a placeholder offline: its content is not judged.
    assert "vercel-env-require-tls-connection-urls" not in result.out


def test_aras_own_project_gets_its_stack_config_and_its_architecture_rules_are_mandatory(tmp_path):
    result = run("check", "--stack", "prod", "--program", str(site(tmp_path, "ara-infra")))
    assert result.code == 1, result.all
    assert "policy config " in result.out.splitlines()[0] and "prod.json" in result.out.splitlines()[0]
    assert "FAIL [mandatory, medium] vercel-firewall-require-api-rate-limit" in result.out


def test_an_explicit_policy_config_applies_to_any_project(tmp_path):
    cfg = tmp_path / "strict.json"
    cfg.write_text('{"vercel-firewall-require-api-rate-limit": "mandatory"}')
    result = run("check", "--stack", "prod", "--program", str(site(tmp_path, "shop")), "--policy-config", str(cfg))
    assert result.code == 1, result.all
    assert f"policy config {cfg}" in result.out
