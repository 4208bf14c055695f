"""`python -m review graph`: the dependency graph (Mermaid, DOT, text or JSON) with the critical path."""

from __future__ import annotations

from review import graph
from review import manifest as mf
from review.commands._shared import Inputs, evaluate
from review.errors import EXIT_OK
from review.output import Output, json_text


def cmd_graph(out: Output, inputs: Inputs, *, stack: str, fmt: str, out_file: str | None = None) -> int:
    ev = evaluate(inputs, out, stack)
    out.learn(ev)
    g = graph.build(mf.build(ev.capture))
    render = {"mermaid": graph.mermaid, "dot": graph.dot, "text": graph.text,
              "json": lambda g: json_text(graph.as_json(g))}[fmt]
    if out_file:
        out.write(out_file, render(g))
        out.print(graph.text(g) + f"{fmt} graph written to {out_file}\n")
    else:
        out.print(render(g))
    return EXIT_OK
