"""`load_config`: Pulumi.yaml's declarations -> parse each key -> per-key checks -> cross-key rules
-> a `StackConfig`, or one `ConfigError` that lists every problem by key.

It runs from `__main__` before any resource is declared. Secrets are read with `get_secret` and
stay `Output`s; their shape is checked without echoing them. The only module of `infra.config`
that imports the Pulumi SDK (for `pulumi.Config`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from infra import projectfile
from infra.config.checks import secret_problem, show, value_problem
from infra.config.model import (
    CONFIG_FIELDS,
    PR_UNREAD_SECRETS,
    STACKS,
    ConfigError,
    StackConfig,
    config_key,
    pr_number,
)
from infra.config.rules import cross_key_problems, undeclared_key_problems

_INTEGER = re.compile(r"[-+]?(0|[1-9][0-9]{0,17})")
"""Decimal ASCII digits, at most 18 (fits int64): no `3_0`, `0x1f`, `٣٠` or 4,000-digit numbers,
which Python's int() would take."""


def _parse(raw: str, decl: projectfile.Declaration) -> Any:
    if decl.type == "integer":
        if not _INTEGER.fullmatch(raw):
            raise ValueError
        return int(raw)
    if decl.type == "boolean":
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise ValueError
        return lowered == "true"
    if decl.type == "array":
        value = json.loads(raw)
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise ValueError
        return tuple(value)
    return raw


_EXPECTED = {"integer": "an integer", "boolean": "true or false", "array": "a list of strings", "string": "a string"}



def all_config_keys() -> set[str]:
    """Every config key the engine handed the program, in every namespace.

    The language host passes the whole stack config as the PULUMI_CONFIG JSON bag (read by
    pulumi/runtime/config.py `get_config_env`); the mock runtime sets it with `set_all_config`.
    """
    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())



def load_config(
    stack: str | None = None,
    cfg: pulumi.Config | None = None,
    program_dir: Path | None = None,
) -> StackConfig:
    """Read and validate every declared key; raise ConfigError listing all problems."""
    stack = stack or pulumi.get_stack()
    cfg = cfg or pulumi.Config()
    program_dir = program_dir or projectfile.default_program_dir()
    decls = projectfile.declarations(program_dir)
    problems: list[str] = []
    is_pr = pr_number(stack) is not None
    if stack not in STACKS and not is_pr:
        problems.append(f"stack '{stack}' has no composition in stacks/; expected one of {', '.join(STACKS)} "
                        "or pr-<pull request number>")
    problems.extend(undeclared_key_problems(cfg.name, all_config_keys(), decls))
    values: dict[str, Any] = {}
    for name in CONFIG_FIELDS:
        decl = decls.get(config_key(name))
        if decl is None:
            problems.append(f"{config_key(name)}: read by the program but not declared in Pulumi.yaml")
            continue
        value = _read_key(cfg, name, decl, is_pr, problems)
        if value is not _LEFT_OUT:
            values[name] = value
    problems.extend(f"{cfg.name}:{p}" for p in cross_key_problems(stack, values, program_dir))
    if problems:
        raise ConfigError(stack, problems)
    return StackConfig(stack=stack, **values)


_LEFT_OUT = object()
"""What `_read_key` returns for a key with no value to give: missing, unparseable or refused."""


def _read_key(cfg: pulumi.Config, name: str, decl: projectfile.Declaration, is_pr: bool,
              problems: list[str]) -> Any:
    """One declared key's value, parsed as Pulumi.yaml declares it (a secret stays an Output); its
    problems are added to `problems`, and `_LEFT_OUT` comes back when there is no value to keep."""
    key = config_key(name)
    set_cmd = f"pulumi config set {'--secret ' if decl.secret else ''}{key} <value>"
    if is_pr and name in PR_UNREAD_SECRETS:
        return None  # set by the workflow only because the CLI requires it; never read
    raw = cfg.get(key)
    if raw is None and decl.has_default:
        raw = projectfile.as_config_string(decl.default)
    if raw is None:
        problems.append(f"{cfg.full_key(key)}: required ({decl.description.rstrip('.')}); set it with `{set_cmd}`")
        return _LEFT_OUT
    if decl.secret:
        problem = secret_problem(name, raw)
        if problem:
            problems.append(f"{cfg.full_key(key)}: {problem} (value not shown)")
        if not cfg_is_secret(cfg, key):
            problems.append(f"{cfg.full_key(key)}: is a secret; store it with `{set_cmd}`")
        return cfg.require_secret(key)
    try:
        value = _parse(raw, decl)
    except ValueError:
        what = "an integer in decimal digits" if decl.type == "integer" else _EXPECTED[decl.type]
        problems.append(f"{cfg.full_key(key)}: must be {what} (got {show(raw)})")
        return _LEFT_OUT
    error = value_problem(name, value)
    if error:
        # Left out of `values`: the cross-checks (paths, files) only see values that passed.
        problems.append(f"{cfg.full_key(key)}: {error}")
        return _LEFT_OUT
    return value


def cfg_is_secret(cfg: pulumi.Config, key: str) -> bool:
    return runtime_config.is_config_secret(cfg.full_key(key))
