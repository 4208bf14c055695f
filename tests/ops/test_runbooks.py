"""The runbooks' own commands exist: every `python -m ops …` and `python -m review …` they show
parses with the real command line, and every link between runbooks reaches a file and heading."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from ops import cli as ops_cli
from review import cli as review_cli
from tests.support import ROOT

DOCS = sorted((ROOT / "docs" / "runbooks").glob("*.md")) + [ROOT / "README.md"]
COMMAND = re.compile(r"python -m (ops|review) ([^`\n|;&)]+)")
LINK = re.compile(r"\]\(([^)#\s]*\.md)?(?:#([^)\s]+))?\)")


def commands() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for match in COMMAND.finditer(doc.read_text()):
            line = match.group(2).split(" # ")[0].strip().rstrip("\\").strip()
            if line not in ("…", "..."):  # prose: "python -m ops …"
                found.append((doc.name, match.group(1), line))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    text = doc.read_text()
    found = {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}
    return found | set(re.findall(r'<a id="([^"]+)"></a>', text))


def test_the_runbooks_show_ops_and_review_commands():
    tools = {tool for _, tool, _ in commands()}
    assert tools == {"ops", "review"}
    assert len(commands()) > 20


@pytest.mark.parametrize("doc, tool, line", commands(), ids=lambda v: v if isinstance(v, str) and len(v) < 60 else None)
def test_every_command_shown_parses(doc, tool, line):
    # Placeholders such as <older key> stand for one argument.
    args = shlex.split(re.sub(r"<[^>]+>", "PLACEHOLDER", line))
    parser = ops_cli._parser() if tool == "ops" else review_cli.build_parser()
    if len(args) == 1:
        # Prose names a subcommand ("`python -m review check` runs on it"): it must exist.
        subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        assert args[0] in subcommands.choices, f"{doc}: no subcommand `python -m {tool} {args[0]}`"
        return
    try:
        parser.parse_args(args)
    except SystemExit as exc:
        pytest.fail(f"{doc}: `python -m {tool} {line}` does not parse (exit {exc.code})")


def test_every_link_between_runbooks_reaches_a_file_and_a_heading():
    for doc in DOCS:
        for target, anchor in LINK.findall(doc.read_text()):
            path = (doc.parent / target).resolve() if target else doc
            if target.startswith("http"):
                continue
            assert path.is_file(), f"{doc.name}: link to missing {target}"
            if anchor and path.suffix == ".md":
                assert anchor in anchors(path), f"{doc.name}: {target}#{anchor} has no such heading"
