"""Read `Pulumi.yaml` config declarations and `Pulumi.<stack>.yaml` values.

The program uses the declarations as the single source of types and defaults
(infra/config.py); the mock runs (tests, `python -m infra`) use the stack files
to build the config the CLI would pass, with secrets replaced by placeholders.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_FILE = "Pulumi.yaml"


class ProjectFileError(Exception):
    """A project or stack file is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class Declaration:
    """One `config:` entry of Pulumi.yaml."""

    key: str
    type: str
    description: str
    secret: bool = False
    default: Any = None
    has_default: bool = False
    item_type: str | None = None


@dataclass(frozen=True)
class StackConfigSource:
    """Config for one stack as the CLI would hand it to the program."""

    values: dict[str, str]
    """Namespaced key -> string value (arrays JSON-encoded), defaults applied."""
    secret_keys: tuple[str, ...]
    """Namespaced keys whose values are secrets."""
    placeholders: dict[str, str]
    """Namespaced secret key -> the placeholder that stands in for it."""


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(path: Path) -> Any:
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise ProjectFileError(f"{path}: file not found") from None
    return copy.deepcopy(_parse_yaml(str(path), stamp))


@functools.lru_cache(maxsize=64)
def _parse_yaml(path: str, _stamp: int) -> Any:
    # Keyed on the modification time: one run reads Pulumi.yaml several times.
    try:
        return yaml.load(Path(path).read_text(), Loader=_Loader) or {}  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ProjectFileError(f"{path}: not valid YAML ({exc})") from None


def project_name(program_dir: Path) -> str:
    data = _load_yaml(program_dir / PROJECT_FILE)
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        raise ProjectFileError(f"{program_dir / PROJECT_FILE}: 'name' must be a non-empty string")
    return name


def _config_section(path: Path) -> dict[str, Any]:
    data = _load_yaml(path)
    raw = data.get("config") if isinstance(data, dict) else None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ProjectFileError(f"{path}: 'config' must be a mapping of keys to declarations or values")
    return raw


def declarations(program_dir: Path | None = None) -> dict[str, Declaration]:
    """The typed config declarations of Pulumi.yaml (entries with a `type`), by unqualified key.

    Pulumi's project schema (`config` in pulumi/pulumi `sdk/go/common/workspace/project.json`)
    also allows project-level values: a plain value, or an object with `value` and no `type`
    (`pulumi:tags: {value: {...}}` as `pulumi new` writes it). Those are not declarations; see
    `project_values`.
    """
    path = (program_dir or Path(__file__).resolve().parent.parent) / PROJECT_FILE
    out: dict[str, Declaration] = {}
    for key, spec in _config_section(path).items():
        if not isinstance(spec, dict) or "type" not in spec:
            continue
        if spec["type"] not in {"string", "integer", "boolean", "array"}:
            raise ProjectFileError(f"{path}: config.{key}: type must be one of string, integer, boolean, array")
        out[key] = Declaration(
            key=key,
            type=spec["type"],
            description=str(spec.get("description", "")),
            secret=bool(spec.get("secret", False)),
            default=spec.get("default"),
            has_default="default" in spec,
            item_type=(spec.get("items") or {}).get("type"),
        )
    return out


def project_values(program_dir: Path, project: str) -> dict[str, Any]:
    """Project-level config values of Pulumi.yaml (namespaced keys), which every stack inherits."""
    path = program_dir / PROJECT_FILE
    out: dict[str, Any] = {}
    for key, spec in _config_section(path).items():
        if isinstance(spec, dict):
            if "value" not in spec:
                continue
            value = spec["value"]
        else:
            value = spec
        out[key if ":" in key else f"{project}:{key}"] = value
    return out


def as_config_string(value: Any) -> str:
    # The CLI hands every value to the program as a string; structured values as JSON.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def placeholder(key: str) -> str:
    """A recognisable stand-in for a secret, distinct per key."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    shaped = _PLACEHOLDER_SHAPES.get(key.split(":")[-1])
    return shaped.format(digest=digest) if shaped else f"ara-placeholder-{key.split(':')[-1]}-{digest}"


# Secrets whose shape the program or the policies check get a placeholder of that shape.
_PLACEHOLDER_SHAPES = {
    "upstashRedisUrl": "rediss://default:ara-placeholder-{digest}@placeholder.upstash.io:6379",
    "sentryDsn": "https://ara-placeholder-{digest}@o0.ingest.sentry.io/0",
    "clerkSecretKey": "sk_test_araplaceholder{digest}",
}


def stack_config(
    stack: str,
    program_dir: Path,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> StackConfigSource:
    """Merge Pulumi.yaml defaults with Pulumi.<stack>.yaml, replacing secrets by placeholders."""
    project = project_name(program_dir)
    decls = declarations(program_dir)
    stack_path = program_dir / f"Pulumi.{stack}.yaml"
    data = _load_yaml(stack_path)
    raw = (data.get("config") or {}) if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        raise ProjectFileError(f"{stack_path}: 'config' must be a mapping")
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    placeholders: dict[str, str] = {}
    for key, decl in decls.items():
        if decl.has_default and decl.default is not None:
            values[f"{project}:{key}"] = as_config_string(decl.default)
    for key, value in project_values(program_dir, project).items():
        values[key] = as_config_string(value)
    merged = dict(raw)
    merged.update({(k if ":" in k else f"{project}:{k}"): v for k, v in (overrides or {}).items()})
    for key, value in merged.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            # An encrypted value needs the stack's secrets provider; stand in for it.
            placeholders[full] = placeholder(full)
            values[full] = placeholders[full]
            secret_keys.append(full)
            continue
        values[full] = as_config_string(value)
    for key, decl in decls.items():
        full = f"{project}:{key}"
        if decl.secret:
            if full not in values:
                placeholders[full] = placeholder(full)
                values[full] = placeholders[full]
            if full not in secret_keys:
                secret_keys.append(full)
    return StackConfigSource(values=values, secret_keys=tuple(secret_keys), placeholders=placeholders)


def default_program_dir() -> Path:
    return Path(__file__).resolve().parent.parent


def list_stacks(program_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in program_dir.glob("Pulumi.*.yaml"))
