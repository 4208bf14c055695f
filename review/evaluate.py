"""Evaluate a Pulumi Python program for one stack under the mock runtime.

`evaluate(stack, program_dir)` does what `pulumi preview` does up to the point where the engine
would call providers: it reads Pulumi.yaml and Pulumi.<stack>.yaml (`infra.projectfile`: every
`secure:` value and every declared secret without a value becomes a placeholder that stays a
Pulumi secret), hands that config to the program, and runs the program's `__main__.py` the way
the Python language host does (`runpy`, cwd = program directory, program directory first on
`sys.path`) inside a root stack with the recording mock monitor (`review.capture`).

Another program directory (`--program DIR`, a git revision for `diff`) may have packages named
like ours (`infra`, `stacks`). `isolated_imports` stashes every already-imported module of
those names that does not come from DIR, lets the program import its own, and afterwards drops
DIR's modules and puts the stashed ones back, so one process can judge several programs.

Errors: `UsageError` (exit 2) for a missing/unknown stack, a malformed project or stack file
and invalid config (the program raises `pulumi.RunError` with the keys); `EvaluationError`
(exit 3) for any other exception the program raises. Messages never carry a traceback, and
known secret values are scrubbed from them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import runpy
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import projectfile
from review import ara
from review.errors import EvaluationError, UsageError

HOME = Path(__file__).resolve().parents[1]
"""The directory of this repository's program (the CLI's default `--program`)."""


@dataclass(frozen=True)
class Source:
    project: str
    stack: str
    program_dir: Path
    main: Path
    values: dict[str, str]
    secret_keys: tuple[str, ...]
    placeholders: dict[str, str]
    notes: tuple[str, ...] = ()
    """What the run could not take from files as the CLI would (printed as warnings)."""
    given: tuple[str, ...] = ()
    """The keys the stack file, `--config` and the answers' config set (not the defaults)."""


@dataclass
class Evaluation:
    source: Source
    capture: Any
    """`review.capture.Capture`."""
    seconds: float

    @property
    def project(self) -> str:
        return self.source.project

    @property
    def stack(self) -> str:
        return self.source.stack


def parse_override(text: str) -> tuple[str, Any]:
    """`key=value` from `--config`; the value is JSON when it parses (lists, numbers), else a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        # Not echoed: `--config openaiApiKey sk-...` (a forgotten `=`) would print the secret.
        raise UsageError(f"--config expects KEY=VALUE, got {'no key' if sep else 'no ='} "
                         f"(an argument of {len(text)} characters, not shown: it may hold a secret)")
    if not re.fullmatch(r"[A-Za-z0-9_.:-]+", key.strip()):
        raise UsageError("--config expects KEY=VALUE with a key of letters, digits and :_.- "
                         "(the argument is not shown: it may hold a secret)")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def _main_path(program_dir: Path, project_data: Mapping[str, Any]) -> Path:
    main = project_data.get("main") if isinstance(project_data, Mapping) else None
    path = program_dir / main if isinstance(main, str) and main else program_dir
    if path.is_dir():
        path = path / "__main__.py"
    if not path.is_file():
        raise UsageError(f"{program_dir}: no Pulumi program to run ({path} does not exist)")
    return path


def load_source(stack: str, program_dir: str | os.PathLike[str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> Source:
    """The config the CLI would pass for `stack`, `secure:` values replaced by placeholders.

    Pulumi.<stack>.yaml when it exists; else, for `pr-<n>`, what `python -m stacks.prstack` writes;
    else no stack config at all (the CLI runs such a stack with the project's defaults, and refuses
    it when a required key is then missing)."""
    program_dir = Path(program_dir or HOME).resolve()
    if not program_dir.is_dir():
        raise UsageError(f"--program {program_dir}: not a directory")
    project_file = program_dir / projectfile.PROJECT_FILE
    if not project_file.exists():
        raise UsageError(f"{program_dir}: no {projectfile.PROJECT_FILE} (not a Pulumi project directory)")
    try:
        data = projectfile.read_yaml(projectfile.program_file(program_dir, projectfile.PROJECT_FILE))
    except projectfile.ProjectFileError as exc:
        raise UsageError(str(exc)) from None
    if not isinstance(data, dict):
        raise UsageError(f"{project_file}: must be a mapping (name, runtime, config, ...)")
    if "config" in data and not isinstance(data["config"], dict):
        raise UsageError(f"{project_file}: 'config' must be a mapping of keys to declarations or values")
    runtime = data.get("runtime") if isinstance(data, dict) else None
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise UsageError(f"{project_file}: runtime is {runtime_name!r}; only Python programs can be evaluated")
    project = data.get("name") if isinstance(data, dict) else None
    if not isinstance(project, str) or not project:
        raise UsageError(f"{project_file}: 'name' must be a non-empty string")
    has_file = os.path.lexists(program_dir / f"Pulumi.{stack}.yaml")
    derived = None if has_file else ara.pull_request_stack(stack, program_dir, overrides or {})
    try:
        # A pull-request stack without its file: the config `python -m stacks.prstack` would write.
        cfg = projectfile.stack_config(stack, program_dir, overrides=overrides, stack_values=derived)
    except projectfile.ProjectFileError as exc:
        hint = ""
        if not has_file and derived is None and ara.derivable_at(program_dir, "pr-1"):
            hint = "\n  (a pull-request stack is pr-<number>, derived from stacks/pull_request.yaml without a file)"
        raise UsageError(str(exc) + hint) from None
    notes: tuple[str, ...] = ()
    if not cfg.has_stack_file:
        stacks = projectfile.list_stacks(program_dir)
        notes = (f"no Pulumi.{stack}.yaml in {program_dir}: evaluated with Pulumi.yaml's defaults only, as "
                 f"the CLI runs a stack without a stack file (stacks with one: {', '.join(stacks) or 'none'})",)
    return Source(project=project, stack=stack, program_dir=program_dir, main=_main_path(program_dir, data),
                  values=dict(cfg.values), secret_keys=tuple(cfg.secret_keys), placeholders=dict(cfg.placeholders),
                  notes=notes, given=cfg.given)


# --------------------------------------------------------------------------- module isolation


def _top_level_names(program_dir: Path) -> set[str]:
    names = set()
    for entry in program_dir.iterdir():
        if entry.suffix == ".py" and entry.stem != "__main__":
            names.add(entry.stem)
        elif entry.is_dir() and (entry / "__init__.py").exists():
            names.add(entry.name)
    return names


def _loaded_from(module: Any, directory: Path) -> bool:
    paths = []
    file = getattr(module, "__file__", None)
    if file:
        paths.append(file)
    else:
        paths.extend(getattr(module, "__path__", None) or [])
    for p in paths:
        try:
            Path(p).resolve().relative_to(directory)
            return True
        except (ValueError, OSError):
            continue
    return False


@contextlib.contextmanager
def isolated_imports(program_dir: Path) -> Iterator[None]:
    """Run with `program_dir` first on sys.path, as cwd, and its own top-level modules."""
    program_dir = program_dir.resolve()
    names = _top_level_names(program_dir)
    stashed = {}
    for name in list(sys.modules):
        if name.partition(".")[0] in names and not _loaded_from(sys.modules[name], program_dir):
            stashed[name] = sys.modules.pop(name)
    old_cwd = os.getcwd()
    sys.path.insert(0, str(program_dir))
    os.chdir(program_dir)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(program_dir))
        if program_dir != HOME:
            for name in list(sys.modules):
                if name.partition(".")[0] in names and _loaded_from(sys.modules[name], program_dir):
                    del sys.modules[name]
        sys.modules.update(stashed)


# --------------------------------------------------------------------------- running


def load_answers(path: str | os.PathLike[str] | None) -> Any:
    """The `--answers FILE` (see `review.capture.mocks`), validated; no file gives empty answers."""
    from review import wire  # noqa: PLC0415 - imports pulumi: kept out of the CLI's start-up
    from review.capture import Answers  # noqa: PLC0415 - imports pulumi: kept out of the CLI's start-up

    if not path:
        return Answers()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=wire.refuse_json_constant)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--answers {path}: cannot be read ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--answers {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except ValueError as exc:
        raise UsageError(f"--answers {path}: {exc}") from None
    too_big = list(wire.out_of_range(data))
    if too_big:
        raise UsageError(f"--answers {path}: {', '.join(too_big[:5])}: number out of range (at most about "
                         "1.8e308: the engine's numbers are 64-bit floats)")
    known = {"stackReferences", "invokes", "config", "resources"}
    if not isinstance(data, dict) or set(data) - known:
        extra = sorted(set(data) - known) if isinstance(data, dict) else []
        raise UsageError(f"--answers {path}: expected an object with stackReferences, invokes, config and/or "
                         "resources" + (f" (unknown keys: {', '.join(map(str, extra))})" if extra else ""))
    parts = {}
    for key in ("stackReferences", "invokes", "resources"):
        section = data.get(key, {})
        if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
            raise UsageError(f"--answers {path}: {key} must map each name to an object")
        parts[key] = section
    config = data.get("config", {})
    if not isinstance(config, dict) or any(v is None for v in config.values()) or \
            not all(isinstance(k, str) and re.fullmatch(r"[A-Za-z0-9_.:-]+", k) for k in config):
        raise UsageError(f"--answers {path}: config must map config keys to values (not null)")
    return Answers(stack_references=parts["stackReferences"], invokes=parts["invokes"], config=config,
                   resources=parts["resources"])


def evaluate(source: Source, answers: Any = None, on_register: Any = None, *, preview: bool = True,
             state: Any = None) -> Evaluation:
    """Run the program for `source` under mocks and capture every registration.

    As `pulumi preview` runs it (`preview`, the default): a dry run planned against `state`
    (`review.capture.state`; None: a stack never deployed), so what providers compute is unknown
    unless the state or the answers hold it. `preview=False`: as a finished `pulumi up`, every
    output answered by the mocks (`plan --as-deployed`, the base revision of `diff`).
    `on_register(resource)` sees each registration as it arrives (check streams them to the pack).
    """
    import pulumi  # noqa: PLC0415 - heavy, imported when needed

    from review import capture  # noqa: PLC0415 - imports pulumi: kept out of the CLI's start-up

    started = time.perf_counter()
    main = str(source.main)
    try:
        with isolated_imports(source.program_dir), _config_reads() as read:
            captured = capture.run(
                lambda: runpy.run_path(main, run_name="__main__"),
                stack=source.stack, project=source.project, config=source.values,
                secret_keys=source.secret_keys, program_dir=source.program_dir, answers=answers,
                on_register=on_register, preview=preview, state=state,
            )
    except pulumi.RunError as exc:
        # The program's own "bad config" path: the message lists the keys.
        raise UsageError(scrub_message(str(exc), source)) from None
    except (UsageError, EvaluationError):
        raise
    except Exception as exc:  # noqa: BLE001 - any program failure is reported, not raised
        raise _failure(exc, source) from None
    unread = unread_keys(source, read, captured)
    if unread:
        raise UsageError(scrub_message(f"stack {source.stack!r} sets config nothing reads (the CLI hands it to the "
                                       "program silently, which then runs without it):\n  " + "\n  ".join(unread),
                                       source))
    return Evaluation(source=source, capture=captured, seconds=time.perf_counter() - started)


def _failure(exc: Exception, source: Source) -> Exception:
    """The error a failed run is reported as: a needed answer is the user's input (exit 2), any
    other failure the program's (exit 3); with where it failed, and a hint when it may have
    failed on a placeholder of a secret."""
    from review import capture  # noqa: PLC0415 - imports pulumi: kept out of the CLI's start-up

    where = _program_frame(exc, source.program_dir)
    at = f"\n  at {where}" if where else ""
    needed = _cause(exc, capture.AnswerNeeded)
    if needed is not None:
        return UsageError(scrub_message(f"stack {source.stack!r}: {needed}{at}", source))
    if isinstance(exc, capture.ProgramExited):
        return EvaluationError(scrub_message(f"stack {source.stack!r}: {exc}; nothing was checked{at}", source))
    return EvaluationError(scrub_message(
        f"the program failed for stack {source.stack!r}: {type(exc).__name__}: {exc}{at}"
        + _placeholder_hint(exc, source), source))


def _placeholder_hint(exc: BaseException, source: Source) -> str:
    """Which `secure:` placeholders the failed run held, the one the failing code held first."""
    if not source.placeholders:
        return ""
    held = [k for k in source.placeholders if _frames_hold(exc, source.placeholders[k])]
    keys = held or sorted(source.placeholders)
    named = ", ".join(k.split(":", 1)[1] if k.startswith(f"{source.project}:") else k for k in keys)
    first = keys[0].split(":", 1)[1] if keys[0].startswith(f"{source.project}:") else keys[0]
    what = "the failing code held" if held else "the run was given"
    return (f"\n  note: {what} a stand-in for the secret {named}: a `secure:` value cannot be decrypted offline. "
            f"If the program parses it, pass a value of the real shape: --config {first}=<value> (or the answers "
            "file's \"config\"); it stays a secret and is never printed")


def _frames_hold(exc: BaseException, value: str) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if value in str(current):
            return True
        tb = current.__traceback__
        while tb is not None:
            for local in tb.tb_frame.f_locals.values():
                if isinstance(local, str) and value in local:
                    return True
            tb = tb.tb_next
        current = current.__cause__ or current.__context__
    return False


@contextlib.contextmanager
def _config_reads() -> Iterator[set[str]]:
    """Record the config keys the program reads through `pulumi.Config` (`pulumi/config.py` calls
    `get_config` for each)."""
    import pulumi.config as sdk_config  # noqa: PLC0415 - imports pulumi: kept out of the CLI's start-up

    read: set[str] = set()
    original = sdk_config.get_config

    def recording(k: str) -> Any:  # the parameter named as get_config's own
        read.add(k)
        return original(k)

    sdk_config.get_config = recording
    try:
        yield read
    finally:
        sdk_config.get_config = original


def _provider_namespace(namespace: str, capture: Any) -> bool:
    """A namespace a provider reads: the CLI's own, a package the run used, or an installed provider SDK."""
    if namespace == "pulumi" or any(r.type == f"pulumi:providers:{namespace}" for r in capture.resources):
        return True
    module = namespace.replace("-", "_")
    return any(importlib.util.find_spec(f"{prefix}_{module}") is not None for prefix in ("pulumi", "pulumiverse"))


def unread_keys(source: Source, read: set[str], capture: Any) -> list[str]:
    """Keys the stack sets that nothing reads: undeclared in the project's namespace, or under a
    namespace that is neither the project's nor a provider's. The CLI passes them through and the
    program runs without them (a stack file's `ara:hstsPreload` leaves `demo:hstsPreload` unset)."""
    declared = {k if ":" in k else f"{source.project}:{k}" for k in projectfile.declarations(source.program_dir)}
    out = []
    for key in source.given:
        namespace, _, name = key.partition(":")
        if key in read or key in declared or (namespace != source.project and _provider_namespace(namespace, capture)):
            continue
        meant = f"{source.project}:{name}"
        hint = f"; did you mean {meant!r}?" if meant in declared or meant in read else ""
        where = "not declared in Pulumi.yaml and never read" if namespace == source.project else \
            f"namespace {namespace!r} is neither this project's ({source.project}) nor a provider's"
        out.append(f"{key}: {where}{hint}")
    return out


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """`exc` or the first exception of `kind` in its cause/context chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _program_frame(exc: BaseException, program_dir: Path) -> str:
    """The innermost traceback frame inside the program directory: `file:line in func`."""
    tb = exc.__traceback__
    found = ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        try:
            rel = Path(filename).resolve().relative_to(program_dir)
            if not str(rel).startswith("review/"):
                found = f"{rel}:{tb.tb_lineno} in {tb.tb_frame.f_code.co_name}"
        except (ValueError, OSError):
            pass
        tb = tb.tb_next
    return found


def scrub_message(text: str, source: Source) -> str:
    """`text` without any secret the run was given (placeholders and given values, escaped forms too)."""
    from review.render import Scrubber  # noqa: PLC0415 - imports pulumi: kept out of the CLI's start-up

    public = {v for k, v in source.values.items() if k not in source.secret_keys}
    given = {source.values[k] for k in source.secret_keys if k in source.values}
    return Scrubber(set(source.placeholders.values()) | (given - public)).clean(text)
