"""Two CLIs (and the workflow tools), one exit-code scheme: every code a command returns or documents
is a member of `infra.exitcodes.ALL`, and named, never a bare number."""

from __future__ import annotations

import ast
import sys

import pytest

from infra import exitcodes
from tests.support import ROOT, parse

# Every file that holds a command's code paths (and so could return an exit code).
CLI_FILES = sorted(
    {p.relative_to(ROOT).as_posix() for d in ("ops", "cicd", "review") for p in (ROOT / d).rglob("*.py")}
    | {"stacks/prstack.py", "stacks/prsweep.py"}
)
# Files allowed bare codes, and why; their codes must still be the scheme's.
BARE_CODES = {
    "ops/find_python.py": "runs as a script on any Python 3 before a virtualenv exists (`make ops`), "
                          "so it cannot import infra; it returns 0 and 2 (usage)",
}
SCHEME = {c.code for c in exitcodes.ALL}


def _command_modules():
    from cicd import __main__ as cicd_main
    from ops import cli as ops_cli
    from ops import errors as ops_errors
    from review import cli as review_cli
    from review import errors as review_errors
    from stacks import prstack, prsweep

    return {
        "python -m review": (review_cli.build_parser(), review_errors.EXIT_CODES),
        "python -m ops": (ops_cli.build_parser(), ops_errors.EXIT_CODES),
        "python -m cicd": (cicd_main.build_parser(), cicd_main.EXIT_CODES),
        "python -m stacks.prstack": (prstack.build_parser(), prstack.EXIT_CODES),
        "python -m stacks.prsweep": (prsweep.build_parser(), prsweep.EXIT_CODES),
    }


def bare_codes(source: str) -> list[tuple[int, object]]:
    """(line, value) of each int literal a function returns or a call to exit()/SystemExit() is given."""
    found = []
    for node in ast.walk(parse(source)):
        value = None
        if isinstance(node, ast.Return) and node.value is not None:
            value = node.value
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("exit", "_exit", "SystemExit"):
                value = node.args[0]
        if isinstance(value, ast.Constant) and type(value.value) is int:
            found.append((node.lineno, value.value))
    return found


def literal_exit_names(source: str) -> list[tuple[int, str]]:
    """(line, name) of each `EXIT_… = <int>` (or class attribute `code = <int>`): a code defined
    outside infra.exitcodes."""
    found = []
    for node in ast.walk(parse(source)):
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant) \
                and type(node.value.value) is int:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and (name.id.startswith("EXIT_") or name.id == "code"):
                        found.append((node.lineno, name.id))
    return found


def test_the_scan_sees_bare_codes_and_literal_names():
    source = ("import sys\ndef main():\n    return 3\ndef f():\n    sys.exit(4)\n    raise SystemExit(7)\n"
              "EXIT_X = 9\nclass E:\n    code = 1\ndef g():\n    return EXIT_X\n")
    assert bare_codes(source) == [(3, 3), (5, 4), (6, 7)]
    assert literal_exit_names(source) == [(7, "EXIT_X"), (9, "code")]


@pytest.mark.parametrize("path", CLI_FILES)
def test_no_command_returns_a_bare_exit_code(path):
    found = bare_codes((ROOT / path).read_text())
    if path in BARE_CODES:
        assert found and {value for _, value in found} <= SCHEME, BARE_CODES[path]
    else:
        assert found == [], f"{path}: return the infra.exitcodes EXIT_* name, not a number (line, value): {found}"


@pytest.mark.parametrize("path", CLI_FILES)
def test_no_command_defines_its_own_exit_code_numbers(path):
    assert literal_exit_names((ROOT / path).read_text()) == [], \
        f"{path}: import the code from infra.exitcodes instead of defining its number"


def test_every_command_documents_only_codes_of_the_scheme_and_its_help_says_so():
    for prog, (parser, codes) in _command_modules().items():
        assert set(codes) <= SCHEME, prog
        assert {exitcodes.EXIT_OK, exitcodes.EXIT_USAGE, exitcodes.EXIT_INTERNAL,
                exitcodes.EXIT_INTERRUPTED} <= set(codes), f"{prog}: every command can end so"
        assert parser.epilog == exitcodes.epilog(codes) and exitcodes.DOC in parser.epilog, prog


def test_a_code_outside_the_scheme_cannot_be_documented():
    with pytest.raises(ValueError, match=r"\[6\]"):
        exitcodes.epilog({exitcodes.EXIT_OK: "ok", 6: "six"})


def test_each_failure_class_maps_to_a_code_its_command_documents():
    from cicd import __main__ as cicd_main
    from cicd import lock
    from ops import errors as ops_errors

    ops_classes = [ops_errors.UsageError, ops_errors.DatabaseError, ops_errors.StorageError, ops_errors.CheckFailed]
    assert [c.code for c in ops_classes] == [2, 4, 4, 1]
    assert ops_errors.OpsError.code == exitcodes.EXIT_INTERNAL == 5
    assert {c.code for c in ops_classes} | {ops_errors.OpsError.code} <= set(ops_errors.EXIT_CODES)
    assert {lock.LockError("x").code, lock.LockError("x", exitcodes.EXIT_SERVICE).code} <= set(cicd_main.EXIT_CODES)


def test_the_scheme_is_what_the_docs_and_workflows_rely_on():
    assert [(c.code, c.name) for c in exitcodes.ALL] == [
        (0, "ok"), (1, "finding"), (2, "refused"), (3, "program failed"), (4, "service failed"),
        (5, "internal error"), (130, "interrupted")]


def test_an_internal_error_is_one_line_unless_debug():
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError as exc:
        short = exitcodes.internal_error("python -m x", exc)
        full = exitcodes.internal_error("python -m x", exc, debug=True)
    assert short == "python -m x: internal error: RuntimeError: boom (a bug; rerun with --debug)"
    assert "Traceback (most recent call last)" in full and "second line" in full


def test_the_scheme_module_imports_only_the_standard_library():
    for node in ast.walk(parse((ROOT / "infra" / "exitcodes.py").read_text())):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert all(n.split(".")[0] in sys.stdlib_module_names for n in names), names


class _Refused(Exception):
    pass


def _raise(exc: BaseException):
    def action() -> int:
        raise exc
    return action


def test_run_command_maps_refusals_interrupts_and_bugs_to_the_scheme(capsys):
    def run(action, debug=False):
        return exitcodes.run_command("tool", action, refused=(_Refused,), debug=debug)

    assert run(lambda: exitcodes.EXIT_FINDING) == exitcodes.EXIT_FINDING
    assert run(_raise(_Refused("--x: not a number"))) == exitcodes.EXIT_USAGE
    assert capsys.readouterr().err == "error: --x: not a number\n"
    assert run(_raise(KeyboardInterrupt())) == exitcodes.EXIT_INTERRUPTED
    assert capsys.readouterr().err == "tool: interrupted\n"
    assert run(_raise(ValueError("boom"))) == exitcodes.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("tool: internal error: ValueError: boom") and "Traceback" not in err
    assert run(_raise(ValueError("boom")), debug=True) == exitcodes.EXIT_INTERNAL
    assert "Traceback" in capsys.readouterr().err
