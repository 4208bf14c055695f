"""Run a pulumi-policy (Python) pack over captured resources, as `pulumi preview --policy-pack` does.

The engine never imports a pack: it starts `python -u -m pulumi.policy <engineAddr> .` in the
pack directory, reads the gRPC port the pack prints, and talks to its `Analyzer` service. This
module does the same against resources recorded by `infra.mockrun`, in the engine's order
(pulumi/pulumi `pkg/resource/plugin/analyzer_plugin.go`, `pkg/engine/plugins.go`,
`pkg/resource/analyzer/config.go`, `pkg/resource/deploy/step_generator.go`):

1. start the pack (env: `PULUMI_PROJECT`, `PULUMI_STACK`, `PULUMI_DRY_RUN`, `PULUMI_CONFIG`,
   `PULUMI_ORGANIZATION`), read the port line, dial it;
2. `Handshake` (UNIMPLEMENTED is fine), `ConfigureStack` (UNIMPLEMENTED is fine), `GetAnalyzerInfo`;
3. parse, reconcile and validate the policy config here, as the engine does (schema defaults,
   `initialConfig`, then the `--policy-pack-config` file), then `Configure`;
4. per resource, in registration order: `Remediate` (only when a policy is at `remediate`),
   then `Analyze` on the remediated inputs;
5. `AnalyzeStack` over every resource, with parent, dependencies and property dependencies.

Decisions (where this differs from, or has to guess at, the engine):

* Secret stack config is **omitted** from `PULUMI_CONFIG` and `ConfigureStack` (the engine sends
  it decrypted). Secret values never leave this process; a policy that reads a secret config key
  sees it as missing. Non-secret config is passed as given (`{"<project>:<key>": "<value>"}`).
* Unknown policy names in the policy config are an error here (`PolicyConfigError`); the engine
  silently ignores them. `"all"` accepts only an enforcement level.
* Like the engine, every registered resource is analyzed (root stack, components, providers and
  custom resources); pass `custom_only=True` to analyze custom resources only.
* Resource properties are the captured *inputs* (the engine analyzes inputs after the provider's
  `Check`, so provider-filled defaults are missing). For `AnalyzeStack` the engine sends outputs;
  components and the root stack send what they registered with `register_outputs` (else `{}`),
  custom resources send their (remediated) inputs because mock outputs are not captured.
* Resource references inside properties are downgraded to their id (custom) or URN (component),
  and output values to their plain value/unknown, as the engine's marshalling does for analyzers.
* A resource without a provider reference (a default provider under mocks) gets a synthesised
  provider `pulumi:providers:<pkg>::default` with no properties; the engine would send the real
  default provider and its inputs.
* `deleteBeforeReplaceDefined` is only known to be set when `delete_before_replace` is true.
* The pack runs on `python=` if given, else the virtualenv named by `runtime.options.virtualenv`
  in `PulumiPolicy.yaml` if it exists, else `sys.executable`.

Several captures can be analyzed by one started pack (`PolicyPackSession.analyze` per capture):
`ConfigureStack` is re-sent when the stack changes. The Python servicer ignores `ConfigureStack`
except for stack tags and reads project, stack and config from the process environment fixed at
start, so a policy calling `pulumi.get_stack()` or `pulumi.Config` keeps seeing the session's
stack. Use one session per stack (`run_policy_pack`) when policies read those.

Secrets: property values are forwarded untouched (sentinels kept) and never printed; only
diagnostic messages (written by the policies) and names appear in errors and summaries.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from infra.mockrun import (
    OUTPUT_VALUE_SIG,
    SECRET_MARK,
    SECRET_SIG,
    STACK_TYPE,
    UNKNOWN,
    Capture,
    CapturedResource,
    resolve_aliases,
)

__all__ = [
    "ENFORCEMENT_LEVELS",
    "Diagnostic",
    "NotApplicable",
    "PackInfo",
    "PolicyConfigError",
    "PolicyInfo",
    "PolicyPackError",
    "PolicyPackSession",
    "PolicyResult",
    "Remediation",
    "load_policy_config",
    "open_policy_pack",
    "parse_policy_config",
    "reconcile_policy_config",
    "run_policy_pack",
]

ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_LEVEL_TO_PROTO = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
_PROTO_TO_LEVEL = {v: k for k, v in _LEVEL_TO_PROTO.items()}
_SEVERITY = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
_POLICY_TYPE = {
    analyzer_pb2.POLICY_TYPE_UNKNOWN: "unknown",
    analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
    analyzer_pb2.POLICY_TYPE_STACK: "stack",
}
# Signatures of special values inside wire-form properties (sdk/go/common/resource/sig).
_RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"

# The engine's address is passed to the pack but never dialled by pulumi.policy.
_ENGINE_ADDRESS = "127.0.0.1:0"
_MAX_MESSAGE = 400 * 1024 * 1024
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
]
_ENV_KEYS = (
    "PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS", "PULUMI_PROJECT", "PULUMI_STACK",
    "PULUMI_DRY_RUN", "PULUMI_ORGANIZATION",
)


# --------------------------------------------------------------------------- errors


class PolicyPackError(RuntimeError):
    """The pack could not be started, or an RPC to it failed. The message carries its stderr tail."""


class PolicyConfigError(ValueError):
    """The policy config is invalid. `errors` lists one readable line per problem."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        super().__init__("invalid policy config:\n  " + "\n  ".join(self.errors))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    enforcement_level: str
    """The level the pack declares (before config)."""
    severity: str
    policy_type: str
    """"resource", "stack" or "unknown"."""
    config_schema: dict[str, Any] | None
    """`{"properties": {...}, "required": [...]}` as the pack declares it, or None."""
    display_name: str = ""


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    """From PulumiPolicy.yaml when set (as the engine does), else from the pack."""
    description: str
    supports_config: bool
    policies: tuple[PolicyInfo, ...]
    initial_config: dict[str, dict[str, Any]]
    python: str
    """The interpreter the pack runs on."""

    def policy(self, name: str) -> PolicyInfo:
        for p in self.policies:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class Diagnostic:
    policy_name: str
    enforcement_level: str
    """"advisory" or "mandatory" ("remediate" is reported as "mandatory", as the engine does)."""
    severity: str
    message: str
    """The policy's description, a newline, then the reported message (pulumi-policy's format)."""
    urn: str
    """The analyzed resource for resource policies; for stack policies the reported URN when it names
    a resource of the stack, else the root stack's URN (the engine's rule)."""
    kind: str
    """"resource", "stack" or "remediation"."""
    policy_pack_name: str = ""
    policy_pack_version: str = ""
    description: str = ""
    stack: str = ""

    def __str__(self) -> str:
        return f"[{self.enforcement_level}] {self.policy_name} ({self.urn}): {self.message}"


@dataclass(frozen=True)
class Remediation:
    policy_name: str
    urn: str
    changed_keys: tuple[str, ...]
    """Top-level property names the remediation added, removed or changed (names only)."""
    properties: dict[str, Any] = field(repr=False)
    """The remediated inputs in wire form (secret sentinels kept). Never print."""
    stack: str = ""


@dataclass(frozen=True)
class NotApplicable:
    policy_name: str
    reason: str
    urn: str
    """The analyzed resource, or "" for a stack policy."""


@dataclass
class PolicyResult:
    pack: PackInfo
    project: str
    stack: str
    policy_config: dict[str, dict[str, Any]]
    """The reconciled config sent with `Configure`: name -> {"enforcementLevel", "properties"}."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    remediations: list[Remediation] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)
    analyzed: int = 0
    """How many `Analyze` calls were made."""

    @property
    def mandatory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.enforcement_level == "mandatory"]

    @property
    def advisory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.enforcement_level == "advisory"]

    @property
    def ok(self) -> bool:
        """False when the preview would fail (any mandatory diagnostic)."""
        return not self.mandatory

    def by_policy(self, name: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.policy_name == name]

    def for_urn(self, urn: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.urn == urn]

    def summary(self) -> str:
        head = (f"policy pack {self.pack.name}@{self.pack.version} on {self.project}/{self.stack}: "
                f"{len(self.mandatory)} mandatory, {len(self.advisory)} advisory, "
                f"{len(self.remediations)} remediations")
        return "\n".join([head, *(f"  {d}" for d in self.diagnostics)])


# --------------------------------------------------------------------------- policy config


def load_policy_config(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read a `--policy-pack-config` JSON file into {name: {"enforcementLevel"?, "properties"?}}."""
    text = Path(path).read_text()
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise PolicyConfigError([f"{path}: not valid JSON: {e}"]) from None
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
    if errors:
        raise PolicyConfigError(errors)

    result: dict[str, dict[str, Any]] = {}
    for p in policies:
        defaults = {k: v["default"] for k, v in ((p.config_schema or {}).get("properties") or {}).items()
                    if isinstance(v, Mapping) and "default" in v}
        result[p.name] = {"enforcementLevel": p.enforcement_level, "properties": defaults}

    for layer in (initial_config, config):
        if not layer:
            continue
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

    for p in policies:
        entry = result[p.name]
        if entry["enforcementLevel"] not in ENFORCEMENT_LEVELS:
            errors.append(f"{p.name}: enforcementLevel: {entry['enforcementLevel']!r} is not valid; "
                          f"expected one of {', '.join(ENFORCEMENT_LEVELS)}")
        errors.extend(_validate_properties(p, entry["properties"]))
    if errors:
        raise PolicyConfigError(sorted(errors))
    return result


def _validate_properties(policy: PolicyInfo, props: Mapping[str, Any]) -> list[str]:
    schema_in = policy.config_schema or {}
    properties = dict(schema_in.get("properties") or {})
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


# --------------------------------------------------------------------------- wire helpers


def _struct(data: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    json_format.ParseDict(dict(data), s)
    return s


def _from_struct(s: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(s)


def _downgrade(value: Any) -> Any:
    """Marshal as the engine does for analyzers: no resource references, no output values."""
    if isinstance(value, list):
        return [_downgrade(v) for v in value]
    if not isinstance(value, dict):
        return value
    sig = value.get(SECRET_SIG)
    if sig == _RESOURCE_REF_SIG:
        if "id" in value:
            rid = value.get("id")
            return UNKNOWN if rid in ("", None) else _downgrade(rid)
        return value.get("urn", "")
    if sig == OUTPUT_VALUE_SIG:
        inner = _downgrade(value["value"]) if "value" in value else UNKNOWN
        if value.get("secret"):
            return {SECRET_SIG: SECRET_MARK, "value": inner}
        return inner
    return {k: _downgrade(v) for k, v in value.items()}


def _analyzer_props(props: Mapping[str, Any]) -> dict[str, Any]:
    # SkipInternalKeys: the engine drops top-level "__"-prefixed keys (e.g. "__defaults").
    return {k: _downgrade(v) for k, v in props.items() if not k.startswith("__")}


def _urn_name(urn: str) -> str:
    return urn.split("::", 3)[3] if urn.count("::") >= 3 else urn


def _urn_type(urn: str) -> str:
    parts = urn.split("::")
    return parts[2].split("$")[-1] if len(parts) > 2 else ""


def _root_stack_urn(project: str, stack: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"


# --------------------------------------------------------------------------- the session


def _pack_python(pack_dir: Path, manifest: Mapping[str, Any]) -> str:
    runtime = manifest.get("runtime")
    options = runtime.get("options") if isinstance(runtime, Mapping) else None
    venv = (options or {}).get("virtualenv")
    if venv:
        venv_path = Path(venv) if Path(venv).is_absolute() else pack_dir / venv
        for candidate in (venv_path / "bin" / "python", venv_path / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
    return sys.executable


def _read_manifest(pack_dir: Path) -> dict[str, Any]:
    for name in ("PulumiPolicy.yaml", "PulumiPolicy.yml"):
        path = pack_dir / name
        if path.exists():
            try:
                data = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as e:
                raise PolicyPackError(f"failed to load Pulumi policy project {path}: {e}") from None
            if not isinstance(data, dict):
                raise PolicyPackError(f"failed to load Pulumi policy project {path}: not a mapping")
            runtime = data.get("runtime")
            runtime_name = runtime.get("name") if isinstance(runtime, Mapping) else runtime
            if runtime_name != "python":
                raise PolicyPackError(f"{path}: runtime is {runtime_name!r}; only python packs are supported")
            return data
    raise PolicyPackError(f"failed to load Pulumi policy project located at {str(pack_dir)!r}: "
                          f"no PulumiPolicy.yaml")


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGINT)  # the pack stops its gRPC server on KeyboardInterrupt
        proc.wait(timeout=3)
    except (subprocess.TimeoutExpired, OSError):
        proc.kill()
        proc.wait(timeout=5)


class PolicyPackSession:
    """A started policy pack, configured for one project/stack. Use as a context manager."""

    def __init__(
        self,
        pack_dir: str | os.PathLike[str],
        *,
        project: str,
        stack: str,
        config: Mapping[str, str] | None = None,
        secret_keys: Iterable[str] = (),
        policy_config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        dry_run: bool = True,
        organization: str | None = None,
        tags: Mapping[str, str] | None = None,
        python: str | None = None,
        start_timeout: float = 30.0,
        rpc_timeout: float = 120.0,
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self.project = project
        self.stack = stack
        self.dry_run = dry_run
        self.organization = organization
        self.tags = dict(tags or {})
        self.rpc_timeout = rpc_timeout
        secret = set(secret_keys)
        # Secret values are left out entirely (see the module docstring).
        self._public_config = {k: str(v) for k, v in (config or {}).items() if k not in secret}
        self._stderr: collections.deque[str] = collections.deque(maxlen=400)
        self._stdout: collections.deque[str] = collections.deque(maxlen=400)
        self._proc: subprocess.Popen | None = None
        self._channel: grpc.Channel | None = None
        self._configured_stack: tuple[str, str] | None = None
        if not self.pack_dir.is_dir():
            raise PolicyPackError(f"policy pack not found at {str(self.pack_dir)!r}")
        manifest = _read_manifest(self.pack_dir)
        self._manifest_version = str(manifest.get("version") or "")
        self._manifest_description = str(manifest.get("description") or "")
        self.python = python or _pack_python(self.pack_dir, manifest)
        try:
            self._start(start_timeout)
            self._info = self._load_info()
            raw = (load_policy_config(policy_config) if isinstance(policy_config, (str, os.PathLike))
                   else parse_policy_config(policy_config) if policy_config is not None else None)
            if raw and not self._info.supports_config:
                raise PolicyConfigError([f"policy pack {self._info.name!r} does not support config"])
            self.policy_config = (reconcile_policy_config(self._info.policies, self._info.initial_config, raw)
                                  if self._info.supports_config else {})
            if self.policy_config:
                self._call("Configure", analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={
                    name: analyzer_pb2.PolicyConfig(
                        enforcementLevel=_LEVEL_TO_PROTO[c["enforcementLevel"]],
                        properties=_struct(c["properties"]),
                    ) for name, c in self.policy_config.items()
                }))
        except BaseException:
            self.close()
            raise

    # -- lifecycle -------------------------------------------------------------
    def _start(self, timeout: float) -> None:
        env = {k: v for k, v in os.environ.items() if k not in _ENV_KEYS}
        env.update(PULUMI_PROJECT=self.project, PULUMI_STACK=self.stack,
                   PULUMI_DRY_RUN="true" if self.dry_run else "false")
        if self._public_config:
            env["PULUMI_CONFIG"] = json.dumps(self._public_config)
        if self.organization:
            env["PULUMI_ORGANIZATION"] = self.organization
        started = time.monotonic()
        self._proc = subprocess.Popen(
            [self.python, "-u", "-m", "pulumi.policy", _ENGINE_ADDRESS, "."],
            cwd=self.pack_dir, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self._finalizer = weakref.finalize(self, _terminate, self._proc)
        first_line: queue.Queue[str | None] = queue.Queue(maxsize=1)
        self._threads = [
            threading.Thread(target=self._pump_stdout, args=(self._proc.stdout, first_line), daemon=True),
            threading.Thread(target=self._pump, args=(self._proc.stderr, self._stderr), daemon=True),
        ]
        for t in self._threads:
            t.start()
        try:
            line = first_line.get(timeout=timeout)
        except queue.Empty:
            raise PolicyPackError(self._failure(f"policy pack did not print its port within {timeout:g}s")) from None
        if line is None:
            self._proc.wait(timeout=5)
            for t in self._threads:
                t.join(timeout=2)
            raise PolicyPackError(self._failure(
                f"policy pack exited with code {self._proc.returncode} before printing its port"))
        try:
            port = int(line.strip())
        except ValueError:
            raise PolicyPackError(self._failure(
                f"policy pack wrote an invalid port to stdout: {line.strip()[:200]!r}")) from None
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_CHANNEL_OPTIONS)
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        self.start_seconds = time.monotonic() - started
        self._call("Handshake", analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=_ENGINE_ADDRESS, root_directory=str(self.pack_dir),
            program_directory=str(self.pack_dir)), optional=True)
        self._configure_stack(self.project, self.stack)

    def _pump_stdout(self, stream, first_line: queue.Queue) -> None:
        got_first = False
        for raw in iter(stream.readline, b""):
            text = raw.decode(errors="replace")
            if not got_first:
                got_first = True
                first_line.put(text)
            else:
                self._stdout.append(text)
        if not got_first:
            first_line.put(None)
        stream.close()

    @staticmethod
    def _pump(stream, sink: collections.deque) -> None:
        for raw in iter(stream.readline, b""):
            sink.append(raw.decode(errors="replace"))
        stream.close()

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    @property
    def stdout(self) -> str:
        """What the pack printed after its port line."""
        return "".join(self._stdout)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _failure(self, what: str) -> str:
        tail = self.stderr.strip()
        if len(tail) > 4000:
            tail = "..." + tail[-4000:]
        return (f"{what} (pack {self.pack_dir}, python {self.python})"
                + (f"\n--- pack stderr ---\n{tail}" if tail else "\n(pack stderr is empty)"))

    def close(self) -> None:
        """Close the channel and stop the pack process (idempotent)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._proc is not None:
            _terminate(self._proc)
            for t in getattr(self, "_threads", ()):
                t.join(timeout=2)
            self._finalizer.detach()

    def __enter__(self) -> PolicyPackSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- RPC -------------------------------------------------------------------
    def _call(self, method: str, request: Any, *, optional: bool = False, what: str = "") -> Any:
        if self._channel is None:
            raise PolicyPackError(f"policy pack session for {self.pack_dir} is closed")
        try:
            return getattr(self._stub, method)(request, timeout=self.rpc_timeout)
        except grpc.RpcError as e:
            code = e.code() if hasattr(e, "code") else None
            if optional and code == grpc.StatusCode.UNIMPLEMENTED:
                return None
            time.sleep(0.05)  # let the stderr pump catch the server-side traceback
            details = e.details() if hasattr(e, "details") else str(e)
            raise PolicyPackError(self._failure(
                f"{method}{f'({what})' if what else ''} failed: {code.name if code else '?'}: {details}")) from None

    def _configure_stack(self, project: str, stack: str) -> None:
        self._call("ConfigureStack", analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack, project=project, organization=self.organization or "",
            dry_run=self.dry_run, config=self._public_config, config_secret_keys=[], tags=self.tags,
        ), optional=True)
        self._configured_stack = (project, stack)

    def _load_info(self) -> PackInfo:
        info = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        policies = []
        for p in info.policies:
            schema = None
            if p.HasField("configSchema"):
                schema = {"properties": _from_struct(p.configSchema.properties),
                          "required": list(p.configSchema.required)}
            policies.append(PolicyInfo(
                name=p.name, description=p.description,
                enforcement_level=_PROTO_TO_LEVEL.get(p.enforcementLevel, "advisory"),
                severity=_SEVERITY.get(p.severity, ""), policy_type=_POLICY_TYPE.get(p.policy_type, "unknown"),
                config_schema=schema, display_name=p.displayName,
            ))
        initial = {}
        for name, c in info.initialConfig.items():
            entry: dict[str, Any] = {"enforcementLevel": _PROTO_TO_LEVEL.get(c.enforcementLevel, "advisory")}
            props = _from_struct(c.properties)
            if props:
                entry["properties"] = props
            initial[name] = entry
        return PackInfo(
            name=info.name, version=self._manifest_version or info.version,
            description=info.description or self._manifest_description,
            supports_config=info.supportsConfig,
            policies=tuple(sorted(policies, key=lambda p: p.name)),
            initial_config=initial, python=self.python,
        )

    @property
    def info(self) -> PackInfo:
        return self._info

    def effective_level(self, policy: str) -> str:
        if policy in self.policy_config:
            return self.policy_config[policy]["enforcementLevel"]
        return self._info.policy(policy).enforcement_level

    # -- analysis --------------------------------------------------------------
    def analyze(
        self,
        resources: Capture | Iterable[CapturedResource],
        *,
        project: str | None = None,
        stack: str | None = None,
        custom_only: bool = False,
        remediate: bool = True,
        analyze_stack: bool = True,
    ) -> PolicyResult:
        """Run Remediate/Analyze per resource and AnalyzeStack over all, like a preview does."""
        if isinstance(resources, Capture):
            project = project or resources.project
            stack = stack or resources.stack
            resources = resources.resources
        project = project or self.project
        stack = stack or self.stack
        resources = list(resources)
        if self._configured_stack != (project, stack):
            self._configure_stack(project, stack)

        info = self._info
        severity = {p.name: p.severity for p in info.policies}
        result = PolicyResult(pack=info, project=project, stack=stack,
                              policy_config={k: {"enforcementLevel": v["enforcementLevel"],
                                                 "properties": dict(v["properties"])}
                                             for k, v in self.policy_config.items()})
        by_urn = {r.urn: r for r in resources}
        root_urn = next((r.urn for r in resources if r.type == STACK_TYPE), _root_stack_urn(project, stack))
        any_remediate = remediate and any(
            self.effective_level(p.name) == "remediate" for p in info.policies)

        def diag(d: Any, urn: str, kind: str) -> Diagnostic:
            level = _PROTO_TO_LEVEL.get(d.enforcementLevel, "advisory")
            if level == "remediate":
                level = "mandatory"
            return Diagnostic(
                policy_name=d.policyName, enforcement_level=level,
                severity=_SEVERITY.get(d.severity, "") or severity.get(d.policyName, ""),
                message=d.message, urn=urn, kind=kind, policy_pack_name=d.policyPackName or info.name,
                policy_pack_version=info.version, description=d.description, stack=stack,
            )

        final_props: dict[str, dict[str, Any]] = {}
        # The engine also knows children under their aliased parents' names.
        aliases = resolve_aliases(resources, project, stack)
        for r in resources:
            props = _analyzer_props(r.props)
            options = self._options(r, aliases)
            provider = self._provider(r, by_urn, project, stack)
            if custom_only and not r.custom:
                final_props[r.urn] = props
                continue
            if any_remediate:
                # Remediate keeps internal keys (SkipInternalKeys=false in the engine).
                req = analyzer_pb2.AnalyzeRequest(
                    type=r.type, urn=r.urn, name=r.name,
                    properties=_struct({k: _downgrade(v) for k, v in r.props.items()}),
                    options=options, provider=provider)
                resp = self._call("Remediate", req, optional=True, what=r.urn)
                for rem in (resp.remediations if resp is not None else ()):
                    if rem.diagnostic:
                        result.diagnostics.append(Diagnostic(
                            policy_name=rem.policyName, enforcement_level="advisory",
                            severity=severity.get(rem.policyName, ""), message=rem.diagnostic, urn=r.urn,
                            kind="remediation", policy_pack_name=rem.policyPackName or info.name,
                            policy_pack_version=info.version, description=rem.description, stack=stack))
                    elif rem.HasField("properties"):
                        new = _from_struct(rem.properties)
                        changed = tuple(sorted(k for k in set(props) | set(new)
                                               if props.get(k) != new.get(k)))
                        result.remediations.append(Remediation(
                            policy_name=rem.policyName, urn=r.urn, changed_keys=changed,
                            properties=new, stack=stack))
                        props = _analyzer_props(new)
                for na in (resp.not_applicable if resp is not None else ()):
                    result.not_applicable.append(NotApplicable(na.policy_name, na.reason, r.urn))
            resp = self._call("Analyze", analyzer_pb2.AnalyzeRequest(
                type=r.type, urn=r.urn, name=r.name, properties=_struct(props),
                options=options, provider=provider), what=r.urn)
            result.analyzed += 1
            # The engine always attaches the analyzed resource's URN to resource diagnostics.
            result.diagnostics.extend(diag(d, r.urn, "resource") for d in resp.diagnostics)
            result.not_applicable.extend(NotApplicable(na.policy_name, na.reason, r.urn)
                                         for na in resp.not_applicable)
            final_props[r.urn] = props

        if analyze_stack:
            stack_resources = []
            for r in resources:
                if r.custom:
                    props = final_props.get(r.urn, _analyzer_props(r.props))
                else:
                    props = _analyzer_props(r.outputs or {})
                res = analyzer_pb2.AnalyzerResource(
                    type=r.type, urn=r.urn, name=r.name, properties=_struct(props),
                    options=self._options(r, aliases),
                    parent=r.parent or "", dependencies=list(r.dependencies),
                    propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                                          for k, v in r.property_dependencies.items() if v},
                )
                provider = self._provider(r, by_urn, project, stack)
                if provider is not None:
                    res.provider.CopyFrom(provider)
                stack_resources.append(res)
            resp = self._call("AnalyzeStack", analyzer_pb2.AnalyzeStackRequest(resources=stack_resources),
                              optional=True)
            if resp is not None:
                for d in resp.diagnostics:
                    urn = d.urn if d.urn in by_urn else root_urn
                    result.diagnostics.append(diag(d, urn, "stack"))
                result.not_applicable.extend(NotApplicable(na.policy_name, na.reason, "")
                                             for na in resp.not_applicable)
        return result

    @staticmethod
    def _options(r: CapturedResource, aliases: Mapping[str, list[str]]) -> analyzer_pb2.AnalyzerResourceOptions:
        return analyzer_pb2.AnalyzerResourceOptions(
            protect=r.protect, ignoreChanges=list(r.ignore_changes),
            deleteBeforeReplace=r.delete_before_replace,
            deleteBeforeReplaceDefined=r.delete_before_replace,
            additionalSecretOutputs=list(r.additional_secret_outputs),
            aliases=aliases.get(r.urn, []),
            customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
            parent=r.parent or "",
        )

    @staticmethod
    def _provider(r: CapturedResource, by_urn: Mapping[str, CapturedResource], project: str,
                  stack: str) -> analyzer_pb2.AnalyzerProviderResource | None:
        if not r.custom or r.type.startswith("pulumi:providers:"):
            return None
        if r.provider:
            purn = r.provider.rsplit("::", 1)[0] if r.provider.count("::") > 3 else r.provider
            p = by_urn.get(purn)
            if p is not None:
                return analyzer_pb2.AnalyzerProviderResource(
                    type=p.type, urn=p.urn, name=p.name, properties=_struct(_analyzer_props(p.props)))
            return analyzer_pb2.AnalyzerProviderResource(
                type=_urn_type(purn), urn=purn, name=_urn_name(purn), properties=struct_pb2.Struct())
        pkg = r.type.split(":", 1)[0]
        ptype = f"pulumi:providers:{pkg}"
        purn = f"urn:pulumi:{stack}::{project}::{ptype}::default"
        return analyzer_pb2.AnalyzerProviderResource(type=ptype, urn=purn, name="default",
                                                     properties=struct_pb2.Struct())


def open_policy_pack(pack_dir: str | os.PathLike[str], *, project: str, stack: str,
                     **kwargs: Any) -> PolicyPackSession:
    """Start and configure a pack; use the result as a context manager (see `PolicyPackSession`)."""
    return PolicyPackSession(pack_dir, project=project, stack=stack, **kwargs)


def run_policy_pack(
    pack_dir: str | os.PathLike[str],
    capture: Capture,
    *,
    config: Mapping[str, str] | None = None,
    secret_keys: Iterable[str] = (),
    policy_config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    dry_run: bool = True,
    custom_only: bool = False,
    **kwargs: Any,
) -> PolicyResult:
    """One-shot: start the pack for `capture`'s project/stack, analyze it, stop the pack."""
    with PolicyPackSession(pack_dir, project=capture.project, stack=capture.stack, config=config,
                           secret_keys=secret_keys, policy_config=policy_config, dry_run=dry_run,
                           **kwargs) as session:
        return session.analyze(capture, custom_only=custom_only)
