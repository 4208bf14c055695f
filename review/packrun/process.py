"""The policy pack as a process: started as the engine starts it, its port read, stopped in every case.

The engine runs `python -u -m pulumi.policy <engineAddr> <dir>` with the pack directory as cwd
(pulumi/pulumi `sdk/python/dist/pulumi-analyzer-policy-python`), passes project, stack, dry run
and config in the environment, and reads the gRPC port from the first line the pack prints.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from review.packrun.results import PolicyPackError

# The engine's address is passed to the pack but never dialled by pulumi.policy.
ENGINE_ADDRESS = "127.0.0.1:0"
_ENV_KEYS = (
    "PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS", "PULUMI_PROJECT", "PULUMI_STACK",
    "PULUMI_DRY_RUN", "PULUMI_ORGANIZATION",
)


def pack_python(pack_dir: Path, manifest: Mapping[str, Any]) -> str:
    runtime = manifest.get("runtime")
    options = runtime.get("options") if isinstance(runtime, Mapping) else None
    venv = (options or {}).get("virtualenv")
    if venv:
        venv_path = Path(venv) if Path(venv).is_absolute() else pack_dir / venv
        for candidate in (venv_path / "bin" / "python", venv_path / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
    return sys.executable


def read_manifest(pack_dir: Path) -> dict[str, Any]:
    for name in ("PulumiPolicy.yaml", "PulumiPolicy.yml"):
        path = pack_dir / name
        if path.exists():
            try:
                data = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as e:
                raise PolicyPackError(f"failed to load Pulumi policy project {path}: {e}") from None
            if not isinstance(data, dict):
                raise PolicyPackError(f"failed to load Pulumi policy project {path}: not a mapping")
            runtime = data.get("runtime")
            runtime_name = runtime.get("name") if isinstance(runtime, Mapping) else runtime
            if runtime_name != "python":
                raise PolicyPackError(f"{path}: runtime is {runtime_name!r}; only python packs are supported")
            return data
    raise PolicyPackError(f"failed to load Pulumi policy project located at {str(pack_dir)!r}: "
                          f"no PulumiPolicy.yaml")


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGINT)  # the pack stops its gRPC server on KeyboardInterrupt
        proc.wait(timeout=3)
    except (subprocess.TimeoutExpired, OSError):
        proc.kill()
        proc.wait(timeout=5)



class PackProcess:
    """One started pack process: `port` once it has printed it; `stop()` in every case (idempotent)."""

    def __init__(self, pack_dir: Path, python: str, *, project: str, stack: str, dry_run: bool,
                 public_config: Mapping[str, str], organization: str | None, timeout: float) -> None:
        self.pack_dir = pack_dir
        self.python = python
        self._stderr: collections.deque[str] = collections.deque(maxlen=400)
        self._stdout: collections.deque[str] = collections.deque(maxlen=400)
        self._threads: list[threading.Thread] = []
        env = {k: v for k, v in os.environ.items() if k not in _ENV_KEYS}
        env.update(PULUMI_PROJECT=project, PULUMI_STACK=stack, PULUMI_DRY_RUN="true" if dry_run else "false")
        if public_config:
            env["PULUMI_CONFIG"] = json.dumps(dict(public_config))
        if organization:
            env["PULUMI_ORGANIZATION"] = organization
        started = time.monotonic()
        self._proc = subprocess.Popen(
            [python, "-u", "-m", "pulumi.policy", ENGINE_ADDRESS, "."],
            cwd=pack_dir, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self._finalizer = weakref.finalize(self, _terminate, self._proc)
        try:
            self.port = self._read_port(timeout)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - started

    def _read_port(self, timeout: float) -> int:
        first_line: queue.Queue[str | None] = queue.Queue(maxsize=1)
        self._threads = [
            threading.Thread(target=self._pump_stdout, args=(self._proc.stdout, first_line), daemon=True),
            threading.Thread(target=self._pump, args=(self._proc.stderr, self._stderr), daemon=True),
        ]
        for t in self._threads:
            t.start()
        try:
            line = first_line.get(timeout=timeout)
        except queue.Empty:
            raise PolicyPackError(self.failure(f"policy pack did not print its port within {timeout:g}s")) from None
        if line is None:
            self._proc.wait(timeout=5)
            for t in self._threads:
                t.join(timeout=2)
            raise PolicyPackError(self.failure(
                f"policy pack exited with code {self._proc.returncode} before printing its port"))
        try:
            return int(line.strip())
        except ValueError:
            raise PolicyPackError(self.failure(
                f"policy pack wrote an invalid port to stdout: {line.strip()[:200]!r}")) from None

    def _pump_stdout(self, stream: Any, first_line: queue.Queue) -> None:
        got_first = False
        for raw in iter(stream.readline, b""):
            text = raw.decode(errors="replace")
            if not got_first:
                got_first = True
                first_line.put(text)
            else:
                self._stdout.append(text)
        if not got_first:
            first_line.put(None)
        stream.close()

    @staticmethod
    def _pump(stream: Any, sink: collections.deque) -> None:
        for raw in iter(stream.readline, b""):
            sink.append(raw.decode(errors="replace"))
        stream.close()

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    @property
    def stdout(self) -> str:
        """What the pack printed after its port line."""
        return "".join(self._stdout)

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    @property
    def pid(self) -> int:
        return self._proc.pid

    def failure(self, what: str) -> str:
        """`what`, where, and the tail of the pack's stderr (for a PolicyPackError)."""
        time.sleep(0.05)  # let the stderr pump catch a server-side traceback
        tail = self.stderr.strip()
        if len(tail) > 4000:
            tail = "..." + tail[-4000:]
        return (f"{what} (pack {self.pack_dir}, python {self.python})"
                + (f"\n--- pack stderr ---\n{tail}" if tail else "\n(pack stderr is empty)"))

    def stop(self) -> None:
        _terminate(self._proc)
        for t in self._threads:
            t.join(timeout=2)
        self._finalizer.detach()
