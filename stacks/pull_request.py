"""pr-<number>: one pull request's preview, on the preview target of prod's project.

Its own database on the preview server and its own generated keys, as variables scoped to the
pull request's git branch: they override the preview target's DATABASE_URL, ENCRYPTION_KEY and
JWT_SECRET for that branch only, and the branch reads every other variable from the preview
stack. It declares no bucket, domain or app secret, and nothing of production. Config:
`python -m stacks.prstack` (stacks/pull_request.yaml); destroyed when the pull request closes.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumiverse_vercel as vercel

from infra import catalog
from infra.config import StackConfig
from infra.database import Database
from infra.environment import AppEnvironment, AppEnvironmentArgs
from infra.keys import GeneratedKeys, GeneratedKeysArgs
from stacks import common


def build(cfg: StackConfig) -> dict[str, Any]:
    team = common.vercel_team(cfg)
    in_team = common.in_team(team)
    project_id = vercel.get_project_output(
        name=cfg.vercel_project_name, opts=pulumi.InvokeOutputOptions(provider=team.provider)
    ).id
    keys = GeneratedKeys("ara-keys", GeneratedKeysArgs(version=cfg.generated_keys_version))
    database = Database("ara-db", common.database_args(cfg, cfg.db_name))
    AppEnvironment(
        "ara-env",
        AppEnvironmentArgs(
            project_id=project_id,
            target=catalog.TARGET_PREVIEW,
            git_branch=cfg.pull_request_branch,
            database_url=database.database_url,
            encryption_key=keys.encryption_key,
            jwt_secret=keys.jwt_secret,
        ),
        in_team,
    )
    return {
        catalog.OUTPUT_PROJECT_ID: project_id,
        catalog.OUTPUT_DATABASE_NAME: database.database_name,
        catalog.OUTPUT_DATABASE_URL: database.database_url,
        catalog.OUTPUT_MIGRATION_URL: database.migration_url,
        catalog.OUTPUT_PULL_REQUEST_BRANCH: cfg.pull_request_branch,
    }
