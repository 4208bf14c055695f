"""Every `pulumi` command the workflows and runbooks run, against the CLI's own flags and argument forms.

The flags are the ones pulumi/pulumi defines at tag v3.226.0, the oldest release the workflows'
`pulumi-version: ^3.226.1` can install (each still defined at 1b5949891b, the newest read):
`pkg/cmd/pulumi/operations/{preview,up,destroy,refresh,import}.go`, `pkg/cmd/pulumi/stack/
stack_{init,select,export,output,rm,ls,change_secrets_provider}.go`, `pkg/cmd/pulumi/config/config.go`,
`pkg/cmd/pulumi/auth/login.go`, and the root's persistent flags in `pkg/cmd/pulumi/pulumi.go`.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.workflows.workflows import all_steps, script_files

GLOBAL = {"color", "cwd", "C", "disable-integrity-checking", "emoji", "e", "fully-qualify-stack-names", "logflow",
          "logtostderr", "memprofilerate", "non-interactive", "otel-traces", "profiling", "tracing", "tracing-header",
          "verbose", "v", "help", "h"}
_OPERATION = {"client", "config", "c", "config-file", "config-path", "copilot", "debug", "d", "diff", "event-log",
              "exec-agent", "exec-kind", "json", "j", "message", "m", "neo", "parallel", "p", "refresh", "r",
              "run-program", "show-config", "show-full-output", "show-replacement-steps", "show-sames", "stack",
              "s", "suppress-outputs", "suppress-permalink", "suppress-progress", "target", "t", "target-dependents"}
FLAGS: dict[str, set[str]] = {
    "preview": _OPERATION | {"attach-debugger", "exclude", "x", "exclude-dependents", "expect-no-changes",
                             "import-file", "neo-task-on-failure", "policy-pack", "policy-pack-config", "replace",
                             "save-plan", "show-policy-remediations", "show-reads", "show-secrets", "target-replace"},
    "up": _OPERATION | {"attach-debugger", "continue-on-error", "exclude", "exclude-dependents", "expect-no-changes",
                        "neo-task-on-failure", "plan", "policy-pack", "policy-pack-config", "replace",
                        "secrets-provider", "show-policy-remediations", "show-reads", "show-secrets", "skip-preview",
                        "f", "strict", "target-replace", "yes", "y"},
    "destroy": _OPERATION | {"continue-on-error", "exclude", "x", "exclude-protected", "preview-only", "remove",
                             "skip-preview", "f", "yes", "y"},
    "refresh": _OPERATION | {"clear-pending-creates", "exclude", "x", "exclude-dependents", "expect-no-changes",
                             "import-pending-creates", "preview-only", "skip-pending-creates", "skip-preview", "f",
                             "yes", "y"},
    "import": {"config-file", "debug", "d", "diff", "event-log", "exec-agent", "exec-kind", "file", "f", "from",
               "generate-code", "generate-resources", "json", "j", "message", "m", "out", "o", "parallel", "p",
               "parent", "preview-only", "properties", "protect", "provider", "skip-preview", "stack", "s",
               "suppress-outputs", "suppress-permalink", "suppress-progress", "yes", "y"},
    "login": {"cloud-url", "c", "default-org", "insecure", "interactive", "local", "l", "oidc-expiration",
              "oidc-org", "oidc-team", "oidc-token", "oidc-user"},
    "config set": {"config-file", "stack", "s", "path", "plaintext", "secret", "type"},
    "config set-all": {"config-file", "stack", "s", "path", "plaintext", "secret", "json"},
    "stack init": {"copy-config-from", "no-select", "remote-config", "secrets-provider", "stack", "s", "teams"},
    "stack select": {"create", "c", "secrets-provider", "stack", "s"},
    "stack export": {"file", "show-secrets", "stack", "s", "version"},
    "stack output": {"json", "j", "shell", "show-secrets", "stack", "s"},
    "stack rm": {"force", "f", "preserve-config", "remove-backups", "stack", "s", "yes", "y"},
    "stack ls": {"all", "a", "json", "j", "organization", "o", "project", "p", "tag", "t"},
    "stack change-secrets-provider": {"stack", "s"},
    # pkg/cmd/pulumi/state/state_unprotect.go: `--all`, the stack, and the confirmation skip.
    "state unprotect": {"all", "stack", "s", "yes", "y"},
    # Named in the docs without flags (`pulumi new`-style projects, publishing the pack): an empty
    # set, so a flag added there fails until it is checked against the CLI.
    "new": set(),
    "policy publish": set(),
}
SUBCOMMANDS = ("config", "stack", "state", "policy")
RUNBOOKS = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]


def _commands(text: str) -> list[str]:
    """Each `pulumi …` invocation in shell text: pipelines, `&&`, `$(…)` and line continuations split."""
    text = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in text.splitlines():
        for part in re.split(r"\$\(|\)|&&|\|\||\||;", line):
            part = part.strip()
            match = re.match(r"(?:[A-Z_]+=\S*\s+)*pulumi\s+(.*)", part)
            if match and not part.startswith("pulumi/"):
                out.append("pulumi " + match.group(1).split(" #", 1)[0].strip())
    return out


def _runbook_commands(path: Path) -> list[str]:
    text = path.read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", text, re.S)
    spans = re.findall(r"`([^`\n]*pulumi [^`\n]*)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return [c for chunk in [*blocks, *spans] for c in _commands(chunk)]


def _all() -> list[tuple[str, str]]:
    found = [(s.where, c) for s in all_steps() for c in _commands(s.step.get("run", ""))]
    for path in script_files():
        found += [(f".github/scripts/{path.name}", c) for c in _commands(path.read_text())]
    for path in RUNBOOKS:
        found += [(str(path.relative_to(ROOT)), c) for c in _runbook_commands(path)]
    return found


COMMANDS = _all()


def _parse(command: str) -> tuple[str, list[str], list[str]]:
    """(the command's name, its flags, its positional arguments)."""
    words = shlex.split(command.replace("…", "x"))[1:]
    name = words.pop(0)
    if name in SUBCOMMANDS:
        name = f"{name} {words.pop(0)}"
    flags, args = [], []
    for word in words:
        if word.startswith("--"):
            flags.append(word[2:].split("=", 1)[0])
        elif word.startswith("-") and len(word) == 2:
            flags.append(word[1:])
        else:
            args.append(word)
    return name, flags, args


def test_the_commands_are_found():
    names = {_parse(c)[0] for _, c in COMMANDS}
    assert {"up", "destroy", "preview", "import", "config set", "stack export"} <= names


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[f"{w}: {c[:60]}" for w, c in COMMANDS])
def test_every_flag_is_one_the_cli_defines(where, command):
    name, flags, _ = _parse(command)
    assert name in FLAGS, f"{where}: `pulumi {name}` is not a command this test knows the flags of"
    unknown = [f for f in flags if f not in FLAGS[name] | GLOBAL]
    assert not unknown, f"{where}: `{command}`: pulumi {name} has no flag {unknown}"


def _spec_problem(spec: str) -> str | None:
    """import.go `parseResourceSpec`: `name=URN`, and a URN, not a provider reference (`URN::id`)."""
    name, sep, urn = spec.partition("=")
    if not sep or not name:
        return "spec must be of the form name=URN"
    if urn.startswith("urn:pulumi:") and urn.count("::") != 3:
        return "expected a URN but got a Provider Reference"
    if "<" in urn and "::" in urn.split(">", 1)[-1]:
        return "expected a URN but got a Provider Reference"
    return None


@pytest.mark.parametrize(("where", "command"), [c for c in COMMANDS if _parse(c[1])[0] == "import"])
def test_import_parent_and_provider_are_name_equals_urn(where, command):
    words = shlex.split(command.replace("…", "x"))
    for flag in ("--parent", "--provider"):
        for i, word in enumerate(words):
            value = word.split("=", 1)[1] if word.startswith(flag + "=") else (
                words[i + 1] if word == flag else None)
            if value is not None:
                assert _spec_problem(value) is None, f"{where}: {flag} {value!r}: {_spec_problem(value)}"


def test_a_provider_reference_is_what_the_check_refuses():
    urn = "urn:pulumi:prod::ara-infra::ara:vercel:VercelTeam$pulumi:providers:vercel::ara-vercel-provider"
    assert _spec_problem(f"ara-vercel-provider={urn}") is None
    assert _spec_problem(f"ara-vercel-provider={urn}::0e2c") == "expected a URN but got a Provider Reference"
    assert _spec_problem("ara-vercel-provider=<vercel provider urn>::<provider id>") is not None
    assert _spec_problem(urn) == "spec must be of the form name=URN"
