"""Run a pulumi-policy (Python) pack over captured resources, as `pulumi preview --policy-pack` does.

The engine never imports a pack: it starts `python -u -m pulumi.policy <engineAddr> .` in the
pack directory, reads the gRPC port the pack prints, and talks to its `Analyzer` service. This
package does the same against resources recorded by `review.capture`, in the engine's order
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
* `review.capture` registers each package's default provider as the engine does (with the stack's
  `<pkg>:` config as its inputs), so a resource's `provider` is that provider and its config is
  judged. Only a resource without any provider reference (a capture built by hand) gets a
  synthesised `pulumi:providers:<pkg>::default` with no properties.
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

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from review.capture import Capture, CapturedResource
from review.packrun.config import PolicyConfigError, load_policy_config, parse_policy_config, reconcile_policy_config
from review.packrun.process import ENGINE_ADDRESS, PackProcess, pack_python, read_manifest
from review.packrun.results import (
    LEVEL_TO_PROTO,
    POLICY_TYPE,
    PROTO_TO_LEVEL,
    SEVERITY,
    Diagnostic,
    NotApplicable,
    PackInfo,
    PolicyInfo,
    PolicyPackError,
    PolicyResult,
    Remediation,
)
from review.wire import (
    STACK_TYPE,
    AliasResolver,
    analyzer_props,
    downgrade,
    make_urn,
    parse_urn,
    provider_urn,
    root_stack_urn,
)

_MAX_MESSAGE = 400 * 1024 * 1024
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
]


def _struct(data: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    json_format.ParseDict(dict(data), s)
    return s


def _from_struct(s: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(s)


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
        self._process: PackProcess | None = None
        self._channel: grpc.Channel | None = None
        self._configured_stack: tuple[str, str] | None = None
        if not self.pack_dir.is_dir():
            raise PolicyPackError(f"policy pack not found at {str(self.pack_dir)!r}")
        manifest = read_manifest(self.pack_dir)
        self._manifest_version = str(manifest.get("version") or "")
        self._manifest_description = str(manifest.get("description") or "")
        self.python = python or pack_python(self.pack_dir, manifest)
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
                        enforcementLevel=LEVEL_TO_PROTO[c["enforcementLevel"]],
                        properties=_struct(c["properties"]),
                    ) for name, c in self.policy_config.items()
                }))
        except BaseException:
            self.close()
            raise

    # -- lifecycle -------------------------------------------------------------
    def _start(self, timeout: float) -> None:
        self._process = PackProcess(
            self.pack_dir, self.python, project=self.project, stack=self.stack, dry_run=self.dry_run,
            public_config=self._public_config, organization=self.organization, timeout=timeout)
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self._process.port}", options=_CHANNEL_OPTIONS)
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        self.start_seconds = self._process.start_seconds
        self._call("Handshake", analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=ENGINE_ADDRESS, root_directory=str(self.pack_dir),
            program_directory=str(self.pack_dir)), optional=True)
        self._configure_stack(self.project, self.stack)

    @property
    def stderr(self) -> str:
        return self._process.stderr if self._process else ""

    @property
    def stdout(self) -> str:
        """What the pack printed after its port line."""
        return self._process.stdout if self._process else ""

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _failure(self, what: str) -> str:
        if self._process is None:
            return f"{what} (pack {self.pack_dir}, python {self.python})"
        return self._process.failure(what)

    def close(self) -> None:
        """Close the channel and stop the pack process (idempotent)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None:
            self._process.stop()

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
                enforcement_level=PROTO_TO_LEVEL.get(p.enforcementLevel, "advisory"),
                severity=SEVERITY.get(p.severity, ""), policy_type=POLICY_TYPE.get(p.policy_type, "unknown"),
                config_schema=schema, display_name=p.displayName, url=getattr(p, "url", "") or "",
            ))
        initial = {}
        for name, c in info.initialConfig.items():
            entry: dict[str, Any] = {"enforcementLevel": PROTO_TO_LEVEL.get(c.enforcementLevel, "advisory")}
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
        resources = list(resources)
        run = self.begin(project=project, stack=stack, custom_only=custom_only, remediate=remediate)
        for r in resources:
            run.add(r)
        return run.finish(resources, analyze_stack=analyze_stack)

    def begin(self, *, project: str | None = None, stack: str | None = None, custom_only: bool = False,
              remediate: bool = True, tracker: Tracker | None = None) -> AnalysisRun:
        """Start analysing one stack resource by resource, while its program is still registering them.

        `AnalysisRun.add` analyses one resource (in registration order: parents and providers
        first, as the engine sends them); `AnalysisRun.finish` runs `AnalyzeStack` and returns the
        result. `analyze` is `begin`, `add` for each resource, `finish`.
        """
        project = project or self.project
        stack = stack or self.stack
        if self._configured_stack != (project, stack):
            self._configure_stack(project, stack)
        return AnalysisRun(self, project, stack, custom_only=custom_only, remediate=remediate, tracker=tracker)

    @staticmethod
    def _options(r: CapturedResource, aliases: Iterable[str]) -> analyzer_pb2.AnalyzerResourceOptions:
        return analyzer_pb2.AnalyzerResourceOptions(
            protect=r.protect, ignoreChanges=list(r.ignore_changes),
            deleteBeforeReplace=r.delete_before_replace,
            deleteBeforeReplaceDefined=r.delete_before_replace,
            additionalSecretOutputs=list(r.additional_secret_outputs),
            aliases=list(aliases),
            customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
            parent=r.parent or "",
        )

    @staticmethod
    def _provider(r: CapturedResource, by_urn: Mapping[str, CapturedResource], project: str,
                  stack: str) -> analyzer_pb2.AnalyzerProviderResource | None:
        if not r.custom or r.type.startswith("pulumi:providers:"):
            return None
        if r.provider:
            purn = provider_urn(r.provider)
            p = by_urn.get(purn)
            if p is not None:
                return analyzer_pb2.AnalyzerProviderResource(
                    type=p.type, urn=p.urn, name=p.name, properties=_struct(analyzer_props(p.props)))
            return analyzer_pb2.AnalyzerProviderResource(
                type=parse_urn(purn).type, urn=purn, name=parse_urn(purn).name, properties=struct_pb2.Struct())
        pkg = r.type.split(":", 1)[0]
        ptype = f"pulumi:providers:{pkg}"
        purn = make_urn(stack, project, "", ptype, "default")
        return analyzer_pb2.AnalyzerProviderResource(type=ptype, urn=purn, name="default",
                                                     properties=struct_pb2.Struct())



class Tracker:
    """What the engine knows of a stack's resources in registration order: each URN's resource and aliases.

    Kept apart from the pack session so that registrations can be tracked, in order, before the
    pack is up, and so that several pack processes can share one view (`review.check` shards a
    large stack's analysis across two packs).
    """

    def __init__(self, project: str, stack: str) -> None:
        self.by_urn: dict[str, CapturedResource] = {}
        self.aliases = AliasResolver(project, stack)

    def track(self, r: CapturedResource) -> list[str]:
        """Record `r` (call in registration order: parents and providers first); its aliases."""
        self.by_urn[r.urn] = r
        return self.aliases.add(r)


@dataclass
class Outcome:
    """What the pack said about one resource (Remediate and Analyze), before it joins the result."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    remediations: list[Remediation] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)
    props: dict[str, Any] = field(default_factory=dict)
    analyzed: int = 0


class AnalysisRun:
    """One stack's analysis in progress on a started pack (see `PolicyPackSession.begin`).

    `add` = `tracker.track`, `analyze`, `record`. The three are separate so that `analyze` (the
    RPCs) can run for different resources on different pack sessions at once while tracking and
    recording stay in registration order, which keeps the result the same as one pack's.
    """

    def __init__(self, session: PolicyPackSession, project: str, stack: str, *, custom_only: bool,
                 remediate: bool, tracker: Tracker | None = None) -> None:
        self.session = session
        self.project = project
        self.stack = stack
        self.custom_only = custom_only
        self.tracker = tracker or Tracker(project, stack)
        info = session.info
        self._severity = {p.name: p.severity for p in info.policies}
        self.result = PolicyResult(pack=info, project=project, stack=stack,
                                   policy_config={k: {"enforcementLevel": v["enforcementLevel"],
                                                      "properties": dict(v["properties"])}
                                                  for k, v in session.policy_config.items()})
        self._remediate = remediate and any(session.effective_level(p.name) == "remediate" for p in info.policies)
        self._final_props: dict[str, dict[str, Any]] = {}

    def _diag(self, d: Any, urn: str, kind: str) -> Diagnostic:
        info = self.session.info
        level = PROTO_TO_LEVEL.get(d.enforcementLevel, "advisory")
        if level == "remediate":
            level = "mandatory"
        return Diagnostic(
            policy_name=d.policyName, enforcement_level=level,
            severity=SEVERITY.get(d.severity, "") or self._severity.get(d.policyName, ""),
            message=d.message, urn=urn, kind=kind, policy_pack_name=d.policyPackName or info.name,
            policy_pack_version=info.version, description=d.description, stack=self.stack,
        )

    def add(self, r: CapturedResource) -> None:
        """Remediate (when a policy remediates) and Analyze one resource, as the engine does on its step."""
        self.record(r, self.analyze(r, self.tracker.track(r)))

    def analyze(self, r: CapturedResource, aliases: Iterable[str], via: PolicyPackSession | None = None) -> Outcome:
        """The pack's verdict on one tracked resource, from `via` (another session of the same pack) or ours."""
        session, info, out = via or self.session, self.session.info, Outcome()
        props = analyzer_props(r.props)
        if self.custom_only and not r.custom:
            out.props = props
            return out
        options = session._options(r, aliases)
        provider = session._provider(r, self.tracker.by_urn, self.project, self.stack)
        if self._remediate:
            # Remediate keeps internal keys (SkipInternalKeys=false in the engine).
            req = analyzer_pb2.AnalyzeRequest(
                type=r.type, urn=r.urn, name=r.name,
                properties=_struct({k: downgrade(v) for k, v in r.props.items()}),
                options=options, provider=provider)
            resp = session._call("Remediate", req, optional=True, what=r.urn)
            for rem in (resp.remediations if resp is not None else ()):
                if rem.diagnostic:
                    out.diagnostics.append(Diagnostic(
                        policy_name=rem.policyName, enforcement_level="advisory",
                        severity=self._severity.get(rem.policyName, ""), message=rem.diagnostic, urn=r.urn,
                        kind="remediation", policy_pack_name=rem.policyPackName or info.name,
                        policy_pack_version=info.version, description=rem.description, stack=self.stack))
                elif rem.HasField("properties"):
                    new = _from_struct(rem.properties)
                    changed = tuple(sorted(k for k in set(props) | set(new) if props.get(k) != new.get(k)))
                    out.remediations.append(Remediation(
                        policy_name=rem.policyName, urn=r.urn, changed_keys=changed, properties=new,
                        stack=self.stack))
                    props = analyzer_props(new)
            for na in (resp.not_applicable if resp is not None else ()):
                out.not_applicable.append(NotApplicable(na.policy_name, na.reason, r.urn))
        resp = session._call("Analyze", analyzer_pb2.AnalyzeRequest(
            type=r.type, urn=r.urn, name=r.name, properties=_struct(props),
            options=options, provider=provider), what=r.urn)
        out.analyzed = 1
        # The engine always attaches the analyzed resource's URN to resource diagnostics.
        out.diagnostics.extend(self._diag(d, r.urn, "resource") for d in resp.diagnostics)
        out.not_applicable.extend(NotApplicable(na.policy_name, na.reason, r.urn) for na in resp.not_applicable)
        out.props = props
        return out

    def record(self, r: CapturedResource, outcome: Outcome) -> None:
        """Add one resource's outcome to the result (in registration order)."""
        self.result.diagnostics.extend(outcome.diagnostics)
        self.result.remediations.extend(outcome.remediations)
        self.result.not_applicable.extend(outcome.not_applicable)
        self.result.analyzed += outcome.analyzed
        self._final_props[r.urn] = outcome.props

    def finish(self, resources: Iterable[CapturedResource], *, analyze_stack: bool = True) -> PolicyResult:
        """`AnalyzeStack` over every resource (components with what they registered as outputs)."""
        session, result = self.session, self.result
        resources = list(resources)
        by_urn = {r.urn: r for r in resources}
        root_urn = next((r.urn for r in resources if r.type == STACK_TYPE), root_stack_urn(self.project, self.stack))
        if analyze_stack:
            stack_resources = []
            for r in resources:
                if r.custom:
                    props = self._final_props.get(r.urn, analyzer_props(r.props))
                else:
                    props = analyzer_props(r.outputs or {})
                res = analyzer_pb2.AnalyzerResource(
                    type=r.type, urn=r.urn, name=r.name, properties=_struct(props),
                    options=session._options(r, self.tracker.aliases.of(r.urn)),
                    parent=r.parent or "", dependencies=list(r.dependencies),
                    propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                                          for k, v in r.property_dependencies.items() if v},
                )
                provider = session._provider(r, by_urn, self.project, self.stack)
                if provider is not None:
                    res.provider.CopyFrom(provider)
                stack_resources.append(res)
            resp = session._call("AnalyzeStack", analyzer_pb2.AnalyzeStackRequest(resources=stack_resources),
                                 optional=True)
            if resp is not None:
                for d in resp.diagnostics:
                    urn = d.urn if d.urn in by_urn else root_urn
                    result.diagnostics.append(self._diag(d, urn, "stack"))
                result.not_applicable.extend(NotApplicable(na.policy_name, na.reason, "")
                                             for na in resp.not_applicable)
        return result


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
