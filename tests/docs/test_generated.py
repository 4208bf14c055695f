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
    pages = {n: b() for n, b in generate.PAGES.items()}
    for name, text in pages.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "config.md").write_text(generate.config_page().replace("Bump to rotate", "Bump"))
    assert generate.stale(pages) == ["config.md"]


def test_the_exit_code_page_lists_the_scheme_and_what_each_command_returns():
    from infra import exitcodes

    page = _generator().PAGES["exit-codes.md"]()
    scheme = page.split("\n## ", 1)[0]
    for code in exitcodes.ALL:
        assert scheme.count(f"\n| {code.code} | {code.name} | ") == 1, code
    row = next(line for line in page.splitlines() if line.startswith("| 4 | service failed |"))
    assert row.endswith("| `python -m ops`, `python -m cicd` |")  # review talks to no service
    row = next(line for line in page.splitlines() if line.startswith("| 3 | program failed |"))
    assert row.endswith("| `python -m review` |")
    for prog in ("review", "ops", "cicd", "stacks.prstack", "stacks.prsweep"):
        assert f"\n## `python -m {prog}`\n" in page


def _parser_options(parser):
    """(subcommand, option) of every option a reader can give, read off the parser."""
    import argparse

    found = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= {(name, o) for a in sub._actions if a.help != argparse.SUPPRESS
                          for o in a.option_strings if o not in ("-h", "--help")}
    return found


def test_the_cli_pages_list_every_subcommand_and_option_of_the_real_parsers():
    from ops import cli as ops_cli
    from review import cli as review_cli

    generate = _generator()
    for page, prog, parser in (("review-cli.md", "python -m review", review_cli.build_parser()),
                               ("ops-cli.md", "python -m ops", ops_cli.build_parser())):
        text = generate.PAGES[page]()
        options = _parser_options(parser)
        assert len({name for name, _ in options}) >= 4, page
        for name, option in options:
            section = text.split(f"### `{prog} {name}`\n", 1)[1].split("\n### ", 1)[0]
            assert f"| `{option}` |" in section, (page, name, option)
        assert "--downloaded" not in text  # the drill's internal restart options stay hidden
        assert str(ROOT) not in text  # nothing of this checkout's path


def test_a_changed_option_help_makes_the_cli_page_stale(monkeypatch):
    from ops import cli as ops_cli

    generate = _generator()
    before = generate.PAGES["ops-cli.md"]()
    real = ops_cli.build_parser

    def changed():
        parser = real()
        smoke = next(a for a in parser._actions if a.dest == "command").choices["smoke"]
        next(a for a in smoke._actions if a.dest == "attempts").help = "tries"
        return parser

    monkeypatch.setattr(ops_cli, "build_parser", changed)
    after = generate.PAGES["ops-cli.md"]()
    assert after != before and "| `--attempts` | `ATTEMPTS` | `3` | tries |" in after
