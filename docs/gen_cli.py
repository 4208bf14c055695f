"""The command-line reference pages of docs/generate.py, read off the commands themselves.

- exit-codes.md: `infra.exitcodes.ALL` (code, name, meaning, examples), which command returns each,
  and what each code means for each command (its `EXIT_CODES`, the mapping its --help prints).
- review-cli.md, ops-cli.md: the real argparse parsers (`review.cli.build_parser`,
  `ops.cli.build_parser`): every subcommand, its help and usage, every option with its value,
  default, choices and help.

Standard library and this repository only. The caller puts the repository on sys.path.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cicd import __main__ as cicd_main
from infra import exitcodes
from ops import cli as ops_cli
from ops import errors as ops_errors
from review import cli as review_cli
from review import errors as review_errors
from stacks import prstack, prsweep

ROOT = Path(__file__).resolve().parent.parent
USAGE_WIDTH = 100
"""Usage lines are wrapped at this width, whatever the terminal's (the page must not depend on it)."""


@dataclass(frozen=True)
class Command:
    prog: str
    sources: tuple[str, ...]
    load: Callable[[], tuple[argparse.ArgumentParser, Mapping[int, str]]]
    page: str | None = None
    """The reference page of its options, when it has one."""


def _review():
    return review_cli.build_parser(), review_errors.EXIT_CODES


def _ops():
    return ops_cli.build_parser(), ops_errors.EXIT_CODES


def _cicd():
    return cicd_main.build_parser(), cicd_main.EXIT_CODES


def _prstack():
    return prstack.build_parser(), prstack.EXIT_CODES


def _prsweep():
    return prsweep.build_parser(), prsweep.EXIT_CODES


COMMANDS = (
    Command("python -m review", ("review/cli.py", "review/errors.py"), _review, "review-cli.md"),
    Command("python -m ops", ("ops/cli.py", "ops/errors.py"), _ops, "ops-cli.md"),
    Command("python -m cicd", ("cicd/__main__.py",), _cicd),
    Command("python -m stacks.prstack", ("stacks/prstack.py",), _prstack),
    Command("python -m stacks.prsweep", ("stacks/prsweep.py",), _prsweep),
)
INTRO = ("One scheme for every command this repository ships: `python -m review`, `python -m ops`, `python -m cicd` "
         "and the pull-request stack tools (`python -m stacks.prstack`, `python -m stacks.prsweep`). A workflow or "
         "an operator reads a code the same way whatever command returned it; the message on stderr says what "
         "exactly happened, naming the key, file or service. A command that cannot end in a way never returns its "
         "code (`review` talks to no service, so never 4; `ops` evaluates no program, so never 3).")
WORKFLOWS = ("In a workflow: 0 passes; 1 is a finding to report (the code-scanning step uploads the findings and "
             "continues, a gate fails); 2 and above are failures of the run itself, 130 a cancelled run.")


# --- Markdown ---------------------------------------------------------------------------------------

def paragraph(value: str) -> str:
    """Help text as Markdown: one line, the checkout's path replaced and, outside `code spans`, angle
    brackets escaped (GitHub would drop `<number>` as an HTML tag) and docs/….md paths linked."""
    value = " ".join(value.replace(str(ROOT), "<repository>").split())
    parts = re.split(r"(`[^`]*`)", value)
    return "".join(part if part.startswith("`") and part.endswith("`") and len(part) > 1 else _prose(part)
                   for part in parts)


def _prose(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"(?<![\w/.-])docs/([\w./-]+\.md)", r"[docs/\1](../\1)", value)


def text(value: str) -> str:
    """Help text as a Markdown table cell: a paragraph with its pipes escaped."""
    return paragraph(value).replace("|", "\\|")


def files(paths: tuple[str, ...]) -> str:
    return " and ".join(f"`{p}`" for p in paths)


def literal(value: object) -> str:
    shown = value if isinstance(value, str) else repr(value)
    return "`" + shown.replace(str(ROOT), "<repository>").replace("|", "\\|") + "`"


# --- exit codes -------------------------------------------------------------------------------------

def exit_codes_page(generated: str) -> str:
    loaded = [(c, c.load()[1]) for c in COMMANDS]
    lines = [generated.format(source="infra/exitcodes.py and each command's EXIT_CODES"), "", "# Exit codes", "",
             INTRO, "", WORKFLOWS, "",
             "| code | name | meaning | examples | returned by |", "|---|---|---|---|---|"]
    for code in exitcodes.ALL:
        returned = ", ".join(f"`{c.prog}`" for c, codes in loaded if code.code in codes)
        lines.append(f"| {code.code} | {code.name} | {text(code.meaning)} | {text(code.examples)} | {returned} |")
    lines.append("")
    for command, codes in loaded:
        more = f" Its options: [`{command.prog}`]({command.page})." if command.page else ""
        lines += [f"## `{command.prog}`", "",
                  f"What each code it returns means for it ({files(command.sources)}).{more}", "",
                  "| code | here |", "|---|---|"]
        lines += [f"| {code} | {text(what)} |" for code, what in codes.items()]
        lines.append("")
    return "\n".join(lines)


# --- a command's options ----------------------------------------------------------------------------

def usage(parser: argparse.ArgumentParser) -> str:
    formatter = parser.formatter_class(prog=parser.prog, width=USAGE_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _value(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        shown = " \\| ".join(f"`{c}`" for c in action.choices)
    else:
        shown = f"`{action.metavar or action.dest.upper()}`"
    return shown + (" (repeatable)" if isinstance(action, argparse._AppendAction) else "")


def _default(action: argparse.Action) -> str:
    if action.required:
        return "required"
    if action.nargs == 0 or action.default in (None, [], argparse.SUPPRESS):
        return ""
    return literal(action.default)


def option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        name = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.dest}`"
        rows.append(f"| {name} | {_value(action)} | {_default(action)} | {text(action.help or '')} |")
    return rows


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of each subcommand, in the order the parser declares them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def _paragraphs(description: str) -> list[str]:
    """A description's paragraphs, each followed by the blank line that separates it from the next."""
    return [line for p in re.split(r"\n\s*\n", description.strip()) if p.strip() for line in (paragraph(p), "")]


def cli_page(command: Command, generated: str) -> str:
    parser, codes = command.load()
    table = ["| option | value | default | description |", "|---|---|---|---|"]
    lines = [generated.format(source=f"the parser in {' and '.join(command.sources)}"), "", f"# `{command.prog}`", "",
             *_paragraphs(parser.description or ""), "```text", usage(parser), "```", ""]
    top = option_rows(parser)
    if top:
        lines += ["Options before the subcommand:", "", *table, *top, ""]
    lines += ["## Exit codes", "", "The repository's one scheme ([exit codes](exit-codes.md)):", "",
              "| code | name | here |", "|---|---|---|",
              *(f"| {c} | {exitcodes.BY_CODE[c].name} | {text(what)} |" for c, what in codes.items()), ""]
    subcommands = _subcommands(parser)
    lines += ["## Subcommands", "", "| command | what it does |", "|---|---|",
              *(f"| [`{name}`](#{_anchor(command.prog, name)}) | {text(helptext)} |"
                for name, helptext, _ in subcommands), ""]
    for name, helptext, sub in subcommands:
        lines += [f"### `{command.prog} {name}`", "", *_paragraphs(sub.description or helptext)]
        lines += ["```text", usage(sub), "```", "", *table, *option_rows(sub), ""]
    return "\n".join(lines)


def _anchor(prog: str, name: str) -> str:
    """GitHub's anchor of the heading `### \\`<prog> <name>\\``."""
    return re.sub(r"[^\w\- ]", "", f"{prog} {name}".lower()).replace(" ", "-")


def pages(generated: str) -> dict[str, Callable[[], str]]:
    """docs/reference/<name> -> the function that writes it."""
    found: dict[str, Callable[[], str]] = {"exit-codes.md": lambda: exit_codes_page(generated)}
    for command in COMMANDS:
        if command.page:
            found[command.page] = lambda c=command: cli_page(c, generated)
    return found
