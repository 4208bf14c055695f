"""`python -m review plan`: evaluate a stack and print its resource tree; `--out` writes the manifest."""

from __future__ import annotations

from review import manifest as mf
from review import plan, render
from review.commands._shared import Inputs, digest_key, evaluate
from review.errors import EXIT_OK, InternalError
from review.output import Output, output_width


def cmd_plan(out: Output, inputs: Inputs, *, stack: str, fmt: str, out_file: str | None = None,
             quiet: bool = False, as_deployed: bool = False) -> int:
    ev = evaluate(inputs, out, stack, as_deployed=as_deployed)
    out.learn(ev)
    m = mf.build(ev.capture, digest_key())
    if mf.contains_secret_value(m):  # cannot happen: redact() replaces every sentinel
        raise InternalError("a secret survived redaction; nothing written")
    if out_file:
        out.write(out_file, mf.dumps(m))
    if quiet:
        return EXIT_OK
    revealed = render.plain_env_values(ev.capture)
    if fmt == "json":
        out.print(mf.dumps(m))
    elif fmt == "markdown":
        out.print(plan.markdown(m, revealed))
    else:
        out.print(plan.text(m, output_width(), revealed) + (f"\nmanifest written to {out_file}\n" if out_file else ""))
    return EXIT_OK
