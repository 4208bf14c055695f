"""`graph`: the dependency graph of a stack, as Mermaid or DOT, with its critical path.

An edge u → v means the engine cannot register v before u has completed: v lists u in its
`dependencies` or `propertyDependencies`, u is v's parent, or u is v's explicit provider. The
critical path is the longest chain of such edges, counted in resources (root stack included);
however parallel `pulumi up` runs, it needs at least that many steps one after another. The
`levels` (resources by their position on their longest chain) show how wide each step can be.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from review import render, wire


@dataclass
class Graph:
    project: str
    stack: str
    nodes: list[Mapping[str, Any]]
    edges: list[tuple[str, str, str]]
    """(from urn, to urn, kind) with kind "dependency", "parent" or "provider"; sorted."""
    critical: list[str]
    """URNs of the critical path, first to last."""
    depth: dict[str, int]

    @property
    def length(self) -> int:
        return len(self.critical)

    @property
    def custom_on_path(self) -> int:
        by = {n["urn"]: n for n in self.nodes}
        return sum(1 for u in self.critical if by[u]["custom"])

    def widths(self) -> list[int]:
        counts = Counter(self.depth.values())
        return [counts[i] for i in range(1, max(counts, default=0) + 1)]


def _provider_urn(ref: str | None) -> str | None:
    return wire.provider_urn(ref) if ref else None


def build(manifest: Mapping[str, Any]) -> Graph:
    nodes = sorted(manifest["resources"], key=lambda r: r["urn"])
    urns = {n["urn"] for n in nodes}
    edges = _edges(nodes, urns)
    preds: dict[str, list[str]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    for (a, b) in sorted(edges):
        preds[b].append(a)
        succs[a].append(b)
    order = _topological_order(urns, preds, succs)
    depth: dict[str, int] = {}
    best_pred: dict[str, str | None] = {}
    for u in order:
        ps = preds[u]
        if ps:
            p = max(ps, key=lambda x: (depth[x], x))
            depth[u], best_pred[u] = depth[p] + 1, p
        else:
            depth[u], best_pred[u] = 1, None
    end = max(order, key=lambda u: (depth[u], u)) if order else None
    path: list[str] = []
    while end is not None:
        path.append(end)
        end = best_pred[end]
    path.reverse()
    return Graph(project=manifest["project"], stack=manifest["stack"], nodes=nodes,
                 edges=sorted((a, b, k) for (a, b), k in edges.items()), critical=path, depth=depth)


def _edges(nodes: list[Mapping[str, Any]], urns: set[str]) -> dict[tuple[str, str], str]:
    """(from, to) -> kind (dependency, provider, parent), the first kind found for a pair."""
    edges: dict[tuple[str, str], str] = {}

    def add(src: str | None, dst: str, kind: str) -> None:
        if src and src in urns and src != dst and (src, dst) not in edges:
            edges[(src, dst)] = kind

    for n in nodes:
        for d in n.get("dependencies", []):
            add(d, n["urn"], "dependency")
        for ds in (n.get("propertyDependencies") or {}).values():
            for d in ds:
                add(d, n["urn"], "dependency")
        add(_provider_urn(n.get("provider")), n["urn"], "provider")
        add(n.get("parent"), n["urn"], "parent")
    return edges


def _topological_order(urns: set[str], preds: Mapping[str, list[str]], succs: Mapping[str, list[str]]) -> list[str]:
    """Kahn's algorithm; ties broken by URN for a deterministic result. A cycle is a ValueError."""
    indeg = {u: len(preds[u]) for u in urns}
    ready = sorted(u for u, d in indeg.items() if d == 0)
    order: list[str] = []
    while ready:
        u = ready.pop(0)
        order.append(u)
        for v in succs[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
        ready.sort()
    if len(order) != len(urns):
        cyclic = sorted(u for u in urns if indeg[u] > 0)
        raise ValueError(f"dependency cycle among: {', '.join(cyclic[:5])}")
    return order


def _label(n: Mapping[str, Any]) -> str:
    kind = "stack" if n["type"] == wire.STACK_TYPE else n["type"].rsplit(":", 1)[-1]
    if n["type"].startswith("pulumi:providers:"):
        kind = "provider " + n["type"].split(":", 2)[2]
    return f"{kind}: {n['name']}"


def critical_summary(g: Graph) -> str:
    by = {n["urn"]: n for n in g.nodes}
    chain = " → ".join(by[u]["name"] for u in g.critical)
    return (f"critical path: {g.length} resources ({g.custom_on_path} custom) in {g.project}/{g.stack}: {chain}")


def mermaid(g: Graph) -> str:
    ids = {n["urn"]: f"n{i}" for i, n in enumerate(g.nodes)}
    on_path = set(g.critical)
    path_edges = set(pairwise(g.critical))
    lines = [f"%% {critical_summary(g)}", "flowchart LR"]
    for n in g.nodes:
        label = _label(n).replace('"', "'")
        shape = f'["{label}"]' if n["custom"] else f'(["{label}"])'
        lines.append(f"  {ids[n['urn']]}{shape}")
    crit_links = []
    for i, (a, b, kind) in enumerate(g.edges):
        arrow = "-.->" if kind == "parent" else "-->"
        lines.append(f"  {ids[a]} {arrow} {ids[b]}")
        if (a, b) in path_edges:
            crit_links.append(str(i))
    lines.append("  classDef critical fill:#ffe0e0,stroke:#c00,stroke-width:3px;")
    if on_path:
        lines.append("  class " + ",".join(ids[u] for u in g.critical) + " critical;")
    if crit_links:
        lines.append(f"  linkStyle {','.join(crit_links)} stroke:#c00,stroke-width:3px;")
    return "\n".join(lines) + "\n"


def dot(g: Graph) -> str:
    on_path = set(g.critical)
    path_edges = set(pairwise(g.critical))
    q = json.dumps
    lines = [f"// {critical_summary(g)}", f"digraph {q(g.project + '/' + g.stack)} {{",
             "  rankdir=LR;", '  node [shape=box, fontsize=10, fontname="Helvetica"];']
    for n in g.nodes:
        attrs = [f"label={q(_label(n))}"]
        if not n["custom"]:
            attrs.append("style=rounded")
        if n["urn"] in on_path:
            attrs += ["color=red", "penwidth=2.5"]
        lines.append(f"  {q(n['urn'])} [{', '.join(attrs)}];")
    for a, b, kind in g.edges:
        attrs = []
        if kind == "parent":
            attrs.append("style=dashed")
        if (a, b) in path_edges:
            attrs += ["color=red", "penwidth=2.5"]
        lines.append(f"  {q(a)} -> {q(b)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def text(g: Graph) -> str:
    by = {n["urn"]: n for n in g.nodes}
    kinds = Counter(k for _, _, k in g.edges)
    lines = [f"graph {g.project}/{g.stack}: {len(g.nodes)} resources, {len(g.edges)} edges "
             f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})",
             f"critical path: {g.length} resources ({g.custom_on_path} custom)"]
    for i, u in enumerate(g.critical, 1):
        lines.append(f"  {i:>2}. {render.short_type(by[u]['type'])} {render.one_line(by[u]['name'])}")
    lines.append("resources per step: " + " ".join(str(w) for w in g.widths()))
    return "\n".join(lines) + "\n"


def as_json(g: Graph) -> dict[str, Any]:
    return {"project": g.project, "stack": g.stack, "resources": len(g.nodes), "edges": len(g.edges),
            "criticalPath": g.critical, "criticalPathLength": g.length,
            "criticalPathCustom": g.custom_on_path, "widths": g.widths()}
