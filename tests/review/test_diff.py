"""`python -m review diff`: two real git revisions of the program in a temporary repository."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.review.test_cli import PLANTED_ARGS, assert_no_secrets
from tests.review.test_cli_helpers import copy_program, edit, run

# Starts real processes (the policy pack, the CLI, git): left out of `make test-fast`.
pytestmark = pytest.mark.slow

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}
RENAME_OLD = 'database = Database("ara-db", database_args(cfg, cfg.db_name))'
RENAME_NEW = 'database = Database("ara-database", database_args(cfg, cfg.db_name))'
ALIASED = ('database = Database("ara-database", database_args(cfg, cfg.db_name), '
           'pulumi.ResourceOptions(aliases=[pulumi.Alias(name="ara-db")]))')


def git(repo: Path, *args: str) -> str:
    import os

    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True,
                          env={**os.environ, **GIT_ENV})
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Iterator[Path]:
    """Commit 1: the program as it is. Commit 2 (checked out): the database component renamed,
    the prod rate limit raised, the generated keys rotated."""
    root = copy_program(tmp_path_factory.mktemp("diff") / "repo")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    edit(root / "stacks" / "common.py", RENAME_OLD, RENAME_NEW)
    prod = root / "Pulumi.prod.yaml"
    prod.write_text(prod.read_text() + "  ara-infra:rateLimitRequests: 200\n  ara-infra:generatedKeysVersion: 2\n")
    git(root, "commit", "-qam", "rename the database component, raise the limit, rotate keys")
    yield root


@pytest.fixture
def worktree(repo: Path) -> Iterator[Path]:
    """The repository with uncommitted edits reverted afterwards."""
    yield repo
    git(repo, "checkout", "--", ".")


def test_renaming_the_database_component_is_flagged(repo):
    res = run("diff", "--stack", "prod", "--base", "HEAD~1", "--program", str(repo), *PLANTED_ARGS)
    assert res.code == 1, res.all
    out = res.out
    assert out.startswith(f"diff ara-infra/prod: HEAD~1 ({git(repo, 'rev-parse', 'HEAD~1')[:12]}) → working tree")
    assert "  - postgresql:Database ara-db-database" in out
    assert "  + postgresql:Database ara-database-database" in out
    assert "  - ara:database:Database ara-db" in out
    flagged = out.split("Flagged:", 1)[1]
    assert "! postgresql:Database ara-db-database: URN changes to " in flagged
    assert "without an alias" in flagged and "It is protected" in flagged
    assert "R2Bucket" not in flagged  # buckets keep their URNs
    # Ordinary changes are listed with their properties; secrets only as changed.
    # The budget 100 → 200 per hour, on Pro as 17 → 34 per 10 minutes (infra/config/model.py edge_rate_limit).
    assert "props.rules.rules[0].action.rateLimit.limit: 17 → 34" in out
    assert "props.keepers.version: 1 → 2" in out
    assert "props.value: [secret] changed" in out
    # The Database component and its 27 children.
    assert "summary: 28 added, 28 removed, " in out and "; 1 flagged" in out
    assert_no_secrets(res.all, "prod", planted=True)


def test_allow_replace_exits_0_and_json_marks_secrets_without_values(repo):
    res = run("diff", "--stack", "preview", "--base", "HEAD~1", "--program", str(repo), "--allow-replace",
              "--format", "json", *PLANTED_ARGS)
    assert res.code == 0, res.all
    data = json.loads(res.out)
    assert [f["name"] for f in data["flagged"]] == ["ara-db-database"]
    assert data["flagged"][0]["newUrn"].endswith("::ara-database-database")
    secret_changes = [c for ch in data["changed"] for c in ch["changes"] if c.get("secret")]
    assert secret_changes and all(set(c) == {"path", "secret"} for c in secret_changes)
    assert_no_secrets(res.all, "preview", planted=True)


def test_an_alias_turns_the_rename_into_a_move_and_a_bucket_rename_is_flagged(worktree):
    edit(worktree / "stacks" / "common.py", RENAME_NEW, ALIASED)
    edit(worktree / "Pulumi.prod.yaml", "ara-infra:reportsBucketName: ara-prod-reports",
         "ara-infra:reportsBucketName: ara-prod-reports-v2")
    res = run("diff", "--stack", "prod", "--base", "HEAD~1", "--program", str(worktree), "--format", "markdown")
    assert res.code == 1, res.all
    assert "28 renamed with alias" in res.out and "0 added · 0 removed" in res.out
    assert "| `R2Bucket` | `ara-storage-reports` | `name` changes (ara-prod-reports → ara-prod-reports-v2)" in res.out
    assert "ara-db-database" not in res.out.split("| ⚠️ stateful |", 1)[1].split("\n\n", 1)[0]


def test_no_changes_against_the_checked_out_revision(repo):
    res = run("diff", "--stack", "prod", "--base", "HEAD", "--program", str(repo))
    assert res.code == 0, res.all
    assert "  no changes" in res.out and "; 0 flagged" in res.out


def test_bad_revision_and_non_repository_exit_2(repo, tmp_path):
    res = run("diff", "--stack", "prod", "--base", "no-such-ref", "--program", str(repo))
    assert res.code == 2 and "not a git revision" in res.err
    plain = copy_program(tmp_path / "plain")
    res = run("diff", "--stack", "prod", "--base", "HEAD", "--program", str(plain))
    if (tmp_path / ".git").exists():  # pragma: no cover - tmp inside a repository
        pytest.skip("tmp_path is inside a git repository")
    assert res.code == 2 and "not inside a git repository" in res.err
