"""`python -m ops smoke` against a real HTTP server on loopback standing in for the production site.

The server answers what each test configures: the page (status, headers, redirects) and the guide's
health endpoint. The declared headers come from the real prod program's `productionHeaders` output.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from infra import catalog
from ops import errors, smoke
from tests.support import ROOT

# Subprocesses: `make test-fast` leaves these out.
pytestmark = pytest.mark.slow


@dataclass
class Site:
    """What the stand-in site serves; tests change it between requests."""

    page_status: int = 200
    page_headers: list[tuple[str, str]] = field(default_factory=list)
    health_status: int = 200
    health_body: bytes = b'{"status": "healthy", "services": {"database": "healthy"}}'
    redirects: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    failing_page_requests: int = 0


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    state = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path == smoke.HEALTH_PATH:
                self._answer(state.health_status, [("Content-Type", "application/json")], state.health_body)
            elif self.path in state.redirects:
                self._answer(307, [("Location", state.redirects[self.path])], b"")
            elif state.failing_page_requests > 0:
                state.failing_page_requests -= 1
                self._answer(502, [], b"bad gateway")
            else:
                self._answer(state.page_status, state.page_headers, b"<html></html>")

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def declared(prod, tmp_path) -> tuple[dict[str, str], str]:
    headers = prod.stack_outputs[catalog.OUTPUT_PRODUCTION_HEADERS]
    path = tmp_path / "headers.json"
    path.write_text(json.dumps(headers))
    return headers, str(path)


def serve(state: Site, headers: dict[str, str]) -> None:
    state.page_headers = list(headers.items())


def run(url: str, path: str, **kwargs):
    return smoke.run(url, path, attempts=kwargs.pop("attempts", 1), wait_seconds=0, timeout=5, **kwargs)


def failure(url: str, path: str, **kwargs) -> str:
    with pytest.raises(errors.CheckFailed) as info:
        run(url, path, **kwargs)
    assert smoke.ROLLBACK_HINT in info.value.message
    return info.value.message


def test_a_site_serving_every_declared_header_and_a_healthy_check_passes(site, declared):
    state, url = site
    headers, path = declared
    serve(state, headers)
    report = run(url, path)
    assert report.problems == [] and report.checked_headers == len(headers) >= 8
    assert state.requests == ["/", smoke.HEALTH_PATH]


def test_a_missing_or_changed_header_is_named_with_the_point_of_difference(site, declared):
    state, url = site
    headers, path = declared
    served = {k: v for k, v in headers.items() if k != "Strict-Transport-Security"}
    csp = served["Content-Security-Policy"]
    served["Content-Security-Policy"] = csp.replace("object-src 'none'", "object-src *")
    serve(state, served)
    message = failure(url, path)
    assert "header Strict-Transport-Security is missing" in message
    at = csp.index("object-src 'none'") + len("object-src ")
    assert f"header Content-Security-Policy differs from the declared value at character {at}" in message
    assert "served '…" in message and "object-src *" in message


def test_a_header_the_app_serves_a_second_time_is_a_difference(site, declared):
    # Two CSPs are both enforced by browsers: the effective policy is not the declared one.
    state, url = site
    headers, path = declared
    serve(state, headers)
    state.page_headers.append(("Content-Security-Policy", "default-src *"))
    assert "header Content-Security-Policy differs" in failure(url, path)


def test_server_errors_and_an_unhealthy_check_fail_with_the_services_named(site, declared):
    state, url = site
    headers, path = declared
    serve(state, headers)
    state.page_status = 500
    state.health_status = 503
    state.health_body = b'{"status": "unhealthy", "services": {"database": "healthy", "openai": "unhealthy"}}'
    message = failure(url, path)
    assert "GET /: status 500" in message
    assert 'GET /api/health: status 503, "status": "unhealthy", unhealthy: openai' in message


def test_a_health_check_that_is_not_json_fails(site, declared):
    state, url = site
    headers, path = declared
    serve(state, headers)
    state.health_body = b"<html>ok</html>"
    assert "GET /api/health: status 200, not a JSON object" in failure(url, path)


def test_a_fresh_deployment_that_settles_within_the_attempts_passes(site, declared):
    state, url = site
    headers, path = declared
    serve(state, headers)
    state.failing_page_requests = 2
    slept: list[float] = []
    report = smoke.run(url, path, attempts=3, wait_seconds=7, timeout=5, sleep=slept.append)
    assert report.attempts == 3 and slept == [7, 7]


def test_same_origin_redirects_are_followed_and_their_target_judged(site, declared):
    state, url = site
    headers, path = declared
    serve(state, headers)
    state.redirects = {"/": "/sign-in"}
    assert run(url, path).problems == []
    assert state.requests[:2] == ["/", "/sign-in"]


def test_text_from_the_site_cannot_inject_workflow_commands(site, declared):
    state, url = site
    headers, path = declared
    serve(state, headers)
    state.health_body = json.dumps({"status": "\n::error file=x::owned", "services": {"\x1b[31mdb": "down"}}).encode()
    message = failure(url, path)
    assert "\n::" not in message and "\x1b" not in message


def test_an_unreachable_site_fails_after_its_attempts(declared, unused_port):
    _, path = declared
    message = failure(f"http://127.0.0.1:{unused_port}", path, attempts=2)
    assert "after 2 attempt(s)" in message and "ConnectionRefusedError" in message


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(("url", "expected"), [
    ("http://app.appstoagents.com", "plain http only on loopback"),
    ("https://user:pw@app.appstoagents.com", "without credentials"),
    ("https://app.appstoagents.com/?x=1", "without credentials, query or fragment"),
    ("ftp://app.appstoagents.com", "expected https://<host>"),
])
def test_urls_that_are_not_an_https_origin_are_refused(declared, url, expected):
    _, path = declared
    with pytest.raises(errors.UsageError, match=expected):
        run(url, path)


@pytest.mark.parametrize("content", ["[]", "{}", '{"X-A": 1}', "not json", b"\xff\xfe"])
def test_a_headers_file_that_is_not_the_output_is_refused_by_name(tmp_path, content):
    path = tmp_path / "h.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(errors.UsageError, match=f"--headers {path}"):
        run("https://app.appstoagents.com", str(path))


def test_the_command_line_exits_0_on_a_good_site_and_1_on_a_broken_one(site, declared):
    state, url = site
    headers, path = declared
    serve(state, headers)
    command = [sys.executable, "-m", "ops", "smoke", "--url", url, "--headers", path, "--attempts", "1"]
    good = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and good.stdout.startswith("smoke passed:"), good.stderr
    state.page_status = 503
    bad = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == errors.EXIT_FINDING and "rollback.md" in bad.stderr


def test_the_command_line_runs_without_boto3_as_in_the_deploy_workflow(site, declared):
    # deploy.yml runs `ops smoke` in the Pulumi program's .venv (requirements.lock), which has neither
    # boto3 nor botocore: the commands that reach the bucket import them, smoke must not.
    state, url = site
    headers, path = declared
    serve(state, headers)
    without_boto = ("import runpy, sys; sys.modules.update(boto3=None, botocore=None); "
                    "sys.argv[0] = 'ops'; runpy.run_module('ops', run_name='__main__')")
    command = [sys.executable, "-c", without_boto, "smoke", "--url", url, "--headers", path, "--attempts", "1"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("smoke passed:"), result.stderr
