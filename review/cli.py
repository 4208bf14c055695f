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

Exit codes:
    0  success (check: no mandatory violation; diff: nothing flagged or --allow-replace)
    1  check: a mandatory policy violation (the pack's, or preview reusing a production secret);
       diff: a stateful resource would be deleted or replaced
    2  bad usage or invalid input, naming the path or key: a project or stack file the CLI would
       refuse (infra.projectfile: missing keys, wrong types, plain-text secrets), invalid stack
       config (the program's message names the keys), config nothing reads, an answer the run
       needs (an invoke, a stack reference), invalid policy config, answers or state file, bad git
       revision, an unwritable --out, two --stack for plan/diff/graph
    3  the program or the policy pack failed for another reason (its last line; no traceback
       without --debug)

Secrets: every secret the run is given (placeholders, --config values of secret keys) is scrubbed
from every message and output, in the forms repr() and JSON give it too; a secret equal to a
public config value, or too short to look for, is reported as weak instead of being scrubbed.

`check` with a stack writing the Vercel `production` target and one writing `preview` (e.g.
`--stack prod --stack preview`) also runs the cross-stack rule `stacks-disallow-shared-secret-values`
(`review.crossstack`): a sensitive variable whose preview value equals the production value
of the same key is a mandatory violation (exit 1); values are compared by HMAC digest, never shown.

The manifest written by `plan --out` is described in `review.manifest`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra import catalog
from review.evaluate import HOME, EvaluationError, UsageError

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage and exits 2
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
                     epilog="exit codes: 0 ok, 1 mandatory violation / flagged replacement, "
                            "2 bad usage or input (config the CLI refuses, a needed answer), "
                            "3 program or policy pack failure")
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
    p.set_defaults(func=cmd_plan)

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
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("diff", help="what `pulumi preview` would show for the working tree against the stack "
                                     "deployed from a git revision")
    common(p, formats=("text", "json", "markdown"), with_state=False)
    p.add_argument("--base", required=True, metavar="GITREF", help="git revision to compare against")
    p.add_argument("--allow-replace", action="store_true",
                   help="exit 0 even when a stateful resource would be deleted or replaced")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("graph", help="dependency graph (Mermaid or DOT) with the critical path")
    common(p, formats=("mermaid", "dot", "text", "json"))
    p.add_argument("--out", metavar="FILE", help="write the graph to FILE and print the summary")
    p.set_defaults(func=cmd_graph)
    return parser


# --------------------------------------------------------------------------- helpers


class Output:
    """Writes scrubbed text to stdout/stderr/files and counts what the scrubber had to remove."""

    def __init__(self) -> None:
        from review.render import Scrubber  # noqa: PLC0415

        self.scrubber = Scrubber()
        self.leaks = 0
        self.weak: dict[str, str] = {}
        """Secret config key -> why its value cannot be kept out of the output (named, never shown)."""
        self._public: set[str] = set()
        self._noted: set[str] = set()

    def learn_source(self, source: Any) -> None:
        """Every secret the run was given (stack file placeholders, --config values), before the
        program runs: a program exception or a pack crash may quote them.

        A secret equal to a public config value (dbAdminPassword=ara_admin), too short to look for or
        made of words (posthogApiKey=production) is not scrubbed: that would turn every copy of that
        text into [secret] and so reveal the secret. It is reported as weak instead (ARA's program
        refuses it, naming the key). A value shaped like a credential under a key that is not secret
        (clerkPublishableKey=sk_live_...) is scrubbed like a secret."""
        from review.render import weak_reason  # noqa: PLC0415

        public = {v: k for k, v in source.values.items() if k not in source.secret_keys}
        self._public.update(v for v in public if not catalog.contains_credential(v))
        self.scrubber.add(v for v in public if catalog.contains_credential(v))
        for key in source.secret_keys:
            value = source.values.get(key)
            if value is None:
                continue
            if value in public:
                self.weak[key] = f"its value is the public value of {public[value]}"
            elif weak_reason(value):
                self.weak[key] = f"its value {weak_reason(value)}"
            else:
                self.scrubber.add([value])
        self.scrubber.add(set(source.placeholders.values()))
        for note in getattr(source, "notes", ()):
            if note not in self._noted:
                self._noted.add(note)
                sys.stderr.write(self.clean(f"warning: stack {source.stack!r}: {note}\n"))

    def learn(self, evaluation: Any) -> None:
        from review import wire  # noqa: PLC0415

        capture, source = evaluation.capture, evaluation.source
        self.learn_source(source)
        secret: set[str] = set()
        plain: set[str] = set(self._public)
        for r in capture.resources:
            for value in (r.props, r.outputs or {}):
                wire.secret_strings(value, secret)
                wire.plain_strings(value, plain)
        wire.secret_strings(capture.stack_outputs, secret)
        wire.plain_strings(capture.stack_outputs, plain)
        # Derived secret strings when they are long enough to be credentials rather than words
        # (the Vercel SDK wraps every env-var value, so "production" is secret-wrapped too) and
        # never occur as plain values.
        # An unknown is the engine's marker, not a value, wherever it sits.
        self.scrubber.add(s for s in secret - plain - {wire.UNKNOWN} if len(s) >= 16)
        for warning in capture.warnings:
            sys.stderr.write(self.clean(f"warning: stack {source.stack!r}: {warning}\n"))

    def clean(self, text: str) -> str:
        cleaned = self.scrubber.clean(text)
        if cleaned != text:
            self.leaks += 1
        return cleaned

    def print(self, text: str) -> None:
        sys.stdout.write(self.clean(text))
        sys.stdout.flush()

    def write(self, path: str, text: str) -> None:
        target = Path(path)
        try:
            if target.is_dir():
                raise IsADirectoryError(21, "is a directory")
            target.write_text(self.clean(text))
        except OSError as exc:
            raise UsageError(f"--out {path}: cannot write it ({exc.strerror or exc})") from None

    def warn_leaks(self) -> None:
        for key, why in sorted(self.weak.items()):
            sys.stderr.write(f"warning: secret {key} is weak: {why}; it cannot be kept out of the output. "
                             f"Set a strong value with `pulumi config set --secret {key.split(':')[-1]}`\n")
        if self.leaks:
            sys.stderr.write("warning: a secret value appeared outside a secret (a plain property, an output "
                             "or a message) and was replaced by [secret]; mark it secret in the program\n")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The `--answers` file's config, then `--config` values over it."""
    from review.evaluate import load_answers, parse_override  # noqa: PLC0415

    given = dict(load_answers(args.answers).config)
    given.update(parse_override(o) for o in args.config)
    return given


def _states(args: argparse.Namespace, stacks: Sequence[str]) -> dict[str, Any]:
    """Stack -> its `--state` file, each matched by the stack its URNs name."""
    from review.capture import state as st  # noqa: PLC0415

    found: dict[str, Any] = {}
    for path in getattr(args, "state", None) or []:
        try:
            loaded = st.ExportedState.load(path)
        except st.StateError as exc:
            raise UsageError(str(exc)) from None
        named = {urn.split("::", 1)[0].removeprefix("urn:pulumi:") for urn in loaded.resources}
        match = [s for s in stacks if s in named or not named]
        if len(match) != 1 or match[0] in found:
            raise UsageError(f"--state {path}: holds stack {', '.join(sorted(named)) or '(empty)'}; give one "
                             f"`pulumi stack export` per stack evaluated ({', '.join(stacks)})")
        found[match[0]] = loaded
    return found


def _evaluate(args: argparse.Namespace, out: Output, stack: str, program: str | None = None) -> Any:
    from review import evaluate, lazy  # noqa: PLC0415

    source = evaluate.load_source(stack, program or args.program, _overrides(args))
    answers = evaluate.load_answers(args.answers)
    state = _states(args, [stack]).get(stack)
    out.learn_source(source)
    if not args.eager_imports:
        lazy.install()
    return evaluate.evaluate(source, answers, preview=not getattr(args, "as_deployed", False), state=state)


def _digest_key() -> bytes | None:
    from review.manifest import DIGEST_ENV  # noqa: PLC0415

    raw = os.environ.get(DIGEST_ENV)
    if not raw:
        return None
    try:
        return bytes.fromhex(raw)
    except ValueError:
        raise UsageError(f"{DIGEST_ENV} must be hex") from None


PIPED_WIDTH = 120
"""Columns of text output when stdout is not a terminal (CI logs, files): fixed, so it diffs."""


def output_width() -> int:
    """The terminal's width (COLUMNS when set), or PIPED_WIDTH when stdout is not a terminal."""
    import shutil  # noqa: PLC0415

    if os.environ.get("COLUMNS", "").isdigit():
        return max(40, int(os.environ["COLUMNS"]))
    if sys.stdout.isatty():
        return max(40, shutil.get_terminal_size((PIPED_WIDTH, 24)).columns)
    return PIPED_WIDTH


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- commands


def cmd_plan(args: argparse.Namespace, out: Output) -> int:
    from review import manifest as mf  # noqa: PLC0415
    from review import plan, render  # noqa: PLC0415

    ev = _evaluate(args, out, args.stack)
    out.learn(ev)
    m = mf.build(ev.capture, _digest_key())
    if mf.contains_secret_value(m):  # cannot happen: redact() replaces every sentinel
        raise EvaluationError("internal error: a secret survived redaction; nothing written")
    if args.out:
        out.write(args.out, mf.dumps(m))
    if args.quiet:
        return EXIT_OK
    revealed = render.plain_env_values(ev.capture)
    if args.format == "json":
        out.print(mf.dumps(m))
    elif args.format == "markdown":
        out.print(plan.markdown(m, revealed))
    else:
        out.print(plan.text(m, output_width(), revealed)
                  + (f"\nmanifest written to {args.out}\n" if args.out else ""))
    return EXIT_OK


def cmd_check(args: argparse.Namespace, out: Output) -> int:
    from review import check, crossstack, evaluate, lazy  # noqa: PLC0415

    stacks = list(dict.fromkeys(s for item in args.stack for s in item.split(",") if s))
    overrides = _overrides(args)
    sources = [evaluate.load_source(s, args.program, overrides) for s in stacks]
    answers = evaluate.load_answers(args.answers)
    states = _states(args, stacks)
    for source in sources:
        out.learn_source(source)
    pack_dir = Path(args.policy_pack).resolve() if args.policy_pack else HOME / "policies"
    if not (pack_dir / "PulumiPolicy.yaml").is_file():
        raise UsageError(f"--policy-pack {pack_dir}: no PulumiPolicy.yaml (not a policy pack)")
    configs = [check.policy_config_for(s.stack, pack_dir, args.policy_config, s.project) for s in sources]

    starters = [check.PackStarter(pack_dir, s, c) for s, c in zip(sources, configs)]
    for st in starters:
        st.start()
    analyses: list[check.StackAnalysis] = []
    try:
        if not args.eager_imports:
            lazy.install()
        for st, source in zip(starters, sources):
            analysis = check.StackAnalysis(st, source)
            analyses.append(analysis)
            analysis.start()
            try:
                ev = evaluate.evaluate(source, answers, on_register=analysis.put, state=states.get(source.stack))
            except BaseException:
                analysis.abort()
                raise
            out.learn(ev)
            analysis.done(ev)
        reports = [a.result() for a in analyses]
    finally:
        for a in analyses:
            if a.evaluation is None:
                a.abort()
            a.join()
        for st in starters:
            st.close()
    cross = crossstack.compare([a.evaluation.capture for a in analyses],
                               crossstack.shared_values(sources, overrides))
    crossstack.attach(reports, cross)
    check.locate_all(reports, [a.evaluation for a in analyses])
    if args.format == "json":
        out.print(_json(check.as_json(reports, cross)))
    elif args.format == "sarif":
        from review import sarif  # noqa: PLC0415

        out.print(_json(sarif.sarif(reports)))
    elif args.format == "markdown":
        out.print(check.markdown(reports, cross))
    else:
        out.print(check.text(reports, cross))
    return EXIT_OK if check.ok(reports) else EXIT_VIOLATIONS


def cmd_diff(args: argparse.Namespace, out: Output) -> int:
    from review import diff, evaluate, lazy  # noqa: PLC0415
    from review import manifest as mf  # noqa: PLC0415
    from review.capture import state as st  # noqa: PLC0415

    source = evaluate.load_source(args.stack, args.program, _overrides(args))
    answers = evaluate.load_answers(args.answers)
    out.learn_source(source)
    key = os.urandom(32)
    with diff.TempDir() as tmp:
        base_dir, commit = diff.export_revision(source.program_dir, args.base, tmp / "src")
        base = None
        if (base_dir / f"Pulumi.{args.stack}.yaml").is_file() or evaluate.derivable_at(base_dir, args.stack):
            # The base revision as deployed, first: the working tree is previewed against it.
            proc = diff.start_base_plan(base_dir, args.stack, tmp / "base.json", key,
                                        eager=args.eager_imports, overrides=args.config, answers=args.answers)
            base = diff.finish_base_plan(proc, tmp / "base.json", args.base)
        if not args.eager_imports:
            lazy.install()
        ev = evaluate.evaluate(source, answers, state=st.DeployedManifest(base, key) if base else None)
        out.learn(ev)
        work = mf.build(ev.capture, key)
    res = diff.diff_manifests(base, work, base_ref=args.base, base_commit=commit)
    res.config_keys = tuple(dict.fromkeys(o.partition("=")[0].strip() for o in args.config))
    if args.format == "json":
        out.print(_json(diff.as_json(res)))
    elif args.format == "markdown":
        out.print(diff.markdown(res))
    else:
        out.print(diff.text(res))
    return EXIT_VIOLATIONS if res.flags and not args.allow_replace else EXIT_OK


def cmd_graph(args: argparse.Namespace, out: Output) -> int:
    from review import graph  # noqa: PLC0415
    from review import manifest as mf  # noqa: PLC0415

    ev = _evaluate(args, out, args.stack)
    out.learn(ev)
    g = graph.build(mf.build(ev.capture))
    render = {"mermaid": graph.mermaid, "dot": graph.dot, "text": graph.text,
              "json": lambda g: _json(graph.as_json(g))}[args.format]
    if args.out:
        out.write(args.out, render(g))
        out.print(graph.text(g) + f"{args.format} graph written to {args.out}\n")
    else:
        out.print(render(g))
    return EXIT_OK


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
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            pass
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code or 0)
    out = Output()
    try:
        code = args.func(args, out)
        out.warn_leaks()
        return code
    except UsageError as exc:
        sys.stderr.write(out.clean(f"error: {brief(str(exc), args.debug)}\n"))
        out.warn_leaks()
        return EXIT_USAGE
    except EvaluationError as exc:
        sys.stderr.write(out.clean(f"error: {brief(str(exc), args.debug)}\n"))
        out.warn_leaks()
        return EXIT_FAILED
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as exc:
        if args.debug:
            raise
        sys.stderr.write(out.clean(f"error: unexpected {type(exc).__name__}: {brief(str(exc), False)} "
                                   "(rerun with --debug)\n"))
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
