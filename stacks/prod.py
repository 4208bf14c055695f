"""prod: owns the Vercel project, its domain, edge rules and headers, and the production target."""

from __future__ import annotations

from typing import Any

from infra import catalog
from infra.config import StackConfig
from infra.dns import AppDomain, AppDomainArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.rate_limit import RateLimit, RateLimitArgs
from infra.repository import RepositoryGuardrails, RepositoryGuardrailsArgs
from infra.security_headers import SecurityHeaders, SecurityHeadersArgs
from infra.web import WebProject, WebProjectArgs
from stacks import common


def build(cfg: StackConfig) -> dict[str, Any]:
    team = common.vercel_team(cfg)
    in_team = common.in_team(team)
    web = WebProject(
        "ara-web",
        WebProjectArgs(
            project_name=cfg.vercel_project_name,
            git_repository=cfg.git_repository,
            production_branch=cfg.production_branch,
            framework=cfg.framework,
            build_command=cfg.build_command,
            output_directory=cfg.output_directory,
            install_command=cfg.install_command,
            dev_command=cfg.dev_command,
            function_regions=cfg.function_regions,
            function_max_duration=cfg.function_max_duration,
            deployment_protection=cfg.deployment_protection,
            skew_protection=cfg.skew_protection,
        ),
        in_team,
    )
    project_id = web.project_id
    AppDomain("ara-domain", AppDomainArgs(project_id=project_id, domain=cfg.domain, zone=cfg.dns_zone), in_team)
    # The configured budget fitted to the plan's longest window (infra/config/model.py, edge_rate_limit).
    requests, window_seconds = cfg.edge_rate_limit
    RateLimit(
        "ara-rate-limit",
        RateLimitArgs(
            project_id=project_id,
            requests=requests,
            window_seconds=window_seconds,
            path_prefix=cfg.rate_limit_path,
            managed_rules=cfg.firewall_managed_rules,
            # The OWASP core ruleset is Enterprise-only (vercel.com/docs/vercel-firewall/vercel-waf/managed-rulesets).
            owasp=cfg.vercel_plan == "enterprise",
        ),
        in_team,
    )
    SecurityHeaders(
        "ara-headers",
        SecurityHeadersArgs(
            project_id=project_id,
            headers=common.header_policy(cfg).headers(),
            # Project routes reach every deployment: previews get their own Clerk host.
            production_host=cfg.domain,
            preview_headers=common.header_policy(cfg, clerk_frontend_api=cfg.preview_clerk_frontend_api).headers(),
        ),
        in_team,
    )
    # The guide's alerts where the plan offers them (docs/explanation/monitoring.md).
    Monitoring(
        "ara-monitoring",
        MonitoringArgs(project_id=project_id, plan=cfg.vercel_plan, observability_plus=cfg.vercel_observability_plus),
        in_team,
    )
    plane = common.data_plane(cfg)
    common.app_environment(cfg, project_id, catalog.TARGET_PRODUCTION, plane, in_team)
    deploy = common.deployment(cfg, project_id, production=True, opts=in_team)
    if cfg.github_guardrails:
        guardrails(cfg, plane)
    # What deploy.yml's smoke check compares the live site with (`python -m ops smoke`).
    return {**common.exports(cfg, project_id, plane, deploy),
            catalog.OUTPUT_PRODUCTION_HEADERS: common.header_policy(cfg).headers()}


def guardrails(cfg: StackConfig, plane: common.DataPlane) -> RepositoryGuardrails:
    """This repository's ruleset and environments; the backup job's credentials from this stack.

    On `githubInfraRepository`, where the workflows, their required check and the backup job run:
    the app repository (`gitRepository`) has neither, so a ruleset there would wait forever for a
    check that never reports."""
    owner, repository = cfg.github_infra_repository.split("/")
    secrets = dict(zip(catalog.BACKUP_WORKFLOW_SECRETS, (
        plane.storage.backup_access_key_id,
        plane.storage.backup_secret_access_key,
        # The read-only backup role, the one pg_dump needs.
        plane.database.backup_url,
    ), strict=True))
    variables = dict(zip(catalog.BACKUP_WORKFLOW_VARIABLES, (
        plane.storage.endpoint, plane.storage.backups_bucket_name), strict=True))
    return RepositoryGuardrails(
        "ara-github",
        RepositoryGuardrailsArgs(
            owner=owner,
            repository=repository,
            branch=cfg.production_branch,
            reviewer_user_ids=tuple(int(i) for i in cfg.github_reviewer_user_ids),
            reviewer_team_ids=tuple(int(i) for i in cfg.github_reviewer_team_ids),
            backup_secrets=secrets,
            backup_variables=variables,
        ),
    )
