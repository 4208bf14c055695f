"""The data plane both stacks own: keys, buckets, database and the app's variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra import catalog
from infra.config import StackConfig
from infra.database import Database, DatabaseArgs
from infra.deployment import AppDeployment, AppDeploymentArgs
from infra.environment import AppEnvironment, AppEnvironmentArgs
from infra.headers import HeaderPolicy
from infra.keys import GeneratedKeys, GeneratedKeysArgs
from infra.storage import ObjectStorage, ObjectStorageArgs, r2_bucket_origins, r2_endpoint
from infra.vercel_team import VercelTeam, VercelTeamArgs


@dataclass(frozen=True)
class DataPlane:
    """What a stack's environment variables are made of."""

    keys: GeneratedKeys
    storage: ObjectStorage
    database: Database


def vercel_team(cfg: StackConfig) -> VercelTeam:
    """The stack's Vercel scope (`vercelTeam`): one explicit provider for every Vercel resource."""
    return VercelTeam("ara-vercel", VercelTeamArgs(team=cfg.vercel_team))


def in_team(team: VercelTeam) -> pulumi.ResourceOptions:
    """Options that put a component's Vercel children (and lookups) in the team's scope."""
    return pulumi.ResourceOptions(providers=[team.provider])


def header_policy(cfg: StackConfig, clerk_frontend_api: str | None = None) -> HeaderPolicy:
    """The stack's headers; `clerk_frontend_api` overrides the Clerk host (prod's preview route)."""
    return HeaderPolicy.for_clerk(
        clerk_frontend_api=cfg.clerk_frontend_api if clerk_frontend_api is None else clerk_frontend_api,
        # The browser fetches reports through presigned URLs on the R2 endpoint.
        # Path-style and virtual-hosted (the SDKs' default) forms of the reports bucket's URLs.
        connect_sources=(*cfg.csp_connect_sources, r2_endpoint(cfg.cloudflare_account_id, cfg.r2_jurisdiction),
                         r2_bucket_origins(cfg.cloudflare_account_id, cfg.r2_jurisdiction)),
        script_hashes=cfg.csp_script_hashes,
        hsts_max_age=cfg.hsts_max_age,
        hsts_preload=cfg.hsts_preload,
    )


def database_args(cfg: StackConfig, database_name: str) -> DatabaseArgs:
    return DatabaseArgs(
        host=cfg.db_host,
        port=cfg.db_port,
        admin_user=cfg.db_admin_user,
        admin_password=cfg.db_admin_password,
        admin_database=cfg.db_admin_database,
        sslmode=cfg.db_ssl_mode,
        sslrootcert=cfg.db_ssl_root_cert,
        server_major_version=cfg.db_server_major_version,
        database_name=database_name,
        connection_limit=cfg.db_connection_limit,
        rotation_connections=cfg.db_rotation_connections,
        statement_timeout_ms=cfg.function_max_duration * 1000,
        password_version=cfg.db_password_version,
        protect=cfg.protect_stateful_resources,
    )


def data_plane(cfg: StackConfig) -> DataPlane:
    keys = GeneratedKeys("ara-keys", GeneratedKeysArgs(version=cfg.generated_keys_version))
    storage = ObjectStorage(
        "ara-storage",
        ObjectStorageArgs(
            account_id=cfg.cloudflare_account_id,
            reports_bucket_name=cfg.reports_bucket_name,
            backups_bucket_name=cfg.backups_bucket_name,
            app_origin=cfg.app_url,
            location=cfg.r2_location,
            jurisdiction=cfg.r2_jurisdiction,
            backup_retention_days=cfg.backup_retention_days,
            protect=cfg.protect_stateful_resources,
            # Throwaway preview backups stay deletable; a locked bucket cannot be emptied.
            lock_backups=cfg.protect_stateful_resources,
        ),
    )
    database = Database("ara-db", database_args(cfg, cfg.db_name))
    return DataPlane(keys=keys, storage=storage, database=database)


def app_environment(cfg: StackConfig, project_id: pulumi.Input[str], target: str, plane: DataPlane,
                    opts: pulumi.ResourceOptions | None = None) -> AppEnvironment:
    """Every catalog variable for `target`, valued from this stack only."""
    return AppEnvironment(
        "ara-env",
        AppEnvironmentArgs(
            project_id=project_id,
            target=target,
            database_url=plane.database.database_url,
            clerk_secret_key=cfg.clerk_secret_key,
            clerk_jwt_key=cfg.clerk_jwt_key,
            public_clerk_publishable_key=cfg.clerk_publishable_key,
            next_public_clerk_publishable_key=cfg.clerk_publishable_key,
            openai_api_key=cfg.openai_api_key,
            cloudflare_r2_access_key_id=plane.storage.access_key_id,
            cloudflare_r2_secret_access_key=plane.storage.secret_access_key,
            cloudflare_r2_bucket_name=plane.storage.reports_bucket_name,
            encryption_key=plane.keys.encryption_key,
            jwt_secret=plane.keys.jwt_secret,
            upstash_redis_url=cfg.upstash_redis_url,
            public_app_url=cfg.app_url,
            next_public_app_url=cfg.app_url,
            posthog_api_key=cfg.posthog_api_key,
            sentry_dsn=cfg.sentry_dsn,
        ),
        opts,
    )


def deployment(cfg: StackConfig, project_id: pulumi.Input[str], production: bool,
               opts: pulumi.ResourceOptions | None = None) -> AppDeployment | None:
    if not cfg.app_directory:
        return None
    return AppDeployment(
        "ara-deploy",
        AppDeploymentArgs(
            project_id=project_id,
            app_directory=cfg.app_directory,
            bundle_directory=f"build/{cfg.stack}/app",
            headers=header_policy(cfg).headers(),
            production=production,
            framework=cfg.framework,
            build_command=cfg.build_command,
            install_command=cfg.install_command,
            output_directory=cfg.output_directory,
        ),
        opts,
    )


def exports(cfg: StackConfig, project_id: pulumi.Input[str], plane: DataPlane,
            deploy: AppDeployment | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        catalog.OUTPUT_APP_URL: cfg.app_url,
        catalog.OUTPUT_PROJECT_ID: project_id,
        catalog.OUTPUT_REPORTS_BUCKET: plane.storage.reports_bucket_name,
        catalog.OUTPUT_BACKUPS_BUCKET: plane.storage.backups_bucket_name,
        catalog.OUTPUT_R2_ENDPOINT: plane.storage.endpoint,
        catalog.OUTPUT_DATABASE_NAME: plane.database.database_name,
        catalog.OUTPUT_DATABASE_URL: plane.database.database_url,
        catalog.OUTPUT_MIGRATION_URL: plane.database.migration_url,
        catalog.OUTPUT_BACKUP_DATABASE_URL: plane.database.backup_url,
        # For the backup job (pg_dump to R2), which runs outside Vercel.
        catalog.OUTPUT_BACKUP_ACCESS_KEY_ID: plane.storage.backup_access_key_id,
        catalog.OUTPUT_BACKUP_SECRET_ACCESS_KEY: plane.storage.backup_secret_access_key,
    }
    if deploy is not None:
        out[catalog.OUTPUT_DEPLOYMENT_URL] = deploy.url
    return out
