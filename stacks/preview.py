"""preview: the project's preview target, with its own database, buckets, keys and secrets."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumiverse_vercel as vercel

from infra import catalog
from infra.config import StackConfig
from infra.dns import AppDomain, AppDomainArgs
from stacks import common


def build(cfg: StackConfig) -> dict[str, Any]:
    team = common.vercel_team(cfg)
    in_team = common.in_team(team)
    # prod owns the project (settings, firewall, headers); preview only adds its target.
    project = vercel.get_project_output(
        name=cfg.vercel_project_name, opts=pulumi.InvokeOutputOptions(provider=team.provider)
    )
    project_id = project.id
    AppDomain(
        "ara-domain",
        AppDomainArgs(
            project_id=project_id, domain=cfg.domain, zone=cfg.dns_zone, git_branch=cfg.domain_git_branch,
            # What prod configured, read back from Vercel: the preview branch must be another one.
            production_branch=project.git_repository.apply(lambda repo: repo.production_branch if repo else None),
        ),
        in_team,
    )
    plane = common.data_plane(cfg)
    common.app_environment(cfg, project_id, catalog.TARGET_PREVIEW, plane, in_team)
    deploy = common.deployment(cfg, project_id, production=False, opts=in_team)
    return common.exports(cfg, project_id, plane, deploy)
