"""The app's Postgres database, with pgvector, on an existing managed server."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_postgresql as postgresql
import pulumi_random as random

from infra import catalog

APP_TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"]
APP_SEQUENCE_PRIVILEGES = ["USAGE", "SELECT"]
EXTENSIONS = ("vector", "pg_stat_statements")
# Explicitly false so the intent is in the desired state and a policy can check it.
NO_ELEVATED_ATTRIBUTES = {
    "superuser": False,
    "create_database": False,
    "create_role": False,
    "replication": False,
    "bypass_row_level_security": False,
}


def database_url(user: pulumi.Input[str], password: pulumi.Input[str], host: str, port: int,
                 database: pulumi.Input[str], sslmode: str) -> pulumi.Output[str]:
    """A libpq URL that refuses to connect without TLS; always a secret."""
    return pulumi.Output.secret(
        pulumi.Output.format("postgresql://{0}:{1}@{2}:{3}/{4}?sslmode={5}", user, password, host, port, database, sslmode)
    )


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    """Inputs of `Database`."""

    host: str
    """Managed server host; required."""
    admin_user: str
    """Admin role the provider connects as (CREATEDB, CREATEROLE); required."""
    admin_password: pulumi.Input[str]
    """Admin password (secret); required."""
    database_name: str
    """The app database; required. Roles are named <database>_owner and <database>_app."""
    port: int = 5432
    """Server port; defaults to 5432."""
    admin_database: str = "postgres"
    """Database the admin connection opens; defaults to "postgres"."""
    sslmode: str = "require"
    """TLS mode of every connection; defaults to "require" (verify-full where the CA is known)."""
    connection_limit: int = 20
    """Runtime role connection limit; defaults to 20."""
    statement_timeout_ms: int = 30_000
    """Runtime role statement timeout; defaults to 30 s, the function timeout."""
    password_version: int = 1
    """Bump to rotate both role passwords; defaults to 1."""
    protect: bool = True
    """Protect and retain the database; defaults to True."""


class Database(pulumi.ComponentResource):
    """A database owned by a migration role, used by a least-privilege runtime role."""

    database_name: pulumi.Output[str]
    """Name of the database."""
    database_url: pulumi.Output[str]
    """URL of the runtime role, TLS required (secret)."""
    migration_url: pulumi.Output[str]
    """URL of the migration (owner) role, TLS required (secret), for CI migrations."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_DATABASE, name, None, opts)
        provider = postgresql.Provider(
            f"{name}-provider",
            host=args.host,
            port=args.port,
            username=args.admin_user,
            password=pulumi.Output.secret(args.admin_password),
            database=args.admin_database,
            sslmode=args.sslmode,
            # Managed servers (Neon, Supabase, RDS) never hand out superuser.
            superuser=False,
            connect_timeout=15,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        keepers = {"version": str(args.password_version)}

        owner_password = random.RandomPassword(
            f"{name}-owner-password", length=40, special=False, keepers=keepers,
            opts=pulumi.ResourceOptions(parent=self),
        )
        app_password = random.RandomPassword(
            f"{name}-app-password", length=40, special=False, keepers=keepers,
            opts=pulumi.ResourceOptions(parent=self),
        )
        owner = postgresql.Role(
            f"{name}-owner",
            name=f"{args.database_name}_owner",
            login=True,
            password=pulumi.Output.secret(owner_password.result),
            connection_limit=5,
            **NO_ELEVATED_ATTRIBUTES,
            opts=child,
        )
        app = postgresql.Role(
            f"{name}-app",
            name=f"{args.database_name}_app",
            login=True,
            password=pulumi.Output.secret(app_password.result),
            connection_limit=args.connection_limit,
            statement_timeout=args.statement_timeout_ms,
            **NO_ELEVATED_ATTRIBUTES,
            opts=child,
        )
        database = postgresql.Database(
            f"{name}-database",
            name=args.database_name,
            owner=owner.name,
            encoding="UTF8",
            template="template0",
            connection_limit=args.connection_limit + 5,
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
            ),
        )
        for extension in EXTENSIONS:
            postgresql.Extension(
                f"{name}-{extension.replace('_', '-')}",
                name=extension,
                database=database.name,
                opts=child,
            )

        # New databases let PUBLIC connect; only the two roles should.
        postgresql.Grant(
            f"{name}-revoke-public-connect",
            database=database.name, role="public", object_type="database", privileges=[], opts=child,
        )
        postgresql.Grant(
            f"{name}-app-connect",
            database=database.name, role=app.name, object_type="database", privileges=["CONNECT"], opts=child,
        )
        postgresql.Grant(
            f"{name}-app-schema",
            database=database.name, role=app.name, schema="public", object_type="schema",
            privileges=["USAGE"], opts=child,
        )
        postgresql.Grant(
            f"{name}-app-tables",
            database=database.name, role=app.name, schema="public", object_type="table",
            privileges=APP_TABLE_PRIVILEGES, objects=[], opts=child,
        )
        postgresql.Grant(
            f"{name}-app-sequences",
            database=database.name, role=app.name, schema="public", object_type="sequence",
            privileges=APP_SEQUENCE_PRIVILEGES, objects=[], opts=child,
        )
        # What migrations create later (as the owner role) is usable by the runtime role too.
        postgresql.DefaultPrivileges(
            f"{name}-app-default-tables",
            database=database.name, role=app.name, owner=owner.name, schema="public",
            object_type="table", privileges=APP_TABLE_PRIVILEGES, opts=child,
        )
        postgresql.DefaultPrivileges(
            f"{name}-app-default-sequences",
            database=database.name, role=app.name, owner=owner.name, schema="public",
            object_type="sequence", privileges=APP_SEQUENCE_PRIVILEGES, opts=child,
        )

        self.database_name = database.name
        self.database_url = database_url(app.name, app_password.result, args.host, args.port, database.name, args.sslmode)
        self.migration_url = database_url(
            owner.name, owner_password.result, args.host, args.port, database.name, args.sslmode
        )
        self.register_outputs(
            {
                "database_name": self.database_name,
                "database_url": self.database_url,
                "migration_url": self.migration_url,
            }
        )
