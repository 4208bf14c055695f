"""The engine's part of a stack's life, for the postgresql resources of a capture, on a real server.

Only what the Pulumi engine decides is modelled here; what each provider call executes is
provider_model.py's. Each rule follows pulumi/pulumi at 1b5949891b (`pkg/resource/deploy/`) and the
Terraform bridge that pulumi-postgresql is built on (pulumi/pulumi-terraform-bridge at 59de6c661):

- **Refresh** calls the provider's Read for every resource in the state; a resource the read does
  not find leaves the state; the inputs kept in the state take the read value of every input
  already there (bridge `pkg/tfbridge/provider.go` `Read` → `schema.go` `ExtractInputsFromOutputs`
  with `isRefresh`).
- **Diff** compares the read-back state with the declared inputs (bridge `Diff`, with the SDK's rules
  in provider_model.diff); `ignoreChanges` drops an attribute before ForceNew is looked at. A
  ForceNew change, or `--replace`, is a replacement, anything else an update
  (`step_generator.go` `generateStepsFromDiff`, the `diff.Replace()` branch).
- **Replacement**: create-before-delete unless the goal sets deleteBeforeReplace (`step_generator.go:2043`);
  the replaced resource is deleted after every create and update (the "delete step is generated
  later" comment); a protected resource is never replaced (`:1957`).
- **Deletes** (destroy, or resources the program no longer declares) run in antichains, a resource
  only after everything that depends on it (`ScheduleDeletes`, `:2747`), dependencies counting
  `dependsOn`, property dependencies, `deletedWith`, the provider and the parent
  (`sdk/go/common/resource/resource_state.go` `GetAllDependencies`, `pkg/resource/graph` `DependenciesOf`).
  Each `DeleteStep.Apply` (`step.go:626`): a protected resource fails the step, in a preview too (the
  check precedes the dry-run branch); `retainOnDelete`, or a `deletedWith` target that is itself being
  deleted, skips the provider's Delete. An antichain's steps run in parallel, so a failing one
  stops the antichains after it, not its siblings.
- **Destroy** previews first (`pulumi destroy` without `--skip-preview`), so a protected resource
  stops it before anything is deleted.

Resources of other providers (random passwords, Vercel, Cloudflare) are not applied anywhere and are
left out; their values reach the postgresql resources through the capture.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tests.database_real.provider_model import (
    Applied,
    ModelGap,
    ProviderError,
    ProviderModel,
    creation_order,
    diff,
    provider_for,
    providers_of,
)
from tests.realservers.postgres import PostgresServer

Op = Literal["create", "update", "replace", "delete", "same"]


class EngineError(RuntimeError):
    """What the engine reports: a protected resource it may not delete or replace, or a failed step."""


@dataclass(frozen=True)
class Step:
    op: Op
    urn: str
    name: str
    type: str
    keys: tuple[str, ...] = ()
    """The attributes that differ (update) or force the replacement (replace)."""
    delete_before_replace: bool = False


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.op != "same"]

    def summary(self) -> list[tuple[str, str, tuple[str, ...]]]:
        return [(s.op, s.name, s.keys) for s in self.changes]


@dataclass
class Tracked:
    """One resource in the stack's state (what `pulumi stack export` would hold for it)."""

    urn: str
    type: str
    name: str
    provider: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    dependencies: frozenset[str]
    protect: bool = False
    retain_on_delete: bool = False
    deleted_with: str | None = None
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()


@dataclass
class Outcome:
    """What one `up`, `refresh` or `destroy` did: the provider calls in order, and the first error."""

    plan: Plan
    calls: list[tuple[str, Applied]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.plan.errors


def _goals(capture: Any) -> list[Any]:
    return creation_order([r for r in capture.resources if r.type.startswith("postgresql:") and r.custom])


def _dependencies(resource: Any) -> frozenset[str]:
    deps = set(resource.dependencies) | {u for urns in resource.property_dependencies.values() for u in urns}
    if resource.deleted_with:
        deps.add(resource.deleted_with)
    return frozenset(deps)


class Stack:
    """A stack's state for its postgresql resources, and the engine operations on it."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.resources: dict[str, Tracked] = {}
        self._providers: dict[str, ProviderModel] = {}

    # -- queries ---------------------------------------------------------------------------------
    def names(self) -> set[str]:
        return {t.name for t in self.resources.values()}

    def _provider(self, tracked: Tracked) -> ProviderModel:
        if tracked.provider not in self._providers:
            raise ModelGap(f"{tracked.name}: its provider {tracked.provider} was never configured")
        return self._providers[tracked.provider]

    # -- preview / up ----------------------------------------------------------------------------
    def preview(self, capture: Any, *, replace: Iterable[str] = ()) -> Plan:
        """The steps `pulumi preview` would show (nothing is executed)."""
        self._configure(capture)
        return self._plan(capture, set(replace))

    def up(self, capture: Any, *, replace: Iterable[str] = ()) -> Outcome:
        """`pulumi up`: the preview's steps, executed; the state follows each step that succeeds."""
        self._configure(capture)
        plan = self._plan(capture, set(replace))
        outcome = Outcome(plan)
        if plan.errors:
            outcome.error = plan.errors[0]
            return outcome
        goals = {r.urn: r for r in _goals(capture)}
        later: list[Tracked] = []  # create-before-delete replacements: deleted after everything else
        try:
            for step in plan.steps:
                self._execute(step, goals.get(step.urn), later, outcome)
            gone = [t for urn, t in self.resources.items() if urn not in goals]
            self._delete_all(gone, outcome, replacing={id(t) for t in later}, extra=later)
        except (ProviderError, EngineError) as exc:
            outcome.error = str(exc)
        return outcome

    def _configure(self, capture: Any) -> None:
        self._providers.update(providers_of(capture, self.server))

    def _plan(self, capture: Any, replace_urns: set[str]) -> Plan:
        plan = Plan()
        goals = _goals(capture)
        for goal in goals:
            old = self.resources.get(goal.urn)
            if old is None:
                plan.steps.append(Step("create", goal.urn, goal.name, goal.type))
                continue
            changes = diff(goal.type, old.state, goal.plain, goal.ignore_changes)
            forced = ("(--replace)",) if goal.urn in replace_urns else ()
            if changes.replace or forced:
                self._refuse_cascading_replacement(goal, goals)
                if old.protect and goal.protect:
                    plan.errors.append(f"unable to replace resource {goal.urn!r} as it is currently marked for "
                                       "protection")
                plan.steps.append(Step("replace", goal.urn, goal.name, goal.type, changes.replace or forced,
                                       delete_before_replace=goal.delete_before_replace))
            elif changes.changed:
                plan.steps.append(Step("update", goal.urn, goal.name, goal.type, changes.changed))
            else:
                plan.steps.append(Step("same", goal.urn, goal.name, goal.type))
        declared = {g.urn for g in goals}
        for tracked in self._delete_order([t for u, t in self.resources.items() if u not in declared]):
            plan.steps.append(Step("delete", tracked.urn, tracked.name, tracked.type))
            if tracked.protect:
                plan.errors.append(self._protected(tracked))
        return plan

    @staticmethod
    def _refuse_cascading_replacement(goal: Any, goals: list[Any]) -> None:
        """What a replacement drags along (resources deleted with it, or whose inputs come from it when it is
        deleted first: `calculateDependentReplacements`) is not modelled; the program needs none of it."""
        dragged = [g.name for g in goals if g.deleted_with == goal.urn
                   or (goal.delete_before_replace
                       and any(goal.urn in urns for urns in g.property_dependencies.values()))]
        if dragged:
            raise ModelGap(f"replacing {goal.name} would replace {dragged} too: not modelled")

    def _execute(self, step: Step, goal: Any, later: list[Tracked], outcome: Outcome) -> None:
        if step.op in ("same", "delete"):
            return
        provider = provider_for(goal, self._providers)
        if step.op == "update":
            old = self.resources[goal.urn]
            applied = provider.update(goal.type, goal.name, old.state, goal.plain)
            outcome.calls.append(("update", applied))
            self.resources[goal.urn] = self._tracked(goal, applied.state or {})
            return
        if step.op == "replace":
            old = self.resources.pop(goal.urn)
            if step.delete_before_replace:
                outcome.calls.append(("delete", self._provider(old).delete(old.type, old.name, old.state)))
            else:
                later.append(old)
        applied = provider.create_state(goal.type, goal.name, goal.plain, goal.ignore_changes)
        outcome.calls.append(("create", applied))
        self.resources[goal.urn] = self._tracked(goal, applied.state or {})

    @staticmethod
    def _tracked(goal: Any, state: Mapping[str, Any]) -> Tracked:
        return Tracked(
            urn=goal.urn, type=goal.type, name=goal.name, provider=goal.provider.rsplit("::", 1)[0],
            inputs=dict(goal.plain), state=dict(state), dependencies=_dependencies(goal), protect=goal.protect,
            retain_on_delete=goal.retain_on_delete, deleted_with=goal.deleted_with,
            delete_before_replace=goal.delete_before_replace, ignore_changes=tuple(goal.ignore_changes),
        )

    # -- refresh ---------------------------------------------------------------------------------
    def refresh(self) -> Outcome:
        """`pulumi refresh`: every resource read back; the state takes what the server says."""
        outcome = Outcome(Plan())
        try:
            for urn, tracked in list(self.resources.items()):
                applied = self._provider(tracked).read(tracked.type, tracked.name, tracked.state)
                outcome.calls.append(("read", applied))
                if applied.state is None:
                    del self.resources[urn]
                    continue
                inputs = {k: applied.state.get(k, v) for k, v in tracked.inputs.items()}
                self.resources[urn] = replace(tracked, state=applied.state, inputs=inputs)
        except ProviderError as exc:
            outcome.error = str(exc)
        return outcome

    # -- destroy ---------------------------------------------------------------------------------
    def destroy(self, *, skip_preview: bool = False) -> Outcome:
        """`pulumi destroy` (`--skip-preview` when asked): every resource, dependents first."""
        everything = list(self.resources.values())
        plan = Plan([Step("delete", t.urn, t.name, t.type) for t in self._delete_order(everything)])
        outcome = Outcome(plan)
        if not skip_preview:
            plan.errors = [self._protected(t) for t in everything if t.protect]
            if plan.errors:
                outcome.error = plan.errors[0]
                return outcome
        try:
            self._delete_all(everything, outcome, replacing=set(), extra=[])
        except (ProviderError, EngineError) as exc:
            outcome.error = str(exc)
        return outcome

    @staticmethod
    def _protected(tracked: Tracked) -> str:
        return (f"resource {tracked.urn!r} cannot be deleted because it is protected. To unprotect the resource, "
                "either remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`, "
                "or use the command: `pulumi state unprotect`")

    def _antichains(self, condemned: list[Tracked]) -> list[list[Tracked]]:
        """`ScheduleDeletes`: built backwards (a resource once none of its dependencies is still condemned),
        then reversed, so dependents go first and each antichain's steps may run in parallel."""
        left = {t.urn: t for t in condemned}
        chains: list[list[Tracked]] = []
        while left:
            chain = [t for t in left.values() if not (t.dependencies & set(left))]
            if not chain:
                raise ModelGap(f"dependency cycle among {sorted(t.name for t in left.values())}")
            for t in chain:
                del left[t.urn]
            chains.append(chain)
        chains.reverse()
        return chains

    def _delete_order(self, condemned: list[Tracked]) -> list[Tracked]:
        return [t for chain in self._antichains(condemned) for t in chain]

    def _delete_all(self, condemned: list[Tracked], outcome: Outcome, *, replacing: set[int],
                    extra: list[Tracked]) -> None:
        everything = [*condemned, *extra]
        deleting = {t.urn for t in everything}  # `sg.deletes`: what deletedWith looks at
        for chain in self._antichains(everything):
            errors = []
            for tracked in chain:  # run in parallel by the engine: every sibling is attempted
                try:
                    self._delete_one(tracked, deleting, replacing=id(tracked) in replacing, outcome=outcome)
                except (ProviderError, EngineError) as exc:
                    errors.append(str(exc))
            if errors:
                raise EngineError(errors[0])

    def _delete_one(self, tracked: Tracked, deleting: set[str], *, replacing: bool, outcome: Outcome) -> None:
        if tracked.protect and not replacing:
            raise EngineError(self._protected(tracked))
        skip = tracked.retain_on_delete or (tracked.deleted_with is not None and tracked.deleted_with in deleting)
        if not skip:
            outcome.calls.append(("delete", self._provider(tracked).delete(tracked.type, tracked.name, tracked.state)))
        if not replacing and self.resources.get(tracked.urn) is tracked:
            del self.resources[tracked.urn]
