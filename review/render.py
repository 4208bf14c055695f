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
import textwrap
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
WEAK_SECRET_LENGTH = 16
"""Secrets shorter than this, or made of words, are not scrubbed (reported weak instead): replacing
every copy of a short or common text by [secret] would reveal where the secret's value occurs."""


def weak_reason(value: str) -> str | None:
    """Why a secret value cannot be scrubbed without becoming an oracle, or None."""
    text = value.strip()
    if len(text) < WEAK_SECRET_LENGTH:
        return f"is shorter than {WEAK_SECRET_LENGTH} characters"
    if re.fullmatch(r"[A-Za-z]+(?:[ _-][A-Za-z]+)*", text):
        return "is made of words"
    return None

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
        # Last guard: credential-shaped text nobody declared a secret (a key pasted into a message).
        return catalog.CREDENTIAL_TEXT.sub(SECRET_TEXT, text)


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


def short_type(type_: str) -> str:
    """`vercel:ProjectEnvironmentVariable` for `vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable`;
    component tokens (`ara:database:Database`) and provider types stay as they are."""
    parts = type_.split(":")
    if len(parts) == 3 and (parts[1] == "index" or "/" in parts[1]) and parts[0] != "pulumi":
        return f"{parts[0]}:{parts[2]}"
    return type_


def _seconds(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return short(value)
    n = int(value)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}s"


def _firewall(props: Mapping[str, Any]) -> list[str]:
    out = []
    for rule in (props.get("rules") or {}).get("rules") or []:
        action = rule.get("action") or {}
        limit = action.get("rateLimit") or {}
        paths = [f"{c.get('op')} {c.get('value')}" for g in rule.get("conditionGroups") or []
                 for c in g.get("conditions") or [] if c.get("type") == "path"]
        what = (f"{short(limit.get('limit'))} requests / {_seconds(limit.get('window'))} per "
                f"{'+'.join(limit.get('keys') or ['?'])} ({limit.get('algo')}) → {limit.get('action')}"
                if limit else str(action.get("action")))
        out.append(f"rule {rule.get('name')}: {what}" + (f" on {', '.join(paths)}" if paths else "")
                   + ("" if rule.get("active", True) else " [inactive]"))
    return out or [f"enabled={short(props.get('enabled'))}, no custom rules"]


def _route(props: Mapping[str, Any]) -> list[str]:
    route = props.get("route") or {}
    headers = sorted((route.get("headers") or {}) if isinstance(route.get("headers"), dict) else [])
    return [f"route {props.get('name')} at {short((props.get('position') or {}).get('placement'))}"
            + (f" sets headers: {', '.join(headers)}" if headers else "")]


def _lifecycle(props: Mapping[str, Any]) -> list[str]:
    out = []
    for rule in props.get("rules") or []:
        parts = []
        for field_name, verb in (("deleteObjectsTransition", "delete objects"),
                                 ("abortMultipartUploadsTransition", "abort uploads")):
            cond = (rule.get(field_name) or {}).get("condition") or {}
            if cond:
                parts.append(f"{verb} after {_seconds(cond.get('maxAge'))}" if cond.get("type") == "Age"
                             else f"{verb} {short(cond)}")
        prefix = (rule.get("conditions") or {}).get("prefix")
        out.append(f"rule {rule.get('id')}: {', '.join(parts) or 'no transition'}"
                   + (f" (prefix {prefix!r})" if prefix else "") + ("" if rule.get("enabled", True) else " [off]"))
    return out


def _cors(props: Mapping[str, Any]) -> list[str]:
    return [f"cors {rule.get('id')}: origins {', '.join((rule.get('allowed') or {}).get('origins') or [])} "
            f"methods {','.join((rule.get('allowed') or {}).get('methods') or [])}"
            for rule in props.get("rules") or []]


_ROLE_FLAGS = ("login", "superuser", "createDatabase", "createRole", "replication", "bypassRowLevelSecurity")


def _role(props: Mapping[str, Any]) -> list[str]:
    on = [f for f in _ROLE_FLAGS if props.get(f) is True]
    parts = [f"name={short(props.get('name'))}", "attributes=" + ("+".join(on) if on else "none")]
    if "connectionLimit" in props:
        parts.append(f"connectionLimit={short(props['connectionLimit'])}")
    if "statementTimeout" in props:
        parts.append(f"statementTimeout={short(props['statementTimeout'])}ms")
    return [" ".join(parts)]


def _token(props: Mapping[str, Any]) -> list[str]:
    out = [f"name={short(props.get('name'))}"]
    for policy in props.get("policies") or []:
        resources = policy.get("resources")
        try:
            scope = json.loads(resources) if isinstance(resources, str) else resources
        except ValueError:
            scope = resources
        names = [k.rsplit(".", 1)[-1] if isinstance(k, str) else short(k) for k in (scope or {})] \
            if isinstance(scope, dict) else [short(scope)]
        groups = len(policy.get("permissionGroups") or [])
        out.append(f"scope {policy.get('effect')} {groups} permission group(s) on {', '.join(names) or '?'}")
    return out


def _env_var(props: Mapping[str, Any], revealed: Any) -> list[str]:
    value = short(revealed, 60) if revealed is not None else short(props.get("value"))
    parts = [f"key={short(props.get('key'))}", f"targets={short(props.get('targets'))}"]
    if props.get("gitBranch"):
        parts.append(f"gitBranch={short(props['gitBranch'])}")
    parts += [f"sensitive={short(props.get('sensitive'))}", f"value={value}"]
    return [" ".join(parts)]


def _lock(props: Mapping[str, Any]) -> list[str]:
    out = []
    for rule in props.get("rules") or []:
        cond = rule.get("condition") or {}
        held = (f"for {_seconds(cond.get('maxAgeSeconds'))}" if cond.get("type") == "Age"
                else short(cond))
        out.append(f"lock {rule.get('id')}: objects locked {held}"
                   + (f" (prefix {rule.get('prefix')!r})" if rule.get("prefix") else "")
                   + ("" if rule.get("enabled", True) else " [off]"))
    return out


_SETTINGS = {
    catalog.CF_R2_LOCK: _lock,
    catalog.VERCEL_DEPLOYMENT_RETENTION: lambda p: [" ".join(f"{k}={short(v)}" for k, v in sorted(p.items())
                                                             if k.startswith("expiration"))],
    catalog.CF_ACCOUNT_TOKEN: _token,
    catalog.VERCEL_FIREWALL_CONFIG: _firewall,
    catalog.VERCEL_PROJECT_ROUTE: _route,
    catalog.CF_R2_LIFECYCLE: _lifecycle,
    catalog.CF_R2_CORS: _cors,
    catalog.PG_ROLE: _role,
    catalog.CF_API_TOKEN: _token,
}


def settings(resource: Mapping[str, Any], revealed: Mapping[str, Any] | None = None) -> list[str]:
    """What a reviewer needs of one resource: a few key=value pairs or one line per rule."""
    props = resource.get("props") or {}
    if resource["type"] == catalog.VERCEL_ENV_VAR:
        return _env_var(props, (revealed or {}).get(resource["urn"]))
    special = _SETTINGS.get(resource["type"])
    if special:
        try:
            return [one_line(line) for line in special(props)]
        except (AttributeError, TypeError):  # an unexpected shape: fall back to the plain keys
            pass
    line = key_props(resource)
    return [one_line(line)] if line else []


def plain_env_values(capture: Any) -> dict[str, Any]:
    """URN -> value of every Vercel variable the program did not mark sensitive.

    The Vercel SDK wraps every `value` as a secret (pulumiverse_vercel
    project_environment_variable.py: `pulumi.Output.secret(value)`), so secretness on the wire
    says nothing; the program's own `sensitive=False` (infra/environment.py) does. Such values
    still pass the scrubber: a secret config value shown here is reported as a leak."""
    out = {}
    for r in capture.resources:
        if r.type == catalog.VERCEL_ENV_VAR and r.props.get("sensitive") is False and "value" in r.props:
            value = wire.reveal(r.props["value"])
            if isinstance(value, str):
                out[r.urn] = value
    return out


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


def tree_lines(resources: list[Mapping[str, Any]], width: int | None = None,
               revealed: Mapping[str, Any] | None = None) -> list[str]:
    """Parent → children tree in registration-independent (sorted) order.

    Each custom resource shows its settings (`settings`) after its name when the line fits
    `width`, else on lines of their own under it; no line is longer than `width`."""
    by_urn = {r["urn"]: r for r in resources}
    children: dict[str | None, list[Mapping[str, Any]]] = defaultdict(list)
    for r in resources:
        parent = r["parent"] if r["parent"] in by_urn else None
        children[parent].append(r)
    for kids in children.values():
        kids.sort(key=lambda r: (r["custom"], r["type"], r["name"]))

    lines: list[str] = []

    def fit(text: str) -> str:
        return text if width is None or len(text) <= width else text[: max(width - 1, 8)] + "…"

    def label(r: Mapping[str, Any]) -> str:
        flags = [f for f, on in (("protect", r.get("protect")), ("retain", r.get("retainOnDelete"))) if on]
        text = f"{one_line(short_type(r['type']))} {one_line(r['name'])}"
        if flags:
            text += " [" + ", ".join(flags) + "]"
        return text

    def walk(r: Mapping[str, Any], prefix: str, last: bool, root: bool) -> None:
        head = label(r) if root else f"{prefix}{'└─ ' if last else '├─ '}{label(r)}"
        extra = settings(r, revealed) if r["custom"] else []
        kids = children.get(r["urn"], [])
        child_prefix = "" if root else prefix + ("   " if last else "│  ")
        one = f"{head}  {'; '.join(extra)}" if extra else head
        if width is None or len(one) <= width or not extra:
            lines.append(fit(one))
        else:
            lines.append(fit(head))
            under = child_prefix + ("│     " if kids else "      ")
            room = max(width - len(under), 20)
            for item in extra:
                wrapped = textwrap.wrap(item, room, subsequent_indent="  ", break_on_hyphens=False) or [item]
                lines.extend(fit(under + part) for part in wrapped)
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


def _truncation_note(left: int, later: list[str], rerun: str) -> str:
    """What a section cut short says: the lines not shown, the sections left out after it, how to see all."""
    return (f"\n**Truncated:** {left} more line(s) not shown, to stay under GitHub's "
            f"{COMMENT_LIMIT:,}-character comment limit"
            + (f"; also left out: {', '.join(later)}" if later else "")
            + f". Run `{rerun}` for all of it.")


def fit_comment(summary: list[str], sections: list[Section], rerun: str, limit: int = _COMMENT_BUDGET) -> str:
    """Summary first, then each section collapsed; under `limit` characters, saying what was cut."""
    out = "\n".join(summary) + "\n"
    kept: list[str] = []
    if len(out) > limit // 2:  # a summary table of thousands of rows: cut it too, and say so
        size = 0
        for line in summary:
            if size + len(line) + 1 > limit // 2:
                break
            kept.append(line)
            size += len(line) + 1
        left_out = f"; also left out: {', '.join(s.title for s in sections)}" if sections else ""
        out = "\n".join(kept) + (f"\n\n**Truncated:** {len(summary) - len(kept)} more summary line(s) not "
                                 f"shown{left_out}. Run `{rerun}` for all of it.\n")
        return out
    for i, section in enumerate(sections):
        full = section.render(section.body)
        if len(out) + len(full) + 1 <= limit:
            out += "\n" + full
            continue
        later = [s.title for s in sections[i + 1:]]
        room = limit - len(out) - len(section.render([], _truncation_note(len(section.body), later, rerun))) - 1
        for line in section.body:
            if room - len(line) - 1 < 0:
                break
            kept.append(line)
            room -= len(line) + 1
        out += "\n" + section.render(kept, _truncation_note(len(section.body) - len(kept), later, rerun))
        break
    return out
