"""The preview stack's database and a pull-request stack's, declared side by side on the real PostgreSQL server.

Applied like prod (see test_prod_database.py): the one admin becomes a member of each owner, and
each database admits only its own roles.
"""

from __future__ import annotations

import pytest

from infra import catalog
from tests.database_real.provider_model import apply_capture
from tests.realservers.postgres import Credentials, PostgresServer
from tests.support import APP_FIXTURE, run_program, run_pull_request

# Starts a real PostgreSQL server (`make test-fast` leaves these out).
pytestmark = pytest.mark.slow


def test_preview_and_a_pull_request_stack_apply_on_the_same_server(postgres_server: PostgresServer):
    # Two stacks, two databases, two owners, one admin that becomes a member of both.
    captures = [run_program("preview", {"appDirectory": APP_FIXTURE}), run_pull_request(123, "feature/search")]
    for capture in captures:
        applied = apply_capture(capture, postgres_server)
        assert [(a.name, a.drift) for a in applied if a.drift] == []
    names = {r.plain["name"] for c in captures for r in c.of_type(catalog.PG_DATABASE)}
    assert names == {"ara_preview", "ara_pr_123"}
    roles = [r for c in captures for r in c.of_type(catalog.PG_ROLE)]
    for database in names:
        app = Credentials(user=f"{database}_app", password=next(
            r.plain["password"] for r in roles if r.plain["name"] == f"{database}_app"))
        assert postgres_server.psql("SELECT count(*) FROM pg_extension WHERE extname = 'vector'",
                                    role=app, database=database) == "1"
        other = next(n for n in names if n != database)
        refused = postgres_server.run_psql("SELECT 1", role=app, database=other)
        assert refused.returncode != 0 and f'permission denied for database "{other}"' in refused.stderr
