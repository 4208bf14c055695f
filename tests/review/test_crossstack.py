"""`check`'s cross-stack rule `stacks-disallow-shared-secret-values`: preview must not reuse prod's secrets."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from infra import catalog
from review import capture, crossstack, wire
from tests.review.test_cli_helpers import copy_program, run
from tests.support import offline_secrets, run_program, secret_values, stack_config

# Starts real processes (the policy pack, the CLI, git): left out of `make test-fast`.
pytestmark = pytest.mark.slow

POLICY = crossstack.POLICY
SHARED = "sk-proj-SHAREDopenai0123456789abcdef"
URN = "urn:pulumi:{stack}::ara-infra::ara:vercel:AppEnvironment$" + catalog.VERCEL_ENV_VAR + "::ara-env-{name}"


def _env_var(capture: capture.Capture, key: str) -> capture.CapturedResource:
    return next(r for r in capture.resources
                if r.type == catalog.VERCEL_ENV_VAR and wire.reveal(r.props["key"]) == key
                and not r.props.get("gitBranch"))


def _placeholders(*stacks: str) -> set[str]:
    """What `check` skips: the values the run gives every stack (the offline stand-ins, placeholders)."""
    return {v for s in stacks for v in secret_values(stack_config(s))} | set(map(str, offline_secrets().values()))


# --------------------------------------------------------------------------- the comparison itself


@pytest.fixture(scope="module")
def captures() -> dict[str, capture.Capture]:
    return {stack: run_program(stack) for stack in ("prod", "preview")}


def test_real_stacks_share_no_secret_value(captures):
    res = crossstack.compare(list(captures.values()), _placeholders("prod", "preview"))
    assert res.ran and res.production == ["prod"] and res.preview == ["preview"]
    assert res.violations == []
    assert res.compared >= 5  # generated keys, R2 credentials, database URL
    assert res.skipped >= 1  # secret config: the same stand-in in both stacks


def test_placeholders_would_collide_without_the_exclusion(captures):
    # Why the run's stand-ins are skipped: the run gives both stacks the same one per key.
    res = crossstack.compare(list(captures.values()))
    flagged = {v.name for v in res.violations}
    assert "ara-env-openai-api-key" in flagged and "ara-env-database-url" not in flagged


def test_preview_wired_to_prods_database_url_is_flagged(captures):
    prod, preview = captures["prod"], copy.deepcopy(captures["preview"])
    prod_db, preview_db = _env_var(prod, "DATABASE_URL"), _env_var(preview, "DATABASE_URL")
    preview_db.props["value"] = copy.deepcopy(prod_db.props["value"])
    res = crossstack.compare([prod, preview], _placeholders("prod", "preview"))
    assert len(res.violations) == 1
    v = res.violations[0]
    assert (v.policy, v.level, v.stack, v.urn) == (POLICY, "mandatory", "preview", preview_db.urn)
    assert preview_db.urn in v.problem and prod_db.urn in v.problem
    assert "derive DATABASE_URL from the preview stack's own resources" in v.fix
    secret = wire.reveal(prod_db.props["value"])
    assert secret not in v.problem + v.fix and "postgresql://" not in v.problem + v.fix


@pytest.mark.parametrize(("preview_value", "flagged"), [(SHARED, True), (SHARED + "-preview", False)])
def test_same_secret_config_value_in_both_stacks(preview_value, flagged):
    prod = run_program("prod", {"openaiApiKey": SHARED})
    preview = run_program("preview", {"openaiApiKey": preview_value})
    res = crossstack.compare([prod, preview], _placeholders("prod", "preview"))
    assert [v.name for v in res.violations] == (["ara-env-openai-api-key"] if flagged else [])
    if flagged:
        assert res.violations[0].fix == ("set a distinct value for the preview stack: "
                                         "pulumi config set --secret -s preview openaiApiKey")


def test_one_stack_is_not_compared_with_itself(captures):
    res = crossstack.compare([captures["prod"]])
    assert not res.ran and res.violations == [] and res.compared == 0


# --------------------------------------------------------------------------- through the CLI


def test_check_of_both_real_stacks_passes_and_says_what_it_could_not_compare():
    # A preview of stacks never deployed knows no generated value (passwords, tokens, the URLs built
    # from them) and the secrets are the run's stand-ins: every pair is skipped, and it says so.
    res = run("check", "--stack", "prod", "--stack", "preview")
    assert res.code == 0, res.all
    assert re.search(rf"^cross-stack {POLICY}: prod \(production\) vs preview \(preview\): 0 sensitive "
                     r"variable pairs compared, 0 shared values, [1-9]\d* skipped \(values the run gives every "
                     r"stack, or not known before the engine runs\)", res.out, re.M)
    data = json.loads(run("check", "--stack", "prod", "--stack", "preview", "--format", "json").out)
    assert data["ok"] and data["crossStack"]["sharedValues"] == 0 and data["crossStack"]["skipped"] > 0
    single = json.loads(run("check", "--stack", "preview", "--format", "json").out)
    assert "crossStack" not in single


@pytest.fixture(scope="module")
def shared_program(tmp_path_factory) -> Path:
    """A copy of the program whose prod and preview stack files both set the same OpenAI key."""
    dest = copy_program(tmp_path_factory.mktemp("shared") / "program")
    for stack in ("prod", "preview"):
        path = dest / f"Pulumi.{stack}.yaml"
        path.write_text(path.read_text() + f"  ara-infra:openaiApiKey: {SHARED}\n")
    return dest


@pytest.mark.parametrize("stacks", [("prod", "preview"), ("preview",)])
def test_a_secret_committed_in_plain_text_is_refused_before_any_comparison(shared_program, stacks):
    # Pulumi refuses a plain value for a `secret: true` key, so the shared value never reaches
    # a comparison: the run stops with exit 2, naming file and key, never the value.
    args = [a for s in stacks for a in ("--stack", s)]
    for fmt in ("text", "json", "markdown"):
        res = run("check", *args, "--program", str(shared_program), "--format", fmt)
        assert res.code == 2, res.all
        assert f"Pulumi.{stacks[0]}.yaml: ara-infra:openaiApiKey: must be encrypted as it's secret" in res.err
        assert SHARED not in res.all and "SHARED" not in res.all


def test_help_documents_the_cross_stack_check():
    res = run("check", "--help")
    assert res.code == 0
    assert POLICY in res.out and "pulumi config set --secret -s preview" in res.out
