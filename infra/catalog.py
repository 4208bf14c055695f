"""ARA's shared names (type tokens, the environment-variable catalog, secret-key patterns, stack
outputs), as `infra.catalog`.

Their one source is `policies/ara_policies/catalog.py`: `pulumi policy publish` packs only
`policies/`, so that file must live in the pack, and the program loads the same file here rather
than keeping a copy. Importing this module executes that file as `infra.catalog`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_SOURCE = Path(__file__).resolve().parents[1] / "policies" / "ara_policies" / "catalog.py"
_spec = importlib.util.spec_from_file_location(__name__, _SOURCE)
if _spec is None or _spec.loader is None:  # pragma: no cover - the file ships with the repository
    raise ImportError(f"the shared catalog {_SOURCE} is missing")
_module = importlib.util.module_from_spec(_spec)
# The import system returns what sys.modules holds for this name once this file has run.
sys.modules[__name__] = _module
_spec.loader.exec_module(_module)
