"""The preview stack's declared databases (its own and a branch's) on the real PostgreSQL server.

Applied like prod (see test_prod_database.py): the one admin becomes a member of each owner, and
each database admits only its own roles.
"""

from __future__ import annotations

import pytest

from infra import catalog
from tests.database_real.provider_model import apply_capture
from tests.realservers.postgres import Credentials, PostgresServer
from tests.support import APP_FIXTURE, run_program

# Starts a real PostgreSQL server (`make test-fast` leaves these out).
pytestmark = pytest.mark.slow


def test_preview_stack_with_a_branch_database_applies_on_the_same_server(postgres_server: PostgresServer):
    # Two databases, two owners, one admin that becomes a member of both.
    capture = run_program("preview", {"appDirectory": APP_FIXTURE, "extraPreviewEnvironments": ["feature/search"]})
    applied = apply_capture(capture, postgres_server)
    assert [(a.name, a.drift) for a in applied if a.drift] == []
    names = {r.plain["name"] for r in capture.of_type(catalog.PG_DATABASE)}
    assert names == {"ara_preview", "ara_preview_feature_search"}
    for database in names:
        app = Credentials(user=f"{database}_app", password=next(
            r.plain["password"] for r in capture.of_type(catalog.PG_ROLE) if r.plain["name"] == f"{database}_app"))
        assert postgres_server.psql("SELECT count(*) FROM pg_extension WHERE extname = 'vector'",
                                    role=app, database=database) == "1"
        other = next(n for n in names if n != database)
        refused = postgres_server.run_psql("SELECT 1", role=app, database=other)
        assert refused.returncode != 0 and f'permission denied for database "{other}"' in refused.stderr
