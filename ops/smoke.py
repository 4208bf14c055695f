"""After a deploy: the live site answers, serves the security headers the program declares, and is healthy.

`python -m ops smoke --url https://app.appstoagents.com --headers FILE` where FILE is the JSON object the
prod stack exports as `productionHeaders` (`pulumi stack output productionHeaders --json --stack prod`): the
headers its production route sets (infra/headers.py), so the comparison is with the program's own policy,
not a copy. Checked, a few times while a fresh deployment settles:

* `GET <url>/` answers below 400 (redirects on the same origin are followed, at most five);
* every declared header is on that response with exactly the declared value (names case-insensitively);
  a header served twice (the app setting its own CSP beside the route's) counts as different;
* `GET <url>/api/health` (the guide's health endpoint) answers 200 with JSON `"status": "healthy"`.

Only https is accepted, plain http on loopback only (tests). Text from the site is shown without control
characters and shortened, so a response cannot write workflow commands into a CI log.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ops import errors

HEALTH_PATH = "/api/health"
"""The guide's health check (`src/pages/api/health.ts`): 200 and `"status": "healthy"`, else 503."""
MAX_REDIRECTS = 5
ROLLBACK_HINT = ("production is live but does not pass: roll back (docs/how-to/runbooks/rollback.md, step 1: "
                 "`vercel rollback` to the last good deployment), then find the cause")
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SHOWN = 60


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    """Lower-case names; a header served more than once is joined with ", " (http.client)."""
    body: bytes = b""
    location: str | None = None


@dataclass
class Report:
    url: str
    attempts: int = 0
    problems: list[str] = field(default_factory=list)
    checked_headers: int = 0


def shown(text: str, limit: int = _SHOWN) -> str:
    """Server-supplied text as it may appear in a log: no control characters, bounded."""
    clean = _CONTROL.sub("?", text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def base_url(raw: str) -> urllib.parse.SplitResult:
    """The site's origin: https (http only on loopback), a host, no credentials, query or fragment."""
    parts = urllib.parse.urlsplit(raw.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise errors.UsageError("--url: expected https://<host> (the production URL)")
    if parts.scheme == "http" and host not in _LOOPBACK:
        raise errors.UsageError("--url: plain http only on loopback; use https://")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise errors.UsageError("--url: give the origin only, without credentials, query or fragment")
    return parts


def expected_headers(path: str) -> dict[str, str]:
    """The declared headers from FILE (`pulumi stack output productionHeaders --json`)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.UsageError(f"--headers {path}: not a readable JSON file ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not data or not all(
            isinstance(k, str) and isinstance(v, str) and k for k, v in data.items()):
        raise errors.UsageError(f"--headers {path}: expected a non-empty JSON object of header name → value "
                                "(the prod stack's productionHeaders output)")
    return data


def fetch(parts: urllib.parse.SplitResult, path: str, timeout: float) -> Response:
    """One GET, no redirect followed; network failures become CheckFailed (the site is the thing checked)."""
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    if not parts.hostname:  # base_url refuses such a URL
        raise errors.UsageError("--url: expected https://<host> (the production URL)")
    connection = connection_type(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", path or "/", headers={"User-Agent": "ara-infra-smoke", "Accept": "*/*"})
        answer = connection.getresponse()
        body = answer.read(65_536)
        headers: dict[str, str] = {}
        for name, value in answer.getheaders():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return Response(answer.status, headers, body, answer.getheader("Location"))
    except (OSError, http.client.HTTPException) as exc:
        raise errors.CheckFailed(f"GET {path or '/'}: {shown(type(exc).__name__ + ': ' + str(exc), 120)}") from None
    finally:
        connection.close()


def _same_origin_path(parts: urllib.parse.SplitResult, location: str) -> str | None:
    target = urllib.parse.urlsplit(urllib.parse.urljoin(parts.geturl() + "/", location))
    if (target.scheme, target.hostname, target.port) != (parts.scheme, parts.hostname, parts.port):
        return None
    return target.path + (f"?{target.query}" if target.query else "")


def _page(parts: urllib.parse.SplitResult, timeout: float) -> Response:
    path = "/"
    for _ in range(MAX_REDIRECTS + 1):
        response = fetch(parts, path, timeout)
        if response.status not in (301, 302, 303, 307, 308) or not response.location:
            return response
        next_path = _same_origin_path(parts, response.location)
        if next_path is None:
            return response  # leaves the origin (a sign-in host): judge the redirect itself
        path = next_path
    raise errors.CheckFailed(f"GET /: more than {MAX_REDIRECTS} redirects")


def header_problem(name: str, want: str, got: str | None) -> str | None:
    if got is None:
        return f"header {name} is missing (declared: {shown(want)})"
    if " ".join(got.split()) == " ".join(want.split()):
        return None
    at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
    start = max(0, at - 20)
    return (f"header {name} differs from the declared value at character {at}: served "
            f"'…{shown(got[start:at + 25], 50)}…', declared '…{shown(want[start:at + 25], 50)}…'")


def health_problem(response: Response) -> str | None:
    try:
        data = json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    status = data.get("status") if isinstance(data, dict) else None
    if response.status == 200 and status == "healthy":
        return None
    detail = f"status {response.status}"
    if isinstance(data, dict):
        detail += f", \"status\": {shown(json.dumps(status))}"
        services = data.get("services")
        if isinstance(services, dict):
            bad = sorted(shown(str(k), 30) for k, v in services.items() if v != "healthy")
            if bad:
                detail += f", unhealthy: {', '.join(bad)}"
    else:
        detail += ", not a JSON object"
    return f"GET {HEALTH_PATH}: {detail} (expected 200 and \"status\": \"healthy\")"


def check_once(parts: urllib.parse.SplitResult, headers: Mapping[str, str], timeout: float) -> list[str]:
    problems: list[str] = []
    try:
        page = _page(parts, timeout)
    except errors.CheckFailed as exc:
        problems.append(exc.message)
    else:
        if page.status >= 400:
            problems.append(f"GET /: status {page.status}")
        problems += [p for name, want in headers.items()
                     if (p := header_problem(name, want, page.headers.get(name.lower())))]
    try:
        problem = health_problem(fetch(parts, HEALTH_PATH, timeout))
    except errors.CheckFailed as exc:
        problem = exc.message
    if problem:
        problems.append(problem)
    return problems


def run(url: str, headers_file: str, *, attempts: int = 3, wait_seconds: float = 20.0, timeout: float = 15.0,
        sleep: Callable[[float], None] = time.sleep) -> Report:
    """Check until everything holds or `attempts` are used; raises CheckFailed with every problem of the last."""
    if attempts < 1 or wait_seconds < 0 or timeout <= 0:
        raise errors.UsageError("--attempts must be at least 1, --wait and --timeout positive")
    parts = base_url(url)
    headers = expected_headers(headers_file)
    report = Report(url=parts.geturl(), checked_headers=len(headers))
    for attempt in range(1, attempts + 1):
        report.attempts = attempt
        report.problems = check_once(parts, headers, timeout)
        if not report.problems:
            return report
        if attempt < attempts:
            sleep(wait_seconds)
    lines = "\n".join(f"  - {p}" for p in report.problems)
    raise errors.CheckFailed(f"{report.url} after {attempts} attempt(s):\n{lines}\n{ROLLBACK_HINT}")
