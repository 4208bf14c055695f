"""A stack's whole life on a real PostgreSQL 18 server: up, refresh, a second up, in-place changes, destroy.

Every stack is the real program's capture (prod, preview, a pull-request stack), driven through the
engine model (engine_model.py: refresh, diff, replacement, delete order, protect/deletedWith/
retainOnDelete) and the provider model (provider_model.py: each provider call's SQL, cited). The
server's admin is a non-superuser CREATEROLE/CREATEDB role, as on Neon, RDS or Supabase.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from infra import catalog
from tests.database_real.engine_model import Stack
from tests.database_real.provider_model import ProviderError, ProviderModel
from tests.realservers.postgres import Credentials, PostgresServer, ServerStartError, start_postgres
from tests.support import APP_FIXTURE, ROOT, run_program, run_pull_request

# Starts a real PostgreSQL server (`make test-fast` leaves these out).
pytestmark = pytest.mark.slow

PR_NUMBER = 41
ROTATION_RUNBOOK = ROOT / "docs" / "how-to" / "runbooks" / "rotation.md"


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    """A server of its own: these tests create and drop the stacks' real databases and roles."""
    try:
        with start_postgres() as started:
            yield started
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)


def capture_of(stack: str, **overrides: object):
    if stack == "pr":
        return run_pull_request(PR_NUMBER, "feature/lifecycle", dict(overrides))
    return run_program(stack, {"appDirectory": APP_FIXTURE, **overrides})


def role(capture, suffix: str) -> Credentials:
    props = next(r.plain for r in capture.of_type(catalog.PG_ROLE) if r.name.endswith(f"-{suffix}"))
    return Credentials(user=props["name"], password=props["password"])


def database(capture) -> str:
    return capture.one(catalog.PG_DATABASE).plain["name"]


def admin_memberships(server: PostgresServer, database_name: str) -> set[tuple[str, str, bool, bool]]:
    """(role, grantor, inherit, set) of the admin's memberships in this database's roles."""
    rows = server.psql(
        "SELECT pg_get_userbyid(roleid), pg_get_userbyid(grantor), inherit_option, set_option FROM pg_auth_members"
        f" WHERE member = 'ara_admin'::regrole AND pg_get_userbyid(roleid) LIKE '{database_name}\\_%'",
        role=server.superuser)
    return {(r, g, i == "t", s == "t") for r, g, i, s in (line.split("|") for line in rows.splitlines())}


def leftovers(server: PostgresServer, database_name: str) -> list[str]:
    """Everything of one stack still on the server: its database, its roles, memberships in them."""
    return server.psql(
        f"SELECT 'database ' || datname FROM pg_database WHERE datname = '{database_name}'"
        f" UNION ALL SELECT 'role ' || rolname FROM pg_roles WHERE rolname LIKE '{database_name}\\_%'"
        " UNION ALL SELECT 'membership ' || pg_get_userbyid(roleid) FROM pg_auth_members"
        f" WHERE pg_get_userbyid(roleid) LIKE '{database_name}\\_%'",
        role=server.superuser).splitlines()


def migrate(server: PostgresServer, capture) -> None:
    """What the app's migrations do as the owner: a table with a vector column, an index, rows."""
    server.psql(
        "CREATE TABLE chat_messages (id bigserial PRIMARY KEY, body text, embedding vector(3));"
        "CREATE INDEX ON chat_messages USING hnsw (embedding vector_l2_ops);"
        "INSERT INTO chat_messages (body, embedding) SELECT 'm' || i, ARRAY[i, i, i]::real[]::vector(3)"
        " FROM generate_series(1, 20) AS i;",
        role=role(capture, "owner"), database=database(capture))


def with_options(capture, type_: str, **options: object):
    """The same capture with other resource options on one type (the design before a fix); `props=None`
    drops what the fix added to the inputs (dropCascade)."""
    def changed(r):
        if options.get("props", ...) is None:
            props = {k: v for k, v in r.props.items() if k != "dropCascade"}
            return dataclasses.replace(r, **{**options, "props": props})
        return dataclasses.replace(r, **options)

    resources = [changed(r) if r.type == type_ else r for r in capture.resources]
    return dataclasses.replace(capture, resources=resources)


def without(capture, *names: str):
    return dataclasses.replace(capture, resources=[r for r in capture.resources if r.name not in names])


# --- up, refresh, up again: nothing changes ------------------------------------------------------

@pytest.fixture(scope="module")
def prod_state(server) -> Stack:
    """prod, up once, with what the app's migrations create."""
    state = Stack(server)
    outcome = state.up(capture_of("prod"))
    assert outcome.ok, outcome.error
    assert [a.name for _, a in outcome.calls if a.drift] == []
    migrate(server, capture_of("prod"))
    return state


@pytest.mark.parametrize("stack", ["prod", "preview", "pr"])
def test_after_up_and_refresh_the_plan_is_empty_and_stays_empty_after_a_second_up(server, prod_state, stack):
    capture = capture_of(stack)
    state = prod_state if stack == "prod" else Stack(server)
    if stack != "prod":
        first = state.up(capture)
        assert first.ok, first.error
        assert [a.name for _, a in first.calls if a.drift] == []
        migrate(server, capture)
    for _ in range(2):
        assert state.refresh().ok
        assert state.preview(capture).summary() == []
        again = state.up(capture)
        assert again.ok and again.calls == []  # nothing to do, nothing done
    # What every later refresh needs: the admin is still a member, with SET and INHERIT, of each role it made.
    name = database(capture)
    granted = {(r, i, s) for r, grantor, i, s in admin_memberships(server, name) if grantor == "ara_admin"}
    assert granted == {(f"{name}_{suffix}", True, True) for suffix in ("owner", "app", "backup")}
    if stack != "prod":
        assert state.destroy().ok


# --- in-place changes: updates, and the app keeps working through them ------------------------------

def test_connection_limits_and_timeouts_change_in_place_while_an_app_session_stays_open(server, prod_state):
    before = capture_of("prod")
    changed = capture_of("prod", dbConnectionLimit=30, functionMaxDuration=20)
    with psycopg.connect(server.url(role(before, "app"), "ara_prod"), autocommit=True) as session:
        plan = prod_state.preview(changed)
        assert sorted(plan.summary()) == [
            ("update", "ara-db-app", ("connectionLimit", "statementTimeout")),
            ("update", "ara-db-database", ("connectionLimit",)),
        ]
        assert prod_state.up(changed).ok
        assert session.execute("SELECT count(*) FROM chat_messages").fetchone() == (20,)
    limit, config = server.psql("SELECT rolconnlimit, array_to_string(rolconfig, ',') FROM pg_roles"
                                " WHERE rolname = 'ara_prod_app'", role=server.admin).split("|")
    assert (limit, set(config.split(","))) == (
        "30", {"statement_timeout=20000", "idle_in_transaction_session_timeout=60000"})
    assert server.psql("SELECT datconnlimit FROM pg_database WHERE datname = 'ara_prod'", role=server.admin) == "42"
    assert prod_state.refresh().ok and prod_state.preview(changed).summary() == []
    assert prod_state.up(before).ok  # and back


def test_a_password_rotation_updates_the_roles_and_open_sessions_survive(server, prod_state):
    before, rotated = capture_of("prod"), capture_of("prod", dbPasswordVersion=2)
    old, new = role(before, "app"), role(rotated, "app")
    assert old.password != new.password
    with psycopg.connect(server.url(old, "ara_prod"), autocommit=True) as session:
        plan = prod_state.preview(rotated)
        assert sorted(plan.summary()) == [("update", f"ara-db-{r}", ("password",)) for r in ("app", "backup", "owner")]
        assert prod_state.up(rotated).ok
        assert session.execute("SELECT count(*) FROM chat_messages").fetchone() == (20,)
    refused = server.run_psql("SELECT 1", role=old, database="ara_prod")
    assert refused.returncode != 0 and "password authentication failed" in refused.stderr
    assert server.psql("SELECT count(*) FROM chat_messages", role=new, database="ara_prod") == "20"
    assert prod_state.refresh().ok and prod_state.preview(rotated).summary() == []
    assert prod_state.up(before).ok


def bridge_sql() -> str:
    match = re.search(r"<<'SQL'\n(.*?)\nSQL\n", ROTATION_RUNBOOK.read_text(), re.S)
    assert match, "rotation.md has the bridge role's SQL block"
    return match.group(1)


def hold(server: PostgresServer, who: Credentials, count: int) -> list[psycopg.Connection]:
    return [psycopg.connect(server.url(who, "ara_prod"), autocommit=True) for _ in range(count)]


def test_during_a_rotation_old_app_sessions_and_the_bridge_fit_the_database_limit(server, prod_state):
    # docs/how-to/runbooks/rotation.md: raise the database limit by the bridge's connections first, then the
    # old deployment (all its app sessions) and the new one (all its bridge sessions) overlap.
    before, window = capture_of("prod"), capture_of("prod", dbRotationConnections=40)
    assert prod_state.preview(window).summary() == [("update", "ara-db-database", ("connectionLimit",))]
    assert prod_state.up(window).ok
    created = subprocess.run(
        [str(server.bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "pw=bridge-password-1"],
        input=bridge_sql(), env=server.env(server.admin, "ara_prod"), capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    bridge = Credentials(user="ara_prod_app_bridge", password="bridge-password-1")
    held: list[psycopg.Connection] = []
    try:
        held += hold(server, role(before, "app"), 40) + hold(server, bridge, 40)
        for who in (server.admin, role(before, "owner"), role(before, "backup")):
            assert server.psql("SELECT current_user", role=who, database="ara_prod") == who.user
        # The bridge carries both of the runtime role's timeouts.
        assert held[-1].execute("SELECT current_setting('statement_timeout'),"
                                " current_setting('idle_in_transaction_session_timeout')").fetchone() == ("30s", "1min")
    finally:
        for conn in held:
            conn.close()
    server.psql("DROP ROLE ara_prod_app_bridge", role=server.admin)
    assert prod_state.up(before).ok
    assert prod_state.refresh().ok and prod_state.preview(before).summary() == []


def test_without_the_raised_limit_the_bridge_is_refused_once_the_old_sessions_fill_the_database(server, prod_state):
    # The runbook before this fix: a 40-connection bridge inside the database limit of 52.
    before = capture_of("prod")
    server.psql("CREATE ROLE ara_prod_app_bridge LOGIN IN ROLE ara_prod_app CONNECTION LIMIT 40 PASSWORD 'b-pw-2'",
                role=server.admin)
    bridge = Credentials(user="ara_prod_app_bridge", password="b-pw-2")
    held: list[psycopg.Connection] = []
    try:
        held += hold(server, role(before, "app"), 40) + hold(server, bridge, 12)
        with pytest.raises(psycopg.OperationalError, match="too many connections for database"):
            hold(server, bridge, 1)
    finally:
        for conn in held:
            conn.close()
        server.psql("DROP ROLE ara_prod_app_bridge", role=server.admin)


# --- destroy ---------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["pr", "preview"])
def test_destroy_after_vector_data_with_an_app_session_open_leaves_nothing(server, stack):
    capture = capture_of(stack, dbName=f"ara_gone_pr_{PR_NUMBER}" if stack == "pr" else "ara_gone_preview")
    name = database(capture)
    state = Stack(server)
    assert state.up(capture).ok
    migrate(server, capture)
    with psycopg.connect(server.url(role(capture, "app"), name), autocommit=True) as session:
        session.execute("SELECT 1")
        outcome = state.destroy()
        assert outcome.ok, outcome.error
    assert leftovers(server, name) == []
    assert state.resources == {}
    # The engine skipped what the database takes with it; everything else got its provider Delete.
    deleted = {a.name for kind, a in outcome.calls if kind == "delete"}
    assert deleted == {"ara-db-database", "ara-db-owner", "ara-db-app", "ara-db-backup",
                       "ara-db-admin-owner-membership", "ara-db-admin-app-membership",
                       "ara-db-admin-backup-membership"}


def test_destroying_prod_is_refused_by_protect_before_anything_is_deleted(server, prod_state):
    outcome = prod_state.destroy()
    assert not outcome.ok and "cannot be deleted because it is protected" in outcome.error
    assert outcome.calls == []
    assert prod_state.refresh().ok and prod_state.preview(capture_of("prod")).summary() == []


def test_even_without_its_preview_a_prod_destroy_loses_no_data(server, prod_state):
    # `pulumi destroy --skip-preview`: the protected database fails its step, what it contains was
    # skipped (deletedWith) rather than dropped or revoked, so the app's data and access are intact.
    prod = capture_of("prod")
    outcome = prod_state.destroy(skip_preview=True)
    assert not outcome.ok and "protected" in outcome.error
    assert [a.name for kind, a in outcome.calls if kind == "delete"] == []
    assert server.psql("SELECT count(*) FROM chat_messages", role=role(prod, "app"), database="ara_prod") == "20"
    # The skipped resources left the state only: the next up takes them back without a change on the server.
    assert prod_state.up(prod).ok
    assert prod_state.refresh().ok and prod_state.preview(prod).summary() == []


# --- the designs before the fixes, and the repair of a stack they broke ------------------------------

def test_before_the_fix_every_up_replaced_the_memberships_and_the_admin_lost_its_database(server):
    capture = capture_of("preview", dbName="ara_b2")
    old_design = with_options(capture, catalog.PG_GRANT_ROLE, ignore_changes=(), delete_before_replace=False)
    state = Stack(server)
    assert state.up(old_design).ok
    # PostgreSQL 16+: the read returns CREATEROLE's implicit grant (ADMIN only), so state says true.
    plan = state.preview(old_design)
    assert {(op, keys) for op, _, keys in plan.summary()} == {("replace", ("withAdminOption",))}
    assert state.up(old_design).ok  # create the new grants, then delete the old: REVOKE
    assert {(r, i, s) for r, _, i, s in admin_memberships(server, "ara_b2")} == {
        (f"ara_b2_{suffix}", False, False) for suffix in ("owner", "app", "backup")}
    broken = state.refresh()
    assert 'permission denied for database "ara_b2"' in broken.error
    # The repair (README): with the fixed program, replace the memberships once; they delete first now.
    memberships = [r.urn for r in capture.of_type(catalog.PG_GRANT_ROLE)]
    assert state.preview(capture).summary() == []  # the fix alone changes nothing: the read-back is ignored
    assert state.up(capture, replace=memberships).ok
    assert state.refresh().ok and state.preview(capture).summary() == []
    assert state.destroy().ok and leftovers(server, "ara_b2") == []


def test_declaring_the_admin_option_instead_is_refused_by_the_server(server):
    capture = capture_of("preview", dbName="ara_adminopt")
    provider = ProviderModel(capture.one(catalog.PG_PROVIDER).plain, server)
    owner = capture.one(catalog.PG_ROLE, "ara-db-owner")
    membership = capture.one(catalog.PG_GRANT_ROLE, "ara-db-admin-owner-membership")
    created = provider.create(owner)
    try:
        with pytest.raises(ProviderError, match="ADMIN option cannot be granted back to your own grantor"):
            provider.create_state(membership.type, membership.name, {**membership.plain, "withAdminOption": True})
    finally:
        provider.delete(owner.type, owner.name, created.state)
    assert leftovers(server, "ara_adminopt") == []


def test_before_the_fix_destroy_failed_on_vector_columns_and_on_open_sessions(server):
    capture = capture_of("pr", dbName=f"ara_b3_pr_{PR_NUMBER}")
    name = database(capture)
    # The design before: extensions deleted on their own, RESTRICT (drop_cascade's default).
    no_deleted_with = with_options(capture, catalog.PG_EXTENSION, deleted_with=None, props=None)
    for type_ in (catalog.PG_GRANT, catalog.PG_DEFAULT_PRIVILEGES):
        no_deleted_with = with_options(no_deleted_with, type_, deleted_with=None)
    state = Stack(server)
    assert state.up(no_deleted_with).ok
    migrate(server, capture)
    failed = state.destroy()
    assert "cannot drop extension vector because other objects depend on it" in failed.error
    assert f"database {name}" in leftovers(server, name)
    # The extensions out of the way (deletedWith), but no admin membership in the runtime and backup
    # roles: the database's delete cannot end the app's session, and leaves connections blocked.
    sessions_only = without(capture, "ara-db-admin-app-membership", "ara-db-admin-backup-membership")
    assert state.up(sessions_only).ok
    with psycopg.connect(server.url(role(capture, "app"), name), autocommit=True) as session:
        session.execute("SELECT 1")
        failed = state.destroy()
        assert "permission denied to terminate process" in failed.error
    assert server.psql(f"SELECT datallowconn FROM pg_database WHERE datname = '{name}'", role=server.admin) == "f"
    # With the fix, the next up repairs what the failed delete left, and destroy succeeds.
    assert state.refresh().ok
    assert ("update", "ara-db-database", ("allowConnections",)) in state.preview(capture).summary()
    assert state.up(capture).ok and state.destroy().ok
    assert leftovers(server, name) == []
