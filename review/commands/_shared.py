"""What the subcommands share: the inputs every one takes, and loading and evaluating a stack."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from review import evaluate as ev
from review import lazy
from review.capture import state as st
from review.errors import UsageError
from review.manifest import DIGEST_ENV
from review.output import Output


@dataclass(frozen=True, kw_only=True)
class Inputs:
    """The options common to the subcommands (see `review.cli`)."""

    program: str | None = None
    """`--program DIR`; None: this repository's program."""
    config: tuple[str, ...] = ()
    """`--config KEY=VALUE`, as given."""
    answers: str | None = None
    """`--answers FILE`."""
    state: tuple[str, ...] = ()
    """`--state FILE` (plan, check, graph)."""
    eager_imports: bool = False
    """`--eager-imports`: import the provider SDKs in full."""


def overrides(inputs: Inputs, answers: Any) -> dict[str, Any]:
    """The config of the `--answers` file (`answers`, as `evaluate.load_answers` read it), then the
    `--config` values over it."""
    given = dict(answers.config)
    given.update(ev.parse_override(o) for o in inputs.config)
    return given


def states(inputs: Inputs, stacks: Sequence[str]) -> dict[str, Any]:
    """Stack -> its `--state` file, each matched by the stack its URNs name."""
    found: dict[str, Any] = {}
    for path in inputs.state:
        try:
            loaded = st.ExportedState.load(path)
        except st.StateError as exc:
            raise UsageError(str(exc)) from None
        named = {urn.split("::", 1)[0].removeprefix("urn:pulumi:") for urn in loaded.resources}
        match = [s for s in stacks if s in named or not named]
        if len(match) != 1 or match[0] in found:
            raise UsageError(f"--state {path}: holds stack {', '.join(sorted(named)) or '(empty)'}; give one "
                             f"`pulumi stack export` per stack evaluated ({', '.join(stacks)})")
        found[match[0]] = loaded
    return found


def evaluate(inputs: Inputs, out: Output, stack: str, *, as_deployed: bool = False) -> Any:
    """Evaluate `stack` as `pulumi preview` would (`as_deployed`: as after a finished `up`)."""
    answers = ev.load_answers(inputs.answers)
    source = ev.load_source(stack, inputs.program, overrides(inputs, answers))
    state = states(inputs, [stack]).get(stack)
    out.learn_source(source)
    if not inputs.eager_imports:
        lazy.install()
    return ev.evaluate(source, answers, preview=not as_deployed, state=state)


def digest_key() -> bytes | None:
    """The manifest's HMAC key from the environment (`review.manifest.DIGEST_ENV`), if set."""
    raw = os.environ.get(DIGEST_ENV)
    if not raw:
        return None
    try:
        return bytes.fromhex(raw)
    except ValueError:
        raise UsageError(f"{DIGEST_ENV} must be hex") from None
