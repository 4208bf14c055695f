"""prod with githubGuardrails: the backup job's credentials come from prod's own outputs."""

from __future__ import annotations

from infra import catalog
from review import wire


def _env_values(capture, token, name_key):
    return {r.props[name_key]: wire.reveal(r.props["value"]) for r in capture.of_type(token)}


def test_backup_secrets_and_variables_are_prods_outputs_not_copies(prod_with_guardrails):
    out = {k: wire.reveal(v) for k, v in prod_with_guardrails.stack_outputs.items()}
    secrets = _env_values(prod_with_guardrails, catalog.GH_ENVIRONMENT_SECRET, "secretName")
    assert secrets == {
        "BACKUP_S3_ACCESS_KEY_ID": out[catalog.OUTPUT_BACKUP_ACCESS_KEY_ID],
        "BACKUP_S3_SECRET_ACCESS_KEY": out[catalog.OUTPUT_BACKUP_SECRET_ACCESS_KEY],
        "BACKUP_DATABASE_URL": out[catalog.OUTPUT_BACKUP_DATABASE_URL],
    }
    assert set(secrets) == set(catalog.BACKUP_WORKFLOW_SECRETS)
    variables = _env_values(prod_with_guardrails, catalog.GH_ENVIRONMENT_VARIABLE, "variableName")
    assert variables == {"R2_ENDPOINT": out[catalog.OUTPUT_R2_ENDPOINT],
                         "BACKUP_BUCKET": out[catalog.OUTPUT_BACKUPS_BUCKET]}


def test_the_ruleset_protects_prods_production_branch_in_its_repository(prod_with_guardrails):
    ruleset = prod_with_guardrails.one(catalog.GH_RULESET)
    # This repository (githubInfraRepository), where the required check runs; not the app's (audit B4).
    assert ruleset.props["repository"] == "ara-infra"
    assert ruleset.props["conditions"]["refName"]["includes"] == ["refs/heads/main"]
    assert prod_with_guardrails.one("pulumi:providers:github").props["owner"] == "appstoagents"


def test_guardrails_are_off_by_default_so_prod_needs_no_github_admin_token(prod):
    assert not [r for r in prod.resources if r.type.startswith(("github:", "pulumi:providers:github"))]
