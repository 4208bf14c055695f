"""The pull-request stack tools start without a provider SDK: importing `stacks.prstack` loads the
`stacks` package first, and that package must not import the compositions (which load the Vercel and
Cloudflare SDKs) until `stacks.build` runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_LOADED_SDKS = ("import importlib, json, sys; importlib.import_module({module!r}); print(json.dumps(sorted("
                "m for m in sys.modules if m.startswith(('pulumi_', 'stacks.')))))")


@pytest.mark.parametrize("module", ["stacks", "stacks.prstack", "stacks.prsweep"])
def test_importing_loads_no_provider_sdk_and_no_composition(module: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _LOADED_SDKS.format(module=module)], cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=120)
    loaded = json.loads(proc.stdout)
    assert not [m for m in loaded if m.startswith("pulumi_")], loaded
    assert not {"stacks.prod", "stacks.preview", "stacks.pull_request", "stacks.common"} & set(loaded), loaded

