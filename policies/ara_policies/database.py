"""PostgreSQL: least-privilege login roles (attributes, memberships), provider TLS, pgvector per database."""

from __future__ import annotations

from . import catalog
from pulumi_policy import PolicyConfigSchema, PolicyResource

from ._common import (
    EnforcementLevel,
    Severity,
    UnknownValueError,
    as_bool,
    as_list,
    depends_on,
    get,
    is_unknown,
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


POLICIES = [RESTRICT_LOGIN_ROLE_PRIVILEGES, RESTRICT_ROLE_MEMBERSHIP, REQUIRE_PROVIDER_TLS, REQUIRE_VECTOR_EXTENSION]
