"""`python -m review`: evaluate this Pulumi program offline and review it.

    python -m review plan  --stack NAME [--program DIR] [--out FILE] [--format text|json|markdown]
    python -m review check --stack NAME [--stack NAME ...] [--program DIR] [--policy-config FILE]
                          [--policy-pack DIR] [--format text|json|markdown|sarif]
    python -m review diff  --stack NAME --base GITREF [--program DIR] [--allow-replace]
                          [--format text|json|markdown]
    python -m review graph --stack NAME [--program DIR] [--format mermaid|dot|text|json] [--out FILE]

Common options: `--config KEY=VALUE` (repeatable) overrides a stack config value (JSON values
such as lists are parsed), `--answers FILE` gives what an offline run cannot know (secret config,
invoke results, other stacks' outputs, provider-computed outputs; `review.capture.mocks.Answers`),
`--state FILE` (plan, check, graph) a `pulumi stack export` to plan against, `--eager-imports`
imports the provider SDKs in full instead of only the modules the program uses (see `review.lazy`),
`--debug` shows tracebacks.

The program runs under Pulumi's mock runtime (`review.capture`) as `pulumi preview` runs it: a dry
run, in which what a provider computes is unknown unless `--state` or `--answers` holds it
(`plan --as-deployed`: as after a finished `up`). The config is loaded as the CLI loads it
(`infra.projectfile`): a declared key without default or value that the stack lacks is refused in
the CLI's words; each `secure:` value is replaced by a placeholder that stays a secret. Secret
values are shown as `[secret]` and never printed or written; as a second guard every output is
scrubbed of the placeholders and of every string that only occurs inside secret values.

Exit codes (the repository's one scheme, `infra.exitcodes`; docs/reference/exit-codes.md):
    0  success (check: no mandatory violation; diff: nothing flagged or --allow-replace)
    1  a finding: check: a mandatory policy violation (the pack's, or preview reusing a production
       secret); diff: a stateful resource would be deleted or replaced
    2  bad usage or invalid input, naming the path or key: a project or stack file the CLI would
       refuse (infra.projectfile: missing keys, wrong types, plain-text secrets), invalid stack
       config (the program's message names the keys), config nothing reads, an answer the run
       needs (an invoke, a stack reference), invalid policy config, answers or state file, bad git
       revision, an unwritable --out, two --stack for plan/diff/graph
    3  the program or the policy pack failed for another reason (its last line; no traceback
       without --debug)
    5  a bug in this tool (`--debug` shows the traceback)
  130  interrupted

Secrets: every secret the run is given (placeholders, --config values of secret keys) is scrubbed
from every message and output, in the forms repr() and JSON give it too; a secret equal to a
public config value, or too short to look for, is reported as weak instead of being scrubbed.

`check` with a stack writing the Vercel `production` target and one writing `preview` (e.g.
`--stack prod --stack preview`) also runs the cross-stack rule `stacks-disallow-shared-secret-values`
(`review.crossstack`): a sensitive variable whose preview value equals the production value
of the same key is a mandatory violation (exit 1); values are compared by HMAC digest, never shown.

The manifest written by `plan --out` is described in `review.manifest`.

This module parses and dispatches only: each subcommand is in `review.commands`, the errors and
exit codes in `review.errors`, the scrubbing writer in `review.output`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from infra.exitcodes import epilog
from review.errors import (
    EXIT_CODES,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_PROGRAM,
    EXIT_USAGE,
    EvaluationError,
    InternalError,
    UsageError,
)
from review.evaluate import HOME
from review.output import Output


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse prints usage and exits 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"error: {message}\n")


class _OneStack(argparse.Action):
    """`--stack` of plan, diff and graph: given twice, refuse rather than silently use the last."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        previous = getattr(namespace, self.dest, None)
        if previous is not None or "," in values:
            given = ", ".join([*([previous] if previous else []), *values.split(",")])
            parser.error(f"--stack: {parser.prog.split()[-1]} handles one stack (got {given}); "
                         "run it once per stack (check takes several)")
        setattr(namespace, self.dest, values)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m review", description="Offline plan, policy check, diff and "
                     "dependency graph of this Pulumi program (mock runtime, no cloud access).",
                     epilog=epilog(EXIT_CODES))
    sub = parser.add_subparsers(dest="command", required=True, metavar="{plan,check,diff,graph}",
                                parser_class=_Parser)

    def common(p: argparse.ArgumentParser, *, formats: Sequence[str], many_stacks: bool = False,
               with_state: bool = True) -> None:
        if many_stacks:
            p.add_argument("--stack", action="append", required=True, metavar="NAME",
                           help="stack to evaluate (repeat for several; Pulumi.NAME.yaml)")
        else:
            p.add_argument("--stack", required=True, metavar="NAME", action=_OneStack,
                           help="stack to evaluate (Pulumi.NAME.yaml); one per run")
        p.add_argument("--program", metavar="DIR", default=None,
                       help=f"Pulumi Python program directory (default: {HOME})")
        p.add_argument("--format", choices=formats, default=formats[0], help=f"output format (default {formats[0]})")
        p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                       help="override a stack config value (JSON values parsed); repeatable")
        p.add_argument("--answers", metavar="FILE", default=None,
                       help="JSON answers for what an offline run cannot know: other stacks' outputs "
                            "(stackReferences), invokes without a built-in answer (invokes), secret config "
                            "values (config) and outputs providers compute (resources)")
        if with_state:
            p.add_argument("--state", action="append", default=[], metavar="FILE",
                           help="`pulumi stack export` of the stack: resources it holds unchanged keep their "
                                "outputs, as in a real preview (repeatable; matched to stacks by URN)")
        p.add_argument("--eager-imports", action="store_true",
                       help="import provider SDKs in full (default: only the modules the program uses)")
        p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")

    p = sub.add_parser("plan", help="evaluate a stack and print its resource tree; --out writes the manifest")
    common(p, formats=("text", "json", "markdown"))
    p.add_argument("--out", metavar="FILE", help="write the manifest JSON (see review.manifest)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success (with --out)")
    p.add_argument("--as-deployed", action="store_true",
                   help="evaluate as after a finished `pulumi up` (every provider output answered by the mocks) "
                        "instead of as `pulumi preview`; diff evaluates its base revision so")

    p = sub.add_parser(
        "check", help="evaluate stacks and run the policy pack as `pulumi preview --policy-pack`; "
                      "with a production and a preview stack, also flag preview reusing a production secret",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Evaluate each --stack and run the policy pack over it as `pulumi preview --policy-pack` "
                    "does.\n\n"
                    "Cross-stack check stacks-disallow-shared-secret-values (MANDATORY, exit 1): when the run "
                    "includes\na stack whose sensitive Vercel env vars target `production` and one whose vars "
                    "target\n`preview` (check --stack prod --stack preview, as `make check` and `make plan` run), "
                    "the values\nof each key are compared across the two by HMAC digest, never printed. Each reuse "
                    "names both\nresource URNs and the fix (for secret config: pulumi config set --secret -s "
                    "preview <key>).\nSkipped: secret-config placeholders and --config values (the run gives them "
                    "to every stack);\nencrypted `secure:` values are not decrypted offline, so their reuse cannot "
                    "be seen here.")
    common(p, formats=("text", "json", "markdown", "sarif"), many_stacks=True)
    p.add_argument("--policy-config", metavar="FILE",
                   help="policy config JSON (default: <pack>/config/<stack>.json when it exists)")
    p.add_argument("--policy-pack", metavar="DIR", default=None,
                   help=f"policy pack directory (default: {HOME / 'policies'})")

    p = sub.add_parser("diff", help="what `pulumi preview` would show for the working tree against the stack "
                                     "deployed from a git revision")
    common(p, formats=("text", "json", "markdown"), with_state=False)
    p.add_argument("--base", required=True, metavar="GITREF", help="git revision to compare against")
    p.add_argument("--allow-replace", action="store_true",
                   help="exit 0 even when a stateful resource would be deleted or replaced")

    p = sub.add_parser("graph", help="dependency graph (Mermaid or DOT) with the critical path")
    common(p, formats=("mermaid", "dot", "text", "json"))
    p.add_argument("--out", metavar="FILE", help="write the graph to FILE and print the summary")
    return parser


# --------------------------------------------------------------------------- dispatch

# Each command's module (and with it the Pulumi SDK, about 0.3 s) is imported only when that command
# runs, so `--help` and a usage error answer at once: hence the imports inside the functions below.


def _inputs(args: argparse.Namespace) -> Any:
    from review.commands._shared import Inputs  # noqa: PLC0415 - loads pulumi: only when it runs

    return Inputs(program=args.program, config=tuple(args.config), answers=args.answers,
                  state=tuple(getattr(args, "state", None) or ()), eager_imports=args.eager_imports)


def dispatch(args: argparse.Namespace, out: Output) -> int:
    """Run the subcommand `args` names with its options as parameters; its exit code."""
    inputs = _inputs(args)
    if args.command == "plan":
        from review.commands.plan import cmd_plan  # noqa: PLC0415 - loads pulumi: only when it runs

        return cmd_plan(out, inputs, stack=args.stack, fmt=args.format, out_file=args.out, quiet=args.quiet,
                        as_deployed=args.as_deployed)
    if args.command == "check":
        from review.commands.check import cmd_check  # noqa: PLC0415 - loads pulumi: only when it runs

        return cmd_check(out, inputs, stacks=args.stack, fmt=args.format, policy_config=args.policy_config,
                         policy_pack=args.policy_pack)
    if args.command == "diff":
        from review.commands.diff import cmd_diff  # noqa: PLC0415 - loads pulumi: only when it runs

        return cmd_diff(out, inputs, stack=args.stack, base=args.base, fmt=args.format,
                        allow_replace=args.allow_replace)
    from review.commands.graph import cmd_graph  # noqa: PLC0415 - loads pulumi: only when it runs

    return cmd_graph(out, inputs, stack=args.stack, fmt=args.format, out_file=args.out)


# --------------------------------------------------------------------------- entry point

_PACK_STDERR = "\n--- pack stderr ---\n"
_TRACEBACK = "Traceback (most recent call last):"


def brief(message: str, debug: bool) -> str:
    """An error message without tracebacks unless --debug: a crashing pack's or program's own
    last line (`ModuleNotFoundError: No module named ...`) is kept, and how to see the rest."""
    if debug or (_PACK_STDERR not in message and _TRACEBACK not in message):
        return message
    head, _, tail = message.partition(_PACK_STDERR)
    if _TRACEBACK in head:
        head, _, tail = head.partition(_TRACEBACK)
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    last = next((line for line in reversed(lines) if not line.startswith(("File ", "^", "~"))), "")
    return head.rstrip() + (f"\n  {last}" if last else "") + "\n  (rerun with --debug to see the full output)"


def _quiet_event_loop_finaliser(unraisable: Any) -> None:
    """At interpreter exit an event loop the mock runtime left open may be collected after its
    thread is gone: `Exception ignored in: BaseEventLoop.__del__`. Noise for a reviewer; every other
    unraisable exception goes to the default hook."""
    where = getattr(unraisable.object, "__qualname__", "") or repr(unraisable.object)
    if "BaseEventLoop.__del__" not in where:
        sys.__unraisablehook__(unraisable)


def install_shutdown_quieting(argv: Sequence[str]) -> None:
    """`python -m review` only (not in-process callers such as the tests): see above."""
    if "--debug" not in argv:
        sys.unraisablehook = _quiet_event_loop_finaliser


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]  # a replaced stream may lack it
        except (AttributeError, ValueError):
            pass
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code or 0)
    out = Output()
    try:
        code = dispatch(args, out)
        out.warn_leaks()
        return code
    except UsageError as exc:
        return _fail(out, brief(str(exc), args.debug), EXIT_USAGE)
    except EvaluationError as exc:
        return _fail(out, brief(str(exc), args.debug), EXIT_PROGRAM)
    except InternalError as exc:
        return _fail(out, f"internal error: {exc} (a bug in `python -m review`)", EXIT_INTERNAL)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        return _fail(out, f"unexpected {type(exc).__name__}: {brief(str(exc), False)} (a bug in `python -m review`; "
                          "rerun with --debug)", EXIT_INTERNAL)


def _fail(out: Output, message: str, code: int) -> int:
    sys.stderr.write(out.clean(f"error: {message}\n"))
    out.warn_leaks()
    return code


if __name__ == "__main__":
    sys.exit(main())
