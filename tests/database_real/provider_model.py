"""A narrow model of what the pinned Postgres provider executes, to apply DECLARED resources to a real server.

pulumi-postgresql 3.18 bridges cyrilgdn/terraform-provider-postgresql; its `upstream` submodule is commit
ff936b9. Every step below follows that commit's source and names the file and function it follows
(paths under `postgresql/`). Only what this program declares is modelled: each resource type's
*create* path, and the read-back of grants (to catch a grant that silently did nothing and would
show a diff forever). A property the model does not know is an error, never ignored.

Like the provider, statements run as the provider's user, through its own connections (one per
transaction; the provider pools with `SetMaxIdleConns(0)`, config.go `Connect`); PostgreSQL
errors fail the resource, and WARNINGs, which lib/pq drops, are recorded so tests can refuse the
silent no-ops they stand for. What differs from the provider, on purpose:
- connection parameters: the capture's provider config is pointed at the test server (host, port,
  password; sslmode `disable` because the embedded PostgreSQL build has no TLS);
- order: dependencies first (the engine's rule), ties in registration order; the engine would run
  independent resources in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from infra import catalog
from tests.realservers.postgres import PostgresServer

PROVIDER_UPSTREAM = "cyrilgdn/terraform-provider-postgresql@ff936b9"
PUBLIC_ROLE = "public"  # helpers.go `publicRole`


class ProviderError(RuntimeError):
    """What the provider would report for a resource: the failing statement and PostgreSQL's error."""


class ModelGap(AssertionError):
    """The capture declares something this model does not know how the provider executes."""


@dataclass
class Applied:
    """What applying one resource did."""

    name: str
    type: str
    statements: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    drift: str | None = None
    """The read-back's disagreement with the declared privileges (a permanent diff), if any."""


# helpers.go `allowedPrivileges` (the object types used here).
ALLOWED_PRIVILEGES = {
    "database": {"ALL", "CREATE", "CONNECT", "TEMPORARY"},
    "table": {"ALL", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"},
    "sequence": {"ALL", "USAGE", "SELECT", "UPDATE"},
    "schema": {"ALL", "CREATE", "USAGE"},
}
# resource_postgresql_grant.go `objectTypes` (relkind per object type).
RELKIND = {"table": "r", "sequence": "S"}
# Properties each modelled type may carry; anything else is a ModelGap.
KNOWN_PROPS = {
    catalog.PG_ROLE: {"name", "login", "password", "connectionLimit", "superuser", "createDatabase", "createRole",
                      "replication", "bypassRowLevelSecurity", "statementTimeout",
                      "idleInTransactionSessionTimeout"},
    catalog.PG_GRANT_ROLE: {"role", "grantRole", "withAdminOption"},
    catalog.PG_DATABASE: {"name", "owner", "encoding", "template", "connectionLimit"},
    catalog.PG_EXTENSION: {"name", "database"},
    catalog.PG_GRANT: {"database", "role", "objectType", "privileges", "schema", "objects"},
    catalog.PG_DEFAULT_PRIVILEGES: {"database", "role", "owner", "schema", "objectType", "privileges"},
}
PROVIDER_PROPS = {"host", "port", "username", "password", "database", "sslmode", "sslrootcert", "superuser",
                  "connectTimeout"}


def q(name: str) -> str:
    """pq.QuoteIdentifier."""
    return '"' + name.replace('"', '""') + '"'


def q_literal(value: str) -> str:
    """helpers.go `pqQuoteLiteral`, wrapped in quotes as the callers do."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class Session:
    """One provider transaction (or autocommit connection) as the provider's user."""

    def __init__(self, conn: psycopg.Connection, record: Applied) -> None:
        self.conn = conn
        self.record = record
        conn.add_notice_handler(self._notice)

    def _notice(self, diag: psycopg.errors.Diagnostic) -> None:
        if diag.severity in ("WARNING",):
            self.record.warnings.append(diag.message_primary or "")

    def exec(self, statement: str, params: Iterable[Any] | None = None) -> None:
        self.record.statements.append(statement)
        try:
            self.conn.execute(sql.SQL(statement), params)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise ProviderError(f"{self.record.name}: {statement}: {exc.diag.message_primary or exc}") from exc

    def value(self, query: str, params: Iterable[Any] | None = None) -> Any:
        row = self.conn.execute(sql.SQL(query), params).fetchone()  # type: ignore[arg-type]
        return None if row is None else row[0]

    def rows(self, query: str, params: Iterable[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql.SQL(query), params).fetchall()  # type: ignore[arg-type]


class ProviderModel:
    """The provider configured by one `pulumi:providers:postgresql` of the capture, aimed at `server`."""

    def __init__(self, provider_props: Mapping[str, Any], server: PostgresServer) -> None:
        unknown = set(provider_props) - PROVIDER_PROPS
        if unknown:
            raise ModelGap(f"provider config not modelled: {sorted(unknown)}")
        if str(provider_props.get("superuser")).lower() != "false":
            raise ModelGap("the model follows the provider's superuser=false paths only")
        if provider_props["username"] != server.admin.user:
            raise ModelGap(f"the stack's admin {provider_props['username']!r} is not the server's {server.admin.user!r}")
        self.server = server
        self.user = provider_props["username"]
        self.admin_database = provider_props.get("database") or "postgres"

    # -- connections (helpers.go startTransaction; config.go Connect) --------------------------
    def _connect(self, database: str | None, autocommit: bool) -> psycopg.Connection:
        return psycopg.connect(
            host=self.server.host, port=self.server.port, user=self.user, password=self.server.admin.password,
            dbname=database or self.admin_database, sslmode="disable", connect_timeout=15,
            application_name="Terraform provider", autocommit=autocommit,
        )

    @contextmanager
    def transaction(self, database: str | None, record: Applied, *, commit: bool = True):
        """startTransaction + Commit; a failure, or `commit=False`, rolls back (deferredRollback)."""
        with self._connect(database, autocommit=False) as conn:
            yield Session(conn, record)
            if commit:
                conn.commit()
            else:
                conn.rollback()

    @contextmanager
    def pool(self, database: str | None, record: Applied):
        """Statements the provider runs on the pool outside a transaction (autocommit)."""
        with self._connect(database, autocommit=True) as conn:
            yield Session(conn, record)

    # -- helpers.go ------------------------------------------------------------------------
    @staticmethod
    def is_member_of_role(s: Session, role: str, member: str) -> bool:
        """helpers.go `isMemberOfRole`: PG16+ counts only memberships with SET."""
        set_option = s.value("SELECT 1 FROM information_schema.columns WHERE table_name='pg_auth_members'"
                             " AND column_name = 'set_option'") is not None
        query = "SELECT 1 FROM pg_auth_members WHERE pg_get_userbyid(roleid) = %s AND pg_get_userbyid(member) = %s"
        if set_option:
            query += " AND set_option"
        return s.value(query, (role, member)) is not None

    def grant_role_membership(self, s: Session, role: str, member: str) -> bool:
        """helpers.go `grantRoleMembership`."""
        if member == role or self.is_member_of_role(s, role, member):
            return False
        s.exec(f"GRANT {q(role)} TO {q(member)}")
        return True

    def revoke_role_membership(self, s: Session, role: str, member: str) -> bool:
        """helpers.go `revokeRoleMembership`."""
        if member == role or not self.is_member_of_role(s, role, member):
            return False
        s.exec(f"REVOKE {q(role)} FROM {q(member)}")
        return True

    @staticmethod
    def is_superuser(s: Session, role: str) -> bool:
        """helpers.go `isSuperuser` (an unknown role is an error there too)."""
        value = s.value("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,))
        if value is None:
            raise ProviderError(f"{s.record.name}: could not check if role {role} is superuser: no rows")
        return bool(value)

    def with_roles_granted(self, s: Session, roles: list[str], fn: Callable[[], None]) -> None:
        """helpers.go `withRolesGranted`: temporarily make the admin a member of each role."""
        if not roles:
            fn()
            return
        current = s.value("SELECT CURRENT_USER")
        if self.is_superuser(s, current):
            fn()
            return
        granted, revoked = [], []
        for role in roles:
            if self.is_superuser(s, role):
                continue  # "could not be granted to current user ... as it's a superuser"
            if self.revoke_role_membership(s, current, role):
                revoked.append(role)
            if self.grant_role_membership(s, role, current):
                granted.append(role)
        fn()
        for role in granted:
            self.revoke_role_membership(s, role, current)
        for role in revoked:
            if s.value("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)) is not None:
                self.grant_role_membership(s, current, role)

    @staticmethod
    def lock_role(s: Session, role: str) -> None:
        """helpers.go `pgLockRole`."""
        s.exec("SET statement_timeout = 0")
        s.exec("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_roles WHERE rolname = %s", (role,))
        s.exec("SELECT pg_advisory_xact_lock(member::bigint) FROM pg_auth_members JOIN pg_roles"
               " ON roleid = pg_roles.oid WHERE rolname = %s", (role,))

    @staticmethod
    def lock_database(s: Session, database: str) -> None:
        """helpers.go `pgLockDatabase`."""
        s.exec("SET statement_timeout = 0")
        s.exec("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_database WHERE datname = %s", (database,))

    @staticmethod
    def validate_privileges(object_type: str, privileges: list[str], record: Applied) -> None:
        """helpers.go `validatePrivileges`."""
        allowed = ALLOWED_PRIVILEGES.get(object_type)
        if allowed is None:
            raise ModelGap(f"{record.name}: object type {object_type} not modelled")
        for privilege in privileges:
            if privilege not in allowed:
                raise ProviderError(f"{record.name}: {privilege} is not an allowed privilege for object type {object_type}")

    # -- resource_postgresql_role.go `resourcePostgreSQLRoleCreate` -------------------------
    def create_role(self, p: Mapping[str, Any], record: Applied) -> None:
        opts = []
        if p.get("password"):
            opts += ["ENCRYPTED", f"PASSWORD {q_literal(p['password'])}"]  # encrypted_password defaults to true
        opts.append("VALID UNTIL 'infinity'")  # valid_until defaults to "infinity"
        opts.append(f"CONNECTION LIMIT {int(p.get('connectionLimit', -1))}")
        for key, on, off, default in (
            ("superuser", "SUPERUSER", "NOSUPERUSER", False), ("createDatabase", "CREATEDB", "NOCREATEDB", False),
            ("createRole", "CREATEROLE", "NOCREATEROLE", False), ("inherit", "INHERIT", "NOINHERIT", True),
            ("login", "LOGIN", "NOLOGIN", False), ("bypassRowLevelSecurity", "BYPASSRLS", "NOBYPASSRLS", False),
            ("replication", "REPLICATION", "NOREPLICATION", False),
        ):
            opts.append(on if p.get(key, default) else off)
        with self.transaction(None, record) as s:
            s.exec(f"CREATE ROLE {q(p['name'])} WITH {' '.join(opts)}")
            # setStatementTimeout / setIdleInTransactionSessionTimeout (role.go:1072-1120)
            for key, setting in (("statementTimeout", "statement_timeout"),
                                 ("idleInTransactionSessionTimeout", "idle_in_transaction_session_timeout")):
                if int(p.get(key, 0)):
                    s.exec(f"ALTER ROLE {q(p['name'])} SET {setting} TO {int(p[key])}")

    # -- resource_postgresql_grant_role.go `resourcePostgreSQLGrantRoleCreate` --------------
    def create_grant_role(self, p: Mapping[str, Any], record: Applied) -> None:
        with self.transaction(None, record) as s:
            s.exec(f"REVOKE {q(p['grantRole'])} FROM {q(p['role'])}")  # revokeRole
            admin = " WITH ADMIN OPTION" if p.get("withAdminOption") else ""
            s.exec(f"GRANT {q(p['grantRole'])} TO {q(p['role'])}{admin}")  # grantRole

    # -- resource_postgresql_database.go `createDatabase` ------------------------------------
    def create_database(self, p: Mapping[str, Any], record: Applied) -> None:
        owner = p.get("owner", "")
        # The lock transaction stays open (and is rolled back) around the grant and CREATE DATABASE.
        with self.transaction(None, record, commit=False) as lock, self.pool(None, record) as s:
            granted = False
            if owner:
                self.lock_role(lock, self.user)
                granted = self.grant_role_membership(s, owner, self.user)
            parts = [f"CREATE DATABASE {q(p['name'])}", f" OWNER {q(owner or self.user)}"]
            parts.append(f" TEMPLATE {q(p['template'])}" if p.get("template") else " TEMPLATE template0")
            parts.append(f" ENCODING '{p['encoding']}' " if p.get("encoding") else " ENCODING 'UTF8'")
            parts.append(" ALLOW_CONNECTIONS true")  # featureDBAllowConnections, allow_connections defaults true
            parts.append(f" CONNECTION LIMIT {int(p.get('connectionLimit', -1))}")
            parts.append(" IS_TEMPLATE false")  # featureDBIsTemplate, is_template unset
            try:
                s.exec("".join(parts))
            finally:
                if granted:  # the deferred revoke
                    self.revoke_role_membership(s, owner, self.user)

    # -- resource_postgresql_extension.go `resourcePostgreSQLExtensionCreate` ----------------
    def create_extension(self, p: Mapping[str, Any], record: Applied) -> None:
        with self.transaction(p.get("database"), record) as s:
            s.exec(f"CREATE EXTENSION IF NOT EXISTS {q(p['name'])}")

    # -- resource_postgresql_grant.go `resourcePostgreSQLGrantCreateOrUpdate` ----------------
    def _roles_to_grant(self, s: Session, p: Mapping[str, Any]) -> list[str]:
        """grant.go `getRolesToGrant` with helpers.go `getTablesOwner`, `getSchemaOwner`, `resolveOwners`."""
        if p["objectType"] == "database":
            return []
        schema = p["schema"]
        owners: list[str] = []
        if p["objectType"] != "schema":
            owners = [r[0] for r in s.rows("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = %s", (schema,))]
        schema_owner = s.value("SELECT rolname FROM pg_namespace JOIN pg_roles ON nspowner = pg_roles.oid"
                               " WHERE nspname = %s", (schema,))
        if schema_owner is None:
            raise ProviderError(f"{s.record.name}: could not find schema '{schema}' while looking for owner")
        if schema_owner not in owners:
            owners.append(schema_owner)
        resolved = []
        for owner in owners:
            if owner == "pg_database_owner":
                owner = s.value("SELECT rolname FROM pg_database JOIN pg_roles ON datdba = pg_roles.oid"
                                " WHERE datname = current_database()")
            resolved.append(owner)
        return resolved

    @staticmethod
    def _grant_query(p: Mapping[str, Any], privileges: list[str]) -> str:
        """grant.go `createGrantQuery`."""
        kind, role = p["objectType"], q(p["role"])
        if kind == "database":
            return f"GRANT {','.join(privileges)} ON DATABASE {q(p['database'])} TO {role}"
        if kind == "schema":
            return f"GRANT {','.join(privileges)} ON SCHEMA {q(p['schema'])} TO {role}"
        if p.get("objects"):
            raise ModelGap("grants on named objects are not modelled")
        return f"GRANT {','.join(privileges)} ON ALL {kind.upper()}S IN SCHEMA {q(p['schema'])} TO {role}"

    @staticmethod
    def _revoke_query(p: Mapping[str, Any]) -> str:
        """grant.go `createRevokeQuery`."""
        kind, role = p["objectType"], q(p["role"])
        if kind == "database":
            return f"REVOKE ALL PRIVILEGES ON DATABASE {q(p['database'])} FROM {role}"
        if kind == "schema":
            return f"REVOKE ALL PRIVILEGES ON SCHEMA {q(p['schema'])} FROM {role}"
        return f"REVOKE ALL PRIVILEGES ON ALL {kind.upper()}S IN SCHEMA {q(p['schema'])} FROM {role}"

    def create_grant(self, p: Mapping[str, Any], record: Applied) -> None:
        kind, privileges = p["objectType"], list(p.get("privileges", []))
        if not p.get("schema") and kind != "database":
            raise ProviderError(f"{record.name}: parameter 'schema' is mandatory for postgresql_grant resource")
        if p.get("objects") and kind in ("database", "schema"):
            raise ProviderError(f"{record.name}: cannot specify `objects` when `object_type` is `database` or `schema`")
        self.validate_privileges(kind, privileges, record)
        with self.transaction(p["database"], record) as s:
            self.lock_role(s, p["role"])
            if kind == "database":
                self.lock_database(s, p["database"])
            owners = self._roles_to_grant(s, p)

            def revoke_then_grant() -> None:
                s.exec(self._revoke_query(p))  # revokeRolePrivileges
                if privileges:  # grantRolePrivileges: nothing to grant is a no-op
                    s.exec(self._grant_query(p, privileges))

            self.with_roles_granted(s, owners, revoke_then_grant)
        with self.transaction(p["database"], record) as s:
            record.drift = self._read_grant(s, p, privileges)

    def _read_grant(self, s: Session, p: Mapping[str, Any], wanted: list[str]) -> str | None:
        """grant.go `readRolePrivileges`: what the next refresh would find, or None if it matches."""
        role_oid = 0 if p["role"] == PUBLIC_ROLE else s.value("SELECT oid FROM pg_roles WHERE rolname = %s", (p["role"],))
        want = set(wanted)
        if p["objectType"] in ("database", "schema"):
            catalog_table, acl, key, value = (
                ("pg_database", "datacl", "datname", p["database"]) if p["objectType"] == "database"
                else ("pg_namespace", "nspacl", "nspname", p["schema"])
            )
            got = s.value(f"SELECT array_agg(privilege_type) FROM (SELECT (aclexplode({acl})).* FROM {catalog_table}"
                          f" WHERE {key}=%s) AS privileges WHERE grantee = %s", (value, role_oid))
            got_set = set(got or [])
            return None if got_set == want else f"{p['objectType']} privileges read back as {sorted(got_set)}"
        rows = s.rows(
            "SELECT pg_class.relname, array_remove(array_agg(privilege_type), NULL) FROM pg_class"
            " JOIN pg_namespace ON pg_namespace.oid = pg_class.relnamespace LEFT JOIN ("
            " SELECT acls.* FROM (SELECT relname, relnamespace, relkind, (aclexplode(relacl)).* FROM pg_class c)"
            " AS acls WHERE grantee=%s) privs USING (relname, relnamespace, relkind)"
            " WHERE nspname = %s AND relkind = %s GROUP BY pg_class.relname",
            (role_oid, p["schema"], RELKIND[p["objectType"]]),
        )
        for name, got in rows:
            if set(got) != want:
                return f"{p['objectType']} {name} privileges read back as {sorted(got)}"
        return None

    # -- resource_postgresql_default_privileges.go `resourcePostgreSQLDefaultPrivilegesCreate` --
    def create_default_privileges(self, p: Mapping[str, Any], record: Applied) -> None:
        kind, privileges = p["objectType"], list(p.get("privileges", []))
        self.validate_privileges(kind, privileges, record)
        in_schema = f"IN SCHEMA {q(p['schema'])}" if p.get("schema") else ""
        with self.transaction(p["database"], record) as s:
            self.lock_role(s, p["owner"])

            def revoke_then_grant() -> None:
                s.exec(f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(p['owner'])} {in_schema} REVOKE ALL ON {kind.upper()}S"
                       f" FROM {q(p['role'])}")  # revokeRoleDefaultPrivileges
                if privileges:  # grantRoleDefaultPrivileges
                    s.exec(f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(p['owner'])} {in_schema} GRANT {','.join(privileges)}"
                           f" ON {kind.upper()}S TO {q(p['role'])}")

            self.with_roles_granted(s, [p["owner"]], revoke_then_grant)

    CREATE = {
        catalog.PG_ROLE: create_role,
        catalog.PG_GRANT_ROLE: create_grant_role,
        catalog.PG_DATABASE: create_database,
        catalog.PG_EXTENSION: create_extension,
        catalog.PG_GRANT: create_grant,
        catalog.PG_DEFAULT_PRIVILEGES: create_default_privileges,
    }

    def create(self, resource: Any) -> Applied:
        """Apply one captured resource; raises ProviderError where the provider would fail."""
        record = Applied(name=resource.name, type=resource.type)
        props = resource.plain
        unknown = set(props) - KNOWN_PROPS.get(resource.type, set())
        if resource.type not in self.CREATE or unknown:
            raise ModelGap(f"{resource.name}: {resource.type} {sorted(unknown)} not modelled")
        self.CREATE[resource.type](self, props, record)
        return record


def creation_order(resources: list[Any]) -> list[Any]:
    """Dependencies first (the engine's rule), ties in registration order."""
    by_urn = {r.urn: r for r in resources}
    done: set[str] = set()
    order: list[Any] = []
    pending = list(resources)
    while pending:
        ready = next((r for r in pending if all(d in done or d not in by_urn for d in r.dependencies)), None)
        if ready is None:
            raise ModelGap(f"dependency cycle among {[r.name for r in pending]}")
        pending.remove(ready)
        done.add(ready.urn)
        order.append(ready)
    return order


def apply_capture(capture: Any, server: PostgresServer, *, skip: Iterable[str] = ()) -> list[Applied]:
    """Create every postgresql resource of `capture` on `server`, each through its own provider.

    `skip` names resources to leave out (to show what happens without them). Stops at the
    first resource the provider would fail on, raising ProviderError.
    """
    skipped = set(skip)
    providers = {
        r.urn: ProviderModel(r.plain, server) for r in capture.resources if r.type == catalog.PG_PROVIDER
    }
    postgres = [r for r in capture.resources if r.type.startswith("postgresql:") and r.name not in skipped]
    applied = []
    for resource in creation_order(postgres):
        if resource.provider is None:
            raise ModelGap(f"{resource.name}: uses the default provider, which the program never configures")
        applied.append(providers[resource.provider.rsplit("::", 1)[0]].create(resource))
    return applied
