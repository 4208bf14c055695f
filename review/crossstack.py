"""`check`'s cross-stack rule `stacks-disallow-shared-secret-values`: preview must not reuse prod's secrets.

prod writes the Vercel `production` target's variables and preview the `preview` target's, from
separate stacks. The pack's `vercel-env-disallow-prod-values-in-preview` sees one stack at a time,
so it cannot tell that preview was given a production credential: the same `openaiApiKey` or
`clerkSecretKey` set in both stacks, or preview wired to prod's database URL. This module can,
because `check --stack prod --stack preview` (what `make check` and `make plan` run) evaluates
both stacks in one process.

What is compared: every sensitive `vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable`
(`sensitive: true`) whose `targets` include `production` in one stack, against every sensitive
one with the same `key` whose `targets` include `preview` in another stack of the run (branch-
scoped preview variables included). Values are never printed or kept side by side: each one is
reduced to an HMAC-SHA256 under a random per-run key (as `manifest`/`diff` do) and only the
digests are compared. Each reuse is a MANDATORY violation on the preview resource, naming both
URNs and the fix (for a variable fed from secret config, per `catalog.EnvVarSpec.origin`:
`pulumi config set --secret -s <preview stack> <configKey>`); it makes `check` exit 1.

What is skipped: values the run itself gives every stack, which would compare equal without any
stack reusing anything: the placeholders that stand in for secret config (`infra.projectfile`
derives them from the key alone, so prod and preview get the same one) and `--config` override
values (an override applies to every stack of the run). Unknown values are skipped too. Offline,
a `secure:` value is never decrypted, so a reuse of an encrypted secret only shows here when the
value is visible to the run (a plaintext value in a stack file, or one the program wires across);
the summary line says how many pairs were skipped.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra import catalog, projectfile
from review import manifest as mf
from review.check import StackReport, Violation
from review.wire import UNKNOWN

POLICY = "stacks-disallow-shared-secret-values"
DESCRIPTION = ("The preview stack must not reuse a secret value of the production stack "
               "(cross-stack check of `python -m review check`).")
SEVERITY = "high"


@dataclass(frozen=True)
class _Var:
    stack: str
    urn: str
    type: str
    name: str
    key: str
    digest: str | None
    """None when the value is skipped (placeholder, --config value, unknown)."""


@dataclass
class CrossStackResult:
    production: list[str] = field(default_factory=list)
    """Stacks with sensitive variables for the production target."""
    preview: list[str] = field(default_factory=list)
    """Stacks with sensitive variables for the preview target."""
    compared: int = 0
    """Same-key (production, preview) pairs across two stacks whose values were compared."""
    skipped: int = 0
    """Same-key pairs not compared: a value the run gives every stack (placeholder, --config, the
    answers' config) or one a preview does not know (a generated password, a token)."""
    violations: list[Violation] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        return any(a != b for a in self.production for b in self.preview)

    def summary(self) -> str:
        pairs = ", ".join(f"{a} (production) vs {b} (preview)" for a in self.production for b in self.preview if a != b)
        return (f"cross-stack {POLICY}: {pairs}: {self.compared} sensitive variable pairs compared, "
                f"{len(self.violations)} shared values, {self.skipped} skipped (values the run gives every "
                f"stack, or not known before the engine runs)")

    def as_json(self) -> dict[str, Any]:
        return {"policy": POLICY, "production": self.production, "preview": self.preview,
                "compared": self.compared, "skipped": self.skipped, "sharedValues": len(self.violations)}


def _canonical(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _variables(capture: Any, target: str, key: bytes, shared: set[str]) -> list[_Var]:
    out = []
    for r in capture.resources:
        props = r.props or {}
        if r.type != catalog.VERCEL_ENV_VAR or props.get("sensitive") is not True:
            continue
        targets = mf.reveal(props.get("targets")) or []
        env_key = mf.reveal(props.get("key"))
        if target not in targets or not isinstance(env_key, str) or "value" not in props:
            continue
        value = mf.reveal(props.get("value"))
        text = _canonical(value)
        skip = value is None or UNKNOWN in text or text in shared
        out.append(_Var(stack=capture.stack, urn=r.urn, type=r.type, name=r.name, key=env_key,
                        digest=None if skip else mf.secret_digest(value, key)))
    return out


def _fix(env_key: str, preview_stack: str, production_stack: str) -> str:
    spec = catalog.ENV_VARS_BY_KEY.get(env_key)
    if spec is None:
        return f"set a distinct value of {env_key} for the {preview_stack} stack"
    if spec.source is catalog.Source.SECRET_CONFIG:
        return ("set a distinct value for the preview stack: "
                f"pulumi config set --secret -s {preview_stack} {spec.origin}")
    if spec.source is catalog.Source.GENERATED:
        return (f"let the {preview_stack} stack generate its own {spec.origin} (its GeneratedKeys), "
                f"not a value copied from {production_stack}")
    if spec.source is catalog.Source.DERIVED:
        return (f"derive {env_key} from the {preview_stack} stack's own resources ({spec.origin}), "
                f"not from {production_stack}'s")
    return f"set a distinct value of {env_key} ({spec.source.value} {spec.origin}) for the {preview_stack} stack"


def compare(captures: Sequence[Any], shared_values: Iterable[str] = ()) -> CrossStackResult:
    """Compare the sensitive production-target values of each capture with the preview-target
    values of every other capture, by HMAC digest under a random per-run key.

    `shared_values`: plain strings the run gives every stack (placeholders, `--config` values);
    a value equal to one of them is not compared.
    """
    key = os.urandom(32)
    shared = {s for s in shared_values if isinstance(s, str) and s}
    production = [v for c in captures for v in _variables(c, catalog.TARGET_PRODUCTION, key, shared)]
    preview = [v for c in captures for v in _variables(c, catalog.TARGET_PREVIEW, key, shared)]
    result = CrossStackResult(production=list(dict.fromkeys(v.stack for v in production)),
                              preview=list(dict.fromkeys(v.stack for v in preview)))
    by_key: dict[str, list[_Var]] = {}
    for v in production:
        by_key.setdefault(v.key, []).append(v)
    for pv in preview:
        for prod in by_key.get(pv.key, ()):
            if prod.stack == pv.stack:
                continue  # one stack writing both targets is the pack's single-stack policy's business
            if pv.digest is None or prod.digest is None:
                result.skipped += 1
                continue
            result.compared += 1
            if hmac.compare_digest(pv.digest, prod.digest):
                result.violations.append(Violation(
                    policy=POLICY, level="mandatory", severity=SEVERITY, description=DESCRIPTION,
                    stack=pv.stack, urn=pv.urn, type=pv.type, name=pv.name,
                    problem=(f"{pv.key} for the preview target ({pv.urn}) has the same value as {prod.key} "
                             f"for the production target in stack {prod.stack} ({prod.urn}); a preview "
                             f"deployment could read or spend production credentials."),
                    fix=_fix(pv.key, pv.stack, prod.stack)))
    result.violations.sort(key=lambda v: (v.stack, v.urn, v.problem))
    return result


def shared_values(sources: Sequence[Any], overrides: dict[str, Any]) -> set[str]:
    """The values a `check` run gives every stack: secret placeholders and `--config` overrides."""
    out = {v for s in sources for v in s.placeholders.values()}
    out |= {projectfile.as_config_string(v) for v in overrides.values()}
    return out


def attach(reports: Sequence[StackReport], result: CrossStackResult) -> None:
    """Add each violation to its (preview) stack's report, so counts, `ok()` and rendering see it."""
    by_stack = {rep.stack: rep for rep in reports}
    for v in result.violations:
        rep = by_stack.get(v.stack)
        if rep is not None:
            rep.violations.append(v)
    for rep in reports:
        rep.violations.sort(key=lambda v: ({"mandatory": 0, "advisory": 1}.get(v.level, 2), v.policy, v.urn, v.problem))
