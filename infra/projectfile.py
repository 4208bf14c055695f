"""Read `Pulumi.yaml` config declarations and `Pulumi.<stack>.yaml` values.

The program uses the declarations as the single source of types and defaults
(infra/config/); the offline runs (the review tool, the tests) use the stack files
to build the config the CLI would pass: what the CLI refuses is refused, with its words
where it has them, and each `secure:` value (which only the stack's secrets provider can
decrypt) becomes a placeholder that stays a secret. A missing key never gets one.

A pull request from a fork controls these files, so they are read defensively
(`read_yaml`): only regular files up to `MAX_FILE_BYTES`, UTF-8, YAML 1.2 core
scalars (no YAML 1.1 `yes`/`0o17`/`1:30`/timestamps), no duplicate keys, only string
keys, no tags beyond the plain ones, and aliases expanding to at most
`MAX_EXPANDED_NODES` nodes. A stack file is then checked the way `pulumi` checks it
before a program runs (`stack_config`): every problem is listed in one
`ProjectFileError` naming the file and key, and no secret value is ever shown.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_FILE = "Pulumi.yaml"
MAX_FILE_BYTES = 1 << 20
"""Largest project or stack file read (1 MiB; ours are under 10 KB)."""
MAX_EXPANDED_NODES = 20_000
"""Most YAML nodes a document may expand to through aliases (a 1 KB alias bomb expands to 10^9)."""
MAX_DEPTH = 64
"""Deepest YAML nesting accepted (the parser recurses per level)."""


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
    """Namespaced secret key -> the placeholder that stands in for its `secure:` value."""
    has_stack_file: bool = True
    """False when Pulumi.<stack>.yaml does not exist (the CLI then uses the project's defaults)."""
    given: tuple[str, ...] = ()
    """Namespaced keys the stack file and the overrides set (not the project's defaults)."""


# --------------------------------------------------------------------------- the YAML reader

_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map")}


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars, unique string keys and bounded expansion."""

    yaml_implicit_resolvers: dict = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.constructor.ConstructorError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        node = super().compose_document()
        if node is not None:
            _bounded_size(node)
        return node

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        if node.tag not in _PLAIN_TAGS:
            raise yaml.constructor.ConstructorError(
                None, None, f"tag {node.tag!r} is not allowed (plain strings, numbers, booleans, lists "
                "and mappings only)", node.start_mark)
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    raise yaml.constructor.ConstructorError(
                        None, None, f"mapping keys must be strings (got {key!r})", key_node.start_mark)
                if key in seen:
                    # The last one silently wins elsewhere; Go's yaml.v3 refuses it too.
                    raise yaml.constructor.ConstructorError(
                        f"key {key!r} first defined", seen[key], f"key {key!r} is defined twice",
                        key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _bounded_size(root: Any) -> None:
    """Count the nodes `root` expands to (aliases counted each time); refuse past the bound."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: Any) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise yaml.constructor.ConstructorError(None, None, "an alias refers to itself", node.start_mark)
        in_progress.add(key)
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            total = 1
        in_progress.discard(key)
        if total > MAX_EXPANDED_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"expands to more than {MAX_EXPANDED_NODES} nodes through aliases", node.start_mark)
        sizes[key] = total
        return total

    size(root)


# YAML 1.2 core schema (yaml.org/spec/1.2.2/#1032-tag-resolution), decimal integers only: what
# PyYAML's YAML 1.1 rules would otherwise read as booleans (`on`, `no`), octal (`010`),
# sexagesimal (`1:30`), leading zeros, `3_0` or dates stays a string, which the typed check then refuses.
for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?(0|[1-9][0-9]*)", "-+0123456789"),
    ("float", r"[-+]?(\.[0-9]+|[0-9]+\.[0-9]*)([eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
              r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
     "-+0123456789."),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
):
    _StrictLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(rf"\A(?:{_pattern})\Z"), list(_first))
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"\A<<\Z"), ["<"])


def read_text(path: Path) -> str:
    """The text of a regular UTF-8 file of at most MAX_FILE_BYTES; ProjectFileError naming it otherwise."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ProjectFileError(f"{path}: file not found") from None
    except OSError as exc:
        raise ProjectFileError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ProjectFileError(f"{path}: is {_kind(mode)}, not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ProjectFileError(f"{path}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise ProjectFileError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB; refusing to read it")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectFileError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})") from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "not a file"


def parse_yaml(text: str, path: Path | str) -> Any:
    """One YAML document read with the strict loader; ProjectFileError naming `path` otherwise."""
    try:
        loader = _StrictLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ProjectFileError(f"{path}: not valid YAML ({_one_line(exc)})") from None
    except RecursionError:
        raise ProjectFileError(f"{path}: not valid YAML (nested too deeply)") from None


def _one_line(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + " ".join(str(problem).split())


def read_yaml(path: Path) -> Any:
    """`read_text` then `parse_yaml`: the only way this package reads a project or stack file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ProjectFileError(f"{path}: file not found") from None
    except OSError as exc:
        raise ProjectFileError(f"{path}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        read_text(path)  # raises, naming what the path is instead
    # Keyed on identity and modification time: one run reads Pulumi.yaml several times.
    return copy.deepcopy(_cached(str(path), st.st_ino, st.st_size, st.st_mtime_ns))


@functools.lru_cache(maxsize=64)
def _cached(path: str, _ino: int, _size: int, _mtime: int) -> Any:
    return parse_yaml(read_text(Path(path)), path)


_load_yaml = read_yaml


def program_file(program_dir: Path, name: str) -> Path:
    """`program_dir / name`, refused when it is a symlink that leaves the program directory: a
    fork's stack file must not make the review read (and quote the errors of) a runner's files."""
    path = program_dir / name
    try:
        target = path.resolve()
        inside = target.is_relative_to(program_dir.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        raise ProjectFileError(f"{path}: cannot be resolved (a symlink loop?)") from None
    if not inside:
        raise ProjectFileError(f"{path}: is a symlink to {target}, outside the program directory")
    return path


# --------------------------------------------------------------------------- Pulumi.yaml

_TYPES = ("string", "integer", "boolean", "array")


def project_name(program_dir: Path) -> str:
    path = program_file(program_dir, PROJECT_FILE)
    data = _load_yaml(path)
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        raise ProjectFileError(f"{path}: 'name' must be a non-empty string")
    return name


def _default_problem(key: str, spec: Mapping[str, Any]) -> str | None:
    if "default" not in spec:
        return None
    default, kind = spec["default"], spec["type"]
    if default is None:
        return f"config.{key}.default is null; leave the default out instead"
    if spec.get("secret"):
        # Pulumi applies a default as a plain value and then refuses it for a secret key
        # (pulumi/pulumi sdk/go/common/workspace/config.go, mergeConfig then validateStackConfigValue).
        return f"config.{key} is secret, so it cannot have a default (Pulumi would refuse it as unencrypted)"
    ok = {
        "string": isinstance(default, str),
        "integer": isinstance(default, int) and not isinstance(default, bool),
        "boolean": isinstance(default, bool),
        "array": isinstance(default, list) and all(isinstance(x, str) for x in default),
    }[kind]
    return None if ok else f"config.{key}.default must be {_EXPECTED[kind]} (its type is {kind})"


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
    path = program_file(program_dir or default_program_dir(), PROJECT_FILE)
    raw = _config_section(path)
    out: dict[str, Declaration] = {}
    problems: list[str] = []
    for key, spec in raw.items():
        if not isinstance(spec, dict) or "type" not in spec:
            continue
        if spec["type"] not in _TYPES:
            problems.append(f"config.{key}: type must be one of string, integer, boolean, array")
            continue
        if not isinstance(spec.get("secret", False), bool):
            problems.append(f"config.{key}.secret must be true or false")
            continue
        items = spec.get("items")
        if spec["type"] == "array" and (not isinstance(items, dict) or items.get("type") != "string"):
            problems.append(f"config.{key}: arrays need `items: {{type: string}}`")
            continue
        problem = _default_problem(key, spec)
        if problem:
            problems.append(problem)
            continue
        out[key] = Declaration(
            key=key,
            type=spec["type"],
            description=str(spec.get("description", "")),
            secret=spec.get("secret", False),
            default=spec.get("default"),
            has_default="default" in spec,
            item_type=(items or {}).get("type") if isinstance(items, dict) else None,
        )
    if problems:
        raise ProjectFileError(f"{path}: " + "; ".join(problems))
    return out


def project_values(program_dir: Path, project: str) -> dict[str, Any]:
    """Project-level config values of Pulumi.yaml (namespaced keys), which every stack inherits."""
    path = program_file(program_dir, PROJECT_FILE)
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
    # The CLI hands every value to the program as a string; structured values as JSON, numbers as
    # Go's JSON writes them (a whole float without its ".0").
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
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
    "clerkJwtKey": "-----BEGIN PUBLIC KEY-----\nYXJhLXBsYWNlaG9sZGVy{digest}\n-----END PUBLIC KEY-----",
}


# --------------------------------------------------------------------------- Pulumi.<stack>.yaml

_EXPECTED = {"integer": "an integer", "boolean": "true or false", "array": "a list of strings", "string": "a string"}
# Pulumi config keys are `<namespace>:<name>` (pulumi/pulumi sdk/go/common/resource/config/key.go, ParseKey).
_NAMESPACED = re.compile(r"[^:\s]+:[^:\s]+")
# Ciphertexts are base64 (passphrase provider `v1:<nonce>:<ciphertext>`, cloud KMS and the service).
_CIPHERTEXT = re.compile(r"[A-Za-z0-9+/=:_.-]+")


def _secure(value: Any) -> bool | None:
    """True for a well-formed `secure:` value, False for a malformed one, None for no `secure:` at all."""
    if not isinstance(value, dict) or "secure" not in value:
        return None
    text = value["secure"]
    return set(value) == {"secure"} and isinstance(text, str) and bool(_CIPHERTEXT.fullmatch(text))


_GO_ATOI = re.compile(r"[+-]?[0-9]+")
"""What Go's `strconv.Atoi` parses: the CLI's test of an `integer` value (text, sign, decimal digits)."""
_GO_YAML_INT = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)")
"""A plain scalar Go's yaml.v3 reads as an integer (`_` removed, `strconv.ParseInt(s, 0, 64)`), which then
reaches the CLI's check as decimal digits; this loader keeps such scalars (`0x1f`, `3_0`) as text."""


def _is_int64(text: str) -> bool:
    try:
        return -(1 << 63) <= int(text, 0 if not _GO_ATOI.fullmatch(text) else 10) < (1 << 63)
    except ValueError:
        return False


def _cli_integer(text: str) -> bool:
    plain = text.replace("_", "")
    return (bool(_GO_ATOI.fullmatch(text)) and _is_int64(text)) or \
        (bool(_GO_YAML_INT.fullmatch(plain)) and _is_int64(plain))


def _type_problem(decl: Declaration, value: Any) -> str | None:
    """The CLI's typed-config check of one stack value (`validateStackConfigValue`, which calls
    `ValidateConfigValue` in pulumi/pulumi sdk/go/common/workspace/project.go): the value reaches it
    as the text the stack file's YAML gives it (a number as its digits, a boolean as true/false), a
    list or mapping as JSON. `string` takes any text, `integer` what `strconv.Atoi` parses, `boolean`
    exactly "true" or "false", `array` a list whose items are of the item type."""
    if decl.type == "array":
        ok = isinstance(value, list) and all(isinstance(x, str) for x in value)
    elif isinstance(value, (list, dict)):
        ok = False
    elif decl.type == "integer":
        ok = _cli_integer(as_config_string(value))
    elif decl.type == "boolean":
        ok = as_config_string(value) in ("true", "false")
    else:
        ok = True
    if ok:
        return None
    full_type = f"array<{decl.item_type}>" if decl.type == "array" else decl.type
    return f"must be {_EXPECTED[decl.type]} (its declared type is {full_type})"


def missing_keys_message(stack: str, missing: list[str]) -> str:
    """The CLI's refusal of a stack that lacks required keys, word for word.

    pulumi/pulumi pkg/workspace/config.go (`mergeConfig`, `missingStackConfigurationKeysError`,
    `formatMissingKeys`; before 3.246 in sdk/go/common/workspace/config.go): "Stack '%v' is missing
    configuration %v %v", "value" or "values", the keys as Pulumi.yaml spells them, sorted, quoted,
    the last joined with "and"."""
    keys = sorted(missing)
    if len(keys) == 1:
        listed = f"'{keys[0]}'"
    else:
        listed = ", ".join(f"'{k}'" for k in keys[:-2])
        listed = (listed + ", " if listed else "") + f"'{keys[-2]}' and '{keys[-1]}'"
    return f"Stack '{stack}' is missing configuration {'value' if len(keys) == 1 else 'values'} {listed}"


def _read_stack_file(stack_path: Path) -> tuple[dict[str, Any], bool]:
    """The `config:` mapping of a stack file and whether the file exists (the CLI runs a stack
    without one: it has only the project's defaults)."""
    if not os.path.lexists(stack_path):
        return {}, False
    data = _load_yaml(stack_path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProjectFileError(f"{stack_path}: must be a mapping with a 'config' mapping")
    raw = data.get("config")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ProjectFileError(f"{stack_path}: 'config' must be a mapping")
    return raw, True


def _full(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def stack_config(
    stack: str,
    program_dir: Path,
    *,
    overrides: Mapping[str, Any] | None = None,
    stack_values: Mapping[str, Any] | None = None,
) -> StackConfigSource:
    """The config the CLI hands the program for `stack`: Pulumi.<stack>.yaml (none is no config),
    `overrides` (`--config`) on top, the project's defaults and values where the stack sets nothing.
    `stack_values` stands for the `config:` of a stack file not written yet (`stacks.prstack`).

    Refuses, in one ProjectFileError naming the file and every key, what `pulumi preview`/`up`/
    `destroy` refuse before the program runs (`ValidateStackConfigAndApplyProjectConfig`): keys
    without a namespace, declared keys of this project with neither a default nor a value that the
    stack does not set (the CLI's own message, `secret: true` keys included), plain-text values of
    `secret: true` keys, malformed `secure:` values, null values, values not of the declared type.
    A `secure:` value cannot be decrypted offline: a placeholder that stays a secret stands in for
    it. A missing key never gets one.
    """
    project = project_name(program_dir)
    decls = declarations(program_dir)
    stack_path = program_file(program_dir, f"Pulumi.{stack}.yaml")
    raw, has_file = (dict(stack_values), True) if stack_values is not None else _read_stack_file(stack_path)
    problems: list[str] = []
    for key, value in raw.items():
        problems.extend(f"{stack_path}: {p}" for p in _stack_value_problems(project, decls, key, value))
    for key, value in (overrides or {}).items():
        namespace, _, name = key.rpartition(":")
        decl = decls.get(name) if namespace in ("", project) else None
        if value is None:
            problems.append(f"--config {key}: null is not a value")
        elif decl is not None and _secure(value) is None and (problem := _type_problem(decl, value)):
            problems.append(f"--config {key}: {problem}")
    merged = {str(k): v for k, v in raw.items()}
    merged.update({_full(project, k): v for k, v in (overrides or {}).items()})
    project_level = project_values(program_dir, project)
    # Only this project's namespace: a declared `aws:region` without a default is the provider's to require.
    missing = [key for key, decl in decls.items() if not decl.has_default
               and _full(project, key).partition(":")[0] == project
               and _full(project, key) not in merged and _full(project, key) not in project_level]
    if missing:
        problems.insert(0, missing_keys_message(stack, missing) + "\n  " + _missing_hint(stack, decls, missing,
                                                                                        has_file, stack_path))
    if problems:
        raise ProjectFileError("\n".join(problems))
    return _merged_source(project, decls, merged, project_level, has_file)


def _missing_hint(stack: str, decls: Mapping[str, Declaration], missing: list[str], has_file: bool,
                  stack_path: Path) -> str:
    secret = [k for k in sorted(missing) if decls[k].secret]
    plain = [k for k in sorted(missing) if not decls[k].secret]
    how = []
    if secret:
        how.append(f"`pulumi config set --secret -s {stack} <key>` for {', '.join(secret)}")
    if plain:
        how.append(f"`pulumi config set -s {stack} <key> <value>` for {', '.join(plain)}")
    others = ", ".join(list_stacks(stack_path.parent)) or "none"
    where = "" if has_file else (f" ({stack_path.name} does not exist: the stack has only Pulumi.yaml's defaults; "
                                 f"stacks with a file: {others})")
    return (f"(pulumi preview, up and destroy refuse the stack before the program runs{where}; set "
            + " and ".join(how) + "; offline, give each with --config KEY=VALUE or an --answers file's \"config\")")


def _merged_source(project: str, decls: Mapping[str, Declaration], merged: Mapping[str, Any],
                   project_level: Mapping[str, Any], has_file: bool) -> StackConfigSource:
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    placeholders: dict[str, str] = {}
    for key, decl in decls.items():
        if decl.has_default and decl.default is not None:
            values[_full(project, key)] = as_config_string(decl.default)
    for key, value in project_level.items():
        values[key] = as_config_string(value)
    for full, value in merged.items():
        if _secure(value):
            # An encrypted value needs the stack's secrets provider; stand in for it.
            placeholders[full] = placeholder(full)
            values[full] = placeholders[full]
            secret_keys.append(full)
            continue
        values[full] = as_config_string(value)
    for key, decl in decls.items():
        full = _full(project, key)
        if decl.secret and full in values and full not in secret_keys:
            secret_keys.append(full)
    return StackConfigSource(values=values, secret_keys=tuple(secret_keys), placeholders=placeholders,
                             has_stack_file=has_file, given=tuple(merged))


def _stack_value_problems(project: str, decls: Mapping[str, Declaration], key: str, value: Any) -> list[str]:
    """Problems of one `config:` entry of a stack file; never includes a value of a secret key."""
    if not _NAMESPACED.fullmatch(key):
        hint = f"; write '{project}:{key}'" if ":" not in key else ""
        return [f"config key {key!r} must be '<namespace>:<name>'{hint}"]
    namespace, _, name = key.partition(":")
    decl = decls.get(name) if namespace == project else decls.get(key)
    secure = _secure(value)
    if secure is False:
        return [f"{key}: a 'secure:' value must be the only key and a ciphertext string "
                f"(set it with `pulumi config set --secret {name}`)"]
    if value is None:
        return [f"{key}: has no value (null or ~); remove the line or set a value"]
    if decl is None or secure:
        return []
    if decl.secret:
        # Pulumi's own refusal (pulumi/pulumi pkg/workspace/config.go, validateStackConfigValue).
        return [f"{key}: must be encrypted as it's secret; a plain value was committed (value not shown): "
                f"rotate it, then set it with `pulumi config set --secret {name}`"]
    problem = _type_problem(decl, value)
    return [f"{key}: {problem}"] if problem else []


def default_program_dir() -> Path:
    return Path(__file__).resolve().parent.parent


def list_stacks(program_dir: Path) -> list[str]:
    """The stacks with a stack file in `program_dir` (a stack may also exist without one)."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in program_dir.glob("Pulumi.*.yaml"))
