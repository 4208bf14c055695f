"""Run a Pulumi program under Pulumi's mock runtime and capture what the engine would see.

This is the documented way to evaluate a Pulumi program without the CLI
(`pulumi.runtime.Mocks` + `MockMonitor`). The recording monitor keeps every
`RegisterResource` request as it arrives over the wire: properties still carry
Pulumi's secret sentinels, options such as `protect` and `aliases` are kept, and
URNs are built the way the engine builds them (the root stack's type is elided).
The tests, the policy-pack harness and `python -m infra` all use it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import os
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import settings as _settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from infra import catalog

STACK_TYPE = "pulumi:pulumi:Stack"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"

# Answers for the invokes the program makes. Values are placeholders shaped like the
# real provider's answers; the engine-side names are camelCase.
MOCK_VERCEL_CNAME_SUFFIX = "vercel-dns-017.com"
MOCK_VERCEL_IPV4 = "76.76.21.21"


def _digest(*parts: str, n: int = 16) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


def is_secret(value: Any) -> bool:
    """True for a value wrapped as a secret: the secret sentinel, or an output value marked secret."""
    if not isinstance(value, dict):
        return False
    sig = value.get(SECRET_SIG)
    return sig == SECRET_MARK or (sig == OUTPUT_VALUE_SIG and bool(value.get("secret")))


def reveal(value: Any) -> Any:
    """Strip secret and output-value wrappers, returning plain values (for assertions only)."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) in (SECRET_MARK, OUTPUT_VALUE_SIG):
            return reveal(value.get("value"))
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def redact(value: Any, marker: str = "[secret]") -> Any:
    """Replace every secret-wrapped value by `marker`, keeping the structure."""
    if is_secret(value):
        return marker
    if isinstance(value, dict):
        return {k: redact(v, marker) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, marker) for v in value]
    return value



@dataclass(frozen=True)
class CapturedResource:
    """One resource registration as the engine received it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    props: dict[str, Any]
    """Inputs in wire form: camelCase keys, floats, secret sentinels kept."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    aliases: tuple[Any, ...] = ()
    outputs: dict[str, Any] | None = None
    """What a component registered with `register_outputs` (wire form)."""

    @property
    def plain(self) -> dict[str, Any]:
        """Props with secret sentinels removed (tests only: never print this)."""
        return reveal(self.props)


@dataclass
class Capture:
    """Everything one program run registered."""

    project: str
    stack: str
    resources: list[CapturedResource]
    stack_outputs: dict[str, Any]
    invokes: list[tuple[str, dict[str, Any]]]

    def of_type(self, type_: str) -> list[CapturedResource]:
        return sorted((r for r in self.resources if r.type == type_), key=lambda r: r.name)

    def one(self, type_: str, name: str | None = None) -> CapturedResource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise AssertionError(f"expected one {type_} named {name!r}, found {names}")
        return found[0]

    def by_urn(self, urn: str) -> CapturedResource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children(self, parent: CapturedResource) -> list[CapturedResource]:
        return [r for r in self.resources if r.parent == parent.urn]

    @property
    def root(self) -> CapturedResource:
        return next(r for r in self.resources if r.type == STACK_TYPE)


# --- aliases ---------------------------------------------------------------------

def _urn_parts(urn: str) -> tuple[str, str]:
    """(qualified type, name) of a URN."""
    parts = urn.split("::", 3)
    return (parts[2], parts[3]) if len(parts) == 4 else ("", urn)


def _new_urn(stack: str, project: str, parent_type: str, base_type: str, name: str) -> str:
    typ = f"{parent_type}${base_type}" if parent_type and parent_type != STACK_TYPE else base_type
    return f"urn:pulumi:{stack}::{project}::{typ}::{name}"


def _collapse(resource: Any, alias: Any, project: str, stack: str) -> str | None:
    """An alias (URN or spec) as a URN: unset fields default to the resource's own."""
    if isinstance(alias, str):
        return alias
    if not isinstance(alias, Mapping):
        return None
    spec = alias.get("spec", alias)
    name = spec.get("name") or resource.name
    type_ = spec.get("type") or resource.type
    parent = None if spec.get("noParent") else (spec.get("parentUrn") or resource.parent)
    parent_type = _urn_parts(parent)[0] if parent else ""
    return _new_urn(spec.get("stack") or stack, spec.get("project") or project, parent_type, type_, name)


def resolve_aliases(resources: Any, project: str, stack: str) -> dict[str, list[str]]:
    """Every resource's aliases as URNs, with the ones it inherits from its parents' aliases.

    The engine's rule (`generateAliases`/`inheritedChildAlias` in pulumi/pulumi
    pkg/resource/deploy/step_generator.go): a child of an aliased parent is also known under
    each parent alias, its name's parent-name prefix swapped for the alias's name. Under alias
    specs the SDK leaves this to the engine, so the registrations do not carry them.
    `resources` must be in registration order (parents first).
    """
    result: dict[str, list[str]] = {}
    for r in resources:
        found: list[str] = []

        def add(urn: str | None) -> None:
            if urn and urn != r.urn and urn not in found:
                found.append(urn)

        own = [_collapse(r, a, project, stack) for a in r.aliases]
        for urn in own:
            add(urn)
        if r.parent and result.get(r.parent):
            parent_name = _urn_parts(r.parent)[1]
            for parent_alias in result[r.parent]:
                alias_type, alias_name = _urn_parts(parent_alias)
                candidates = [(r.type, r.name)] + [
                    (_urn_parts(u)[0].split("$")[-1], _urn_parts(u)[1]) for u in own if u]
                for child_type, child_name in candidates:
                    if child_name.startswith(parent_name):
                        child_name = alias_name + child_name[len(parent_name):]
                    add(_new_urn(stack, project, alias_type, child_type, child_name))
        result[r.urn] = found
    return result


class RecordingMonitor(_mocks.MockMonitor):
    """A `MockMonitor` that keeps each registration request as the engine sees it."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: dict[str, CapturedResource] = {}
        self.order: list[str] = []
        self.outputs: dict[str, dict[str, Any]] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine qualifies a child's type with its parent's type chain, but
        # leaves out the root stack: keep URNs identical to a real deployment's.
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != STACK_TYPE:
                type_ = f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([_settings.get_stack(), _settings.get_project(), type_, name])

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        self.records[response.urn] = CapturedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            provider=request.provider or None,
            props=json_format.MessageToDict(request.object),
            dependencies=tuple(request.dependencies),
            property_dependencies={
                k: tuple(v.urns) for k, v in request.propertyDependencies.items()
            },
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=tuple(request.ignoreChanges),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            aliases=tuple(_alias(a) for a in request.aliases),
        )
        self.order.append(response.urn)
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802 - gRPC method name
        self.outputs[request.urn] = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


def _alias(spec: Any) -> Any:
    data = json_format.MessageToDict(spec)
    return data.get("urn", data)


class AraMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes with plausible provider outputs."""

    def __init__(self, program_dir: str | os.PathLike[str] | None = None) -> None:
        self.program_dir = Path(program_dir) if program_dir else Path.cwd()
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    # -- resources -----------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        factory = _RESOURCE_OUTPUTS.get(args.typ)
        if factory is not None:
            outputs.update(factory(args))
        return f"{args.name}-{_digest(_settings.get_stack(), args.typ, args.name, n=8)}", outputs

    # -- invokes -------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs):
        self.invokes.append((args.token, dict(args.args)))
        handler = _INVOKES.get(args.token)
        if handler is None:
            raise NotImplementedError(f"no mock answer for invoke {args.token}")
        return handler(self, dict(args.args))

    def project_directory(self, path: str) -> dict[str, Any]:
        # Mirror the provider: walk the directory, skip what .vercelignore names,
        # and describe each file as "<size>~<sha1>" keyed by its path as given.
        root = (self.program_dir / path).resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"getProjectDirectory: {path} is not a directory")
        ignored = _vercelignore(root)
        files: dict[str, str] = {}
        for file in sorted(root.rglob("*")):
            rel = file.relative_to(root).as_posix()
            if not file.is_file() or _is_ignored(rel, ignored):
                continue
            data = file.read_bytes()
            files[f"{path.rstrip('/')}/{rel}"] = f"{len(data)}~{hashlib.sha1(data).hexdigest()}"  # noqa: S324
        return {"id": path, "path": path, "files": files}


def _vercelignore(root: Path) -> list[str]:
    """Patterns Vercel never uploads plus those in .vercelignore (gitignore-style, no negation)."""
    ignore = root / ".vercelignore"
    patterns = [".git", "node_modules", ".vercel"]
    if ignore.exists():
        lines = (ln.strip() for ln in ignore.read_text().splitlines())
        patterns += [ln.lstrip("/").rstrip("/") for ln in lines if ln and not ln.startswith(("#", "!"))]
    return patterns


def _is_ignored(rel: str, patterns: list[str]) -> bool:
    # A pattern with a slash matches from the root; one without matches any path segment.
    parts = rel.split("/")
    for pattern in patterns:
        if "/" in pattern:
            if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, pattern + "/*"):
                return True
        elif any(fnmatch.fnmatch(part, pattern) for part in parts):
            return True
    return False


def _token_outputs(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"value": f"mock-token-{_digest(_settings.get_stack(), args.name, n=40)}", "status": "active"}


def _password_outputs(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    length = int(args.inputs.get("length", 32))
    seed = _digest("password", _settings.get_stack(), args.name, n=64)
    return {"result": (seed * (length // len(seed) + 1))[:length]}


def _project_outputs(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"id": f"prj_{_digest(args.name)}"}


def _deployment_outputs(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"url": f"{args.name}-{_digest(args.name, n=8)}.vercel.app", "domains": []}


_RESOURCE_OUTPUTS: dict[str, Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]]] = {
    catalog.CF_API_TOKEN: _token_outputs,
    catalog.RANDOM_PASSWORD: _password_outputs,
    catalog.VERCEL_PROJECT: _project_outputs,
    catalog.VERCEL_DEPLOYMENT: _deployment_outputs,
}


def _get_zone(_: AraMocks, args: dict[str, Any]) -> dict[str, Any]:
    name = (args.get("filter") or {}).get("name", "")
    return {"zoneId": f"zone-{_digest(name, n=32)}", "id": f"zone-{_digest(name, n=32)}", "name": name}


def _get_domain_config(_: AraMocks, args: dict[str, Any]) -> dict[str, Any]:
    domain = args.get("domain", "")
    return {
        "id": domain,
        "domain": domain,
        "projectIdOrName": args.get("projectIdOrName", ""),
        "recommendedCname": f"{_digest(domain)}.{MOCK_VERCEL_CNAME_SUFFIX}",
        "recommendedIpv4s": [MOCK_VERCEL_IPV4],
        "misconfigured": True,
    }


def _get_project(_: AraMocks, args: dict[str, Any]) -> dict[str, Any]:
    name = args.get("name", "")
    return {"id": f"prj_{_digest(name)}", "name": name}


def _get_permission_groups(_: AraMocks, args: dict[str, Any]) -> dict[str, Any]:
    name = urllib.parse.unquote(args.get("name", ""))
    return {
        "results": [
            {
                "id": _digest("permission-group", name, n=32),
                "name": name,
                "category": "R2",
                "isSelectable": True,
                "scopes": ["com.cloudflare.edge.r2.bucket"],
            }
        ]
    }


def _get_project_directory(mocks: AraMocks, args: dict[str, Any]) -> dict[str, Any]:
    return mocks.project_directory(args["path"])


_INVOKES: dict[str, Callable[[AraMocks, dict[str, Any]], dict[str, Any]]] = {
    catalog.INVOKE_GET_ZONE: _get_zone,
    catalog.INVOKE_GET_DOMAIN_CONFIG: _get_domain_config,
    catalog.INVOKE_GET_PROJECT: _get_project,
    catalog.INVOKE_GET_PERMISSION_GROUPS: _get_permission_groups,
    catalog.INVOKE_GET_PROJECT_DIRECTORY: _get_project_directory,
}


def start(
    *,
    project: str = catalog.PROJECT_NAME,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: Iterable[str] = (),
    preview: bool = False,
    program_dir: str | os.PathLike[str] | None = None,
) -> RecordingMonitor:
    """Point the Pulumi runtime at a fresh recording mock monitor (no root stack yet)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    _settings.reset_options(project=project, stack=stack, preview=preview)
    monitor = RecordingMonitor(AraMocks(program_dir))
    features = set(monitor.GetDeploymentInfo(None).supportedFeatures)
    _settings.configure(
        _mocks.MockSettings(
            monitor=monitor,
            monitor_features=features,
            engine=_mocks.MockEngine(None),
            project=project,
            stack=stack,
            dry_run=preview,
            organization=None,
            callbacks=None,
        )
    )
    set_all_config(dict(config or {}), list(secret_keys))
    return monitor


def finish(monitor: RecordingMonitor) -> Capture:
    """Collect what a finished run registered."""
    resources = []
    for urn in monitor.order:
        rec = monitor.records[urn]
        if urn in monitor.outputs:
            rec = CapturedResource(**{**rec.__dict__, "outputs": monitor.outputs[urn]})
        resources.append(rec)
    root = next((r for r in resources if r.type == STACK_TYPE), None)
    stack_outputs = monitor.outputs.get(root.urn, {}) if root else {}
    mocks = monitor.mocks
    return Capture(
        project=_settings.get_project(),
        stack=_settings.get_stack(),
        resources=resources,
        stack_outputs=stack_outputs,
        invokes=list(getattr(mocks, "invokes", [])),
    )


def run(
    program: Callable[[], Any],
    *,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: Iterable[str] = (),
    project: str = catalog.PROJECT_NAME,
    preview: bool = False,
    program_dir: str | os.PathLike[str] | None = None,
) -> Capture:
    """Run `program` inside a root stack, as the Python language host does, and capture it.

    If the program raises, the exception carries the partial capture as `.capture`.
    """
    monitor = start(
        project=project, stack=stack, config=config, secret_keys=secret_keys,
        preview=preview, program_dir=program_dir,
    )
    loop = asyncio.get_event_loop()
    try:
        _sync_await(run_in_stack(program))
        return finish(monitor)
    except Exception as exc:
        # Callers report what a failed run had declared (nothing, for bad config).
        exc.capture = finish(monitor)  # type: ignore[attr-defined]
        raise
    finally:
        _close_loop(loop)


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    # Pending callbacks of a finished run must not leak into the next one.
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
