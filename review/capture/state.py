"""What a preview knows of each resource from the stack's last deployment.

`pulumi preview` plans every registration against the stack's state (pulumi/pulumi
pkg/resource/deploy/step_generator.go): a resource the state holds with the same inputs and
provider is a *same* step, and the program sees the outputs the state recorded; one whose inputs
changed is an *update* (its id stays; what the provider computes is unknown until it runs) or a
*replace* when a changed input forces one (a new id, unknown); one the state does not hold is a
*create*: its id and every output the provider computes are unknown. A new provider's id is
unknown in a preview too (pkg/resource/deploy/providers/registry.go, `Create`: `UnknownID` unless
the operation is not a preview), so the references of the resources it manages carry the unknown.

Two sources of state:

* `ExportedState`: the output of `pulumi stack export` (`--state FILE`). Its secrets are
  ciphertext (`{"<sig>": "<secret sig>", "ciphertext": ...}`, pkg/resource/stack/deployment.go)
  that only the stack's secrets provider decrypts: an input compared against one counts as
  changed, an output read from one becomes a placeholder that stays a secret. An export made
  with `--show-secrets` carries `plaintext` (the JSON of the value) instead, which is compared.
* `DeployedManifest`: what `diff` uses: the base revision evaluated as a finished `pulumi up`
  (`plan --as-deployed`), so a preview of the working tree against it shows what a preview of a
  stack deployed from the base revision would. A same step's outputs are the mocks' answers, the
  ones the base revision's run got; inputs are compared by the manifest's per-run HMAC digests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from review import wire
from review.replacements import REPLACED_BY

SAME, UPDATE, REPLACE, CREATE = "same", "update", "replace", "create"


class StateError(ValueError):
    """A state file that is not the output of `pulumi stack export` (the message names it)."""


@dataclass(frozen=True)
class Step:
    """How the engine would plan one registration in a preview."""

    kind: str
    """same, update, replace or create."""
    id: str | None = None
    """The resource's id when the preview knows it (same and update steps); None: unknown."""
    outputs: dict[str, Any] | None = None
    """Outputs (wire form) the state recorded, for a same step; None: the mocks answer (a same step
    of a `DeployedManifest`) or nothing is known beyond the inputs."""
    old_urn: str | None = None
    """The URN the state holds the resource under (an alias's when it was renamed)."""


CREATE_STEP = Step(CREATE)


class NoState:
    """A stack never deployed: every registration is a create."""

    def step(self, urn: str, aliases: Iterable[str], type_: str, props: Mapping[str, Any], provider: str | None,
             ignore_changes: Iterable[str] = ()) -> Step:
        return CREATE_STEP


def _replaces(type_: str, changed: Iterable[str]) -> bool:
    keys = REPLACED_BY.get(type_, ())
    return any("*" in keys or key in keys for key in changed)


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any], ignore: Iterable[str]) -> list[str]:
    ignored = {path.split(".", 1)[0].split("[", 1)[0] for path in ignore}
    return sorted(k for k in set(old) | set(new) if k not in ignored and old.get(k, _ABSENT) != new.get(k, _ABSENT))


_ABSENT = object()


def _find(resources: Mapping[str, Any], urn: str, aliases: Iterable[str]) -> tuple[str, Any] | None:
    for candidate in (urn, *aliases):
        if candidate in resources:
            return candidate, resources[candidate]
    return None


# --------------------------------------------------------------------------- pulumi stack export


def _normal(value: Any) -> Any:
    """A state or wire value in one comparable form: numbers as floats, output values and resource
    references as the engine stores them for a diff, secrets as their plaintext or an opaque mark."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if not isinstance(value, dict):
        return value
    sig = value.get(wire.SECRET_SIG)
    if sig == wire.SECRET_MARK:
        if "value" in value:
            return ("secret", json.dumps(_normal(value["value"]), sort_keys=True))
        if isinstance(value.get("plaintext"), str):
            try:
                return ("secret", json.dumps(_normal(json.loads(value["plaintext"])), sort_keys=True))
            except ValueError:
                return _Opaque()
        return _Opaque()  # ciphertext: never equal to anything
    if sig == wire.OUTPUT_VALUE_SIG:
        return _normal(wire.downgrade(value))
    if sig == wire.RESOURCE_REF_SIG:
        return ("ref", value.get("urn"))
    return {k: _normal(v) for k, v in value.items()}


class _Opaque:
    # Defining __eq__ without __hash__ leaves the class unhashable (its __hash__ is None).
    def __eq__(self, other: object) -> bool:
        return False


def _readable(value: Any, where: str) -> Any:
    """A state output as the program may read it: ciphertext becomes a placeholder secret."""
    if isinstance(value, list):
        return [_readable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if value.get(wire.SECRET_SIG) == wire.SECRET_MARK and "value" not in value:
        if isinstance(value.get("plaintext"), str):
            try:
                return {wire.SECRET_SIG: wire.SECRET_MARK, "value": json.loads(value["plaintext"])}
            except ValueError:
                pass
        digest = hashlib.sha256(where.encode()).hexdigest()[:12]
        return {wire.SECRET_SIG: wire.SECRET_MARK, "value": f"ara-placeholder-state-{digest}"}
    return {k: _readable(v, f"{where}.{k}") for k, v in value.items()}


class ExportedState:
    """The resources of a `pulumi stack export` file."""

    def __init__(self, resources: Mapping[str, Mapping[str, Any]], source: str) -> None:
        self.resources = dict(resources)
        self.source = source

    @classmethod
    def load(cls, path: str | Path) -> ExportedState:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise StateError(f"--state {path}: cannot be read ({exc.__class__.__name__})") from None
        except json.JSONDecodeError as exc:
            raise StateError(f"--state {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        deployment = data.get("deployment") if isinstance(data, dict) else None
        if not isinstance(deployment, dict):
            raise StateError(f"--state {path}: not the output of `pulumi stack export` (no 'deployment')")
        resources = deployment.get("resources") or []
        if not isinstance(resources, list) or not all(isinstance(r, dict) and isinstance(r.get("urn"), str)
                                                       for r in resources):
            raise StateError(f"--state {path}: deployment.resources must be a list of resources with a urn")
        return cls({r["urn"]: r for r in resources if not r.get("delete")}, str(path))

    def step(self, urn: str, aliases: Iterable[str], type_: str, props: Mapping[str, Any], provider: str | None,
             ignore_changes: Iterable[str] = ()) -> Step:
        found = _find(self.resources, urn, aliases)
        if found is None or found[1].get("type") != type_:
            return CREATE_STEP
        old_urn, old = found
        old_inputs = {k: _normal(v) for k, v in (old.get("inputs") or {}).items() if not k.startswith("__")}
        new_inputs = {k: _normal(v) for k, v in props.items() if not k.startswith("__")}
        changed = _changed_keys(old_inputs, new_inputs, ignore_changes)
        same_provider = wire.provider_urn(old.get("provider") or "") == wire.provider_urn(provider or "")
        rid = old.get("id") or None
        if not changed and same_provider:
            outputs = _readable(old.get("outputs") or {}, old_urn)
            return Step(SAME, id=rid, outputs=outputs, old_urn=old_urn)
        if _replaces(type_, changed) or not same_provider:
            return Step(REPLACE, old_urn=old_urn)
        return Step(UPDATE, id=rid, old_urn=old_urn)


# --------------------------------------------------------------------------- the base revision of `diff`


class DeployedManifest:
    """A manifest of the base revision evaluated as deployed (`plan --as-deployed`), with digests."""

    def __init__(self, manifest: Mapping[str, Any], digest_key: bytes) -> None:
        self.resources = {r["urn"]: r for r in manifest.get("resources", [])}
        self.digest_key = digest_key

    def step(self, urn: str, aliases: Iterable[str], type_: str, props: Mapping[str, Any], provider: str | None,
             ignore_changes: Iterable[str] = ()) -> Step:
        from review import manifest as mf  # noqa: PLC0415 - manifest imports the capture package

        found = _find(self.resources, urn, aliases)
        if found is None or found[1].get("type") != type_:
            return CREATE_STEP
        old_urn, old = found
        new_props = mf.redact(dict(props), self.digest_key)
        changed = _changed_keys(old.get("props") or {}, new_props, ignore_changes)
        same_provider = wire.provider_urn(old.get("provider") or "") == wire.provider_urn(provider or "")
        if not changed and same_provider:
            return Step(SAME, old_urn=old_urn)
        if _replaces(type_, changed) or not same_provider:
            return Step(REPLACE, old_urn=old_urn)
        return Step(UPDATE, old_urn=old_urn)
