"""The app's Postgres database, with pgvector, on an existing managed server.

Proven against a real PostgreSQL 18 server with a managed-service-like, non-superuser admin
(tests/database_real/); the provider behaviour each choice relies on is cited below from
cyrilgdn/terraform-provider-postgresql at ff936b9, the `upstream` of pulumi-postgresql 3.18.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_postgresql as postgresql
import pulumi_random as random

from infra import catalog

APP_TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"]
APP_SEQUENCE_PRIVILEGES = ["USAGE", "SELECT"]
# pg_dump reads every table and sequence; SELECT is all it needs (nextval needs USAGE, withheld).
BACKUP_TABLE_PRIVILEGES = ["SELECT"]
BACKUP_SEQUENCE_PRIVILEGES = ["SELECT"]
EXTENSIONS = ("vector", "pg_stat_statements")
OWNER_CONNECTION_LIMIT = 5
"""Migrations run one at a time; a few connections are plenty."""
MIN_SERVER_MAJOR_VERSION = catalog.PG_MIN_SERVER_MAJOR_VERSION
"""PostgreSQL 15 took CREATE on schema `public` away from PUBLIC and gave the schema to the
database owner (pg_database_owner). On 14 and older that schema is a superuser's, so a non-superuser
admin cannot revoke PUBLIC's CREATE there: such servers are refused (also by infra/config.py)."""
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
    """Admin role the provider connects as (CREATEDB, CREATEROLE; see README for extensions); required."""
    admin_password: pulumi.Input[str]
    """Admin password (secret); required."""
    database_name: str
    """The app database; required. Roles are named <database>_owner, <database>_app and <database>_backup."""
    port: int = 5432
    """Server port; defaults to 5432."""
    admin_database: str = "postgres"
    """Database the admin connection opens; defaults to "postgres"."""
    sslmode: str = "require"
    """TLS mode of every connection; defaults to "require" (verify-full where the CA is known)."""
    sslrootcert: str = ""
    """PEM file of the CA the provider verifies the server with (verify-ca/verify-full against a private
    CA such as RDS'); defaults to empty: the system roots. Not part of the URLs: each client has its own."""
    server_major_version: int = 16
    """Major version of the server; below 15 is refused. Defaults to 16."""
    connection_limit: int = 20
    """Runtime role connection limit; defaults to 20."""
    backup_connection_limit: int = 2
    """Backup role connection limit (pg_dump uses one); defaults to 2."""
    connection_headroom: int = 5
    """Database connections beyond the three roles' limits, for the provider's admin and monitoring;
    defaults to 5. Without it a saturated app locks the admin out of `pulumi up`/refresh."""
    statement_timeout_ms: int = 30_000
    """Runtime role statement timeout (a role default the app can override per session); defaults to 30 s."""
    idle_in_transaction_timeout_ms: int = 60_000
    """Runtime role idle-in-transaction timeout, so a stuck request cannot hold locks; defaults to 60 s."""
    password_version: int = 1
    """Bump to rotate the role passwords; defaults to 1."""
    protect: bool = True
    """Protect and retain the database; defaults to True."""

    def __post_init__(self) -> None:
        if self.server_major_version < MIN_SERVER_MAJOR_VERSION:
            raise ValueError(
                f"server_major_version: PostgreSQL {self.server_major_version} is not supported; "
                f"{MIN_SERVER_MAJOR_VERSION}+ is required (older servers let PUBLIC create tables in schema public)"
            )
        for field_name in ("connection_limit", "backup_connection_limit", "connection_headroom"):
            if getattr(self, field_name) < 1:
                raise ValueError(f"{field_name}: must be at least 1 (got {getattr(self, field_name)})")

    @property
    def database_connection_limit(self) -> int:
        """The database's own limit: every role's limit plus headroom for the admin and monitoring."""
        return self.connection_limit + OWNER_CONNECTION_LIMIT + self.backup_connection_limit + self.connection_headroom


class Database(pulumi.ComponentResource):
    """A database owned by a migration role, used by a least-privilege runtime role, dumped by a read-only role."""

    database_name: pulumi.Output[str]
    """Name of the database."""
    database_url: pulumi.Output[str]
    """URL of the runtime role, TLS required (secret)."""
    migration_url: pulumi.Output[str]
    """URL of the migration (owner) role, TLS required (secret), for CI migrations."""
    backup_url: pulumi.Output[str]
    """URL of the read-only backup role, TLS required (secret), for the backup job's pg_dump."""

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
            # provider.go:175-179 -> config.go:242-243: passed to lib/pq as `sslrootcert`.
            # Only set when configured, so existing stacks see no provider change.
            **({"sslrootcert": args.sslrootcert} if args.sslrootcert else {}),
            # Managed servers (Neon, Supabase, RDS) never hand out superuser.
            superuser=False,
            connect_timeout=15,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        keepers = {"version": str(args.password_version)}

        def password(role: str) -> random.RandomPassword:
            return random.RandomPassword(
                f"{name}-{role}-password", length=40, special=False, keepers=keepers,
                opts=pulumi.ResourceOptions(parent=self),
            )

        owner_password, app_password, backup_password = password("owner"), password("app"), password("backup")
        owner = postgresql.Role(
            f"{name}-owner",
            name=f"{args.database_name}_owner",
            login=True,
            password=pulumi.Output.secret(owner_password.result),
            connection_limit=OWNER_CONNECTION_LIMIT,
            **NO_ELEVATED_ATTRIBUTES,
            opts=child,
        )
        app = postgresql.Role(
            f"{name}-app",
            name=f"{args.database_name}_app",
            login=True,
            password=pulumi.Output.secret(app_password.result),
            connection_limit=args.connection_limit,
            # Both are role defaults (ALTER ROLE ... SET, role.go:1072-1120): they apply to every new
            # session, but the app may still SET them per session. They are a guard, not a sandbox.
            statement_timeout=args.statement_timeout_ms,
            idle_in_transaction_session_timeout=args.idle_in_transaction_timeout_ms,
            **NO_ELEVATED_ATTRIBUTES,
            opts=child,
        )
        backup = postgresql.Role(
            f"{name}-backup",
            name=f"{args.database_name}_backup",
            login=True,
            password=pulumi.Output.secret(backup_password.result),
            connection_limit=args.backup_connection_limit,
            **NO_ELEVATED_ATTRIBUTES,
            opts=child,
        )
        # The admin must hold the owner's privileges: the provider runs CREATE EXTENSION
        # (extension.go:87-110) and database-level GRANT/REVOKE (grant.go:800-808, helpers.go:142-146)
        # as the plain admin, which without this membership fail or silently change nothing.
        # `CREATE DATABASE ... OWNER` then finds the membership and keeps it (database.go:143-153).
        membership = postgresql.GrantRole(
            f"{name}-admin-owner-membership",
            role=args.admin_user,
            grant_role=owner.name,
            opts=child,
        )
        as_owner = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[membership]))
        database = postgresql.Database(
            f"{name}-database",
            name=args.database_name,
            owner=owner.name,
            encoding="UTF8",
            template="template0",
            connection_limit=args.database_connection_limit,
            opts=pulumi.ResourceOptions.merge(
                as_owner, pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
            ),
        )
        for extension in EXTENSIONS:
            postgresql.Extension(
                f"{name}-{extension.replace('_', '-')}",
                name=extension,
                database=database.name,
                opts=as_owner,
            )

        def grant(suffix: str, **props: object) -> None:
            postgresql.Grant(f"{name}-{suffix}", database=database.name, opts=as_owner, **props)

        # New databases let PUBLIC connect and create temp tables; only the three roles may connect.
        grant("revoke-public-connect", role="public", object_type="database", privileges=[])
        grant("app-connect", role=app.name, object_type="database", privileges=["CONNECT"])
        grant("backup-connect", role=backup.name, object_type="database", privileges=["CONNECT"])
        # PUBLIC keeps nothing on schema public either (on 15+ it had USAGE).
        grant("revoke-public-schema", role="public", schema="public", object_type="schema", privileges=[])
        grant("app-schema", role=app.name, schema="public", object_type="schema", privileges=["USAGE"])
        grant("backup-schema", role=backup.name, schema="public", object_type="schema", privileges=["USAGE"])
        grant("app-tables", role=app.name, schema="public", object_type="table",
              privileges=APP_TABLE_PRIVILEGES, objects=[])
        grant("app-sequences", role=app.name, schema="public", object_type="sequence",
              privileges=APP_SEQUENCE_PRIVILEGES, objects=[])
        grant("backup-tables", role=backup.name, schema="public", object_type="table",
              privileges=BACKUP_TABLE_PRIVILEGES, objects=[])
        grant("backup-sequences", role=backup.name, schema="public", object_type="sequence",
              privileges=BACKUP_SEQUENCE_PRIVILEGES, objects=[])

        # What migrations create later (as the owner role) is usable by the runtime role and dumpable.
        def default_privileges(suffix: str, role: postgresql.Role, object_type: str, privileges: list[str]) -> None:
            postgresql.DefaultPrivileges(
                f"{name}-{suffix}", database=database.name, role=role.name, owner=owner.name, schema="public",
                object_type=object_type, privileges=privileges, opts=as_owner,
            )

        default_privileges("app-default-tables", app, "table", APP_TABLE_PRIVILEGES)
        default_privileges("app-default-sequences", app, "sequence", APP_SEQUENCE_PRIVILEGES)
        default_privileges("backup-default-tables", backup, "table", BACKUP_TABLE_PRIVILEGES)
        default_privileges("backup-default-sequences", backup, "sequence", BACKUP_SEQUENCE_PRIVILEGES)

        self.database_name = database.name
        self.database_url = database_url(app.name, app_password.result, args.host, args.port, database.name, args.sslmode)
        self.migration_url = database_url(
            owner.name, owner_password.result, args.host, args.port, database.name, args.sslmode
        )
        self.backup_url = database_url(
            backup.name, backup_password.result, args.host, args.port, database.name, args.sslmode
        )
        self.register_outputs(
            {
                "database_name": self.database_name,
                "database_url": self.database_url,
                "migration_url": self.migration_url,
                "backup_url": self.backup_url,
            }
        )
