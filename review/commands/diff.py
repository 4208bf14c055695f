"""`python -m review diff`: what `pulumi preview` would show for the working tree against the stack
deployed from a git revision."""

from __future__ import annotations

import os

from review import ara, baseline, diff, evaluate, lazy
from review import manifest as mf
from review.capture import state as st
from review.commands._shared import Inputs, overrides
from review.errors import EXIT_FINDING, EXIT_OK
from review.output import Output, json_text


def cmd_diff(out: Output, inputs: Inputs, *, stack: str, base: str, fmt: str, allow_replace: bool = False) -> int:
    answers = evaluate.load_answers(inputs.answers)
    source = evaluate.load_source(stack, inputs.program, overrides(inputs, answers))
    out.learn_source(source)
    key = os.urandom(32)
    with baseline.TempDir() as tmp:
        base_dir, commit = baseline.export_revision(source.program_dir, base, tmp / "src")
        deployed = None
        if (base_dir / f"Pulumi.{stack}.yaml").is_file() or ara.derivable_at(base_dir, stack):
            # The base revision as deployed, first: the working tree is previewed against it.
            proc = baseline.start_base_plan(base_dir, stack, tmp / "base.json", key, eager=inputs.eager_imports,
                                            overrides=list(inputs.config), answers=inputs.answers)
            deployed = baseline.finish_base_plan(proc, tmp / "base.json", base)
        if not inputs.eager_imports:
            lazy.install()
        ev = evaluate.evaluate(source, answers, state=st.DeployedManifest(deployed, key) if deployed else None)
        out.learn(ev)
        work = mf.build(ev.capture, key)
    res = diff.diff_manifests(deployed, work, base_ref=base, base_commit=commit)
    res.config_keys = tuple(dict.fromkeys(o.partition("=")[0].strip() for o in inputs.config))
    if fmt == "json":
        out.print(json_text(diff.as_json(res)))
    elif fmt == "markdown":
        out.print(diff.markdown(res))
    else:
        out.print(diff.text(res))
    return EXIT_FINDING if res.flags and not allow_replace else EXIT_OK
