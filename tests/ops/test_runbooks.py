"""The docs' own commands exist: every `python -m ops …` and `python -m review …` they show
parses with the real command line. (Links and anchors: tests/docs/test_links.py.)"""

from __future__ import annotations

import argparse
import re
import shlex

import pytest

from ops import cli as ops_cli
from review import cli as review_cli
from tests.support import ROOT

# The generated CLI pages (docs/gen_cli.py) show usage synopses read off these same parsers, not commands.
GENERATED_FROM_THE_PARSERS = {ROOT / "docs" / "reference" / "review-cli.md", ROOT / "docs" / "reference" / "ops-cli.md"}
DOCS = sorted(set((ROOT / "docs").rglob("*.md")) - GENERATED_FROM_THE_PARSERS) + [ROOT / "README.md"]
COMMAND = re.compile(r"python -m (ops|review) ([^`\n|;&)]+)")


def commands() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for match in COMMAND.finditer(doc.read_text()):
            line = match.group(2).split(" # ")[0].strip().rstrip("\\").strip()
            if line not in ("…", "..."):  # prose: "python -m ops …"
                found.append((doc.name, match.group(1), line))
    return found


def test_the_runbooks_show_ops_and_review_commands():
    tools = {tool for _, tool, _ in commands()}
    assert tools == {"ops", "review"}
    assert len(commands()) > 20


@pytest.mark.parametrize("doc, tool, line", commands(), ids=lambda v: v if isinstance(v, str) and len(v) < 60 else None)
def test_every_command_shown_parses(doc, tool, line):
    # Placeholders such as <older key> stand for one argument.
    args = shlex.split(re.sub(r"<[^>]+>", "PLACEHOLDER", line))
    parser = ops_cli.build_parser() if tool == "ops" else review_cli.build_parser()
    if len(args) == 1:
        # Prose names a subcommand ("`python -m review check` runs on it"): it must exist.
        subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        assert args[0] in subcommands.choices, f"{doc}: no subcommand `python -m {tool} {args[0]}`"
        return
    try:
        parser.parse_args(args)
    except SystemExit as exc:
        pytest.fail(f"{doc}: `python -m {tool} {line}` does not parse (exit {exc.code})")
