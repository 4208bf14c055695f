"""The CLI's config rule over every stack file the pull-request workflows hand to `pulumi up` and
`pulumi destroy`: the file `python -m stacks.prstack` writes on a fresh runner, plus each key the
workflow sets with `pulumi config set` before the command. pulumi/pulumi pkg/workspace/config.go
(`mergeConfig`, called through `ValidateStackConfigAndApplyProjectConfig` by up, and by destroy in
CLI releases before 3.249 and with --run-program after) refuses a stack that lacks a key Pulumi.yaml
declares with neither default nor value; `infra.projectfile.stack_config` applies that rule."""

from __future__ import annotations

import re
import shlex
from itertools import pairwise

import pytest

from infra import config, projectfile
from stacks import prstack
from tests.review.test_cli_helpers import copy_program
from tests.workflows.workflows import WORKFLOWS, run_text, steps

# (workflow, job, the step that runs the command, the command): what must find the config complete.
CASES = [
    ("pull-request-deploy.yml", "pr-stack", "up"),
    ("pull-request-closed.yml", "destroy", "destroy"),
    ("sweep-pr-stacks.yml", "destroy", "destroy"),
]


def _scripts_before(workflow: str, job: str, command: str) -> str:
    """The job's shell, in order, up to the step (or line) that runs `pulumi <command>`."""
    out = []
    for s in steps(WORKFLOWS / workflow):
        if s.job_id != job:
            continue
        if s.step.get("with", {}).get("command") == command:
            return "\n".join(out)
        script = run_text(s.step)
        if f"pulumi {command} " in script:
            return "\n".join(out + [script.split(f"pulumi {command} ", 1)[0]])
        out.append(script)
    raise AssertionError(f"{workflow}: job {job} runs no `pulumi {command}`")


def _set_keys(script: str) -> dict[str, bool]:
    """Keys the script sets with `pulumi config set[-all]` -> whether as a secret."""
    found: dict[str, bool] = {}
    for line in re.sub(r"\\\n\s*", " ", script).splitlines():
        if "pulumi config set" not in line:
            continue
        words = shlex.split(line.split("pulumi config ", 1)[1])
        if words[0] == "set":
            keys = [w for w in words[1:] if not w.startswith("-") and not w.startswith("$")]
            found[keys[0]] = "--secret" in words
        elif words[0] == "set-all":
            for flag, pair in pairwise(words):
                if flag in ("--secret", "--plaintext"):
                    found[pair.split("=", 1)[0]] = flag == "--secret"
    return found


@pytest.mark.parametrize(("workflow", "job", "command"), CASES)
def test_the_stack_the_workflow_hands_to_pulumi_lacks_no_required_key(tmp_path, workflow, job, command):
    program = copy_program(tmp_path / "program")
    script = _scripts_before(workflow, job, command)
    assert "python -m stacks.prstack --number" in script, "the runner starts without the stack file"
    stack_file = program / "Pulumi.pr-42.yaml"
    stack_file.write_text(prstack.render(42, "feature/search", program))
    set_keys = _set_keys(script)
    assert set_keys, f"{workflow}: sets no config before pulumi {command}"
    # A value `pulumi config set --secret` stores encrypted; one set without it in plain text.
    lines = [f"  ara-infra:{k}:\n    secure: v1:bm9uY2U=:Y2lwaGVy\n" if secret else f"  ara-infra:{k}: x\n"
             for k, secret in set_keys.items()]
    stack_file.write_text(stack_file.read_text() + "".join(lines))
    source = projectfile.stack_config("pr-42", program)  # raises with the CLI's words if a key is missing
    assert set(source.placeholders) == {f"ara-infra:{k}" for k, secret in set_keys.items() if secret}


def test_the_rule_would_refuse_the_file_alone(tmp_path):
    # The check above is not vacuous: without what the workflow sets, the CLI refuses the stack.
    program = copy_program(tmp_path / "program")
    (program / "Pulumi.pr-42.yaml").write_text(prstack.render(42, "feature/search", program))
    with pytest.raises(projectfile.ProjectFileError, match=r"^Stack 'pr-42' is missing configuration values"):
        projectfile.stack_config("pr-42", program)


@pytest.mark.parametrize(("workflow", "job", "command"), CASES)
def test_the_app_secrets_a_pull_request_stack_never_reads_get_the_stand_in(workflow, job, command):
    script = _scripts_before(workflow, job, command)
    unread = {config.config_key(name) for name in config.PR_UNREAD_SECRETS}
    for key in unread:
        assert f"--secret {key}={prstack.UNREAD_SECRET_VALUE}" in re.sub(r"\\\n\s*", " ", script), (workflow, key)
    # The one secret the stack uses comes from the environment's secret, piped (no process list).
    assert "printf '%s' \"$DB_ADMIN_PASSWORD\" | pulumi config set --secret --stack" in script
