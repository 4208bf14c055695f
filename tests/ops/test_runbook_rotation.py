"""The rotation runbook's bridge role, run as written against a real server shaped like prod.

docs/how-to/runbooks/rotation.md moves the app to a bridge role before the runtime role's password
changes; this runs that SQL block (extracted from the runbook) as the non-superuser admin and
checks the bridge can do what the app does, survives the rotation, and is dropped cleanly.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.realservers.postgres import Credentials, PostgresServer
from tests.support import ROOT

# Real servers (PostgreSQL, S3) or subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow

RUNBOOK = ROOT / "docs" / "how-to" / "runbooks" / "rotation.md"


def bridge_sql() -> str:
    match = re.search(r"<<'SQL'\n(.*?)\nSQL\n", RUNBOOK.read_text(), re.S)
    assert match, "rotation.md has the bridge role's SQL block"
    return match.group(1)


def psql_file(server: PostgresServer, role: Credentials, database: str, sql: str, **variables: str):
    args = [str(server.bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    for name, value in variables.items():
        args += ["-v", f"{name}={value}"]
    return subprocess.run(args, input=sql, env=server.env(role, database), capture_output=True, text=True,
                          check=False, timeout=60)


def test_the_bridge_role_works_through_a_runtime_password_rotation(postgres_server: PostgresServer) -> None:
    pg, admin = postgres_server, postgres_server.admin
    # As the program declares it (infra/database.py), made by the non-superuser admin.
    pg.psql("CREATE ROLE ara_prod_app LOGIN CONNECTION LIMIT 40 PASSWORD 'old-app-password';"
            "CREATE ROLE ara_prod_owner LOGIN PASSWORD 'owner-password'", role=admin)
    pg.psql("GRANT ara_prod_owner TO ara_admin", role=admin)
    pg.psql("CREATE DATABASE ara_prod OWNER ara_prod_owner", role=admin)
    owner = Credentials(user="ara_prod_owner", password="owner-password")
    pg.psql("REVOKE ALL ON DATABASE ara_prod FROM PUBLIC; GRANT CONNECT ON DATABASE ara_prod TO ara_prod_app",
            role=admin, database="ara_prod")
    pg.psql("CREATE TABLE items (id bigserial PRIMARY KEY, name text);"
            "GRANT SELECT, INSERT, UPDATE, DELETE ON items TO ara_prod_app;"
            "GRANT USAGE, SELECT ON SEQUENCE items_id_seq TO ara_prod_app", role=owner, database="ara_prod")

    created = psql_file(pg, admin, "ara_prod", bridge_sql(), pw="bridge-password-123")
    assert created.returncode == 0, created.stderr
    bridge = Credentials(user="ara_prod_app_bridge", password="bridge-password-123")
    inserted = pg.psql("INSERT INTO items (name) VALUES ('via bridge') RETURNING id", role=bridge, database="ara_prod")
    assert inserted == "1"
    assert pg.psql("SHOW statement_timeout", role=bridge, database="ara_prod") == "30s"

    # The rotation (`pulumi up` with a new dbPasswordVersion) does not touch the bridge.
    pg.psql("ALTER ROLE ara_prod_app PASSWORD 'new-app-password'", role=admin)
    assert pg.psql("SELECT count(*) FROM items", role=bridge, database="ara_prod") == "1"
    old_app = Credentials(user="ara_prod_app", password="old-app-password")
    old = pg.run_psql("SELECT 1", role=old_app, database="ara_prod")
    assert old.returncode != 0 and "password authentication failed" in old.stderr
    # The bridge cannot do more than the app: no DDL.
    ddl = pg.run_psql("DROP TABLE items", role=bridge, database="ara_prod")
    assert ddl.returncode != 0 and "must be owner" in ddl.stderr

    pg.psql("DROP ROLE ara_prod_app_bridge", role=admin)
    assert pg.psql("SELECT count(*) FROM pg_roles WHERE rolname = 'ara_prod_app_bridge'", role=admin) == "0"
