"""The reference pages read off the code (docs/generate.py) are what the code says now."""

from __future__ import annotations

import importlib.util

from tests.support import ROOT


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_generated_reference_page_is_current():
    generate = _generator()
    pages = {name: build() for name, build in generate.PAGES.items()}
    assert generate.stale(pages) == [], "stale reference pages: run `make docs`"


def test_the_config_page_lists_every_declared_key_once():
    generate = _generator()
    page = generate.config_page()
    from infra import projectfile

    for key in projectfile.declarations(ROOT):
        assert page.count(f"| `{key}` |") == 1, key


def test_the_policy_page_lists_every_policy_with_its_level_in_aras_configs():
    generate = _generator()
    page = generate.policies_page()
    import ara_policies

    for policy in ara_policies.ALL_POLICIES:
        assert page.count(f"| `{policy.name}` |") == 1, policy.name
    row = next(line for line in page.splitlines() if line.startswith("| `vercel-project-require-skew-protection` |"))
    assert "| advisory | prod: mandatory, preview: mandatory |" in row


def test_a_changed_declaration_makes_the_page_stale(tmp_path, monkeypatch):
    generate = _generator()
    monkeypatch.setattr(generate, "REFERENCE", tmp_path)
    (tmp_path / "config.md").write_text(generate.config_page().replace("Bump to rotate", "Bump"))
    (tmp_path / "policies.md").write_text(generate.policies_page())
    assert generate.stale({n: b() for n, b in generate.PAGES.items()}) == ["config.md"]
