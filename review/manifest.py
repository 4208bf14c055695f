"""The desired-state manifest `python -m review plan --out FILE` writes.

Format (version 1), one JSON object, keys sorted, two-space indent, trailing newline:

    {
      "version": 1,
      "project": "ara-infra",
      "stack": "prod",
      "resources": [                      # every registration, sorted by URN
        {
          "urn": "urn:pulumi:prod::ara-infra::<parent type>$postgresql:index/database:Database::ara-db-database",
          "type": "postgresql:index/database:Database",
          "name": "ara-db-database",
          "parent": "<parent URN>" | null,
          "custom": true,                 # false for components and the root stack
          "provider": "<provider URN>::<id>" | null,   # null: the default provider
          "props": {...},                 # inputs in wire form (camelCase keys, numbers as floats)
          "dependencies": ["<URN>", ...],                # sorted
          "propertyDependencies": {"<prop>": ["<URN>", ...]},  # non-empty ones, sorted
          "protect": false, "retainOnDelete": false, "deleteBeforeReplace": false,
          "deletedWith": "<URN>" | null,  # its Delete is skipped when that resource is deleted too
          "ignoreChanges": [...], "replaceOnChanges": [...], "additionalSecretOutputs": [...],
          "customTimeouts": {"delete": "10m", ...},  # only those set
          "aliases": ["<URN>", ...]       # alias specs resolved to URNs, with the aliases
                                          # inherited from aliased parents, as the engine does
        }
      ],
      "outputs": {"appUrl": "https://...", "databaseUrl": {"secret": true}}
    }

Secrets: every value the engine would receive wrapped as a secret (the
`4dabf18193072939515e22adb298388d` sentinel, or an output value marked secret) is replaced, in
`props` and `outputs`, by the object `{"secret": true}`; the value itself never appears. One
exception: the value of a Vercel variable the program declares `sensitive: false`, which the SDK
wraps although the program says it is public (`declared_public`), is kept in clear, as plan shows it.
`diff` asks for `{"secret": true, "digest": "<hex>"}` instead: an HMAC-SHA256 of the value under
a random per-run key held by the parent process, so two manifests of one `diff` run can say
"changed" or "unchanged" without either one containing or fixing the value (without the key the
digests compare to nothing). A secret whose value is not known yet (a preview: a generated
password, a URL built from one) is `{"secret": true, "unknown": true}`, with no digest. Other special
values are kept as the engine sees them (an unknown is the string `04da6b54-80e4-46f7-96ec-b56ff0331ba9`,
a resource reference its sentinel object).
Everything is sorted and the mock ids are deterministic, so the same program and config always
give the same bytes (the prod manifest is snapshotted in tests/infra/__snapshots__).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from review import wire
from review.wire import resolve_aliases, reveal

VERSION = 1
DIGEST_ENV = "ARA_INFRA_SECRET_DIGEST_KEY"
"""Environment variable through which `diff` hands its digest key to the base-revision run."""


class ManifestError(ValueError):
    pass


def is_marker(value: Any) -> bool:
    """True for the manifest's secret marker `{"secret": true, ...}`."""
    return isinstance(value, dict) and value.get("secret") is True and set(value) <= {"secret", "digest", "unknown"}


def _holds_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_unknown(v) for v in value)
    return value == wire.UNKNOWN


def secret_digest(plain: Any, key: bytes) -> str:
    """HMAC-SHA256 of a revealed value under a per-run key: comparable, never reversible."""
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def redact(value: Any, digest_key: bytes | None = None) -> Any:
    """Replace each secret-wrapped value by the secret marker (with an HMAC when a key is given)."""
    def marker(secret: Any) -> dict[str, Any]:
        found: dict[str, Any] = {"secret": True}
        if _holds_unknown(reveal(secret)):
            found["unknown"] = True  # not known until the engine runs: no digest says "unchanged"
        elif digest_key:
            found["digest"] = secret_digest(reveal(secret), digest_key)
        return found

    return wire.redact(value, marker)


def declared_public(r: Any) -> dict[str, Any]:
    """`r`'s props with the value of a Vercel variable the program declares `sensitive: false` in
    clear: the Vercel SDK wraps every variable's value as a secret (pulumiverse_vercel
    project_environment_variable.py: `pulumi.Output.secret(value)`), so on the wire secretness says
    nothing there; the program's own `sensitive=False` does. plan and diff show such a value alike."""
    from infra import catalog  # noqa: PLC0415 - ARA's type tokens

    if r.type != catalog.VERCEL_ENV_VAR or r.props.get("sensitive") is not False or "value" not in r.props:
        return r.props
    value = reveal(r.props["value"])
    return {**r.props, "value": value} if isinstance(value, str) else r.props


def resource_entry(r: Any, aliases: list[str], digest_key: bytes | None = None) -> dict[str, Any]:
    return {
        "urn": r.urn,
        "type": r.type,
        "name": r.name,
        "parent": r.parent,
        "custom": r.custom,
        "provider": r.provider,
        "props": redact(declared_public(r), digest_key),
        "dependencies": sorted(set(r.dependencies)),
        "propertyDependencies": {k: sorted(set(v)) for k, v in sorted(r.property_dependencies.items()) if v},
        "protect": r.protect,
        "retainOnDelete": r.retain_on_delete,
        "deleteBeforeReplace": r.delete_before_replace,
        "deletedWith": r.deleted_with,
        "ignoreChanges": sorted(r.ignore_changes),
        "replaceOnChanges": sorted(r.replace_on_changes),
        "customTimeouts": dict(sorted(r.custom_timeouts.items())),
        "additionalSecretOutputs": sorted(r.additional_secret_outputs),
        "aliases": sorted(aliases),
    }


def build(capture: Any, digest_key: bytes | None = None) -> dict[str, Any]:
    """The manifest of a `review.capture.Capture`: secrets redacted but marked, everything sorted."""
    aliases = resolve_aliases(capture.resources, capture.project, capture.stack)
    resources = [resource_entry(r, aliases.get(r.urn, []), digest_key)
                 for r in sorted(capture.resources, key=lambda r: r.urn)]
    return {
        "version": VERSION,
        "project": capture.project,
        "stack": capture.stack,
        "resources": resources,
        "outputs": redact(dict(sorted(capture.stack_outputs.items())), digest_key),
    }


def dumps(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(manifest: Mapping[str, Any], path: str | Path) -> None:
    Path(path).write_text(dumps(manifest))


def load(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: not a readable manifest ({exc})") from None
    return validate(data, source=str(path))


def validate(data: Any, *, source: str = "manifest") -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ManifestError(f"{source}: not a version-{VERSION} manifest")
    for key in ("project", "stack", "resources", "outputs"):
        if key not in data:
            raise ManifestError(f"{source}: missing {key!r}")
    return data


def contains_secret_value(manifest: Mapping[str, Any]) -> bool:
    """True if any wire-form secret survived (a bug): used by the tests and as a last check.

    Only the secret signature counts: assets, archives and resource references share its key
    (`4dabf…`) with other signatures and are not secrets."""
    return wire.SECRET_MARK in json.dumps(manifest)
