"""`diff`: desired-state diff between the program at a git revision and the working tree.

The base revision is evaluated in a child process (`review.baseline`), the working tree in this
one at the same time; this module compares the two manifests. Both manifests carry, instead of
each secret value, an HMAC under a random key of this run, so a secret shows only as "changed" or
"unchanged".

Resources are matched the way the engine matches old state: by URN, else through the new
resource's aliases. A stateful resource (`infra.catalog.STATEFUL_TYPES`: Postgres databases and
R2 buckets) is flagged when the engine would delete or replace it:

* its URN disappears and no new resource aliases it (a rename of it or of a parent component,
  a changed type chain): delete, and a create of the new URN when one exists;
* a property the provider cannot update in place changes (`REPLACE_KEYS`: the physical name,
  and the account, jurisdiction and location of a bucket);
* its explicit provider changes to another provider URN that does not alias the old one.

`diff` exits 1 when anything is flagged, unless `--allow-replace`.

Other changes are updates, or replacements where the provider source says so (`REPLACED_BY`:
a RandomPassword whose keepers change, a Vercel variable whose key changes); a secret value fed
by a replaced resource (propertyDependencies) is reported as changing with it.

Mock fidelity: the mocks derive generated values (passwords, ids) from resource names, so after
a rename through an alias they differ although the engine keeps them in its state. A secret
change whose feeding resources are all unchanged, one of them renamed through an alias, is
therefore reported as kept, not as changed. `--config` values go to both sides.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra import catalog
from review import manifest as mf
from review import render, wire
from review.replacements import REPLACE_KEYS, REPLACED_BY


@dataclass
class Change:
    path: str
    old: Any
    new: Any
    secret: bool = False
    because: tuple[str, ...] = ()
    """Names of replaced resources this value derives from (it changes with them)."""

    @property
    def unknown(self) -> bool:
        """The new value is not known before the engine runs: it may change (or not)."""
        return self.new == wire.UNKNOWN or (mf.is_marker(self.new) and bool(self.new.get("unknown")))

    def text(self) -> str:
        if self.secret:
            if self.old is _MISSING:
                return f"{self.path}: added [secret]"
            if self.new is _MISSING:
                return f"{self.path}: removed [secret]"
            why = f" (derives from {', '.join(self.because)}, which is replaced)" if self.because else ""
            if self.unknown and not why:
                return f"{self.path}: [secret] may change (known only once the engine runs)"
            return f"{self.path}: [secret] changed{why}"
        if self.unknown:
            old = "(absent)" if self.old is _MISSING else render.short(self.old, 50)
            return f"{self.path}: {old} → [unknown] (may change: known only once the engine runs)"
        if isinstance(self.old, str) and isinstance(self.new, str) and max(len(self.old), len(self.new)) > 50:
            return f"{self.path}: {point_of_change(self.old, self.new)}"
        old = "(absent)" if self.old is _MISSING else render.short(self.old, 50)
        new = "(absent)" if self.new is _MISSING else render.short(self.new, 50)
        return f"{self.path}: {old} → {new}"


CONTEXT = 16
"""Characters of unchanged text shown on each side of a change inside a long string."""
MIDDLE = 80
"""Changed characters shown of each side before the rest is counted instead."""


def _cut(text: str) -> str:
    text = render.one_line(text)
    return text if len(text) <= MIDDLE else f"{text[:MIDDLE]}…(+{len(text) - MIDDLE} characters)"


def point_of_change(old: str, new: str) -> str:
    """A long string's change where it happens: a few characters of context, then git's word-diff
    marks, `[-removed-]{+added+}` (a CSP header, a token's policy, a file's content)."""
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1
    gone, added = old[start:len(old) - end], new[start:len(new) - end]
    head = ("…" if start > CONTEXT else "") + old[max(0, start - CONTEXT):start]
    tail = old[len(old) - end:len(old) - end + CONTEXT] + ("…" if end > CONTEXT else "")
    marks = (f"[-{_cut(gone)}-]" if gone else "") + (f"{{+{_cut(added)}+}}" if added else "")
    return f"{render.one_line(head)}{marks}{render.one_line(tail)}"


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


_MISSING = _Missing()


@dataclass
class Flag:
    type: str
    name: str
    urn: str
    reason: str
    new_urn: str | None = None


@dataclass
class DiffResult:
    project: str
    stack: str
    base: str
    base_commit: str
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[tuple[dict[str, Any], dict[str, Any], list[Change]]] = field(default_factory=list)
    renamed: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    base_missing: bool = False
    replaced: dict[str, str] = field(default_factory=dict)
    """New URN -> why the provider replaces it rather than updating it."""
    kept: list[tuple[dict[str, Any], str, tuple[str, ...]]] = field(default_factory=list)
    """(resource, path, renamed sources): secret values the mocks regenerate after an aliased
    rename but the engine keeps (its state travels with the alias)."""
    config_keys: tuple[str, ...] = ()
    """--config keys given to the run: applied to the base revision and the working tree alike."""

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.renamed)


# --------------------------------------------------------------------------- comparison


def _is_secret(v: Any) -> bool:
    return mf.is_marker(v)


def compare(old: Any, new: Any, path: str = "") -> list[Change]:
    """What differs between two manifest values; an unknown (a value the preview cannot know yet) is
    a change that may happen, whatever the other side holds, as the engine's preview diff treats it."""
    if _is_secret(old) or _is_secret(new):
        if _is_secret(old) and _is_secret(new):
            same = old.get("digest") is not None and old.get("digest") == new.get("digest")
            return [] if same else [Change(path, old, new, secret=True)]
        return [Change(path, old, new, secret=True)]
    if old == wire.UNKNOWN or new == wire.UNKNOWN:
        return [Change(path, old, new)]
    if isinstance(old, dict) and isinstance(new, dict):
        return _compare_dicts(old, new, path)
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += compare(a, b, f"{path}[{i}]")
        return out
    if old == new:
        return []
    if isinstance(old, list) and isinstance(new, list) and not _contains_secret(old) and not _contains_secret(new):
        return _list_items(path, old, new)
    parsed = _json_pair(old, new)
    if parsed is not None:
        return compare(*parsed, f"{path}<json>")
    return _whole(path, old, new)


def _compare_dicts(old: dict[str, Any], new: dict[str, Any], path: str) -> list[Change]:
    out: list[Change] = []
    for key in sorted(set(old) | set(new)):
        sub = f"{path}.{key}" if path else key
        if key not in old:
            out += _whole(sub, _MISSING, new[key])
        elif key not in new:
            out += _whole(sub, old[key], _MISSING)
        else:
            out += compare(old[key], new[key], sub)
    return out


def _json_pair(old: Any, new: Any) -> tuple[Any, Any] | None:
    """Both sides as parsed JSON objects or arrays when both are such strings (a token's policy
    resources, a file of JSON), so their change is shown by key rather than as one long string."""
    if not (isinstance(old, str) and isinstance(new, str)) or old[:1] not in "{[" or new[:1] not in "{[":
        return None
    try:
        a, b = json.loads(old), json.loads(new)
    except ValueError:
        return None
    return (a, b) if isinstance(a, (dict, list)) and isinstance(b, (dict, list)) else None


def _list_items(path: str, old: list[Any], new: list[Any]) -> list[Change]:
    """A list that grew or shrank: the items that left and came, not the whole list cut short."""
    def key(v: Any) -> str:
        return json.dumps(v, sort_keys=True)

    before, after = [key(v) for v in old], [key(v) for v in new]
    gone = [v for v, k in zip(old, before, strict=True) if before.count(k) > after.count(k)]
    came = [v for v, k in zip(new, after, strict=True) if after.count(k) > before.count(k)]
    if not gone and not came:  # the same items in another order
        return _whole(path, old, new)
    return [Change(f"{path}[-]", v, _MISSING) for v in gone] + [Change(f"{path}[+]", _MISSING, v) for v in came]


def _contains_secret(v: Any) -> bool:
    if _is_secret(v):
        return True
    if isinstance(v, dict):
        return any(_contains_secret(x) for x in v.values())
    if isinstance(v, list):
        return any(_contains_secret(x) for x in v)
    return False


def _whole(path: str, old: Any, new: Any) -> list[Change]:
    secret = _contains_secret(old) or _contains_secret(new)
    return [Change(path, old, new, secret=secret)]


_OPTION_KEYS = ("protect", "retainOnDelete", "deleteBeforeReplace", "deletedWith", "ignoreChanges",
                "replaceOnChanges", "customTimeouts", "parent")
_OPTION_DEFAULTS: dict[str, Any] = {"replaceOnChanges": [], "customTimeouts": {}}
"""What an option reads as in a manifest written before the option was recorded."""


def _option(resource: Mapping[str, Any], key: str) -> Any:
    return resource.get(key, _OPTION_DEFAULTS.get(key))


def _provider_urn(ref: str | None) -> str | None:
    return wire.provider_urn(ref) if ref else None


def diff_manifests(base: Mapping[str, Any] | None, work: Mapping[str, Any], *, base_ref: str = "",
                   base_commit: str = "") -> DiffResult:
    res = DiffResult(project=work["project"], stack=work["stack"], base=base_ref, base_commit=base_commit,
                     base_missing=base is None)
    old = {r["urn"]: r for r in (base or {}).get("resources", [])}
    new = {r["urn"]: r for r in work["resources"]}
    matched = _match(old, new)
    taken = set(matched.values())
    added = [new[u] for u in sorted(new) if u not in matched]
    removed = [old[u] for u in sorted(old) if u not in taken]

    new_providers = {u: set(r.get("aliases", [])) for u, r in new.items()}
    for urn, old_urn in sorted(matched.items()):
        a, b = old[old_urn], new[urn]
        changes = [Change(f"props.{c.path}" if c.path else "props", c.old, c.new, c.secret)
                   for c in compare(a.get("props", {}), b.get("props", {}), "")]
        changes += _option_changes(a, b, urn != old_urn, matched)
        pa, pb = _provider_urn(a.get("provider")), _provider_urn(b.get("provider"))
        provider_moved = pa != pb and not (pb and pa in new_providers.get(pb, set()))
        if provider_moved:
            changes.append(Change("provider", pa or "(default)", pb or "(default)"))
        if urn != old_urn:
            res.renamed.append((a, b))
        if changes:
            res.changed.append((a, b, changes))
        if b["type"] in catalog.STATEFUL_TYPES:
            res.flags += _stateful_flags(b, urn, changes, (pa, pb) if provider_moved else None)

    _classify(res, matched, old, new)
    res.flags += _removal_flags(added, removed)
    res.added, res.removed = added, removed
    return res


def _match(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, str]:
    """New URN -> old URN, as the engine matches: the same URN, else the first of the new resource's
    aliases that names an old resource not matched yet."""
    matched = {urn: urn for urn in new if urn in old}
    taken = set(matched)
    for urn, r in sorted(new.items()):
        if urn in matched:
            continue
        for alias in r.get("aliases", []):
            if alias in old and alias not in taken:
                matched[urn] = alias
                taken.add(alias)
                break
    return matched


def _option_changes(a: Mapping[str, Any], b: Mapping[str, Any], renamed: bool,
                    matched: Mapping[str, str]) -> list[Change]:
    changes = []
    for key in _OPTION_KEYS:
        was, now = _option(a, key), _option(b, key)
        if key == "deletedWith" and now is not None and matched.get(now, now) == was:
            continue  # a target renamed through an alias is the same one
        if was != now and not (key == "parent" and renamed):
            changes.append(Change(key, was, now))
    return changes


def _stateful_flags(b: Mapping[str, Any], urn: str, changes: list[Change],
                    provider_move: tuple[str | None, str | None] | None) -> list[Flag]:
    """A stateful resource the provider replaces: a replace-only property changes, or its provider
    moves (`provider_move`: from, to) without an alias."""
    flags = []
    for key in REPLACE_KEYS.get(b["type"], ()):
        hit = [c for c in changes if c.path == f"props.{key}" or c.path.startswith(f"props.{key}.")]
        if hit:
            flags.append(Flag(b["type"], b["name"], urn,
                              f"`{key}` changes ({hit[0].text().split(': ', 1)[1]}): the provider "
                              f"replaces it, deleting the data"))
    if provider_move is not None:
        pa, pb = provider_move
        flags.append(Flag(b["type"], b["name"], urn,
                          f"its provider changes from {pa or 'the default'} to {pb or 'the default'} "
                          f"without an alias: the engine replaces it"))
    return flags


def _removal_flags(added: list[Mapping[str, Any]], removed: list[Mapping[str, Any]]) -> list[Flag]:
    """Stateful resources whose URN disappears: paired with an added one of the same type and name."""
    flags = []
    pool = [r for r in added if r["type"] in catalog.STATEFUL_TYPES]
    for r in removed:
        if r["type"] not in catalog.STATEFUL_TYPES:
            continue
        physical = (r.get("props") or {}).get("name")
        twin = next((n for n in pool if n["type"] == r["type"] and (n.get("props") or {}).get("name") == physical),
                    None)
        guard = (" It is protected, so `pulumi up` fails instead until protection is removed."
                 if r.get("protect") else "")
        if twin is not None:
            pool.remove(twin)
            flags.append(Flag(r["type"], r["name"], r["urn"],
                              f"URN changes to {twin['urn']} without an alias: the engine deletes the old "
                              f"resource and creates a new one (add an alias to the old name or URN to keep "
                              f"it).{guard}", new_urn=twin["urn"]))
        else:
            flags.append(Flag(r["type"], r["name"], r["urn"],
                              f"removed from the desired state: the engine deletes it.{guard}"))
    return flags


def _top(path: str) -> str:
    return path.split(".", 2)[1].split("[", 1)[0] if path.startswith("props.") else path


def _replace_reason(type_: str, changes: list[Change]) -> str | None:
    keys = REPLACED_BY.get(type_, ())
    hit = [c for c in changes if c.path.startswith("props.") and ("*" in keys or _top(c.path) in keys)]
    if not hit:
        return None
    c = hit[0]
    return f"{c.text()}" if not c.secret else f"{c.path} changes"


def _classify(res: DiffResult, matched: Mapping[str, str], old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Replacements vs updates, values that change with a replaced resource, and secret values
    only the mocks change after an aliased rename."""
    changes_of = _without_renamed_secrets(res, matched, new)
    res.changed = [(a, b, changes_of[b["urn"]]) for a, b, _ in res.changed if b["urn"] in changes_of]
    for _, b, cs in res.changed:
        reason = _replace_reason(b["type"], cs)
        if reason:
            res.replaced[b["urn"]] = reason
    changed = _with_changes_of_replaced(res, matched, old, new)
    by_urn = {b["urn"]: (a, b) for a, b, _ in res.changed}
    for urn in changed:
        by_urn.setdefault(urn, (old[matched[urn]], new[urn]))
    res.changed = [(*by_urn[u], changed[u]) for u in sorted(by_urn, key=lambda u: new[u]["name"]) if changed[u]]


def _without_renamed_secrets(res: DiffResult, matched: Mapping[str, str],
                             new: Mapping[str, Any]) -> dict[str, list[Change]]:
    """Each changed resource's changes (by URN) less the secrets kept (added to `res.kept`).

    A secret whose every feeding resource is unchanged, one of them only renamed through an
    alias, is the same value in the engine's state; the mocks derive it from the new name."""
    renamed = {b["urn"] for _, b in res.renamed}
    changes_of = {b["urn"]: cs for _, b, cs in res.changed}
    stable = {u for u in matched if u not in changes_of}
    moved = True
    while moved:
        moved = False
        for urn, cs in list(changes_of.items()):
            deps_of = (new[urn].get("propertyDependencies") or {})
            keep = []
            for c in cs:
                feeds = tuple(deps_of.get(_top(c.path)) or new[urn].get("dependencies") or ())
                if c.secret and c.old is not _MISSING and c.new is not _MISSING and feeds and \
                        all(d in stable for d in feeds) and any(d in renamed for d in feeds):
                    res.kept.append((new[urn], c.path, tuple(new[d]["name"] for d in feeds if d in renamed)))
                else:
                    keep.append(c)
            if len(keep) != len(cs):
                changes_of[urn] = keep
                if not keep:
                    stable.add(urn)
                    del changes_of[urn]
                moved = True
    return changes_of


def _with_changes_of_replaced(res: DiffResult, matched: Mapping[str, str], old: Mapping[str, Any],
                              new: Mapping[str, Any]) -> dict[str, list[Change]]:
    """Each resource's changes (by URN), with the secrets a replaced resource feeds marked as changing.

    What a replaced resource feeds changes with it: its new outputs (a new password) are not
    the old ones, even where the mocks give both the same value."""
    changed = {b["urn"]: cs for _, b, cs in res.changed}
    for urn, old_urn in sorted(matched.items()):
        b = new[urn]
        deps_of = b.get("propertyDependencies") or {}
        for key, value in sorted((b.get("props") or {}).items()):
            if not _contains_secret(value):
                continue
            because = tuple(new[d]["name"] for d in deps_of.get(key) or () if d in res.replaced and d != urn)
            if not because:
                continue
            cs = changed.setdefault(urn, [])
            path = f"props.{key}"
            hit = [i for i, c in enumerate(cs) if _top(c.path) == key and c.secret]
            for i in hit:
                cs[i] = Change(cs[i].path, cs[i].old, cs[i].new, True, because)
            if not hit:
                cs.append(Change(path, (old[old_urn].get("props") or {}).get(key, _MISSING), value, True, because))
    return changed


# --------------------------------------------------------------------------- rendering


def _label(r: Mapping[str, Any]) -> str:
    return f"{render.short_type(r['type'])} {render.one_line(r['name'])}"


def config_note(res: DiffResult) -> str | None:
    if not res.config_keys:
        return None
    return (f"--config {', '.join(res.config_keys)} applied to both the base revision and the working tree, "
            "so those values show no change here")


def text(res: DiffResult) -> str:
    head = f"diff {res.project}/{res.stack}: {res.base} ({res.base_commit[:12]}) → working tree"
    lines = [head]
    if config_note(res):
        lines.append(f"  ({config_note(res)})")
    if res.base_missing:
        lines.append(f"  (stack {res.stack!r} does not exist at {res.base}: everything is new)")
    for r in res.added:
        lines.append(f"  + {_label(r)}")
        lines += [f"      {item}" for item in render.settings(r)] if r["custom"] else []
    for r in res.removed:
        lines.append(f"  - {_label(r)}")
    for a, b in res.renamed:
        moved = b["name"] if a["name"] != b["name"] else b["urn"]
        lines.append(f"  > {_label(a)} → {moved} (matched through an alias)")
    for _old, b, changes in res.changed:
        reason = res.replaced.get(b["urn"])
        lines.append(f"  +- {_label(b)} (replaced: {reason})" if reason else f"  ~ {_label(b)}")
        lines += [f"      {c.text()}" for c in changes]
    if res.kept:
        lines.append(f"  = {len(res.kept)} secret value(s) derived from resources renamed with an alias are kept "
                     "by the engine (the mocks regenerate them by name): "
                     + ", ".join(sorted({r['name'] for r, _, _ in res.kept})))
    if res.empty:
        lines.append("  no changes")
    if res.flags:
        lines += ["", "Flagged: stateful resources that would be deleted or replaced"]
        for f in res.flags:
            lines.append(f"  ! {render.short_type(f.type)} {f.name}: {f.reason}")
    lines += ["", f"summary: {len(res.added)} added, {len(res.removed)} removed, {len(res.changed)} changed "
                  f"({len(res.replaced)} replaced), {len(res.renamed)} renamed with alias; {len(res.flags)} flagged"]
    return "\n".join(lines) + "\n"


def markdown(res: DiffResult) -> str:
    state = "❌" if res.flags else "✅"
    lines = [f"#### Desired-state diff {render.md_code(res.project + '/' + res.stack)} vs "
             f"{render.md_code(res.base)} ({res.base_commit[:12]}) {state}",
             "", f"{len(res.added)} added · {len(res.removed)} removed · {len(res.changed)} changed "
                 f"({len(res.replaced)} replaced) · {len(res.renamed)} renamed with alias · "
                 f"**{len(res.flags)} flagged**", ""]
    note = config_note(res)
    if note:
        lines += [render.md_escape(note), ""]
    if res.flags:
        lines += ["| ⚠️ stateful | resource | why |", "|---|---|---|"]
        for f in res.flags:
            lines.append(f"| {render.md_code(f.type.rsplit(':', 1)[-1])} | {render.md_code(f.name)} | "
                         f"{render.md_escape(f.reason)} |")
        lines.append("")
    sections = []
    if not res.empty:
        rows = []
        for r in res.added:
            props = "<br>".join(render.md_escape(item) for item in render.settings(r)) if r["custom"] else ""
            rows.append(f"| + | {render.md_code(r['name'])} | {render.md_escape(render.short_type(r['type']))}"
                        f"{'<br>' + props if props else ''} |")
        for r in res.removed:
            rows.append(f"| − | {render.md_code(r['name'])} | {render.md_escape(render.short_type(r['type']))} |")
        for a, b in res.renamed:
            rows.append(f"| → | {render.md_code(a['name'])} → {render.md_code(b['name'])} | matched through an alias |")
        for _, b, changes in res.changed:
            detail = "<br>".join(render.md_escape(c.text()) for c in changes[:8])
            if len(changes) > 8:
                detail += f"<br>… {len(changes) - 8} more"
            reason = res.replaced.get(b["urn"])
            mark, detail = ("+-", f"replaced: {render.md_escape(reason)}<br>{detail}") if reason else ("~", detail)
            rows.append(f"| {mark} | {render.md_code(b['name'])} | {detail} |")
        sections.append(render.Section(f"All changes ({len(rows)})", rows, open=len(rows) <= 15,
                                       head=["| | resource | details |", "|---|---|---|"]))
    return render.fit_comment(lines, sections, f"python -m review diff --stack {res.stack} --base {res.base}")


def as_json(res: DiffResult) -> dict[str, Any]:
    def change(c: Change) -> dict[str, Any]:
        if c.secret:
            return {"path": c.path, "secret": True, **({"because": list(c.because)} if c.because else {})}
        return {"path": c.path, "old": None if c.old is _MISSING else c.old,
                "new": None if c.new is _MISSING else c.new}

    return {
        "project": res.project, "stack": res.stack, "base": res.base, "baseCommit": res.base_commit,
        "added": [r["urn"] for r in res.added], "removed": [r["urn"] for r in res.removed],
        "renamed": [{"from": a["urn"], "to": b["urn"]} for a, b in res.renamed],
        "changed": [{"urn": b["urn"], "changes": [change(c) for c in cs],
                     **({"replaced": res.replaced[b["urn"]]} if b["urn"] in res.replaced else {})}
                    for _, b, cs in res.changed],
        "kept": [{"urn": r["urn"], "path": path, "renamed": list(src)} for r, path, src in res.kept],
        "configAppliedToBoth": list(res.config_keys),
        "flagged": [{"urn": f.urn, "type": f.type, "name": f.name, "reason": f.reason, "newUrn": f.new_urn}
                    for f in res.flags],
    }
