"""`python -m review` as users run it: a real process, provider SDKs loaded lazily (review.lazy)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from review import manifest as mf
from tests.review.test_cli_helpers import run, run_subprocess
from tests.support import ROOT

# Starts real processes (the policy pack, the CLI, git): left out of `make test-fast`.
pytestmark = pytest.mark.slow

PROBE = r"""
import sys, json
from review import lazy
lazy.install()
import pulumi_cloudflare as cf
from pulumi_cloudflare import DnsRecord

from pulumi.runtime import rpc
seen = {
    "lazy": lazy.is_lazy(cf),
    "R2Bucket": cf.R2Bucket.__module__,
    "get_zone_output": cf.get_zone_output.__module__,
    "GetZoneResult": cf.GetZoneResult.__module__,
    "inputs": cf.R2BucketCorsRuleArgs.__module__,
    "DnsRecord": DnsRecord.__module__,
    "submodule": cf.r2_bucket.__name__,
    "config": cf.config.__name__,
    "registered": "cloudflare:index/apiToken" in rpc._RESOURCE_MODULES,
    "loaded": sum(1 for m in sys.modules if m.startswith("pulumi_cloudflare.")),
}
try:
    cf.NoSuchThing
except AttributeError:
    seen["missing"] = "AttributeError"
seen["loaded_after_miss"] = sum(1 for m in sys.modules if m.startswith("pulumi_cloudflare."))
print(json.dumps(seen))
"""


def test_lazy_sdk_loads_only_what_is_used_and_falls_back_to_everything():
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    seen = json.loads(proc.stdout)
    assert seen["lazy"] is True
    assert seen["R2Bucket"] == "pulumi_cloudflare.r2_bucket"
    assert seen["get_zone_output"] == seen["GetZoneResult"] == "pulumi_cloudflare.get_zone"
    assert seen["inputs"] == "pulumi_cloudflare._inputs"
    assert seen["DnsRecord"] == "pulumi_cloudflare.dns_record"
    assert seen["submodule"] == "pulumi_cloudflare.r2_bucket"
    assert seen["config"] == "pulumi_cloudflare.config"
    assert seen["registered"] is True  # the package's own `_utilities.register(...)` still ran
    assert seen["loaded"] < 20
    assert seen["missing"] == "AttributeError"
    assert seen["loaded_after_miss"] > 700  # an unknown name imports every module, as the original does


def test_lazy_process_produces_the_same_manifest_as_eager_imports():
    lazy = run_subprocess("plan", "--stack", "preview", "--format", "json")
    assert lazy.code == 0, lazy.err
    eager = run("plan", "--stack", "preview", "--format", "json")
    assert mf.validate(json.loads(lazy.out)) == json.loads(eager.out)


def test_check_as_a_process_on_both_stacks():
    res = run_subprocess("check", "--stack", "prod", "--stack", "preview", "--format", "json")
    assert res.code == 0, res.all
    assert [s["stack"] for s in json.loads(res.out)["stacks"]] == ["prod", "preview"]


def test_help_lists_the_commands_and_exit_codes():
    res = run_subprocess("--help")
    assert res.code == 0
    for command in ("plan", "check", "diff", "graph"):
        assert command in res.out
    assert "exit codes" in res.out
