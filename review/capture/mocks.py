"""Answers for resource registrations and invokes: plausible provider outputs, deterministic ids.

What the built-in answers cannot know (another stack's outputs, an invoke of a provider this
tool has no answer for) comes from `Answers`, which the review tool reads from the file given
with `--answers FILE`:

    {"stackReferences": {"acme/network/prod": {"vpcId": "vpc-123"}},
     "invokes": {"aws:index/getRegion:getRegion": {"name": "us-east-1", "id": "us-east-1"}}}

A stack reference or an invoke with no answer fails the run with `AnswerNeeded`
(`StackReferenceNotAnswered`, `InvokeNotMocked`), which names it and the `--answers` shape; the
review tool reports it as bad input (exit 2). `config` and `resources` are described on `Answers`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as _settings

from infra import catalog

# Answers for the invokes the program makes. Values are placeholders shaped like the
# real provider's answers; the engine-side names are camelCase.
MOCK_VERCEL_CNAME_SUFFIX = "vercel-dns-017.com"
MOCK_VERCEL_IPV4 = "76.76.21.21"


def _digest(*parts: str, n: int = 16) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


STACK_REFERENCE = "pulumi:pulumi:StackReference"


class AnswerNeeded(LookupError):
    """The program needs a value only the user can give offline (the message names it and the
    `--answers` shape): the user's input to supply, so a usage error, not a program failure."""


class InvokeNotMocked(AnswerNeeded):
    """An invoke the program made that no mock answers."""

    def __init__(self, token: str) -> None:
        self.token = token
        super().__init__(
            f"the program calls the invoke {token}, which has no offline answer; supply one with "
            f'--answers FILE, a JSON file such as {{"invokes": {{"{token}": {{...the result, camelCase...}}}}}}')


class StackReferenceNotAnswered(AnswerNeeded):
    """A stack reference whose outputs the program reads and no answer gives."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"the program reads the outputs of stack {name!r} (a StackReference), which an offline run does not "
            f'have; give them with --answers FILE, a JSON file such as {{"stackReferences": {{"{name}": '
            f'{{"<output name>": ...}}}}}} (what `pulumi stack output --json -s {name}` prints)')


@dataclass(frozen=True)
class Answers:
    """Answers the user supplies for what the built-in mocks cannot know."""

    stack_references: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Stack name as the program passes it -> that stack's outputs."""
    invokes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Invoke token -> its result (engine names, camelCase); replaces a built-in answer."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """Config key -> value, applied like `--config` (below it): the values only the stack's secrets
    provider or the operator's `pulumi config set --secret` has."""
    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """URN, or type token for every resource of that type -> outputs a provider computes (engine
    names, camelCase; `id` for the id), known in a preview only because they are given here."""


class ProgramMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes with plausible provider outputs."""

    def __init__(self, program_dir: str | os.PathLike[str] | None = None, answers: Answers | None = None) -> None:
        self.program_dir = Path(program_dir) if program_dir else Path.cwd()
        self.answers = answers or Answers()
        self.invokes: list[tuple[str, dict[str, Any]]] = []
        self.warnings: list[str] = []

    # -- resources -----------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == STACK_REFERENCE:
            return self._stack_reference(args)
        outputs = dict(args.inputs)
        factory = _RESOURCE_OUTPUTS.get(args.typ)
        if factory is not None:
            outputs.update(factory(args))
        return self.mock_id(args.typ, args.name), outputs

    @staticmethod
    def mock_id(type_: str, name: str) -> str:
        """The id the mocks give a resource: deterministic, from the stack, type and name."""
        return f"{name}-{_digest(_settings.get_stack(), type_, name, n=8)}"

    def resource_answer(self, urn: str, type_: str) -> Mapping[str, Any]:
        """Outputs the answers file gives a resource: by its URN, else by its type token."""
        return self.answers.resources.get(urn) or self.answers.resources.get(type_) or {}

    def _stack_reference(self, args: pulumi.runtime.MockResourceArgs):
        # StackReference reads its `outputs` and `secretOutputNames` (pulumi/stack_reference.py).
        name = str(args.inputs.get("name") or args.resource_id or args.name)
        outputs = self.answers.stack_references.get(name)
        if outputs is None:
            # `pulumi preview` reads the other stack's outputs from the backend; empty ones would
            # let the program run on values it never gets.
            raise StackReferenceNotAnswered(name)
        return name, {"name": name, "outputs": dict(outputs), "secretOutputNames": []}

    # -- invokes -------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs):
        self.invokes.append((args.token, dict(args.args)))
        if args.token in self.answers.invokes:
            return dict(self.answers.invokes[args.token])
        handler = _INVOKES.get(args.token)
        if handler is None:
            raise InvokeNotMocked(args.token)
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
            files[f"{path.rstrip('/')}/{rel}"] = f"{len(data)}~{hashlib.sha1(data, usedforsecurity=False).hexdigest()}"
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
    # New keepers make a new RandomPassword (keepers are ForceNew), so a new value.
    length = int(args.inputs.get("length", 32))
    keepers = json.dumps(args.inputs.get("keepers") or {}, sort_keys=True)
    seed = _digest("password", _settings.get_stack(), args.name, keepers, n=64)
    return {"result": (seed * (length // len(seed) + 1))[:length]}


def _project_outputs(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"id": f"prj_{_digest(args.name)}"}


def _deployment_outputs(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"url": f"{args.name}-{_digest(args.name, n=8)}.vercel.app", "domains": []}


_RESOURCE_OUTPUTS: dict[str, Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]]] = {
    catalog.CF_API_TOKEN: _token_outputs,
    catalog.CF_ACCOUNT_TOKEN: _token_outputs,
    catalog.RANDOM_PASSWORD: _password_outputs,
    catalog.VERCEL_PROJECT: _project_outputs,
    catalog.VERCEL_DEPLOYMENT: _deployment_outputs,
}


def _get_zone(_: ProgramMocks, args: dict[str, Any]) -> dict[str, Any]:
    name = (args.get("filter") or {}).get("name", "")
    return {"zoneId": f"zone-{_digest(name, n=32)}", "id": f"zone-{_digest(name, n=32)}", "name": name}


def _get_domain_config(_: ProgramMocks, args: dict[str, Any]) -> dict[str, Any]:
    # Vercel's GET /v6/domains/{domain}/config answers the rank-1 recommended CNAME as an FQDN with
    # its trailing dot, and the provider passes it on as is (terraform-provider-vercel
    # client/domain_config.go: the rank-1 `value` copied; audit 2026-12b B6): so does this answer.
    domain = args.get("domain", "")
    return {
        "id": domain,
        "domain": domain,
        "projectIdOrName": args.get("projectIdOrName", ""),
        "recommendedCname": f"{_digest(domain)}.{MOCK_VERCEL_CNAME_SUFFIX}.",
        "recommendedIpv4s": [MOCK_VERCEL_IPV4],
        "misconfigured": True,
    }


def _get_project(_: ProgramMocks, args: dict[str, Any]) -> dict[str, Any]:
    name = args.get("name", "")
    return {"id": f"prj_{_digest(name)}", "name": name}


# The bucket-scoped R2 groups (Cloudflare r2/api/tokens.mdx, "Permission groups"); ids are stand-ins.
MOCK_PERMISSION_GROUPS = ("Workers R2 Storage Bucket Item Write", "Workers R2 Storage Bucket Item Read")


def _get_permission_groups(_: ProgramMocks, args: dict[str, Any]) -> dict[str, Any]:
    # Lenient on purpose: a pre-encoded name (what revisions before the fix sent, and which
    # the real API never matches) is decoded so `diff --base` can still evaluate them. The
    # program's own test asserts the raw name on the wire (tests/infra/test_storage.py).
    name = args.get("name")
    name = urllib.parse.unquote(name) if name is not None else None
    return {
        "results": [
            {
                "id": _digest("permission-group", group, n=32),
                "name": group,
                "category": "R2",
                "isSelectable": True,
                "scopes": ["com.cloudflare.edge.r2.bucket"],
            }
            for group in MOCK_PERMISSION_GROUPS
            if name is None or name == group
        ]
    }


def _get_project_directory(mocks: ProgramMocks, args: dict[str, Any]) -> dict[str, Any]:
    return mocks.project_directory(args["path"])


_INVOKES: dict[str, Callable[[ProgramMocks, dict[str, Any]], dict[str, Any]]] = {
    catalog.INVOKE_GET_ZONE: _get_zone,
    catalog.INVOKE_GET_DOMAIN_CONFIG: _get_domain_config,
    catalog.INVOKE_GET_PROJECT: _get_project,
    catalog.INVOKE_GET_PERMISSION_GROUPS: _get_permission_groups,
    catalog.INVOKE_GET_ACCOUNT_PERMISSION_GROUPS: _get_permission_groups,
    catalog.INVOKE_GET_PROJECT_DIRECTORY: _get_project_directory,
}
