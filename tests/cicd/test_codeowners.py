"""cicd.codeowners: who owns a path, as GitHub reads CODEOWNERS (its documented examples)."""

import pytest

from cicd import codeowners
from tests.support import ROOT

# The example file of GitHub's "About code owners" page, lines in its order.
GITHUB_EXAMPLE = """\
# This is a comment.
*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
*.txt @octo-org/octocats
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
"""


@pytest.mark.parametrize(("path", "owners"), [
    ("README.md", ("@global-owner1", "@global-owner2")),
    ("src/app.js", ("@js-owner",)),                      # the later match wins over `*`
    ("main.go", ("docs@example.com",)),
    ("notes/a.txt", ("@octo-org/octocats",)),
    ("build/logs/today/x.log", ("@octocat",)),           # `**/logs` comes after `/build/logs/`
    ("docs/getting-started.md", ("@doctocat",)),         # `/docs/` comes after `docs/*`
    ("deeply/nested/logs/x", ("@octocat",)),
    ("web/apps/index.html", ("@octocat",)),             # `apps/` anywhere
    ("apps/github/readme.md", None),                     # owners left empty: unowned
    ("scripts/deploy.sh", ("@doctocat", "@octocat")),
])
def test_githubs_documented_example_resolves_as_documented(path, owners):
    rule = codeowners.parse(GITHUB_EXAMPLE).owner_of(path)
    assert (rule.owners if rule else None) == owners


def test_a_star_after_a_directory_owns_direct_children_only():
    rules = codeowners.parse("docs/* @a\n")
    assert rules.owner_of("docs/getting-started.md") is not None
    assert rules.owner_of("docs/build-app/troubleshooting.md") is None


def test_paths_are_case_sensitive():
    rules = codeowners.parse("/policies/ @a\n")
    assert rules.owner_of("policies/x.py") and rules.owner_of("Policies/x.py") is None


@pytest.mark.parametrize("line", ["!/policies/ @a", "/p[ab]/ @a", "\\#x @a", "/x/ owner-without-at"])
def test_a_line_github_skips_is_skipped_and_named(line):
    rules = codeowners.parse(f"/policies/ @a\n{line}\n")
    assert len(rules.rules) == 1 and rules.skipped and rules.skipped[0].startswith("line 2:")


def test_users_teams_and_addresses_are_told_apart():
    (rule,) = codeowners.parse("/x/ @Alice @org/team a@b.example\n").rules
    assert rule.users == ("alice",) and rule.unverifiable == ("@org/team", "a@b.example")


def test_github_uses_the_first_file_it_finds_and_refuses_odd_ones(tmp_path):
    assert codeowners.load(tmp_path) == (None, codeowners.CodeOwners(()))
    (tmp_path / "CODEOWNERS").write_text("* @root\n")
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @dotgithub\n")
    path, rules = codeowners.load(tmp_path)
    assert path == tmp_path / ".github" / "CODEOWNERS" and rules.users == {"dotgithub"}
    (tmp_path / ".github" / "CODEOWNERS").unlink()
    (tmp_path / ".github" / "CODEOWNERS").symlink_to("/etc/passwd")
    with pytest.raises(codeowners.CodeOwnersError, match="not a regular file"):
        codeowners.load(tmp_path)


@pytest.mark.parametrize("path", [
    ".github/workflows/pull-request.yml", ".github/CODEOWNERS", "policies/config/prod.json",
    "policies/ara_policies/repository.py", "policies/requirements.lock", "review/check.py", "cicd/approval.py",
    "infra/projectfile.py", "infra/catalog.py", "infra/repository.py", "stacks/offline-answers.json",
    "Makefile", "requirements.txt", "requirements-dev.txt", "requirements.lock", ".ci/run",
])
def test_the_repositorys_codeowners_covers_what_the_gate_depends_on(path):
    found, rules = codeowners.load(ROOT)
    assert found == ROOT / ".github" / "CODEOWNERS" and not rules.skipped
    assert rules.owner_of(path) is not None, path


def test_the_program_itself_is_not_code_owned():
    _, rules = codeowners.load(ROOT)
    for path in ("stacks/prod.py", "infra/database.py", "Pulumi.prod.yaml", "__main__.py", "tests/infra/test_web.py"):
        assert rules.owner_of(path) is None, path
