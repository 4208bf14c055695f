"""`plan`: the resource tree of one stack, counts per provider, and the manifest."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from review import render, wire


def summary(m: Mapping[str, Any]) -> tuple[int, int, int]:
    resources = m["resources"]
    custom = sum(1 for r in resources if r["custom"])
    components = sum(1 for r in resources if not r["custom"] and r["type"] != wire.STACK_TYPE)
    return len(resources), custom, components


def text(m: Mapping[str, Any], width: int | None = None, revealed: Mapping[str, Any] | None = None) -> str:
    """The tree with each resource's settings, no line wider than `width` (see `render.tree_lines`);
    `revealed` holds the values of variables the program itself did not make secret."""
    total, custom, components = summary(m)
    lines = [f"Plan {m['project']}/{m['stack']}: {total} resources "
             f"({custom} custom, {components} components, 1 stack)", ""]
    lines += render.tree_lines(m["resources"], width, revealed)
    lines += ["", "Resources per provider:"]
    counts = render.provider_counts(m["resources"])
    columns, width = width, max((len(p) for p in counts), default=0)
    for pkg, kinds in counts.items():
        detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        line = f"  {pkg:<{width}}  {sum(kinds.values()):>3}  ({detail})"
        indent = " " * (width + 9)
        lines += textwrap.wrap(line, columns, subsequent_indent=indent) if columns else [line]
    lines += ["", "Stack outputs:"]
    for key, value in sorted(m["outputs"].items()):
        lines.append(f"  {key}: {render.short(value, max(20, (columns or 120) - len(key) - 4))}")
    return "\n".join(lines) + "\n"


def markdown(m: Mapping[str, Any], revealed: Mapping[str, Any] | None = None) -> str:
    """A pull-request comment: counts first, the tree collapsed, under GitHub's comment limit."""
    total, custom, components = summary(m)
    counts = render.provider_counts(m["resources"])
    lines = [f"#### Plan {render.md_code(m['project'] + '/' + m['stack'])}: {total} resources "
             f"({custom} custom, {components} components)", "",
             "| provider | resources | types |", "|---|---:|---|"]
    for pkg, kinds in counts.items():
        detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        lines.append(f"| {render.md_escape(pkg)} | {sum(kinds.values())} | {render.md_escape(detail)} |")
    protected = sorted(r["name"] for r in m["resources"] if r.get("protect"))
    if protected:
        lines += ["", f"Protected: {', '.join(render.md_code(n) for n in protected)}"]
    tree = render.Section("Resource tree", render.tree_lines(m["resources"], revealed=revealed), code=True)
    return render.fit_comment(lines, [tree], f"python -m review plan --stack {m['stack']}")
