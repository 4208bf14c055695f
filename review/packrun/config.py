"""The policy config, parsed, reconciled and validated as the engine does before `Configure`.

pulumi/pulumi `pkg/resource/analyzer/config.go` (`parsePolicyPackConfig`,
`ReconcilePolicyPackConfig`, `ValidatePolicyPackConfig`): schema defaults first, then the pack's
`initialConfig`, then the `--policy-pack-config` file; each policy's properties validated against
its `configSchema`. Unlike the engine, an unknown policy name, or a property a policy's schema
does not declare, is an error here: a misspelt name or property would otherwise be ignored
without a word.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema

from review import wire
from review.packrun.results import ENFORCEMENT_LEVELS, PolicyInfo


class PolicyConfigError(ValueError):
    """The policy config is invalid. `errors` lists one readable line per problem."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        super().__init__("invalid policy config:\n  " + "\n  ".join(self.errors))



def load_policy_config(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read a `--policy-pack-config` JSON file into {name: {"enforcementLevel"?, "properties"?}}.

    As the CLI reads it (Go's encoding/json into interface{}): UTF-8 text, numbers as float64, so a
    number beyond float64's range, NaN or Infinity is refused rather than crashing the pack."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicyConfigError([f"{path}: not UTF-8 text (byte {e.start}): a policy config is a JSON file"]) \
            from None
    except OSError as e:
        raise PolicyConfigError([f"{path}: cannot read it ({e.strerror or e})"]) from None
    if not text.strip():
        return {}
    try:
        raw = json.loads(text, parse_constant=wire.refuse_json_constant)
    except json.JSONDecodeError as e:
        raise PolicyConfigError([f"{path}: not valid JSON: {e}"]) from None
    except ValueError as e:  # NaN / Infinity
        raise PolicyConfigError([f"{path}: {e}"]) from None
    too_big = list(wire.out_of_range(raw))
    if too_big:
        raise PolicyConfigError([f"{path}: {where}: the number is out of range (a policy config number is a 64-bit "
                                 "float, at most about 1.8e308)" for where in too_big])
    return parse_policy_config(raw, source=str(path))



def parse_policy_config(raw: Mapping[str, Any], *, source: str = "policy config") -> dict[str, dict[str, Any]]:
    """Parse the file's shape as the engine does (`parsePolicyPackConfig`).

    Each value is an enforcement level string or an object with an optional
    `enforcementLevel` and any other keys as properties. Empty entries are dropped.
    """
    if not isinstance(raw, Mapping):
        raise PolicyConfigError([f"{source}: must be a JSON object mapping policy names to config"])
    errors: list[str] = []
    result: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        level: str | None = None
        props: dict[str, Any] = {}
        if isinstance(value, str):
            level = value
        elif isinstance(value, Mapping):
            props = dict(value)
            if "enforcementLevel" in props:
                level = props.pop("enforcementLevel")
                if not isinstance(level, str):
                    errors.append(f"{name}: enforcementLevel: {level!r} is not valid; "
                                  f"expected one of {', '.join(ENFORCEMENT_LEVELS)}")
                    continue
        else:
            errors.append(f"{name}: {value!r} is not valid; expected an enforcement level "
                          f"string or an object")
            continue
        if level is not None and level not in ENFORCEMENT_LEVELS:
            errors.append(f"{name}: enforcementLevel: {level!r} is not valid; "
                          f"expected one of {', '.join(ENFORCEMENT_LEVELS)}")
            continue
        if level is None and not props:
            continue
        entry: dict[str, Any] = {}
        if level is not None:
            entry["enforcementLevel"] = level
        if props:
            entry["properties"] = props
        result[name] = entry
    if errors:
        raise PolicyConfigError(errors)
    return result


def reconcile_policy_config(
    policies: Iterable[PolicyInfo],
    initial_config: Mapping[str, Mapping[str, Any]] | None,
    config: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, dict[str, Any]]:
    """Fill schema defaults, apply `initial_config` then `config`, and validate (engine semantics).

    Returns {policy: {"enforcementLevel": str, "properties": dict}} for every policy; raises
    `PolicyConfigError` for unknown policy names, bad levels and schema violations.
    """
    policies = list(policies)
    errors = _unknown_names(policies, config)
    if errors:
        raise PolicyConfigError(errors)

    result: dict[str, dict[str, Any]] = {}
    for p in policies:
        defaults = {k: v["default"] for k, v in ((p.config_schema or {}).get("properties") or {}).items()
                    if isinstance(v, Mapping) and "default" in v}
        result[p.name] = {"enforcementLevel": p.enforcement_level, "properties": defaults}
    for layer in (initial_config, config):
        if layer:
            _apply_layer(result, layer)

    for p in policies:
        entry = result[p.name]
        if entry["enforcementLevel"] not in ENFORCEMENT_LEVELS:
            errors.append(f"{p.name}: enforcementLevel: {entry['enforcementLevel']!r} is not valid; "
                          f"expected one of {', '.join(ENFORCEMENT_LEVELS)}")
        errors.extend(_validate_properties(p, entry["properties"]))
    if errors:
        raise PolicyConfigError(sorted(errors))
    return result


def _unknown_names(policies: list[PolicyInfo], config: Mapping[str, Mapping[str, Any]] | None) -> list[str]:
    """Entries of `config` that name no policy of the pack, and properties given to `all`."""
    by_name = {p.name: p for p in policies}
    errors: list[str] = []
    for name, entry in (config or {}).items():
        if name == "all":
            if entry.get("properties"):
                errors.append(f"all: only an enforcement level can be set for all policies, "
                              f"got properties {sorted(entry['properties'])}")
        elif name not in by_name:
            errors.append(f"{name}: no such policy in the pack; known policies: "
                          f"{', '.join(sorted(by_name)) or '(none)'}")
    return errors


def _apply_layer(result: dict[str, dict[str, Any]], layer: Mapping[str, Mapping[str, Any]]) -> None:
    """One config layer over `result`: its `all` level first, then each policy's own entry."""
    all_level = (layer.get("all") or {}).get("enforcementLevel")
    if all_level:
        for entry in result.values():
            entry["enforcementLevel"] = all_level
    for name, given in layer.items():
        if name == "all" or name not in result:
            continue
        if given.get("enforcementLevel"):
            result[name]["enforcementLevel"] = given["enforcementLevel"]
        result[name]["properties"].update(given.get("properties") or {})


def _undeclared_properties(policy: PolicyInfo, props: Mapping[str, Any], properties: Mapping[str, Any]) -> list[str]:
    """A property the schema does not declare: the engine would pass it on and the policy ignore it."""
    errors = []
    for prop in sorted(set(props) - set(properties)):
        if not properties:
            errors.append(f"{policy.name}: property '{prop}' is not accepted: the policy declares no config "
                          f"properties (only enforcementLevel can be set)")
            continue
        close = difflib.get_close_matches(prop, list(properties), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        errors.append(f"{policy.name}: property '{prop}' is not declared by the policy's configSchema; {hint}"
                      f"known properties: {', '.join(sorted(properties))}")
    return errors


def _validate_properties(policy: PolicyInfo, props: Mapping[str, Any]) -> list[str]:
    schema_in = policy.config_schema or {}
    properties = dict(schema_in.get("properties") or {})
    undeclared = _undeclared_properties(policy, props, properties)
    if undeclared:
        return undeclared
    schema: dict[str, Any] = {"type": "object"}
    if properties:
        schema["properties"] = properties
    if schema_in.get("required"):
        schema["required"] = list(schema_in["required"])
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    errors = []
    for err in sorted(validator_cls(schema).iter_errors(dict(props)), key=lambda e: list(e.path)):
        path = [str(p) for p in err.path]
        if err.validator == "required" and not path:
            missing = err.message.split("'")[1] if "'" in err.message else "?"
            expected = properties.get(missing)
            errors.append(f"{policy.name}: property '{missing}' is required"
                          + (f"; expected {json.dumps(expected, sort_keys=True)}" if expected else ""))
            continue
        prop = ".".join(path) if path else "(root)"
        expected = properties.get(path[0]) if path else schema
        errors.append(f"{policy.name}: property '{prop}': {err.message}; "
                      f"expected {json.dumps(expected, sort_keys=True)}")
    return errors
