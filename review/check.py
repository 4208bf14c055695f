"""`check`: run the policy pack over evaluated stacks the way `pulumi preview --policy-pack` does.

The pack is started and configured by `review.packrun` (the engine's sequence: start the pack
process, Handshake, ConfigureStack, GetAnalyzerInfo, policy config reconciled and validated
against each policy's schema, Configure; then Remediate/Analyze per resource and AnalyzeStack).
One pack process per stack, started in a background thread before the program runs, so its
start-up overlaps the program's evaluation.

Policy config per stack: `--policy-config FILE` when given, else, for ARA's own project
(`catalog.PROJECT_NAME`), `<pack>/config/<stack>.json` when that file exists, else the pack's
defaults (the output says which).

Beyond the pack: when the run evaluates a stack writing the Vercel `production` target and another
writing the `preview` target (`check --stack prod --stack preview`), `review.crossstack`
compares their sensitive variables by HMAC digest and reports each preview value equal to a
production one as the MANDATORY violation `stacks-disallow-shared-secret-values` (on the preview
stack's report, so it counts and renders like a pack violation). `text`, `markdown` and `as_json`
take its result as `cross` and show a summary line / a `crossStack` object.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Imported here, not in the threads: while the main thread evaluates another program directory,
# `infra` may temporarily be that program's package (see `evaluate.isolated_imports`).
from infra import catalog
from review import ara, packrun, provenance, render, wire
from review.errors import EvaluationError, UsageError
from review.evaluate import Source

_LEVEL_ORDER = {"mandatory": 0, "advisory": 1}


def policy_config_for(stack: str, pack_dir: Path, explicit: str | None, project: str) -> Path | None:
    """`--policy-config`, else ARA's default for its own project (`review.ara.default_policy_config`)."""
    if explicit:
        path = Path(explicit).resolve()
        if not path.is_file():
            raise UsageError(f"--policy-config {explicit}: file not found")
        return path
    return ara.default_policy_config(stack, pack_dir, project)


def _config_label(rep: StackReport) -> str:
    if rep.policy_config:
        return f", policy config {rep.policy_config}"
    if rep.project != catalog.PROJECT_NAME:
        return (f", the pack's defaults (its config/<stack>.json files are for project {catalog.PROJECT_NAME}; "
                f"pass --policy-config to use one)")
    return ", the pack's defaults"


class PackStarter(threading.Thread):
    """Starts and configures one policy pack session in the background."""

    def __init__(self, pack_dir: Path, source: Source, policy_config: Path | None) -> None:
        super().__init__(daemon=True, name=f"policy-pack-{source.stack}")
        self.pack_dir = pack_dir
        self.source = source
        self.policy_config = policy_config
        self.session: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.session = packrun.PolicyPackSession(
                self.pack_dir, project=self.source.project, stack=self.source.stack,
                config=self.source.values, secret_keys=self.source.secret_keys,
                policy_config=self.policy_config,
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc

    def result(self) -> Any:
        self.join()
        if isinstance(self.error, packrun.PolicyConfigError):
            where = f" ({self.policy_config})" if self.policy_config else ""
            raise UsageError(f"invalid policy config{where} for stack {self.source.stack!r}:\n  "
                             + "\n  ".join(self.error.errors))
        if isinstance(self.error, packrun.PolicyPackError):
            raise EvaluationError(f"policy pack {self.pack_dir} failed: {self.error}")
        if self.error is not None:
            raise EvaluationError(f"policy pack {self.pack_dir} failed: {type(self.error).__name__}: {self.error}")
        return self.session

    def close(self) -> None:
        self.join()
        if self.session is not None:
            self.session.close()


class StackAnalysis(threading.Thread):
    """Analyzes one stack with its started pack while the program registers it, then stops the pack.

    The engine analyzes each resource as the program registers it; so does this: the evaluation
    hands every registration to `put` (from the SDK's RPC thread), this thread sends it to the pack
    as soon as the pack is up, and `done(evaluation)` ends the stream with `AnalyzeStack`. The pack
    works in its own process, so its analysis overlaps the program's evaluation.

    A pack answers one `Analyze` at a time (pulumi-policy deserializes the properties once per
    policy: about 3 ms a resource here), slower than a program registers them. When more than
    `SHARD_BACKLOG` registrations wait, a second process of the same pack, configured the same way,
    starts and takes registrations from the same queue (`max_packs`, at most one per CPU). Each
    `Analyze` stands alone, and the outcomes are recorded in registration order, so the result is
    the one a single pack gives (tested).
    """

    SHARD_BACKLOG = 150
    _END = object()

    def __init__(self, starter: PackStarter, source: Source, *, max_packs: int | None = None) -> None:
        super().__init__(daemon=True, name=f"analyze-{source.stack}")
        self.starter = starter
        self.source = source
        self.max_packs = max_packs if max_packs is not None else min(2, os.cpu_count() or 1)
        self.tracker = packrun.Tracker(source.project, source.stack)
        self.evaluation: Any = None
        self.report: StackReport | None = None
        self.error: BaseException | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._order: list[Any] = []
        self._outcomes: dict[int, Any] = {}
        self._stream: Any = None
        self._stream_ready = threading.Event()
        self._helpers: list[tuple[PackStarter, threading.Thread]] = []
        self._lock = threading.Lock()

    @property
    def packs(self) -> int:
        """How many pack processes this stack's analysis used."""
        return 1 + len(self._helpers)

    def put(self, resource: Any) -> None:
        # Tracked here, in registration order, so that every pack sees the same aliases and providers.
        aliases = self.tracker.track(resource)
        self._queue.put((len(self._order), resource, aliases))
        self._order.append(resource)
        if self.packs < self.max_packs and self._queue.qsize() > self.SHARD_BACKLOG:
            self._add_pack()

    def done(self, evaluation: Any) -> None:
        """The program finished: analyze the whole stack and report."""
        self.evaluation = evaluation
        self._stop_workers(self._END)

    def abort(self) -> None:
        """The program failed: stop without a report."""
        self._stop_workers(None)

    def _stop_workers(self, sentinel: Any) -> None:
        # One sentinel per worker; every registration was queued before them.
        for _ in range(self.packs):
            self._queue.put(sentinel)

    def _add_pack(self) -> None:
        starter = PackStarter(self.starter.pack_dir, self.source, self.starter.policy_config)
        starter.start()
        worker = threading.Thread(target=self._helper, args=(starter,), daemon=True,
                                  name=f"analyze-{self.source.stack}-{self.packs + 1}")
        self._helpers.append((starter, worker))
        worker.start()

    def _work(self, via: Any) -> Any:
        while True:
            item = self._queue.get()
            if item is self._END or item is None:
                return item
            index, resource, aliases = item
            self._outcomes[index] = self._stream.analyze(resource, aliases, via=via)

    def _helper(self, starter: PackStarter) -> None:
        try:
            session = starter.result()
            self._stream_ready.wait()
            if self._stream is not None:
                self._work(session)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            with self._lock:
                self.error = self.error or exc
        finally:
            starter.close()

    def run(self) -> None:
        try:
            try:
                session = self.starter.result()
                self._stream = session.begin(project=self.source.project, stack=self.source.stack,
                                             tracker=self.tracker)
            finally:
                self._stream_ready.set()
            try:
                ended = self._work(session)
                for _, worker in self._helpers:
                    worker.join()
                if ended is None:
                    return
                if self.error is not None:
                    raise self.error
                missing = [i for i in range(len(self._order)) if i not in self._outcomes]
                if missing:
                    raise EvaluationError(f"{len(missing)} resources of stack {self.source.stack!r} were not analyzed")
                for index, resource in enumerate(self._order):
                    self._stream.record(resource, self._outcomes[index])
                capture = self.evaluation.capture
                result = self._stream.finish(capture.resources)
            except (UsageError, EvaluationError):
                raise
            except Exception as exc:  # noqa: BLE001 - PolicyPackError and friends
                raise EvaluationError(f"policy pack {self.starter.pack_dir} failed on stack "
                                      f"{self.source.stack!r}: {exc}") from None
            self.report = report(result, capture, self.starter.policy_config, self.source)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            with self._lock:
                self.error = self.error or exc
            self._drain()
        finally:
            self.starter.close()

    def _drain(self) -> None:
        # After a pack failure the producer may still be putting; nothing waits on this queue.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def result(self) -> StackReport:
        self.join()
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


@dataclass
class Violation:
    policy: str
    level: str
    severity: str
    description: str
    stack: str
    urn: str
    type: str
    name: str
    problem: str
    fix: str
    location: str | None = None
    """`path:line` (relative to the program) of the call that declared the resource (review.provenance)."""
    trace: list[str] = field(default_factory=list)
    """The program's calls above `location`, innermost first (`stacks/common.py:75`, ...)."""
    config: list[dict[str, Any]] = field(default_factory=list)
    """Config keys whose values the named properties carry: {key, value, file, line}."""
    url: str = ""
    """The policy's documentation link, when the pack gives one."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def where(self) -> str:
        """One line: where it is declared and which config fed it."""
        parts = [f"at {self.location}" + (f" (via {', '.join(self.trace[:3])})" if self.trace else "")
                 ] if self.location else []
        parts += [f"config {c['text']}" for c in self.config]
        return "; ".join(parts)


@dataclass
class StackReport:
    project: str
    stack: str
    pack: str
    resources: int
    policies: int
    violations: list[Violation] = field(default_factory=list)
    remediations: list[dict[str, Any]] = field(default_factory=list)
    policy_config: str | None = None
    skipped: list[str] = field(default_factory=list)
    """Policies that did not run on this stack: disabled by the policy config, or not applicable."""
    severities: dict[str, str] = field(default_factory=dict)
    """Policy -> its severity, for every policy of the pack."""
    program_dir: str = ""

    @property
    def failed(self) -> list[str]:
        """The pack's policies with at least one violation on this stack (the cross-stack rule, not
        one of the pack's, counts among the violations only)."""
        return sorted({v.policy for v in self.violations if not self.severities or v.policy in self.severities})

    @property
    def passed(self) -> int:
        """Policies that ran on this stack and reported nothing."""
        return self.policies - len(self.failed) - len([s for s in self.skipped if s not in self.failed])

    @property
    def mandatory(self) -> int:
        return sum(1 for v in self.violations if v.level == "mandatory")

    @property
    def advisory(self) -> int:
        return sum(1 for v in self.violations if v.level != "mandatory")


def split_message(message: str, description: str) -> tuple[str, str]:
    """pulumi-policy sends `description\\nreported`; ours report `<who>: <problem> Fix: <fix>`."""
    text = message
    if description and text.startswith(description + "\n"):
        text = text[len(description) + 1:]
    text = text.strip()
    problem, sep, fix = text.partition(" Fix: ")
    if not sep:
        problem, sep, fix = text.partition("\nFix: ")
    return problem.strip(), fix.strip()


def _type_name(urn: str) -> tuple[str, str]:
    parsed = wire.parse_urn(urn)
    return parsed.type, parsed.name


def report(result: Any, capture: Any, policy_config: Path | None, source: Source | None = None) -> StackReport:
    descriptions = {p.name: p.description for p in result.pack.policies}
    urls = {p.name: getattr(p, "url", "") for p in result.pack.policies}
    by_urn = {r.urn: r for r in capture.resources}
    levels = {name: entry.get("enforcementLevel") for name, entry in (result.policy_config or {}).items()}
    rep = StackReport(project=result.project, stack=result.stack,
                      pack=f"{result.pack.name}@{result.pack.version}",
                      resources=len(capture.resources), policies=len(result.pack.policies),
                      policy_config=str(policy_config) if policy_config else None,
                      skipped=sorted({p.name for p in result.pack.policies if levels.get(p.name) == "disabled"}
                                     | {n.policy_name for n in result.not_applicable if not n.urn}),
                      severities={p.name: p.severity for p in result.pack.policies},
                      program_dir=str(source.program_dir) if source is not None else "")
    for d in result.diagnostics:
        r = by_urn.get(d.urn)
        type_, name = (r.type, r.name) if r is not None else _type_name(d.urn)
        description = d.description or descriptions.get(d.policy_name, "")
        problem, fix = split_message(d.message, description)
        violation = Violation(
            policy=d.policy_name, level=d.enforcement_level, severity=d.severity,
            description=description, stack=result.stack, urn=d.urn, type=type_, name=name,
            problem=problem, fix=fix, url=urls.get(d.policy_name, ""))
        if r is not None and source is not None:
            _locate(violation, r, source)
        rep.violations.append(violation)
    rep.violations.sort(key=lambda v: (_LEVEL_ORDER.get(v.level, 2), v.policy, v.urn, v.problem))
    for rem in result.remediations:
        type_, name = _type_name(rem.urn)
        rep.remediations.append({"policy": rem.policy_name, "urn": rem.urn, "type": type_, "name": name,
                                 "changedKeys": list(rem.changed_keys)})
    return rep


def locate_all(reports: Sequence[StackReport], evaluations: Sequence[Any]) -> None:
    """Locate the violations added after the pack's report (the cross-stack rule's)."""
    by_stack = {ev.source.stack: ev for ev in evaluations if ev is not None}
    for rep in reports:
        ev = by_stack.get(rep.stack)
        if ev is None:
            continue
        by_urn = {r.urn: r for r in ev.capture.resources}
        for v in rep.violations:
            if v.location is None and v.urn in by_urn:
                _locate(v, by_urn[v.urn], ev.source)


def _locate(violation: Violation, resource: Any, source: Source) -> None:
    """Where the resource was declared, and the config keys its named properties carry."""
    found = provenance.locations(resource, source.program_dir)
    if found:
        violation.location, violation.trace = str(found[0]), [str(loc) for loc in found[1:]]
    feeds = provenance.config_feeds(resource.props, f"{violation.problem} {violation.fix}", source,
                                    source.program_dir)
    violation.config = [{"key": f.key, "value": f.value, "file": f.file, "line": f.line, "default": f.default,
                         "text": str(f)} for f in feeds]


# --------------------------------------------------------------------------- rendering


def _grouped(reports: Sequence[StackReport]) -> dict[tuple[str, str], list[Violation]]:
    groups: dict[tuple[str, str], list[Violation]] = defaultdict(list)
    for rep in reports:
        for v in rep.violations:
            groups[(v.level, v.policy)].append(v)
    return dict(sorted(groups.items(), key=lambda kv: (_LEVEL_ORDER.get(kv[0][0], 2), kv[0][1])))


def ok(reports: Sequence[StackReport]) -> bool:
    return all(rep.mandatory == 0 for rep in reports)


SEVERITIES = ("critical", "high", "medium", "low")


def severity_counts(reports: Sequence[StackReport]) -> dict[str, int]:
    """Violations by severity (an unset severity counts as low), every severity listed."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for rep in reports:
        for v in rep.violations:
            counts[v.severity if v.severity in counts else "low"] += 1
    return counts


def totals(rep: StackReport) -> str:
    """Checks and violations of one stack, as Checkov and Trivy count them."""
    by = severity_counts([rep])
    return (f"checks: {rep.passed} passed, {len(rep.failed)} failed, {len(rep.skipped)} skipped; "
            f"violations: {len(rep.violations)} (" + ", ".join(f"{s.upper()}: {n}" for s, n in by.items()) + ")")


def text(reports: Sequence[StackReport], cross: Any = None) -> str:
    lines = []
    for rep in reports:
        cfg = _config_label(rep)
        lines.append(f"check {rep.project}/{rep.stack}: {rep.pack}, {rep.policies} policies over "
                     f"{rep.resources} resources{cfg}: {rep.mandatory} mandatory, {rep.advisory} advisory, "
                     f"{len(rep.remediations)} remediations")
        lines.append(f"  {totals(rep)}")
    if cross is not None and cross.ran:
        lines.append(cross.summary())
    groups = _grouped(reports)
    for (level, policy), items in groups.items():
        mark = "FAIL" if level == "mandatory" else "warn"
        sev = f", {items[0].severity}" if items[0].severity else ""
        lines += ["", f"{mark} [{level}{sev}] {policy}: {items[0].description}"]
        for v in items:
            lines.append(f"  - {v.stack}: {render.short_type(v.type)} {v.name}")
            if v.where:
                lines.append(f"      {v.where}")
            if v.problem:
                lines.append(f"      {v.problem}")
            if v.fix:
                lines.append(f"      fix: {v.fix}")
    rems = [(rep.stack, r) for rep in reports for r in rep.remediations]
    if rems:
        lines += ["", "Remediations the pack applies during preview (not failures):"]
        for stack, r in rems:
            lines.append(f"  - {stack}: {r['policy']} on {r['type']} {r['name']} "
                         f"(changes {', '.join(r['changedKeys']) or 'nothing'})")
    by = severity_counts(reports)
    lines += ["", "result: " + ("PASS (no mandatory violations)" if ok(reports)
                               else f"FAIL ({sum(r.mandatory for r in reports)} mandatory violations)")
              + "; by severity: " + ", ".join(f"{s} {n}" for s, n in by.items())]
    return "\n".join(lines) + "\n"


def markdown(reports: Sequence[StackReport], cross: Any = None) -> str:
    passed = ok(reports)
    pack = reports[0].pack if reports else "?"
    head = "✅ no mandatory violations" if passed else \
        f"❌ {sum(r.mandatory for r in reports)} mandatory violation(s)"
    lines = [f"#### Policy check ({render.md_escape(pack)}): {head}", "",
             "| stack | resources | checks passed | failed | skipped | mandatory | advisory | critical | high "
             "| medium | low | remediations |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for rep in reports:
        by = severity_counts([rep])
        lines.append(f"| {rep.stack} | {rep.resources} | {rep.passed} | {len(rep.failed)} | {len(rep.skipped)} | "
                     f"{rep.mandatory} | {rep.advisory} | " + " | ".join(str(by[s]) for s in SEVERITIES)
                     + f" | {len(rep.remediations)} |")
    if cross is not None and cross.ran:
        lines += ["", render.md_escape(cross.summary())]
    groups = _grouped(reports)
    sections = []
    if groups:
        rows = [f"| {level} | {render.md_escape(v.severity)} | {render.md_code(policy)} | "
                f"{render.md_escape(v.stack)} | {render.md_code(v.name)} | {render.md_escape(v.where)} | "
                f"{render.md_escape(v.problem)} | {render.md_escape(v.fix)} |"
                for (level, policy), items in groups.items() for v in items]
        sections.append(render.Section(
            f"Violations ({len(rows)})", rows, open=True,
            head=["| level | severity | policy | stack | resource | where | problem | fix |",
                  "|---|---|---|---|---|---|---|---|"]))
    stacks = " ".join(f"--stack {r.stack}" for r in reports)
    return render.fit_comment(lines, sections, f"python -m review check {stacks}")


def as_json(reports: Sequence[StackReport], cross: Any = None) -> dict[str, Any]:
    data = {
        "ok": ok(reports),
        "bySeverity": severity_counts(reports),
        "stacks": [{
            "project": rep.project, "stack": rep.stack, "pack": rep.pack, "resources": rep.resources,
            "policies": rep.policies, "policyConfig": rep.policy_config, "mandatory": rep.mandatory,
            "advisory": rep.advisory, "checks": {"passed": rep.passed, "failed": len(rep.failed),
                                                 "skipped": len(rep.skipped)},
            "bySeverity": severity_counts([rep]), "violations": [v.as_dict() for v in rep.violations],
            "remediations": rep.remediations,
        } for rep in reports],
    }
    if cross is not None and cross.ran:
        data["crossStack"] = cross.as_json()
    return data
