"""infra/config/ reads and checks settings only: the tools (review, the PR-stack writer) load it
without the provider SDKs, and no component can sneak a resource into config loading."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.support import ROOT, parse

PROVIDER_SDKS = ("pulumi_vercel", "pulumiverse_vercel", "pulumi_cloudflare", "pulumi_postgresql", "pulumi_random",
                 "pulumi_github")
# The leaves infra/config/ may use besides itself: the shared names, the project-file reader, the regions.
ALLOWED_INFRA = {"infra.catalog", "infra.projectfile", "infra.regions", "infra.config"}


def _infra_imports(path) -> set[str]:
    found = set()
    for node in ast.walk(parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("infra"):
            found |= {node.module} if node.module != "infra" else {f"infra.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("infra")}
    return found


def test_loading_the_config_package_loads_no_provider_sdk():
    code = ("import sys, infra.config; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {PROVIDER_SDKS!r}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_config_package_imports_no_component():
    for path in sorted((ROOT / "infra" / "config").glob("*.py")):
        outside = {m for m in _infra_imports(path) if not any(m == a or m.startswith(a + ".") for a in ALLOWED_INFRA)}
        assert outside == set(), f"{path.relative_to(ROOT)} imports {sorted(outside)}"


def test_the_import_check_sees_a_component_import(tmp_path):
    # The check must be able to fail: a module that imports a component.
    module = tmp_path / "m.py"
    module.write_text("from infra.web import WebProject\nfrom infra import storage, catalog\nimport infra.dns\n")
    assert _infra_imports(module) == {"infra.web", "infra.storage", "infra.catalog", "infra.dns"}
