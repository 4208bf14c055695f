"""Where a finding comes from: the program line that declared the resource, and the config keys
whose values it carries.

* **Source.** The SDK sends, with each registration, the position of the call that constructed
  the resource and its stack trace (pulumi/runtime/resource.py `_get_stack_trace`,
  `RegisterResourceRequest.sourcePosition`/`stackTrace`); the capture keeps both
  (`review.capture.model.CapturedResource`). The location is the innermost frame inside the
  program directory and outside any installed package (an explicit provider's own SDK frames are
  skipped), and the frames above it name how the program got there.
* **Config.** A resource property fed by a config key carries that key's value: equal to it, the
  value times a unit (60, 1000, 3600, 86400: minutes, milliseconds, hours, days written in
  seconds), or a string containing it. Only the properties a finding's text names are compared
  when it names any (`rules[0].condition.max_age_seconds` names `maxAgeSeconds`), else all of
  them; booleans, 0 and 1, and strings shorter than 4 characters are too common to attribute.
  Secret values are never compared. Each key is reported with where its value was set: the
  stack file and line, `--config`/`--answers`, or Pulumi.yaml's default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from review import wire

UNITS = (1, 60, 1000, 3600, 86400)
_SITE_PACKAGES = ("site-packages", "dist-packages")


@dataclass(frozen=True)
class Location:
    path: str
    """Relative to the program directory, with forward slashes."""
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class ConfigFeed:
    key: str
    """The config key without its namespace (`backupRetentionDays`)."""
    value: str
    """The value as the stack sets it (non-secret)."""
    file: str
    """`Pulumi.prod.yaml`, `--config or --answers`, or `Pulumi.yaml` (its default)."""
    line: int | None = None
    """The line of the key in `file` when it is a file of the program."""
    default: bool = False
    """The value is Pulumi.yaml's default (no stack file or override sets the key)."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.key} = {self.value} ({where}{', default' if self.default else ''})"


def _path(uri: str, program_dir: Path) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = Path(unquote(parsed.path))
    try:
        relative = path.resolve().relative_to(program_dir.resolve())
    except (ValueError, OSError):
        return None
    if any(part in _SITE_PACKAGES or part.startswith(".venv") for part in relative.parts):
        return None
    return relative


def locations(resource: Any, program_dir: Path) -> list[Location]:
    """The program's frames of a registration, innermost (the declaring line) first."""
    frames = [resource.source_position] if resource.source_position else []
    frames += [f for f in resource.source_trace if f != resource.source_position]
    found: list[Location] = []
    for uri, line in frames:
        relative = _path(uri, program_dir)
        if relative is not None and line > 0:
            loc = Location(relative.as_posix(), line)
            if loc not in found:
                found.append(loc)
    return found


# --------------------------------------------------------------------------- config


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def mentioned(text: str) -> set[str]:
    """Property names a finding's text names, as camelCase (the wire's spelling)."""
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", text))
    return {_camel(w) for w in words} | words


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if wire.is_secret(value):
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _leaves(v, (*path, str(k)))
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, path)
    else:
        yield path, value


def _parsed(raw: str) -> list[Any]:
    """A config string as the values it may carry: an integer, the items of a JSON list, the string."""
    if re.fullmatch(r"-?[0-9]{1,18}", raw):
        return [int(raw)]
    if raw.startswith("["):
        try:
            items = json.loads(raw)
        except ValueError:
            return [raw]
        return [i for i in items if isinstance(i, str)] if isinstance(items, list) else [raw]
    return [raw]


def _feeds(value: Any, leaf: Any) -> bool:
    if isinstance(value, int) and isinstance(leaf, (int, float)) and not isinstance(leaf, bool):
        return abs(value) > 1 and any(leaf == value * unit for unit in UNITS)
    if isinstance(value, str) and isinstance(leaf, str) and len(value) >= 4:
        return leaf == value or (len(value) >= 8 and value in leaf)
    return False


def config_feeds(props: Mapping[str, Any], text: str, source: Any, program_dir: Path) -> list[ConfigFeed]:
    """The project's non-secret config keys whose values the properties `text` names carry."""
    named = mentioned(text)
    leaves = list(_leaves(props))
    focused = [(p, v) for p, v in leaves if named & set(p)]
    leaves = focused or leaves
    project = getattr(source, "project", "")
    found = []
    for full, raw in sorted(source.values.items()):
        namespace, _, key = full.partition(":")
        if namespace != project or full in source.secret_keys or not isinstance(raw, str):
            continue
        if any(_feeds(value, leaf) for value in _parsed(raw) for _, leaf in leaves):
            found.append(_where(full, key, raw, source, program_dir))
    return found


def _where(full: str, key: str, raw: str, source: Any, program_dir: Path) -> ConfigFeed:
    shown = raw if len(raw) <= 60 else raw[:59] + "…"
    stack_file = program_dir / f"Pulumi.{source.stack}.yaml"
    line = _line_of(stack_file, full)
    if line:
        return ConfigFeed(key, shown, stack_file.name, line)
    if full in getattr(source, "given", ()):
        return ConfigFeed(key, shown, "--config or --answers")
    return ConfigFeed(key, shown, "Pulumi.yaml", _line_of(program_dir / "Pulumi.yaml", key, top=False), default=True)


def _line_of(path: Path, key: str, *, top: bool = True) -> int | None:
    """The line of `key:` in a YAML file (a stack file's `config:` entry, or Pulumi.yaml's declaration)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    pattern = re.compile(rf"^\s+{re.escape(key)}:" if top else rf"^  {re.escape(key)}:\s*$")
    return next((i for i, line in enumerate(lines, 1) if pattern.match(line)), None)
