"""`python -m review check`: evaluate stacks and run the policy pack over each as
`pulumi preview --policy-pack` does; with a production and a preview stack, also flag preview
reusing a production secret (`review.crossstack`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from review import check, crossstack, evaluate, lazy, sarif
from review.commands._shared import Inputs, overrides, states
from review.errors import EXIT_FINDING, EXIT_OK, UsageError
from review.evaluate import HOME
from review.output import Output, json_text


def cmd_check(out: Output, inputs: Inputs, *, stacks: Sequence[str], fmt: str, policy_config: str | None = None,
              policy_pack: str | None = None) -> int:
    names = list(dict.fromkeys(s for item in stacks for s in item.split(",") if s))
    answers = evaluate.load_answers(inputs.answers)
    given = overrides(inputs, answers)
    sources = [evaluate.load_source(s, inputs.program, given) for s in names]
    stack_states = states(inputs, names)
    for source in sources:
        out.learn_source(source)
    pack_dir = Path(policy_pack).resolve() if policy_pack else HOME / "policies"
    if not (pack_dir / "PulumiPolicy.yaml").is_file():
        raise UsageError(f"--policy-pack {pack_dir}: no PulumiPolicy.yaml (not a policy pack)")
    configs = [check.policy_config_for(s.stack, pack_dir, policy_config, s.project) for s in sources]
    analyses, reports = _run_packs(out, inputs, answers, pack_dir, sources, configs, stack_states)
    cross = crossstack.compare([a.evaluation.capture for a in analyses], crossstack.shared_values(sources, given))
    crossstack.attach(reports, cross)
    check.locate_all(reports, [a.evaluation for a in analyses])
    if fmt == "json":
        out.print(json_text(check.as_json(reports, cross)))
    elif fmt == "sarif":
        out.print(json_text(sarif.sarif(reports)))
    elif fmt == "markdown":
        out.print(check.markdown(reports, cross))
    else:
        out.print(check.text(reports, cross))
    return EXIT_OK if check.ok(reports) else EXIT_FINDING


def _run_packs(out: Output, inputs: Inputs, answers: Any, pack_dir: Path, sources: Sequence[Any],
               configs: Sequence[Path | None], stack_states: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """One pack process per stack, started before the program runs so its start-up overlaps the
    evaluation; each resource goes to the pack as it registers. Returns the analyses and reports."""
    starters = [check.PackStarter(pack_dir, s, c) for s, c in zip(sources, configs, strict=True)]
    for st in starters:
        st.start()
    analyses: list[check.StackAnalysis] = []
    try:
        if not inputs.eager_imports:
            lazy.install()
        for st, source in zip(starters, sources, strict=True):
            analysis = check.StackAnalysis(st, source)
            analyses.append(analysis)
            analysis.start()
            try:
                ev = evaluate.evaluate(source, answers, on_register=analysis.put,
                                       state=stack_states.get(source.stack))
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
    return analyses, reports
