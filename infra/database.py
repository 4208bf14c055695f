"""The app's Postgres database, with pgvector, on an existing managed server.

Proven against a real PostgreSQL 18 server with a managed-service-like, non-superuser admin, over a
stack's whole life: up, refresh, a second up, in-place changes and destroy (tests/database_real/).
The provider behaviour each choice relies on is cited below from cyrilgdn/terraform-provider-postgresql
at ff936b9, the `upstream` of pulumi-postgresql 3.18.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

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
admin cannot revoke PUBLIC's CREATE there: such servers are refused (also by infra/config/)."""
# Explicitly false so the intent is in the desired state and a policy can check it.
class _RoleAttributes(TypedDict):
    superuser: bool
    create_database: bool
    create_role: bool
    replication: bool
    bypass_row_level_security: bool


NO_ELEVATED_ATTRIBUTES: _RoleAttributes = {
    "superuser": False,
    "create_database": False,
    "create_role": False,
    "replication": False,
    "bypass_row_level_security": False,
}
MEMBERSHIP_IGNORED_READBACK = ["withAdminOption"]
"""What GrantRole's read-back may report differently from what it granted (see `_memberships`)."""


def database_url(user: pulumi.Input[str], password: pulumi.Input[str], host: str, port: int,
                 database: pulumi.Input[str], sslmode: str) -> pulumi.Output[str]:
    """A libpq URL that refuses to connect without TLS; always a secret."""
    return pulumi.Output.secret(
        pulumi.Output.format("postgresql://{0}:{1}@{2}:{3}/{4}?sslmode={5}",
                             user, password, host, port, database, sslmode)
    )


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    """Inputs of `Database`."""

    host: str
    """Managed server host; required."""
    admin_user: str
    """Admin role the provider connects as (CREATEDB, CREATEROLE); required.

    Which extensions it must be able to create: docs/explanation/database-design.md."""
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
    """Runtime role connection limit; defaults to 20. 0 stops the app's new sessions (rollback runbook)."""
    backup_connection_limit: int = 2
    """Backup role connection limit (pg_dump uses one); defaults to 2."""
    connection_headroom: int = 5
    """Database connections beyond the three roles' limits, for the provider's admin and monitoring;
    defaults to 5. Without it a saturated app locks the admin out of `pulumi up`/refresh."""
    rotation_connections: int = 0
    """Database connections reserved for the rotation runbook's bridge role while the old and new
    deployments overlap (docs/how-to/runbooks/rotation.md); defaults to 0 outside a rotation."""
    statement_timeout_ms: int = 30_000
    """Runtime role statement timeout (a role default the app can override per session); defaults to 30 s."""
    idle_in_transaction_timeout_ms: int = 60_000
    """Runtime role idle-in-transaction timeout, so a stuck request cannot hold locks; defaults to 60 s."""
    password_version: int = 1
    """Bump to rotate the role passwords; defaults to 1."""
    protect: bool = True
    """Protect and retain the database; defaults to True. Unprotected databases are meant to be destroyed
    (pull-request stacks): their extensions then drop with CASCADE."""

    def __post_init__(self) -> None:
        if self.server_major_version < MIN_SERVER_MAJOR_VERSION:
            raise ValueError(
                f"server_major_version: PostgreSQL {self.server_major_version} is not supported; "
                f"{MIN_SERVER_MAJOR_VERSION}+ is required (older servers let PUBLIC create tables in schema public)"
            )
        for field_name in ("backup_connection_limit", "connection_headroom"):
            if getattr(self, field_name) < 1:
                raise ValueError(f"{field_name}: must be at least 1 (got {getattr(self, field_name)})")
        if self.connection_limit < 0:
            # 0 is CONNECTION LIMIT 0: the app may not connect (rollback.md, "stop writes"); -1 (no
            # limit) is never declared, the database's own limit counts on the role's.
            raise ValueError(f"connection_limit: must be 0 or more (got {self.connection_limit})")
        if self.rotation_connections < 0:
            raise ValueError(f"rotation_connections: must be 0 or more (got {self.rotation_connections})")

    @property
    def database_connection_limit(self) -> int:
        """The database's own limit: every role's limit, a rotation bridge's, and headroom for the admin."""
        return (self.connection_limit + OWNER_CONNECTION_LIMIT + self.backup_connection_limit
                + self.rotation_connections + self.connection_headroom)


@dataclass(frozen=True)
class _Roles:
    owner: postgresql.Role
    app: postgresql.Role
    backup: postgresql.Role


@dataclass(frozen=True)
class _Passwords:
    owner: random.RandomPassword
    app: random.RandomPassword
    backup: random.RandomPassword


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
        # Not `self._name`/`self._provider`: pulumi.Resource keeps its own state under those names.
        self._db_prefix, self._db_args = name, args
        child = pulumi.ResourceOptions(parent=self, provider=self._admin_provider())
        passwords = self._passwords()
        roles = self._roles(child, passwords)
        memberships = self._memberships(child, roles)
        database = self._database(child, roles, memberships)
        in_database = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=memberships, deleted_with=database))
        self._extensions(in_database, database)
        self._grants(in_database, database, roles)
        self._default_privileges(in_database, database, roles)
        self._urls(database, roles, passwords)
        self.register_outputs({
            "database_name": self.database_name,
            "database_url": self.database_url,
            "migration_url": self.migration_url,
            "backup_url": self.backup_url,
        })

    # -- steps ----------------------------------------------------------------------------------
    def _admin_provider(self) -> postgresql.Provider:
        args = self._db_args
        return postgresql.Provider(
            f"{self._db_prefix}-provider",
            host=args.host,
            port=args.port,
            username=args.admin_user,
            password=pulumi.Output.secret(args.admin_password),
            database=args.admin_database,
            sslmode=args.sslmode,
            # provider.go:175-179 -> config.go:242-243: passed to lib/pq as `sslrootcert`.
            # Only set when configured (None is left out of the inputs), so existing stacks see no provider change.
            sslrootcert=args.sslrootcert or None,
            # Managed servers (Neon, Supabase, RDS) never hand out superuser.
            superuser=False,
            connect_timeout=15,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _passwords(self) -> _Passwords:
        keepers = {"version": str(self._db_args.password_version)}

        def password(role: str) -> random.RandomPassword:
            return random.RandomPassword(
                f"{self._db_prefix}-{role}-password", length=40, special=False, keepers=keepers,
                opts=pulumi.ResourceOptions(parent=self),
            )

        return _Passwords(owner=password("owner"), app=password("app"), backup=password("backup"))

    def _roles(self, child: pulumi.ResourceOptions, passwords: _Passwords) -> _Roles:
        args, db = self._db_args, self._db_args.database_name

        def role(suffix: str, password: random.RandomPassword, connection_limit: int, *,
                 statement_timeout: int | None = None,
                 idle_in_transaction_session_timeout: int | None = None) -> postgresql.Role:
            # A timeout left None is left out of the inputs, as if not passed.
            secret: pulumi.Output[str] = pulumi.Output.secret(password.result)
            return postgresql.Role(
                f"{self._db_prefix}-{suffix}", name=f"{db}_{suffix}", login=True,
                password=secret, connection_limit=connection_limit,
                statement_timeout=statement_timeout,
                idle_in_transaction_session_timeout=idle_in_transaction_session_timeout,
                **NO_ELEVATED_ATTRIBUTES, opts=child,
            )

        return _Roles(
            owner=role("owner", passwords.owner, OWNER_CONNECTION_LIMIT),
            # Both timeouts are role defaults (ALTER ROLE ... SET, role.go:1072-1120): they apply to every new
            # session, but the app may still SET them per session. They are a guard, not a sandbox.
            app=role("app", passwords.app, args.connection_limit, statement_timeout=args.statement_timeout_ms,
                     idle_in_transaction_session_timeout=args.idle_in_transaction_timeout_ms),
            backup=role("backup", passwords.backup, args.backup_connection_limit),
        )

    def _memberships(self, child: pulumi.ResourceOptions, roles: _Roles) -> list[postgresql.GrantRole]:
        """The admin is a member (SET, INHERIT) of each role it created.

        Of the owner: the provider runs CREATE EXTENSION (extension.go:87-110) and database-level GRANT/REVOKE
        (grant.go:800-808, helpers.go:142-146) as the plain admin, which without it fail or change nothing;
        `CREATE DATABASE ... OWNER` then finds the membership and keeps it (database.go:143-153).
        Of the runtime and backup roles: deleting the database first terminates its sessions
        (database.go:625-645, `pg_terminate_backend`), which PostgreSQL allows only to a role with the
        privileges of the session's role (or pg_signal_backend, which managed platforms need not give).

        Two options keep every later `up` from undoing this. On PostgreSQL 16+, CREATE ROLE by a CREATEROLE
        admin adds an implicit grant (grantor: the bootstrap superuser, ADMIN only), and the provider's read
        (grant_role.go `readGrantRole`: QueryRow, no ORDER BY) returns that row first, so state says
        withAdminOption=true: ignored, or every preview shows a replace. Declaring true is refused by the
        server ("ADMIN option cannot be granted back to your own grantor"). And a replacement must delete
        before it creates: create-before-delete ends with the old resource's Delete, `REVOKE role FROM admin`
        (grant_role.go:116-118), which takes the membership the new one just granted.
        """
        options = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
            ignore_changes=MEMBERSHIP_IGNORED_READBACK, delete_before_replace=True))

        def membership(suffix: str, role: postgresql.Role) -> postgresql.GrantRole:
            return postgresql.GrantRole(f"{self._db_prefix}-admin-{suffix}-membership", role=self._db_args.admin_user,
                                        grant_role=role.name, opts=options)

        return [membership("owner", roles.owner), membership("app", roles.app), membership("backup", roles.backup)]

    def _database(self, child: pulumi.ResourceOptions, roles: _Roles,
                  memberships: list[postgresql.GrantRole]) -> postgresql.Database:
        args = self._db_args
        return postgresql.Database(
            f"{self._db_prefix}-database",
            name=args.database_name,
            owner=roles.owner.name,
            encoding="UTF8",
            template="template0",
            connection_limit=args.database_connection_limit,
            # After the memberships on create; before them on delete (its sessions are terminated first).
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                depends_on=memberships, protect=args.protect, retain_on_delete=args.protect)),
        )

    def _extensions(self, in_database: pulumi.ResourceOptions, database: postgresql.Database) -> None:
        # deleted_with: the engine skips their deletes when the database goes (DROP DATABASE takes them);
        # their own Delete is `DROP EXTENSION ... RESTRICT` (extension.go:224-231), refused once a column
        # has type vector. Where the database is unprotected, an extension removed on its own cascades too.
        for extension in EXTENSIONS:
            postgresql.Extension(f"{self._db_prefix}-{extension.replace('_', '-')}", name=extension,
                                 database=database.name, drop_cascade=not self._db_args.protect, opts=in_database)

    def _grants(self, in_database: pulumi.ResourceOptions, database: postgresql.Database, roles: _Roles) -> None:
        def grant(suffix: str, *, role: pulumi.Input[str], object_type: str, privileges: list[str],
                  schema: str | None = None, objects: list[str] | None = None) -> None:
            # None is left out of the inputs, as if not passed (an empty `objects` is passed: all objects).
            postgresql.Grant(f"{self._db_prefix}-{suffix}", database=database.name, role=role, schema=schema,
                             object_type=object_type, privileges=privileges, objects=objects, opts=in_database)

        # New databases let PUBLIC connect and create temp tables; only the three roles may connect.
        grant("revoke-public-connect", role="public", object_type="database", privileges=[])
        grant("app-connect", role=roles.app.name, object_type="database", privileges=["CONNECT"])
        grant("backup-connect", role=roles.backup.name, object_type="database", privileges=["CONNECT"])
        # PUBLIC keeps nothing on schema public either (on 15+ it had USAGE).
        grant("revoke-public-schema", role="public", schema="public", object_type="schema", privileges=[])
        grant("app-schema", role=roles.app.name, schema="public", object_type="schema", privileges=["USAGE"])
        grant("backup-schema", role=roles.backup.name, schema="public", object_type="schema", privileges=["USAGE"])
        grant("app-tables", role=roles.app.name, schema="public", object_type="table",
              privileges=APP_TABLE_PRIVILEGES, objects=[])
        grant("app-sequences", role=roles.app.name, schema="public", object_type="sequence",
              privileges=APP_SEQUENCE_PRIVILEGES, objects=[])
        grant("backup-tables", role=roles.backup.name, schema="public", object_type="table",
              privileges=BACKUP_TABLE_PRIVILEGES, objects=[])
        grant("backup-sequences", role=roles.backup.name, schema="public", object_type="sequence",
              privileges=BACKUP_SEQUENCE_PRIVILEGES, objects=[])

    def _default_privileges(self, in_database: pulumi.ResourceOptions, database: postgresql.Database,
                            roles: _Roles) -> None:
        # What migrations create later (as the owner role) is usable by the runtime role and dumpable.
        def default_privileges(suffix: str, role: postgresql.Role, object_type: str, privileges: list[str]) -> None:
            postgresql.DefaultPrivileges(
                f"{self._db_prefix}-{suffix}", database=database.name, role=role.name, owner=roles.owner.name,
                schema="public", object_type=object_type, privileges=privileges, opts=in_database,
            )

        default_privileges("app-default-tables", roles.app, "table", APP_TABLE_PRIVILEGES)
        default_privileges("app-default-sequences", roles.app, "sequence", APP_SEQUENCE_PRIVILEGES)
        default_privileges("backup-default-tables", roles.backup, "table", BACKUP_TABLE_PRIVILEGES)
        default_privileges("backup-default-sequences", roles.backup, "sequence", BACKUP_SEQUENCE_PRIVILEGES)

    def _urls(self, database: postgresql.Database, roles: _Roles, passwords: _Passwords) -> None:
        args = self._db_args

        def url(role: postgresql.Role, password: random.RandomPassword) -> pulumi.Output[str]:
            return database_url(role.name, password.result, args.host, args.port, database.name, args.sslmode)

        self.database_name = database.name
        self.database_url = url(roles.app, passwords.app)
        self.migration_url = url(roles.owner, passwords.owner)
        self.backup_url = url(roles.backup, passwords.backup)
