"""Shared rendering: compact values, the resource tree, and the secret scrubber.

Everything the CLI prints or writes goes through `Scrubber.clean`, which replaces every known
secret string (the placeholders that stand in for secret config, and every string found inside
a secret-wrapped value of the evaluated program) by `[secret]`. Rendering already shows secret
values as `[secret]`; the scrubber is the second line of defence against a program that copies
a secret into a plain property or an error message.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from infra import catalog
from review import manifest as mf
from review import wire

SECRET_TEXT = wire.SECRET_TEXT
UNKNOWN_TEXT = "[unknown]"
UNKNOWN = wire.UNKNOWN
MIN_SCRUB = 6
_MIN_SCRUB = MIN_SCRUB

KEY_PROPS: dict[str, tuple[str, ...]] = {
    catalog.VERCEL_PROJECT: ("name", "framework", "gitRepository"),
    catalog.VERCEL_ENV_VAR: ("key", "targets", "gitBranch", "sensitive", "value"),
    catalog.VERCEL_ENV_VARS: ("variables",),
    catalog.VERCEL_PROJECT_DOMAIN: ("domain", "gitBranch"),
    catalog.VERCEL_PROJECT_ROUTE: ("name", "position"),
    catalog.VERCEL_FIREWALL_CONFIG: ("enabled",),
    catalog.VERCEL_DEPLOYMENT: ("production", "ref"),
    catalog.VERCEL_PROTECTION_BYPASS: ("note",),
    catalog.CF_R2_BUCKET: ("name", "location", "jurisdiction"),
    catalog.CF_R2_LIFECYCLE: ("bucketName",),
    catalog.CF_R2_CORS: ("bucketName",),
    catalog.CF_R2_MANAGED_DOMAIN: ("bucketName", "enabled"),
    catalog.CF_R2_CUSTOM_DOMAIN: ("bucketName", "domain", "minTls"),
    catalog.CF_API_TOKEN: ("name",),
    catalog.CF_ACCOUNT_TOKEN: ("name",),
    catalog.CF_DNS_RECORD: ("name", "type", "content", "proxied"),
    catalog.CF_RECORD_LEGACY: ("name", "type", "content", "proxied"),
    catalog.PG_PROVIDER: ("host", "port", "username", "sslmode"),
    catalog.PG_ROLE: ("name", "login", "connectionLimit"),
    catalog.PG_DATABASE: ("name", "owner"),
    catalog.PG_EXTENSION: ("name",),
    catalog.PG_GRANT: ("role", "objectType", "privileges"),
    catalog.PG_DEFAULT_PRIVILEGES: ("role", "objectType", "privileges"),
    catalog.RANDOM_PASSWORD: ("length", "special"),
}
_FALLBACK_PROPS = ("name", "key", "domain")


class Scrubber:
    """Replaces known secret strings in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            if isinstance(secret, str) and len(secret) >= _MIN_SCRUB:
                self._secrets.update(escaped_forms(secret))
        self._ordered = sorted(self._secrets, key=len, reverse=True)

    def add_capture(self, capture: Any, placeholders: Iterable[str] = ()) -> None:
        found: set[str] = set(placeholders)
        for r in capture.resources:
            wire.secret_strings(r.props, found)
            if r.outputs:
                wire.secret_strings(r.outputs, found)
        wire.secret_strings(capture.stack_outputs, found)
        self.add(found)

    def clean(self, text: str) -> str:
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, SECRET_TEXT)
        return text


def escaped_forms(secret: str) -> set[str]:
    """`secret` as it may appear in text: itself, inside repr() and JSON strings (a multi-line
    PEM becomes `-----BEGIN…\\n…`), and each long line of a multi-line value on its own (a message
    may quote one line); PEM armour lines are public and stay."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             repr(secret)[1:-1], secret.encode("unicode_escape").decode("ascii")}
    if "\n" in secret or "\\n" in secret:
        for line in secret.replace("\\n", "\n").splitlines():
            line = line.strip()
            if len(line) >= 16 and not line.startswith("-----"):
                forms.add(line)
    return {f for f in forms if len(f) >= _MIN_SCRUB}


def one_line(text: str) -> str:
    """`text` with line breaks and control characters escaped: one line, no terminal escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def short(value: Any, limit: int = 60) -> str:
    """A one-line rendering of a manifest value; secrets as [secret]."""
    text = _short(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: Any) -> str:
    if mf.is_marker(value) or wire.is_secret(value):
        return SECRET_TEXT
    if value == UNKNOWN:
        return UNKNOWN_TEXT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value if value and value.isprintable() and " " not in value and "," not in value else json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "null"
    return str(value)


def key_props(resource: Mapping[str, Any]) -> str:
    props = resource.get("props") or {}
    keys = KEY_PROPS.get(resource["type"]) or _FALLBACK_PROPS
    parts = [f"{k}={short(props[k], 48)}" for k in keys if k in props]
    return " ".join(parts)


def package_of(type_: str) -> str:
    """The provider package of a type token (`vercel`, `cloudflare`, ...); providers by their own."""
    if type_.startswith("pulumi:providers:"):
        return type_.split(":", 2)[2]
    return type_.split(":", 1)[0]


def provider_counts(resources: Iterable[Mapping[str, Any]]) -> dict[str, Counter]:
    """{package: Counter(short type -> n)} for custom resources (explicit providers included)."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for r in resources:
        if not r["custom"]:
            continue
        kind = r["type"].rsplit(":", 1)[-1]
        if r["type"].startswith("pulumi:providers:"):
            kind = "provider"
        counts[package_of(r["type"])][kind] += 1
    return dict(sorted(counts.items()))


def tree_lines(resources: list[Mapping[str, Any]]) -> list[str]:
    """Parent → children tree in registration-independent (sorted) order."""
    by_urn = {r["urn"]: r for r in resources}
    children: dict[str | None, list[Mapping[str, Any]]] = defaultdict(list)
    for r in resources:
        parent = r["parent"] if r["parent"] in by_urn else None
        children[parent].append(r)
    for kids in children.values():
        kids.sort(key=lambda r: (r["custom"], r["type"], r["name"]))

    lines: list[str] = []

    def label(r: Mapping[str, Any]) -> str:
        flags = [f for f, on in (("protect", r.get("protect")), ("retain", r.get("retainOnDelete"))) if on]
        extra = key_props(r) if r["custom"] else ""
        text = f"{one_line(r['type'])} {one_line(r['name'])}"
        if flags:
            text += " [" + ", ".join(flags) + "]"
        if extra:
            text += "  " + extra
        return text

    def walk(r: Mapping[str, Any], prefix: str, last: bool, root: bool) -> None:
        lines.append(label(r) if root else f"{prefix}{'└─ ' if last else '├─ '}{label(r)}")
        kids = children.get(r["urn"], [])
        child_prefix = "" if root else prefix + ("   " if last else "│  ")
        for i, kid in enumerate(kids):
            walk(kid, child_prefix, i == len(kids) - 1, False)

    for top in children.get(None, []):
        walk(top, "", True, True)
    return lines


def md_escape(text: str) -> str:
    """Text for a Markdown table cell: cannot end the cell or the row, or open HTML or a code span
    that does not close in the cell (balanced backticks, as in "`name` changes", stay code)."""
    text = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
            .replace("\r", " ").replace("\n", " "))
    return text if text.count("`") % 2 == 0 else text.replace("`", "\\`")


def md_code(text: str) -> str:
    """`text` as inline code in a table cell, whatever backticks or pipes it holds."""
    text = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fenced(lines: list[str], lang: str = "text") -> list[str]:
    """A fenced code block no line can close early: the fence is longer than any backtick run."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{lang}", *lines, fence]


COMMENT_LIMIT = 65_536
"""GitHub's limit on a pull-request comment body, in characters."""
_COMMENT_BUDGET = COMMENT_LIMIT - 1_536  # room for what a workflow wraps around it


@dataclass
class Section:
    """A collapsed part of a Markdown report: `head` lines are kept when `body` is cut short."""

    title: str
    body: list[str]
    head: list[str] = field(default_factory=list)
    code: bool = False
    open: bool = False

    def render(self, body: list[str], note: str = "") -> str:
        inner = [*self.head, *body]
        inner = fenced(inner) if self.code else inner
        return "\n".join([f"<details{' open' if self.open else ''}><summary>{md_escape(self.title)}</summary>",
                          "", *inner, *([note] if note else []), "", "</details>", ""])


def fit_comment(summary: list[str], sections: list[Section], rerun: str, limit: int = _COMMENT_BUDGET) -> str:
    """Summary first, then each section collapsed; under `limit` characters, saying what was cut."""
    out = "\n".join(summary) + "\n"
    for i, section in enumerate(sections):
        full = section.render(section.body)
        if len(out) + len(full) + 1 <= limit:
            out += "\n" + full
            continue
        later = [s.title for s in sections[i + 1:]]
        note_for = lambda n: (f"\n**Truncated:** {n} more line(s) not shown, to stay under GitHub's "  # noqa: E731
                              f"{COMMENT_LIMIT:,}-character comment limit"
                              + (f"; also left out: {', '.join(later)}" if later else "")
                              + f". Run `{rerun}` for all of it.")
        room = limit - len(out) - len(section.render([], note_for(len(section.body)))) - 1
        kept: list[str] = []
        for line in section.body:
            if room - len(line) - 1 < 0:
                break
            kept.append(line)
            room -= len(line) + 1
        out += "\n" + section.render(kept, note_for(len(section.body) - len(kept)))
        break
    return out
