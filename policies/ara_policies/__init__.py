"""ARA security policies for `pulumi preview --policy-pack policies`.

`ALL_POLICIES` is what `policies/__main__.py` hands to `PolicyPack`; tests import the
modules directly because constructing the pack serves gRPC forever.
"""

import sys
from pathlib import Path

# The engine starts the pack as `python -u -m pulumi.policy <engine> <packDir>` with cwd =
# pack dir, so only `policies/` is importable. The type tokens and the env-var catalog live
# in the repo root's `infra` package (stdlib-only `infra/catalog.py`), shared with the
# Pulumi program; put the repo root (the parent of `policies/`) on sys.path to import it.
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from . import (  # noqa: E402  (after the path bootstrap)
    data_safety,
    dns,
    edge,
    env_vars,
    headers,
    postgres,
    r2,
    vercel_project,
)

ALL_POLICIES = [
    *vercel_project.POLICIES,
    *env_vars.POLICIES,
    *headers.POLICIES,
    *edge.POLICIES,
    *r2.POLICIES,
    *dns.POLICIES,
    *postgres.POLICIES,
    *data_safety.POLICIES,
]

__all__ = ["ALL_POLICIES"]
