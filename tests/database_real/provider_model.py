"""A narrow model of what the pinned Postgres provider executes, to apply DECLARED resources to a real server.

pulumi-postgresql 3.18 bridges cyrilgdn/terraform-provider-postgresql; its `upstream` submodule is commit
ff936b9. Every step below follows that commit's source and names the file and function it follows
(paths under `postgresql/`). Only what this program declares is modelled, for each resource type the
whole CRUD the engine drives: Create, Read (refresh, and the read every Create/Update ends with),
Update and Delete; and the diff the Terraform SDK computes between read-back state and declared
inputs (`diff`), which decides update or replace. A property the model does not know is an error,
never ignored.

Like the provider, statements run as the provider's user, through its own connections (one per
transaction; the provider pools with `SetMaxIdleConns(0)`, config.go `Connect`); PostgreSQL
errors fail the resource, and WARNINGs, which lib/pq drops, are recorded so tests can refuse the
silent no-ops they stand for. What differs from the provider, on purpose:
- connection parameters: the capture's provider config is pointed at the test server (host, port,
  password; sslmode `disable` because the embedded PostgreSQL build has no TLS);
- order and parallelism are the engine's business (engine_model.py); apply_capture here creates in
  dependency order, ties in registration order, one at a time.
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
    """What one provider call (create, read, update or delete) did."""

    name: str
    type: str
    statements: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    state: dict[str, Any] | None = None
    """The resource's state after the call (what the provider returns); None once it is gone."""
    drift: str | None = None
    """After a create: the declared properties the read-back disagrees with (a permanent diff), if any."""


# --- schemas: what the SDK diff needs to know of each attribute ---------------------------------

@dataclass(frozen=True)
class Attr:
    """One attribute of a resource schema, as the provider declares it (camelCase: the bridge's name)."""

    kind: str = "str"
    """str, int, bool, set or list: how an unset value reads (its zero value) and how values compare."""
    default: Any = None
    """`Default:`: what an unset attribute means."""
    force_new: bool = False
    """`ForceNew:`: a change replaces the resource."""
    computed: bool = False
    """`Optional+Computed:`: an unset attribute takes whatever the server has (no diff)."""


ZERO = {"str": "", "int": 0, "bool": False, "set": frozenset(), "list": ()}

# resource_postgresql_role.go `resourcePostgreSQLRole` (Schema; no ForceNew).
ROLE_SCHEMA = {
    "name": Attr(), "password": Attr(), "encryptedPassword": Attr("bool", True), "roles": Attr("set"),
    "searchPath": Attr("list"), "validUntil": Attr(default="infinity"), "connectionLimit": Attr("int", -1),
    "superuser": Attr("bool", False), "createDatabase": Attr("bool", False), "createRole": Attr("bool", False),
    "idleInTransactionSessionTimeout": Attr("int"), "inherit": Attr("bool", True), "login": Attr("bool", False),
    "replication": Attr("bool", False), "bypassRowLevelSecurity": Attr("bool", False),
    "skipDropRole": Attr("bool", False), "skipReassignOwned": Attr("bool", False),
    "statementTimeout": Attr("int"), "assumeRole": Attr(),
}
# resource_postgresql_grant_role.go:28-55: every attribute ForceNew; no Update.
GRANT_ROLE_SCHEMA = {
    "role": Attr(force_new=True), "grantRole": Attr(force_new=True),
    "withAdminOption": Attr("bool", False, force_new=True),
}
# resource_postgresql_database.go:30-107.
DATABASE_SCHEMA = {
    "name": Attr(), "owner": Attr(computed=True), "template": Attr(force_new=True, computed=True),
    "encoding": Attr(force_new=True, computed=True), "lcCollate": Attr(force_new=True, computed=True),
    "lcCtype": Attr(force_new=True, computed=True), "tablespaceName": Attr(computed=True),
    "connectionLimit": Attr("int", -1), "allowConnections": Attr("bool", True),
    "isTemplate": Attr("bool", computed=True), "alterObjectOwnership": Attr("bool", False),
}
# resource_postgresql_extension.go:24-72.
EXTENSION_SCHEMA = {
    "name": Attr(force_new=True), "schema": Attr(computed=True), "version": Attr(computed=True),
    "database": Attr(force_new=True, computed=True), "dropCascade": Attr("bool", False),
    "createCascade": Attr("bool", False),
}
# resource_postgresql_grant.go:39-105: all ForceNew but `privileges`.
GRANT_SCHEMA = {
    "role": Attr(force_new=True), "database": Attr(force_new=True), "schema": Attr(force_new=True),
    "objectType": Attr(force_new=True), "objects": Attr("set", force_new=True),
    "columns": Attr("set", force_new=True), "privileges": Attr("set"),
    "withGrantOption": Attr("bool", False, force_new=True),
}
# resource_postgresql_default_privileges.go:16-76: all ForceNew but `privileges`.
DEFAULT_PRIVILEGES_SCHEMA = {
    "role": Attr(force_new=True), "database": Attr(force_new=True), "owner": Attr(force_new=True),
    "schema": Attr(force_new=True), "objectType": Attr(force_new=True), "privileges": Attr("set"),
    "withGrantOption": Attr("bool", False, force_new=True),
}
SCHEMAS = {
    catalog.PG_ROLE: ROLE_SCHEMA, catalog.PG_GRANT_ROLE: GRANT_ROLE_SCHEMA, catalog.PG_DATABASE: DATABASE_SCHEMA,
    catalog.PG_EXTENSION: EXTENSION_SCHEMA, catalog.PG_GRANT: GRANT_SCHEMA,
    catalog.PG_DEFAULT_PRIVILEGES: DEFAULT_PRIVILEGES_SCHEMA,
}
PROVIDER_PROPS = {"host", "port", "username", "password", "database", "sslmode", "sslrootcert", "superuser",
                  "connectTimeout"}


def _comparable(attr: Attr, value: Any) -> Any:
    if attr.kind == "set":
        return frozenset(str(v) for v in value or ())
    if attr.kind == "list":
        return tuple(str(v) for v in value or ())
    if attr.kind == "int":
        return int(value or 0)
    if attr.kind == "bool":
        return bool(value)
    return "" if value is None else str(value)


_SKIP = object()


def wanted(attr: Attr, inputs: Mapping[str, Any], name: str) -> Any:
    """What the declaration asks for: the value, else `Default:`, else nothing (Computed), else the zero value.

    terraform-plugin-sdk v2.40.1 (the provider's go.mod) `helper/schema/schema.go:1709` `diffString`:
    an unset attribute compares as its type's zero value (`schema.Type.Zero()`), and a Computed one
    that is unset has no diff.
    """
    if name in inputs and inputs[name] is not None:
        return _comparable(attr, inputs[name])
    if attr.default is not None:
        return _comparable(attr, attr.default)
    return _SKIP if attr.computed else ZERO[attr.kind]


@dataclass(frozen=True)
class Diff:
    changed: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()


def diff(type_: str, state: Mapping[str, Any], inputs: Mapping[str, Any], ignore_changes: Iterable[str] = ()) -> Diff:
    """The SDK's diff of read-back `state` against declared `inputs`: changed attributes, and which force a replace.

    `ignore_changes` drops an attribute's diff before ForceNew is looked at, as the bridge does
    (pulumi-terraform-bridge `pkg/tfshim/sdk-v2/provider2.go` PlanResourceChange: `TransformInstanceDiff`
    → `instance_diff.go` `processIgnoreChanges`).
    """
    schema, ignored = SCHEMAS[type_], set(ignore_changes)
    changed, replace = [], []
    for name, attr in schema.items():
        want = wanted(attr, inputs, name)
        if want is _SKIP or name in ignored:
            continue
        if want != _comparable(attr, state.get(name)):
            changed.append(name)
            if attr.force_new:
                replace.append(name)
    return Diff(tuple(changed), tuple(replace))


# helpers.go `allowedPrivileges` (the object types used here).
ALLOWED_PRIVILEGES = {
    "database": {"ALL", "CREATE", "CONNECT", "TEMPORARY"},
    "table": {"ALL", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"},
    "sequence": {"ALL", "USAGE", "SELECT", "UPDATE"},
    "schema": {"ALL", "CREATE", "USAGE"},
}
# resource_postgresql_grant.go `objectTypes` (relkind per object type).
RELKIND = {"table": "r", "sequence": "S"}


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
            self.conn.execute(sql.SQL(statement), params)  # type: ignore[arg-type]  # SQL text of the provider, not a literal
        except psycopg.Error as exc:
            raise ProviderError(f"{self.record.name}: {statement}: {exc.diag.message_primary or exc}") from exc

    def value(self, query: str, params: Iterable[Any] | None = None) -> Any:
        row = self.row(query, params)
        return None if row is None else row[0]

    def row(self, query: str, params: Iterable[Any] | None = None) -> tuple[Any, ...] | None:
        """database/sql `QueryRow`: the first row the server sends, in its order."""
        try:
            return self.conn.execute(sql.SQL(query), params).fetchone()  # type: ignore[arg-type]  # SQL text of the provider, not a literal
        except psycopg.Error as exc:
            raise ProviderError(f"{self.record.name}: {exc.diag.message_primary or exc}") from exc

    def rows(self, query: str, params: Iterable[Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql.SQL(query), params).fetchall()  # type: ignore[arg-type]  # SQL text of the provider, not a literal
        except psycopg.Error as exc:
            raise ProviderError(f"{self.record.name}: {exc.diag.message_primary or exc}") from exc


class ProviderModel:
    """The provider configured by one `pulumi:providers:postgresql` of the capture, aimed at `server`."""

    def __init__(self, provider_props: Mapping[str, Any], server: PostgresServer) -> None:
        unknown = set(provider_props) - PROVIDER_PROPS
        if unknown:
            raise ModelGap(f"provider config not modelled: {sorted(unknown)}")
        if str(provider_props.get("superuser")).lower() != "false":
            raise ModelGap("the model follows the provider's superuser=false paths only")
        if provider_props["username"] != server.admin.user:
            raise ModelGap(f"the stack's admin {provider_props['username']!r} is not the server's "
                           f"{server.admin.user!r}")
        self.server = server
        self.user = provider_props["username"]
        self.admin_database = provider_props.get("database") or "postgres"

    # -- connections (helpers.go startTransaction; config.go Connect) --------------------------
    def _connect(self, database: str | None, autocommit: bool) -> psycopg.Connection:
        try:
            return psycopg.connect(
                host=self.server.host, port=self.server.port, user=self.user, password=self.server.admin.password,
                dbname=database or self.admin_database, sslmode="disable", connect_timeout=15,
                application_name="Terraform provider", autocommit=autocommit,
            )
        except psycopg.OperationalError as exc:
            raise ProviderError(f"could not connect to {database or self.admin_database}: {exc}") from exc

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
                raise ProviderError(f"{record.name}: {privilege} is not an allowed privilege "
                                    f"for object type {object_type}")

    @staticmethod
    def privileges_equal(granted: set[str], wanted_: set[str], object_type: str) -> bool:
        """helpers.go `resourcePrivilegesEqual` (ALL means every privilege of the type)."""
        if granted == wanted_:
            return True
        return "ALL" in wanted_ and granted == ALLOWED_PRIVILEGES[object_type] - {"ALL"}

    def db_exists(self, s: Session, database: str) -> bool:
        """helpers.go `dbExists`."""
        return s.value("SELECT datname FROM pg_database WHERE datname=%s", (database,)) is not None

    # ===========================================================================================
    # Role: resource_postgresql_role.go
    # ===========================================================================================
    def create_role(self, p: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLRoleCreate`."""
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

    def read_role(self, state: Mapping[str, Any], record: Applied) -> dict[str, Any] | None:
        """`resourcePostgreSQLRoleReadImpl` (role.go:442-546); the password comes from state because the
        provider is configured with superuser=false (`readRolePassword`, role.go:612-623)."""
        with self.pool(None, record) as s:
            row = s.row(
                "SELECT ARRAY(SELECT pg_get_userbyid(roleid) FROM pg_catalog.pg_auth_members members"
                " WHERE member = pg_roles.oid), rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb,"
                " rolcanlogin, rolconnlimit, COALESCE(rolvaliduntil::TEXT, 'infinity'), rolconfig, rolreplication,"
                " rolbypassrls FROM pg_catalog.pg_roles WHERE rolname=%s", (state["name"],))
        if row is None:
            return None  # "[WARN] PostgreSQL ROLE (%s) not found": SetId("")
        roles, name, superuser, inherit, createrole, createdb, login, connlimit, valid, config, repl, bypass = row
        settings = dict(item.split("=", 1) for item in config or [])
        return {
            **state, "name": name, "connectionLimit": connlimit, "createDatabase": createdb, "createRole": createrole,
            "encryptedPassword": True, "inherit": inherit, "login": login, "superuser": superuser,
            "validUntil": valid, "replication": repl, "bypassRowLevelSecurity": bypass, "roles": sorted(roles),
            "searchPath": [p.strip('"') for p in settings["search_path"].split(", ")] if "search_path" in settings
            else [],
            "assumeRole": settings.get("role", ""),
            "statementTimeout": int(settings.get("statement_timeout", 0)),
            "idleInTransactionSessionTimeout": int(settings.get("idle_in_transaction_session_timeout", 0)),
        }

    @staticmethod
    def _alter_role_flags(s: Session, role: str, new: Mapping[str, Any], changed: Callable[[str], bool]) -> None:
        """The setters of the role's attributes and connection limit, each only when it changed."""
        for key, on, off in (("bypassRowLevelSecurity", "BYPASSRLS", "NOBYPASSRLS"),
                             ("connectionLimit", None, None), ("createDatabase", "CREATEDB", "NOCREATEDB"),
                             ("createRole", "CREATEROLE", "NOCREATEROLE"), ("inherit", "INHERIT", "NOINHERIT"),
                             ("login", "LOGIN", "NOLOGIN"), ("replication", "REPLICATION", "NOREPLICATION"),
                             ("superuser", "SUPERUSER", "NOSUPERUSER")):
            if not changed(key):
                continue
            if on is None:
                s.exec(f"ALTER ROLE {q(role)} CONNECTION LIMIT {int(new.get(key, -1))}")
            else:
                value = wanted(ROLE_SCHEMA[key], new, key)
                s.exec(f"ALTER ROLE {q(role)} WITH {on if value else off}")

    def update_role(self, old: Mapping[str, Any], new: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLRoleUpdate` (role.go:671-757): each setter runs only when its attribute changed,
        except the role memberships and search_path, which it always re-applies."""
        def changed(key: str) -> bool:
            attr = ROLE_SCHEMA[key]
            return wanted(attr, new, key) != _comparable(attr, old.get(key))

        role = new["name"]
        with self.transaction(None, record) as s:
            self.lock_role(s, old["name"])
            if changed("name"):
                s.exec(f"ALTER ROLE {q(old['name'])} RENAME TO {q(role)}")
            if (changed("password") or changed("name")) and new.get("password"):
                s.exec(f"ALTER ROLE {q(role)} PASSWORD {q_literal(new['password'])}")
            self._alter_role_flags(s, role, new, changed)
            if changed("validUntil"):
                s.exec(f"ALTER ROLE {q(role)} VALID UNTIL {q_literal(str(new.get('validUntil', 'infinity')))}")
            # revokeRoles (role.go:989-1029): every role it is a member of; then grantRoles.
            for (granted,) in s.rows("SELECT pg_get_userbyid(roleid) FROM pg_catalog.pg_auth_members members"
                                     " JOIN pg_catalog.pg_roles ON members.member = pg_roles.oid WHERE rolname = %s",
                                     (role,)):
                s.exec(f"REVOKE {q(granted)} FROM {q(role)}")
            for granted in new.get("roles") or []:
                s.exec(f"GRANT {q(granted)} TO {q(role)}")
            path = new.get("searchPath") or []
            s.exec(f"ALTER ROLE {q(role)} SET search_path TO {', '.join(q(p) for p in path) or 'DEFAULT'}")
            for key, setting in (("statementTimeout", "statement_timeout"),
                                 ("idleInTransactionSessionTimeout", "idle_in_transaction_session_timeout")):
                if changed(key):
                    value = int(new.get(key) or 0)
                    s.exec(f"ALTER ROLE {q(role)} SET {setting} TO {value}" if value
                           else f"ALTER ROLE {q(role)} RESET {setting}")
            if changed("assumeRole"):
                raise ModelGap(f"{record.name}: assume_role not modelled")

    def delete_role(self, state: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLRoleDelete` (role.go:382-423): in the admin's database, as one transaction."""
        role = state["name"]
        with self.transaction(None, record) as s:
            self.lock_role(s, role)
            if not state.get("skipReassignOwned"):
                def reassign_and_drop_owned() -> None:
                    s.exec(f"REASSIGN OWNED BY {q(role)} TO {q(self.user)}")
                    s.exec(f"DROP OWNED BY {q(role)}")
                self.with_roles_granted(s, [role], reassign_and_drop_owned)
            if not state.get("skipDropRole"):
                s.exec(f"DROP ROLE {q(role)}")

    # ===========================================================================================
    # GrantRole: resource_postgresql_grant_role.go (Create, Read, Delete; no Update)
    # ===========================================================================================
    def create_grant_role(self, p: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLGrantRoleCreate` (:75-102): revoke, then grant, in one transaction."""
        with self.transaction(None, record) as s:
            s.exec(f"REVOKE {q(p['grantRole'])} FROM {q(p['role'])}")  # revokeRole
            admin = " WITH ADMIN OPTION" if p.get("withAdminOption") else ""
            s.exec(f"GRANT {q(p['grantRole'])} TO {q(p['role'])}{admin}")  # grantRole

    def read_grant_role(self, state: Mapping[str, Any], record: Applied) -> dict[str, Any] | None:
        """`readGrantRole` (:127-156): `QueryRow` of the membership, no ORDER BY: the first row the server
        returns. On PostgreSQL 16+ there can be two: the CREATEROLE implicit grant and the declared one."""
        with self.pool(None, record) as s:
            row = s.row("SELECT pg_get_userbyid(member) as role, pg_get_userbyid(roleid) as grant_role, admin_option"
                        " FROM pg_auth_members WHERE pg_get_userbyid(member) = %s AND pg_get_userbyid(roleid) = %s",
                        (state["role"], state["grantRole"]))
        if row is None:
            return None
        return {**state, "role": row[0], "grantRole": row[1], "withAdminOption": bool(row[2])}

    def delete_grant_role(self, state: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLGrantRoleDelete` (:104-125): `REVOKE grant_role FROM role`."""
        with self.transaction(None, record) as s:
            s.exec(f"REVOKE {q(state['grantRole'])} FROM {q(state['role'])}")

    # ===========================================================================================
    # Database: resource_postgresql_database.go
    # ===========================================================================================
    def create_database(self, p: Mapping[str, Any], record: Applied) -> None:
        """`createDatabase`."""
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

    def read_database(self, state: Mapping[str, Any], record: Applied) -> dict[str, Any] | None:
        """`resourcePostgreSQLDatabaseReadImpl` (:319-405), on the provider's own connection."""
        with self.pool(None, record) as s:
            found = s.row("SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba) from pg_database d WHERE datname=%s",
                          (state["name"],))
            if found is None:
                return None
            encoding, collate, ctype, tablespace, connlimit, allow, template = s.row(
                "SELECT pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, ts.spcname,"
                " d.datconnlimit, d.datallowconn, d.datistemplate FROM pg_catalog.pg_database AS d,"
                " pg_catalog.pg_tablespace AS ts WHERE d.datname = %s AND d.dattablespace = ts.oid",
                (state["name"],))
        return {**state, "name": found[0], "owner": found[1], "encoding": encoding, "lcCollate": collate,
                "lcCtype": ctype, "tablespaceName": tablespace, "connectionLimit": connlimit,
                "template": state.get("template") or "template0", "allowConnections": allow, "isTemplate": template}

    def update_database(self, old: Mapping[str, Any], new: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLDatabaseUpdate` (:407-440): setDBName ... setDBIsTemplate, each if changed."""
        def changed(key: str) -> bool:
            want = wanted(DATABASE_SCHEMA[key], new, key)
            return want is not _SKIP and want != _comparable(DATABASE_SCHEMA[key], old.get(key))

        name = new["name"]
        if changed("owner") or changed("tablespaceName") or changed("alterObjectOwnership"):
            raise ModelGap(f"{record.name}: owner/tablespace changes are not modelled")
        with self.pool(None, record) as s:
            if changed("name"):
                s.exec(f"ALTER DATABASE {q(old['name'])} RENAME TO {q(name)}")
            if changed("connectionLimit"):  # setDBConnLimit
                s.exec(f"ALTER DATABASE {q(name)} CONNECTION LIMIT = {int(new.get('connectionLimit', -1))}")
            if changed("allowConnections"):  # setDBAllowConns
                value = "true" if wanted(DATABASE_SCHEMA["allowConnections"], new, "allowConnections") else "false"
                s.exec(f"ALTER DATABASE {q(name)} ALLOW_CONNECTIONS {value}")
            if changed("isTemplate"):  # setDBIsTemplate
                s.exec(f"ALTER DATABASE {q(name)} IS_TEMPLATE {'true' if new.get('isTemplate') else 'false'}")

    def delete_database(self, state: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLDatabaseDelete` (:252-302) with `terminateBConnections` (:625-645)."""
        owner, name = state.get("owner", ""), state["name"]
        with self.transaction(None, record, commit=False) as lock, self.pool(None, record) as s:
            granted = False
            if owner:
                self.lock_role(lock, self.user)
                granted = self.grant_role_membership(s, owner, self.user)
            try:
                if state.get("isTemplate"):
                    s.exec(f"ALTER DATABASE {q(name)} IS_TEMPLATE false")
                # Block new connections, then end every other session in it; lib/pq's Exec of a SELECT
                # fails as a whole when one pg_terminate_backend call raises.
                s.exec(f"ALTER DATABASE {q(name)} ALLOW_CONNECTIONS false")
                s.exec(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
                       " AND pid <> pg_backend_pid()")
                s.exec(f"DROP DATABASE {q(name)} WITH ( FORCE )")  # featureForceDropDatabase (PG 13+)
            finally:
                if granted:
                    self.revoke_role_membership(s, owner, self.user)

    # ===========================================================================================
    # Extension: resource_postgresql_extension.go
    # ===========================================================================================
    def create_extension(self, p: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLExtensionCreate` (:74-121)."""
        if p.get("schema") or p.get("version") or p.get("createCascade"):
            raise ModelGap(f"{record.name}: extension schema/version/cascade on create not modelled")
        with self.transaction(p.get("database"), record) as s:
            s.exec(f"CREATE EXTENSION IF NOT EXISTS {q(p['name'])}")

    def read_extension(self, state: Mapping[str, Any], record: Applied) -> dict[str, Any] | None:
        """`resourcePostgreSQLExtensionReadImpl` (:166-199): in the extension's database."""
        database = state.get("database") or self.admin_database
        with self.transaction(database, record, commit=False) as s:
            row = s.row("SELECT n.nspname, e.extversion FROM pg_catalog.pg_extension e, pg_catalog.pg_namespace n"
                        " WHERE n.oid = e.extnamespace AND e.extname = %s", (state["name"],))
        if row is None:
            return None
        return {**state, "schema": row[0], "version": row[1], "database": database}

    def update_extension(self, old: Mapping[str, Any], new: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLExtensionUpdate` (:237-266): schema and version only; drop_cascade lives in state."""
        for key in ("schema", "version"):
            want = wanted(EXTENSION_SCHEMA[key], new, key)
            if want is not _SKIP and want != _comparable(EXTENSION_SCHEMA[key], old.get(key)):
                raise ModelGap(f"{record.name}: extension {key} changes are not modelled")
        with self.transaction(new.get("database"), record):
            pass  # nothing to run: only state attributes (drop_cascade, create_cascade) changed

    def delete_extension(self, state: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLExtensionDelete` (:201-235): `DROP EXTENSION %s RESTRICT|CASCADE`."""
        mode = "CASCADE" if state.get("dropCascade") else "RESTRICT"
        with self.transaction(state.get("database"), record) as s:
            s.exec(f"DROP EXTENSION {q(state['name'])} {mode} ")

    # ===========================================================================================
    # Grant: resource_postgresql_grant.go
    # ===========================================================================================
    def _roles_to_grant(self, s: Session, p: Mapping[str, Any]) -> list[str]:
        """grant.go `getRolesToGrant` with helpers.go `getTablesOwner`, `getSchemaOwner`, `resolveOwners`."""
        if p["objectType"] == "database":
            return []
        schema = p["schema"]
        owners: list[str] = []
        if p["objectType"] != "schema":
            owners = [r[0] for r in s.rows("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = %s",
                                           (schema,))]
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
        """`resourcePostgreSQLGrantCreateOrUpdate` (:134-209); Update is the same with the previous values
        for the revoke, which for the object types here does not depend on them."""
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

    def update_grant(self, old: Mapping[str, Any], new: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLGrantUpdate` (:130-132) = CreateOrUpdate with `usePrevious`."""
        del old  # the revoke of ALL objects of a type names no privilege, so the previous values change nothing
        self.create_grant(new, record)

    def _role_db_schema_exist(self, state: Mapping[str, Any], record: Applied) -> bool:
        """grant.go `checkRoleDBSchemaExists` (:743-787)."""
        with self.pool(None, record) as s:
            if not self.db_exists(s, state["database"]):
                return False
        with self.transaction(state["database"], record, commit=False) as s:
            if state["role"] != PUBLIC_ROLE and s.value("SELECT 1 FROM pg_roles WHERE rolname=%s",
                                                        (state["role"],)) is None:
                return False
            if state.get("objectType") != "database" and state.get("schema"):
                return s.value("SELECT 1 FROM pg_namespace WHERE nspname=%s", (state["schema"],)) is not None
        return True

    def read_grant(self, state: Mapping[str, Any], record: Applied) -> dict[str, Any] | None:
        """`resourcePostgreSQLGrantRead` (:107-128) → `readRolePrivileges` (:433-505): the privileges read
        replace the state's only when they differ (for tables and sequences: the first object that differs)."""
        if not self._role_db_schema_exist(state, record):
            return None
        with self.transaction(state["database"], record, commit=False) as s:
            granted = self._granted(s, state)
        kind, want = state["objectType"], {str(p) for p in state.get("privileges") or []}
        if granted is None or self.privileges_equal(granted, want, kind):
            return dict(state)
        return {**state, "privileges": sorted(granted)}

    def _granted(self, s: Session, state: Mapping[str, Any]) -> set[str] | None:
        role_oid = 0 if state["role"] == PUBLIC_ROLE else s.value("SELECT oid FROM pg_roles WHERE rolname = %s",
                                                                   (state["role"],))
        kind = state["objectType"]
        if kind in ("database", "schema"):
            table, acl, key, value = (("pg_database", "datacl", "datname", state["database"]) if kind == "database"
                                      else ("pg_namespace", "nspacl", "nspname", state["schema"]))
            got = s.value(f"SELECT array_agg(privilege_type) FROM (SELECT (aclexplode({acl})).* FROM {table}"
                          f" WHERE {key}=%s) AS privileges WHERE grantee = %s", (value, role_oid))
            return set(got or [])
        want = {str(p) for p in state.get("privileges") or []}
        for _name, got in s.rows(
            "SELECT pg_class.relname, array_remove(array_agg(privilege_type), NULL) FROM pg_class"
            " JOIN pg_namespace ON pg_namespace.oid = pg_class.relnamespace LEFT JOIN ("
            " SELECT acls.* FROM (SELECT relname, relnamespace, relkind, (aclexplode(relacl)).* FROM pg_class c)"
            " AS acls WHERE grantee=%s) privs USING (relname, relnamespace, relkind)"
            " WHERE nspname = %s AND relkind = %s GROUP BY pg_class.relname",
            (role_oid, state["schema"], RELKIND[kind]),
        ):
            if not self.privileges_equal(set(got), want, kind):
                return set(got)
        return None

    def delete_grant(self, state: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLGrantDelete` (:211-255): revoke, with the owners' roles borrowed."""
        with self.transaction(state["database"], record) as s:
            self.lock_role(s, state["role"])
            if state["objectType"] == "database":
                self.lock_database(s, state["database"])
            owners = self._roles_to_grant(s, state)
            self.with_roles_granted(s, owners, lambda: s.exec(self._revoke_query(state)))

    # ===========================================================================================
    # DefaultPrivileges: resource_postgresql_default_privileges.go
    # ===========================================================================================
    def create_default_privileges(self, p: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLDefaultPrivilegesCreate` (:110-185), also its Update."""
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

    def update_default_privileges(self, old: Mapping[str, Any], new: Mapping[str, Any], record: Applied) -> None:
        """Update is `resourcePostgreSQLDefaultPrivilegesCreate` itself (:19)."""
        del old
        self.create_default_privileges(new, record)

    def read_default_privileges(self, state: Mapping[str, Any], record: Applied) -> dict[str, Any] | None:
        """`resourcePostgreSQLDefaultPrivilegesRead` (:78-108) → `readRoleDefaultPrivileges` (:218-289)."""
        if not self._role_db_schema_exist(state, record):
            return None
        with self.transaction(state["database"], record, commit=False) as s:
            self.lock_role(s, state["owner"])
            role_oid = 0 if state["role"] == PUBLIC_ROLE else s.value(
                "SELECT oid FROM pg_roles WHERE rolname = %s", (state["role"],))
            got = s.value(
                "SELECT array_agg(prtype) FROM (SELECT defaclnamespace, (aclexplode(defaclacl)).* FROM pg_default_acl"
                " WHERE defaclobjtype = %s) AS t (namespace, grantor_oid, grantee_oid, prtype, grantable)"
                " JOIN pg_namespace ON pg_namespace.oid = namespace"
                " WHERE grantee_oid = %s AND nspname = %s AND pg_get_userbyid(grantor_oid) = %s",
                (RELKIND[state["objectType"]], role_oid, state["schema"], state["owner"]))
        want = {str(p) for p in state.get("privileges") or []}
        if not got and want:
            return None  # "We consider no privileges as 'not exists'"
        if self.privileges_equal(set(got or []), want, state["objectType"]):
            return dict(state)
        return {**state, "privileges": sorted(got or [])}

    def delete_default_privileges(self, state: Mapping[str, Any], record: Applied) -> None:
        """`resourcePostgreSQLDefaultPrivilegesDelete` (:187-216)."""
        in_schema = f"IN SCHEMA {q(state['schema'])}" if state.get("schema") else ""
        with self.transaction(state["database"], record) as s:
            self.lock_role(s, state["owner"])
            self.with_roles_granted(s, [state["owner"]], lambda: s.exec(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(state['owner'])} {in_schema} REVOKE ALL ON"
                f" {state['objectType'].upper()}S FROM {q(state['role'])}"))

    # -- dispatch ------------------------------------------------------------------------------
    _KIND = {
        catalog.PG_ROLE: "role", catalog.PG_GRANT_ROLE: "grant_role", catalog.PG_DATABASE: "database",
        catalog.PG_EXTENSION: "extension", catalog.PG_GRANT: "grant",
        catalog.PG_DEFAULT_PRIVILEGES: "default_privileges",
    }

    def _method(self, verb: str, type_: str) -> Callable[..., Any]:
        kind = self._KIND.get(type_)
        method = getattr(self, f"{verb}_{kind}", None) if kind else None
        if method is None:
            raise ModelGap(f"{type_}: {verb} not modelled")
        return method

    def check(self, type_: str, name: str, props: Mapping[str, Any]) -> dict[str, Any]:
        """The declared inputs, refused when the model does not know a property."""
        schema = SCHEMAS.get(type_)
        unknown = set(props) - set(schema or ())
        if schema is None or unknown:
            raise ModelGap(f"{name}: {type_} {sorted(unknown)} not modelled")
        return dict(props)

    def create_state(self, type_: str, name: str, props: Mapping[str, Any],
                     ignore_changes: Iterable[str] = ()) -> Applied:
        """Create, then Read, as every Create of this provider ends (`return resource...Read(db, d)`)."""
        inputs = self.check(type_, name, props)
        record = Applied(name=name, type=type_)
        self._method("create", type_)(inputs, record)
        record.state = self._method("read", type_)(inputs, record)
        if record.state is None:
            raise ProviderError(f"{name}: created, then not found by its read")
        changes = diff(type_, record.state, inputs, ignore_changes)
        record.drift = f"read back differs in {', '.join(changes.changed)}" if changes.changed else None
        return record

    def read(self, type_: str, name: str, state: Mapping[str, Any]) -> Applied:
        record = Applied(name=name, type=type_)
        record.state = self._method("read", type_)(state, record)
        return record

    def update(self, type_: str, name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Applied:
        """Update, then Read (every Update of this provider ends with its Read)."""
        inputs = self.check(type_, name, new)
        record = Applied(name=name, type=type_)
        self._method("update", type_)(old, inputs, record)
        record.state = self._method("read", type_)({**old, **inputs}, record)
        return record

    def delete(self, type_: str, name: str, state: Mapping[str, Any]) -> Applied:
        record = Applied(name=name, type=type_)
        self._method("delete", type_)(state, record)
        return record

    def create(self, resource: Any) -> Applied:
        """Apply one captured resource (create + read); raises ProviderError where the provider would fail."""
        return self.create_state(resource.type, resource.name, resource.plain, resource.ignore_changes)


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


def providers_of(capture: Any, server: PostgresServer) -> dict[str, ProviderModel]:
    """Each `pulumi:providers:postgresql` of the capture, by URN, aimed at `server`."""
    return {r.urn: ProviderModel(r.plain, server) for r in capture.resources if r.type == catalog.PG_PROVIDER}


def provider_for(resource: Any, providers: Mapping[str, ProviderModel]) -> ProviderModel:
    if resource.provider is None:
        raise ModelGap(f"{resource.name}: uses the default provider, which the program never configures")
    return providers[resource.provider.rsplit("::", 1)[0]]


def apply_capture(capture: Any, server: PostgresServer, *, skip: Iterable[str] = ()) -> list[Applied]:
    """Create every postgresql resource of `capture` on `server`, each through its own provider.

    `skip` names resources to leave out (to show what happens without them). Stops at the
    first resource the provider would fail on, raising ProviderError.
    """
    skipped = set(skip)
    providers = providers_of(capture, server)
    postgres = [r for r in capture.resources if r.type.startswith("postgresql:") and r.name not in skipped]
    return [provider_for(r, providers).create(r) for r in creation_order(postgres)]
