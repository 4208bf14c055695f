"""`plan`: the resource tree of one stack, counts per provider, and the manifest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from review import manifest as mf
from review import render
from review import wire


def summary(m: Mapping[str, Any]) -> tuple[int, int, int]:
    resources = m["resources"]
    custom = sum(1 for r in resources if r["custom"])
    components = sum(1 for r in resources if not r["custom"] and r["type"] != wire.STACK_TYPE)
    return len(resources), custom, components


def text(m: Mapping[str, Any]) -> str:
    total, custom, components = summary(m)
    lines = [f"Plan {m['project']}/{m['stack']}: {total} resources "
             f"({custom} custom, {components} components, 1 stack)", ""]
    lines += render.tree_lines(m["resources"])
    lines += ["", "Resources per provider:"]
    counts = render.provider_counts(m["resources"])
    width = max((len(p) for p in counts), default=0)
    for pkg, kinds in counts.items():
        detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        lines.append(f"  {pkg:<{width}}  {sum(kinds.values()):>3}  ({detail})")
    lines += ["", "Stack outputs:"]
    for key, value in sorted(m["outputs"].items()):
        lines.append(f"  {key}: {render.short(value, 100)}")
    return "\n".join(lines) + "\n"


def markdown(m: Mapping[str, Any]) -> str:
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
    tree = render.Section("Resource tree", render.tree_lines(m["resources"]), code=True)
    return render.fit_comment(lines, [tree], f"python -m review plan --stack {m['stack']}")
