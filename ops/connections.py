"""`python -m ops connections`: connection use against its limits, for the guide's "> 80 %" alert.

No provider here can declare a database-connection alert (docs/explanation/monitoring.md), so the drift
workflow runs this with the backup role. Any role may read pg_stat_activity's datname and
usename of every session (only query details are hidden; PostgreSQL docs, "pg_stat_activity"),
which is all this needs. The count includes this check's own connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ops import pgtools
from ops.backup import database_url
from ops.errors import CheckFailed

USAGE_SQL = r"""
SELECT 'database ' || d.datname, (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname), d.datconnlimit
  FROM pg_database d WHERE d.datname = current_database() AND d.datconnlimit >= 0
UNION ALL
SELECT 'role ' || r.rolname, (SELECT count(*) FROM pg_stat_activity a WHERE a.usename = r.rolname), r.rolconnlimit
  FROM pg_roles r
 WHERE r.rolcanlogin AND r.rolconnlimit >= 0
   AND starts_with(r.rolname, current_database() || '_')
UNION ALL
SELECT 'server', (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
       current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
       - coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int
ORDER BY 1
"""


@dataclass(frozen=True)
class Usage:
    scope: str
    used: int
    limit: int

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.limit if self.limit > 0 else 100.0

    def line(self) -> str:
        return f"{self.scope}: {self.used}/{self.limit} connections ({self.percent:.0f} %)"


def measure(env: Mapping[str, str]) -> list[Usage]:
    url = database_url(env)
    rows = pgtools.query(url, USAGE_SQL, what=f"reading connection use on {url.display}")
    return [Usage(scope=s, used=int(u), limit=int(limit)) for s, u, limit in rows]


def check(usages: list[Usage], threshold: float) -> None:
    over = [u for u in usages if u.percent > threshold]
    if over:
        raise CheckFailed(f"connection use above {threshold:g} %: " + "; ".join(u.line() for u in over))
