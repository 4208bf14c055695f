"""PostgreSQL: least-privilege login roles (attributes, memberships), provider TLS, pgvector per database,
the admin's owner membership, connection headroom, a read-only backup role, and what keeps a stack's
later `up`s and its `destroy` working (memberships that survive a replacement and the read-back,
extensions and sessions that do not block the database's delete)."""

from __future__ import annotations

import re

from pulumi_policy import PolicyConfigSchema, PolicyResource

from . import catalog
from ._common import (
    EnforcementLevel,
    Severity,
    UnknownValueError,
    as_bool,
    as_list,
    as_number,
    depends_on,
    get,
    is_unknown,
    known_items,
    peek,
    resource_policy,
    resources_of,
    same_known,
    stack_policy,
    string_list,
    subject,
    violation,
)

# Role attribute prop → SQL keyword, for messages.
PRIVILEGED_ATTRIBUTES = {
    "superuser": "SUPERUSER",
    "createDatabase": "CREATEDB",
    "createRole": "CREATEROLE",
    "replication": "REPLICATION",
    "bypassRowLevelSecurity": "BYPASSRLS",
}
SSLMODES_WITH_TLS = ["require", "verify-ca", "verify-full"]


# --- login roles hold no admin attributes -------------------------------------------------

def _check_role(args, cfg, report) -> None:
    if as_bool(get(args.props, "login")) is not True:
        return
    name = get(args.props, "name", default=args.name)
    if name in cfg["allowedAdminRoles"]:
        return
    held = [sql for prop, sql in PRIVILEGED_ATTRIBUTES.items() if as_bool(get(args.props, prop)) is True]
    if held:
        report(violation(subject("Postgres role", args.name),
                         f"can log in and holds {', '.join(held)}.",
                         "drop these attributes from the application role; use a separate admin role "
                         "listed in allowedAdminRoles for migrations."))


RESTRICT_LOGIN_ROLE_PRIVILEGES = resource_policy(
    name="postgresql-role-restrict-login-privileges",
    description="Postgres login roles must not be superuser or hold CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    types=[catalog.PG_ROLE],
    check=_check_role,
    config=PolicyConfigSchema(properties={
        "allowedAdminRoles": string_list("Role names allowed to hold admin attributes (e.g. a migrator)."),
    }),
    url="https://www.postgresql.org/docs/current/role-attributes.html",
)


# --- login roles inherit no other role's rights (STACK) ---------------------------------------

# Predefined roles a login role may join: read-only monitoring views and settings. Every other
# pg_* role grants powers beyond the app's tables (pg_read_server_files, pg_write_server_files,
# pg_execute_server_program: files and programs as the server's OS user; pg_signal_backend: cancel
# or terminate other sessions; pg_read_all_data / pg_write_all_data: every table; pg_maintain,
# pg_checkpoint, pg_create_subscription, pg_use_reserved_connections, ...) and is refused, as is a
# predefined role a later PostgreSQL adds. https://www.postgresql.org/docs/current/predefined-roles.html
MONITORING_PREDEFINED_ROLES = frozenset({"pg_monitor", "pg_read_all_settings", "pg_read_all_stats",
                                         "pg_stat_scan_tables"})


def _role_name(role: PolicyResource):
    name = peek(role.props, "name")
    return name if isinstance(name, str) and not is_unknown(name) else role.name


def _memberships(role: PolicyResource) -> list[str] | None:
    """The role names in `roles`; None while the list (or one name) is unknown."""
    try:
        return [str(r) for r in as_list(peek(role.props, "roles"))]
    except UnknownValueError:
        return None


def _named_role(resource: PolicyResource, prop: str, roles: list[PolicyResource]) -> str | None:
    """The role name in `prop`: its known value, else the declared Role it was computed from."""
    value = peek(resource.props, prop)
    if isinstance(value, str) and not is_unknown(value):
        return value
    sources = [r for r in roles if depends_on(resource, prop, r)]
    return _role_name(sources[0]) if len(sources) == 1 else None


def membership_index(args, roles: list[PolicyResource]) -> dict[str, list[str] | None]:
    """Role name -> the roles it is a member of (`Role.roles` and `GrantRole` resources; pulumi_postgresql
    `grant_role.py`: `grantRole` "is added to `role`"); None while one of them is unknown."""
    index: dict[str, list[str] | None] = {_role_name(r): _memberships(r) for r in roles}
    for grant in resources_of(args, catalog.PG_GRANT_ROLE):
        member = _named_role(grant, "role", roles)
        if member is None:
            continue
        group = _named_role(grant, "grantRole", roles)
        current = index.setdefault(member, [])
        if current is not None:
            index[member] = None if group is None else [*current, group]
    return index


def _plain_group_problem(name: str, groups: dict, index: dict, seen: frozenset) -> str | None:
    """Why joining `name` is more than least privilege (None: a NOLOGIN group without attributes,
    itself a member only of such groups or monitoring roles); "" when it cannot be known yet."""
    if name.startswith("pg_"):
        return None if name in MONITORING_PREDEFINED_ROLES else "a predefined role with broad powers"
    group = groups.get(name)
    if group is None:
        return "a role the stack does not declare, so its attributes are unknown"
    if name in seen:
        return None  # a cycle: PostgreSQL refuses it; the other roles on it are judged on their own
    if any(is_unknown(peek(group.props, prop)) for prop in ("login", *PRIVILEGED_ATTRIBUTES)):
        return ""
    if as_bool(peek(group.props, "login")) is True:
        return "a login role"
    held = [sql for prop, sql in PRIVILEGED_ATTRIBUTES.items() if as_bool(peek(group.props, prop)) is True]
    if held:
        return f"a group holding {', '.join(held)}"
    inner = index.get(name, [])
    if inner is None:
        return ""
    for member_of in inner:
        problem = _plain_group_problem(member_of, groups, index, seen | {name})
        if problem is not None:
            return f"a member of {problem}" if problem else ""
    return None


def _check_membership(args, cfg, report) -> None:
    roles = resources_of(args, catalog.PG_ROLE)
    groups = {_role_name(r): r for r in roles}
    index = membership_index(args, roles)
    allowed = set(cfg["allowedMemberOf"])
    for role in roles:
        if as_bool(peek(role.props, "login")) is not True or _role_name(role) in cfg["allowedAdminRoles"]:
            continue
        memberships = index.get(_role_name(role))
        if memberships is None:
            continue  # not known during preview
        # Role names are identifiers (like env-var keys), not secrets; naming them tells what to drop.
        refused = {}
        for name in dict.fromkeys(memberships):
            if name in allowed:
                continue
            problem = _plain_group_problem(name, groups, index, frozenset())
            if problem:
                refused[name] = problem
        if refused:
            listed = "; ".join(f"{name} ({why})" for name, why in refused.items())
            report(violation(subject("Postgres role", role.name, role.urn),
                             f"can log in and is a member of {listed}, so it can use their privileges "
                             "(and their attributes with SET ROLE).",
                             "grant the application role table privileges directly or through a NOLOGIN group "
                             "role without admin attributes, or list the roles in allowedMemberOf (or the role "
                             "in allowedAdminRoles)."), role.urn)


RESTRICT_ROLE_MEMBERSHIP = stack_policy(
    name="postgresql-role-restrict-role-membership",
    description="Postgres login roles may join only NOLOGIN group roles without admin attributes (or allowedMemberOf).",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=_check_membership,
    config=PolicyConfigSchema(properties={
        "allowedMemberOf": string_list("Role names a login role may be a member of (e.g. a read-only group)."),
        "allowedAdminRoles": string_list("Login roles exempt from this check (e.g. a migrator)."),
    }),
    url="https://www.postgresql.org/docs/current/role-membership.html",
)


# --- provider requires TLS ----------------------------------------------------------------

def _check_provider_tls(args, cfg, report) -> None:
    mode = get(args.props, "sslmode")
    if mode is None:
        mode = get(args.props, "sslMode")  # deprecated spelling
    allowed = [str(m).lower() for m in cfg["allowedSslModes"]]
    who = subject("Postgres provider", args.name)
    fix = 'set sslmode="verify-full" (or "require") on postgresql.Provider.'
    if mode is None:
        report(violation(who, "does not set sslmode, so TLS depends on PGSSLMODE (libpq default prefer), "
                              "which the pack cannot see.", fix))
    elif str(mode).lower() not in allowed:
        report(violation(who, "uses an sslmode that does not require TLS.", fix))


REQUIRE_PROVIDER_TLS = resource_policy(
    name="postgresql-provider-require-tls",
    description="The PostgreSQL provider must connect with sslmode require, verify-ca or verify-full.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=[catalog.PG_PROVIDER],
    check=_check_provider_tls,
    config=PolicyConfigSchema(properties={
        "allowedSslModes": string_list("Accepted provider sslmode values.", list(SSLMODES_WITH_TLS)),
    }),
    url="https://www.postgresql.org/docs/current/libpq-ssl.html",
)


# --- every database has pgvector (STACK) --------------------------------------------------

def _db_name(db: PolicyResource) -> str:
    name = peek(db.props, "name")
    return name if isinstance(name, str) and not is_unknown(name) else db.name


def _check_vector(args, cfg, report) -> None:
    wanted = str(cfg["extensionName"])
    extensions = [e for e in resources_of(args, catalog.PG_EXTENSION) if peek(e.props, "name") == wanted]
    for db in resources_of(args, catalog.PG_DATABASE):
        if any(depends_on(e, "database", db) or same_known(peek(e.props, "database"), _db_name(db))
               for e in extensions):
            continue
        report(violation(subject("Postgres database", db.name, db.urn),
                         f'has no "{wanted}" extension managed by the stack.',
                         f'add postgresql.Extension(name="{wanted}", database=<database name>).'), db.urn)


REQUIRE_VECTOR_EXTENSION = stack_policy(
    name="postgresql-database-require-vector-extension",
    description="Each managed Postgres database should have the pgvector extension the app needs.",
    level=EnforcementLevel.ADVISORY,  # ARA's architecture: mandatory in policies/config/*.json
    severity=Severity.LOW,
    check=_check_vector,
    config=PolicyConfigSchema(properties={
        "extensionName": {
            "type": "string", "default": "vector",
            "description": "Extension every database must have.",
        },
    }),
    url="https://github.com/pgvector/pgvector",
)


# --- the provider's admin is a member of the owner before anything acts as the owner (STACK) ---
# The provider runs CREATE EXTENSION (resource_postgresql_extension.go:87-110) and database-level
# GRANT/REVOKE (resource_postgresql_grant.go:800-808, helpers.go:142-146) as its own user, without
# borrowing the owner's role. A non-superuser admin outside the owner role gets "permission denied"
# for the extension (up fails) and a WARNING for the grants, which change nothing (PUBLIC keeps
# CONNECT). Proven on a real server in tests/database_real/.

def _targets_database(resource: PolicyResource, db: PolicyResource) -> bool:
    return depends_on(resource, "database", db) or same_known(peek(resource.props, "database"), _db_name(db))


def _names_role(resource: PolicyResource, prop: str, role_name: object, role: PolicyResource | None) -> bool:
    """`resource.prop` is the role: computed from its Role resource or equal to its known name."""
    return (role is not None and depends_on(resource, prop, role)) or same_known(peek(resource.props, prop), role_name)


def _owner_role(args, db: PolicyResource) -> PolicyResource | None:
    return next((r for r in resources_of(args, catalog.PG_ROLE) if depends_on(db, "owner", r)), None)


def _depends(resource: PolicyResource, target: PolicyResource) -> bool:
    return any(d is target or d.urn == target.urn for d in resource.dependencies or [])


def _check_owner_membership(args, cfg, report) -> None:
    admins = {u for u in (peek(p.props, "username") for p in resources_of(args, catalog.PG_PROVIDER))
              if isinstance(u, str) and not is_unknown(u)}
    memberships = resources_of(args, catalog.PG_GRANT_ROLE)
    for db in resources_of(args, catalog.PG_DATABASE):
        owner, owner_role = peek(db.props, "owner"), _owner_role(args, db)
        if (owner in (None, "") and owner_role is None) or (isinstance(owner, str) and owner in admins):
            continue  # owned by the admin itself
        acting = [e for e in resources_of(args, catalog.PG_EXTENSION) if _targets_database(e, db)] + [
            g for g in resources_of(args, catalog.PG_GRANT)
            if peek(g.props, "objectType") == "database" and _targets_database(g, db)]
        if not acting:
            continue
        granting = [m for m in memberships if _names_role(m, "grantRole", owner, owner_role)
                    and (not admins or peek(m.props, "role") in admins)]
        who = subject("Postgres database", db.name, db.urn)
        if not granting:
            report(violation(who, "is owned by a role the provider's admin is not a member of, yet its extensions "
                                  "and database-level grants run as that admin: CREATE EXTENSION is refused and "
                                  "GRANT/REVOKE on the database change nothing.",
                             "declare postgresql.GrantRole(role=<admin user>, grant_role=<owner role>) and make the "
                             "extensions and grants depend on it."), db.urn)
            continue
        late = [r.name for r in acting if not any(_depends(r, m) for m in granting)]
        if late:
            report(violation(who, f"has extensions or grants ({', '.join(late)}) that do not depend on the admin's "
                                  "membership in its owner, so the engine may run them before it.",
                             "add depends_on=[<the GrantRole>] to them."), db.urn)


REQUIRE_ADMIN_OWNER_MEMBERSHIP = stack_policy(
    name="postgresql-database-require-admin-owner-membership",
    description="Extensions and database-level grants on a database need the provider's admin to be a member of its "
                "owner first.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=_check_owner_membership,
    url="https://www.postgresql.org/docs/current/sql-grant.html",
)


# --- database connection limits leave headroom beyond the roles' (STACK) -----------------------
# A database's limit counts every non-superuser session in it, the provider's admin included.

def _connecting_roles(args, db: PolicyResource) -> list[PolicyResource]:
    roles = resources_of(args, catalog.PG_ROLE)
    owner, owner_role = peek(db.props, "owner"), _owner_role(args, db)
    found = [r for r in roles if r is owner_role or same_known(peek(r.props, "name"), owner)]
    for grant in resources_of(args, catalog.PG_GRANT):
        if peek(grant.props, "objectType") != "database" or not _targets_database(grant, db):
            continue
        privileges = {str(p).upper() for p in known_items(peek(grant.props, "privileges"))}
        if not privileges & {"CONNECT", "ALL"}:
            continue
        found += [r for r in roles if r not in found and _names_role(grant, "role", peek(r.props, "name"), r)]
    return found


def _check_headroom(args, cfg, report) -> None:
    minimum = int(cfg["minHeadroom"])
    for db in resources_of(args, catalog.PG_DATABASE):
        limit = as_number(peek(db.props, "connectionLimit"))
        if limit is None or limit < 0:
            continue  # unlimited: the server's max_connections governs
        roles = _connecting_roles(args, db)
        limits = [as_number(peek(r.props, "connectionLimit")) for r in roles]
        who = subject("Postgres database", db.name, db.urn)
        unlimited = [r.name for r, n in zip(roles, limits, strict=True) if n is None or n < 0]
        if unlimited:
            report(violation(who, f"has a connection limit, but {', '.join(unlimited)} may connect without one and can "
                                  "take every connection.", "give those roles a connectionLimit."), db.urn)
        elif limit < sum(n for n in limits if n is not None) + minimum:  # all of them, none unlimited
            report(violation(who, f"leaves fewer than {minimum} connections beyond the limits of the roles that may "
                                  "connect, so at their peak the provider's admin (pulumi up/refresh), a backup job "
                                  "or monitoring is refused.",
                             f"raise the database's connectionLimit to the roles' sum plus at least {minimum}."),
                   db.urn)


REQUIRE_CONNECTION_HEADROOM = stack_policy(
    name="postgresql-database-require-connection-headroom",
    description="A database's connection limit should exceed the sum of its roles' limits by minHeadroom.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    check=_check_headroom,
    config=PolicyConfigSchema(properties={
        "minHeadroom": {"type": "integer", "minimum": 1, "default": 3,
                        "description": "Connections kept free for the admin, backups and monitoring."},
    }),
    url="https://www.postgresql.org/docs/current/sql-createdatabase.html",
)


# --- the backup role can only read (STACK) ----------------------------------------------------
# The backup job's credentials leave the platform (CI, a scheduler); a leaked dump credential
# must not be able to change or delete data. nextval needs USAGE on a sequence: SELECT only.
BACKUP_PRIVILEGES = {"database": {"CONNECT"}, "schema": {"USAGE"}, "table": {"SELECT"}, "sequence": {"SELECT"}}


def _check_backup_role(args, cfg, report) -> None:
    pattern = re.compile(str(cfg["backupRolePattern"]))
    for role in resources_of(args, catalog.PG_ROLE):
        name = peek(role.props, "name", default=role.name)
        if not isinstance(name, str) or is_unknown(name) or not pattern.search(name):
            continue
        problems: list[str] = []
        for grant in resources_of(args, catalog.PG_GRANT, catalog.PG_DEFAULT_PRIVILEGES):
            if not _names_role(grant, "role", name, role):
                continue
            kind = str(peek(grant.props, "objectType"))
            granted = {str(p).upper() for p in known_items(peek(grant.props, "privileges"))}
            extra = granted - BACKUP_PRIVILEGES.get(kind, set())
            if extra:
                problems.append(f"{grant.name} grants {', '.join(sorted(extra))} on {kind}")
        problems += [f"owns {db.name}" for db in resources_of(args, catalog.PG_DATABASE)
                     if _names_role(db, "owner", name, role)]
        problems += [f"is made a member of another role by {m.name}" for m in resources_of(args, catalog.PG_GRANT_ROLE)
                     if _names_role(m, "role", name, role)]
        if problems:
            report(violation(subject("Postgres backup role", role.name, role.urn),
                             f"can do more than read: {'; '.join(problems)}.",
                             "give the backup role CONNECT, USAGE on the schema and SELECT on tables and sequences "
                             "only; keep writes with the app and owner roles."), role.urn)


RESTRICT_BACKUP_PRIVILEGES = stack_policy(
    name="postgresql-role-restrict-backup-privileges",
    description="Roles named like backupRolePattern may only connect, use schemas and SELECT tables and sequences.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=_check_backup_role,
    config=PolicyConfigSchema(properties={
        "backupRolePattern": {"type": "string", "default": "_backup$",
                              "description": "Regular expression (search) for the names of backup roles."},
    }),
    url="https://www.postgresql.org/docs/current/app-pgdump.html",
)


# --- what keeps later ups and the destroy working ---------------------------------------------
# cyrilgdn/terraform-provider-postgresql ff936b9, pulumi-postgresql 3.18. Shown on a real PostgreSQL 18
# server through a stack's whole life in tests/database_real/test_lifecycle.py.

def _provider_admins(args) -> set[str]:
    """Usernames of the stack's non-superuser postgresql providers (known ones)."""
    admins = set()
    for provider in resources_of(args, catalog.PG_PROVIDER):
        user, superuser = peek(provider.props, "username"), peek(provider.props, "superuser")
        if isinstance(user, str) and not is_unknown(user) and str(superuser).lower() == "false":
            admins.add(user)
    return admins


def _check_membership_replacement(args, cfg, report) -> None:
    if args.opts is not None and args.opts.delete_before_replace:
        return
    report(violation(subject("Postgres role membership", args.name),
                     "would be replaced by creating the new grant first: the old one's delete then runs "
                     "REVOKE <grant role> FROM <role> (resource_postgresql_grant_role.go Delete), taking "
                     "away the membership the new one just granted.",
                     "pass opts=ResourceOptions(delete_before_replace=True) to the GrantRole."))


REQUIRE_MEMBERSHIP_DELETE_BEFORE_REPLACE = resource_policy(
    name="postgresql-membership-require-delete-before-replace",
    description="A Postgres GrantRole must be deleted before it is replaced, or the replacement ends revoked.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=[catalog.PG_GRANT_ROLE],
    check=_check_membership_replacement,
    url="https://www.pulumi.com/docs/iac/concepts/options/deletebeforereplace/",
)


def _check_admin_option_readback(args, cfg, report) -> None:
    admins = _provider_admins(args)
    for membership in resources_of(args, catalog.PG_GRANT_ROLE):
        member = peek(membership.props, "role")
        if not (isinstance(member, str) and member in admins):
            continue
        if "withAdminOption" in (membership.opts.ignore_changes or []):
            continue
        report(violation(subject("Postgres role membership", membership.name, membership.urn),
                         "grants a role to the provider's own admin. On PostgreSQL 16+ the admin already holds an "
                         "implicit ADMIN-only grant of each role it created, which the provider's read returns "
                         "first, so state says withAdminOption=true and every preview replaces the membership "
                         "(declaring true is refused: ADMIN option cannot be granted back to your own grantor).",
                         'pass opts=ResourceOptions(ignore_changes=["withAdminOption"]) to the GrantRole.'),
               membership.urn)


REQUIRE_IGNORED_ADMIN_OPTION_READBACK = stack_policy(
    name="postgresql-membership-require-ignored-admin-option-readback",
    description="A GrantRole to the provider's admin must ignore withAdminOption, which PostgreSQL 16+ reads back "
                "from the implicit CREATEROLE grant.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=_check_admin_option_readback,
    url="https://www.postgresql.org/docs/current/sql-createrole.html",
)


def _unprotected_databases(args) -> list[PolicyResource]:
    return [db for db in resources_of(args, catalog.PG_DATABASE) if not (db.opts and db.opts.protect)]


def _check_extension_cascade(args, cfg, report) -> None:
    for db in _unprotected_databases(args):
        for extension in resources_of(args, catalog.PG_EXTENSION):
            if not _targets_database(extension, db) or as_bool(peek(extension.props, "dropCascade")) is True:
                continue
            report(violation(subject("Postgres extension", extension.name, extension.urn),
                             f"lives in the unprotected database {db.name}, yet is deleted on its own with DROP "
                             "EXTENSION ... RESTRICT, which PostgreSQL refuses once a column uses its types: the "
                             "stack's destroy fails and leaves the database behind.",
                             "set drop_cascade=True (and deleted_with=<the database>, which the pack cannot see)."),
                   extension.urn)


REQUIRE_EXTENSION_CASCADE_WHEN_UNPROTECTED = stack_policy(
    name="postgresql-extension-require-cascade-when-unprotected",
    description="Extensions in a database that may be destroyed must drop with CASCADE.",
    level=EnforcementLevel.ADVISORY,  # ARA's design (deletedWith is invisible to packs): mandatory in its configs
    severity=Severity.MEDIUM,
    check=_check_extension_cascade,
    url="https://www.postgresql.org/docs/current/sql-dropextension.html",
)


def _check_session_roles(args, cfg, report) -> None:
    admins = _provider_admins(args)
    if len(admins) != 1:
        return  # no known non-superuser admin: nothing to say about whose sessions it may end
    admin = next(iter(admins))
    memberships = resources_of(args, catalog.PG_GRANT_ROLE)
    for db in _unprotected_databases(args):
        missing = [r.name for r in _connecting_roles(args, db) if not any(
            _names_role(m, "grantRole", peek(r.props, "name"), r) and peek(m.props, "role") == admin
            for m in memberships)]
        if not missing:
            continue
        report(violation(subject("Postgres database", db.name, db.urn),
                         f"may be destroyed, and its delete first terminates every session in it; the admin may "
                         f"end only sessions of roles whose privileges it has, not of {', '.join(missing)} "
                         "(\"permission denied to terminate process\", and the database is left refusing "
                         "connections).",
                         "declare postgresql.GrantRole(role=<admin user>, grant_role=<role>) for each of them, and "
                         "make the database depend on those memberships."), db.urn)


REQUIRE_ADMIN_MEMBERSHIP_OF_SESSION_ROLES = stack_policy(
    name="postgresql-database-require-admin-membership-of-session-roles",
    description="The admin must be a member of every role that can connect to a database it may destroy.",
    level=EnforcementLevel.ADVISORY,  # platform-dependent (pg_signal_backend): mandatory in ARA's configs
    severity=Severity.MEDIUM,
    check=_check_session_roles,
    url="https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADMIN-SIGNAL",
)


POLICIES = [RESTRICT_LOGIN_ROLE_PRIVILEGES, RESTRICT_ROLE_MEMBERSHIP, REQUIRE_PROVIDER_TLS, REQUIRE_VECTOR_EXTENSION,
            REQUIRE_ADMIN_OWNER_MEMBERSHIP, REQUIRE_CONNECTION_HEADROOM, RESTRICT_BACKUP_PRIVILEGES,
            REQUIRE_MEMBERSHIP_DELETE_BEFORE_REPLACE, REQUIRE_IGNORED_ADMIN_OPTION_READBACK,
            REQUIRE_EXTENSION_CASCADE_WHEN_UNPROTECTED, REQUIRE_ADMIN_MEMBERSHIP_OF_SESSION_ROLES]
