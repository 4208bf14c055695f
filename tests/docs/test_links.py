"""Every link and anchor in the docs resolves, and every `docs/…` path the code and workflows name exists.

A moved page or a renamed heading breaks links silently on GitHub; these tests make it a failure.
Run as a script (`python tests/docs/test_links.py`) to list every broken link at once.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The Markdown a reader meets: the README, everything under docs/, and the pack's and bench's READMEs.
PAGES = sorted(
    [ROOT / "README.md", ROOT / "policies" / "README.md", ROOT / "bench" / "README.md"]
    + list((ROOT / "docs").rglob("*.md"))
)
# Files whose text names docs pages (messages that point an operator at a runbook, workflow comments).
CODE_GLOBS = ("infra/**/*.py", "stacks/**/*.py", "review/**/*.py", "ops/**/*.py", "cicd/**/*.py",
              "policies/**/*.py", "tests/**/*.py", ".github/**/*.yml", ".github/**/*.sh",
              ".github/CODEOWNERS", "Makefile", "Pulumi.yaml", "Pulumi.*.yaml", "docs/generate.py")

# Files whose `docs/…` paths are not this repository's pages, and why.
NOT_OUR_DOCS = {
    "review/capture/monitor.py": "cites pulumi/pulumi's docs/architecture/providers.md",
    "cicd/codeowners.py": "CODEOWNERS pattern examples as GitHub documents them",
    "tests/cicd/test_codeowners.py": "CODEOWNERS pattern examples as GitHub documents them",
    "tests/review/capture/test_capture.py": "paths of a .vercelignore fixture",
}

LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+(?:\([^()\s]*\))?[^()\s]*)\)")
DOCS_PATH = re.compile(r"(?<![\w/.-])(docs/[\w./-]+\.md)(#[\w-]+)?")


def _without_code(text: str) -> str:
    """The page with fenced blocks and inline code removed: links inside code are examples."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub renders for a page: one per heading (duplicates numbered), plus explicit ids."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    seen: Counter[str] = Counter()
    found = set(re.findall(r'<a (?:id|name)="([^"]+)"', text))
    for line in text.splitlines():
        match = re.match(r"#{1,6} (.+?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            found.add(base if seen[base] == 0 else f"{base}-{seen[base]}")
            seen[base] += 1
    return found


def broken_links() -> list[str]:
    problems = []
    for page in PAGES:
        for target in LINK.findall(_without_code(page.read_text())):
            if re.match(r"[a-z]+:", target):  # https:, mailto: — outside this repository
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(ROOT)}: ({target})"
            if not dest.exists():
                problems.append(f"{where} -> no such file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{where} -> no heading with anchor #{anchor} in {dest.relative_to(ROOT)}")
    return problems


def broken_code_references() -> list[str]:
    problems = []
    for pattern in CODE_GLOBS:
        for source in sorted(ROOT.glob(pattern)):
            rel = str(source.relative_to(ROOT))
            if ".venv" in source.parts or source == Path(__file__).resolve() or rel in NOT_OUR_DOCS:
                continue
            for path, anchor in DOCS_PATH.findall(source.read_text(errors="replace")):
                dest = ROOT / path
                where = f"{source.relative_to(ROOT)}: {path}{anchor}"
                if not dest.exists():
                    problems.append(f"{where} -> no such file")
                elif anchor and anchor[1:] not in anchors(dest):
                    problems.append(f"{where} -> no heading with that anchor")
    return problems


def test_every_link_and_anchor_in_the_docs_resolves():
    assert broken_links() == []


def test_every_docs_path_named_in_code_and_workflows_exists():
    assert broken_code_references() == []


def test_the_checker_sees_a_broken_anchor_and_a_missing_file(tmp_path):
    # The checker must be able to fail: a page with one good and two bad links.
    (tmp_path / "a.md").write_text("# Title\n\n## Two words\n\nsee [x](#two-words), [y](#nope), [z](b.md)\n")
    page = tmp_path / "a.md"
    targets = LINK.findall(_without_code(page.read_text()))
    assert targets == ["#two-words", "#nope", "b.md"]
    assert anchors(page) == {"title", "two-words"}
    assert not (tmp_path / "b.md").exists()


def test_anchors_follow_githubs_rules_for_code_punctuation_and_duplicates(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# CI/CD (GitHub Actions)\n## Before the first `up`\n## Notes\n## Notes\n"
                    "```\n# not a heading\n```\n")
    assert anchors(page) == {"cicd-github-actions", "before-the-first-up", "notes", "notes-1"}


def test_the_readme_fits_on_a_few_screens():
    assert len((ROOT / "README.md").read_bytes()) <= 12 * 1024


# Counts and timings rot as the code moves; they live in bench/README.md with their date and load.
ROTTING = re.compile(r"\b\d[\d,]* (?:tests|passed)\b|\bin \d+(?:\.\d+)? ?(?:s|min|seconds|minutes)\b")


def test_no_test_counts_or_suite_timings_outside_bench():
    pages = [p for p in PAGES if p.parent != ROOT / "bench"]
    assert [f"{p.relative_to(ROOT)}: {m}" for p in pages for m in ROTTING.findall(p.read_text())] == []


if __name__ == "__main__":
    for problem in broken_links() + broken_code_references():
        print(problem)
    sys.exit(0)


# A path of this repository's code, config or tests, as prose and comments name them.
REPO_PATH = re.compile(r"(?<![\w/.-])((?:tests|infra|review|ops|stacks|cicd|policies|bench|\.github)/"
                       r"[\w./-]*\.(?:py|yml|yaml|json|sh|txt))\b")
# Where such a path is an example or another repository's file, not one of ours, and why.
NOT_OUR_PATHS = {
    ("tests/cicd/test_approval.py", "policies/x.py"): "a changed path invented for the approval rules",
    ("tests/cicd/test_approval.py", ".github/workflows/x.yml"): "a changed path invented for the approval rules",
    ("tests/cicd/test_codeowners.py", "policies/x.py"): "a changed path invented for CODEOWNERS matching",
    ("tests/workflows/workflows.py", ".github/scripts/X.sh"): "the shape of a script path, in a docstring",
    ("docs/tutorials/first-deployment.md", ".github/workflows/release.yml"): "pulumi/pulumi's release workflow",
}


def broken_repository_paths(root: Path = ROOT, sources: list[Path] | None = None) -> list[str]:
    if sources is None:
        sources = [*PAGES, *(s for pattern in CODE_GLOBS for s in root.glob(pattern)),
                   root / "stacks" / "pull_request.yaml", root / "pyproject.toml"]
    problems = set()
    for source in sources:
        rel = source.relative_to(root).as_posix()
        if ".venv" in source.parts or not source.is_file() or source == Path(__file__).resolve():
            continue
        for path in REPO_PATH.findall(source.read_text(errors="replace")):
            if (rel, path) not in NOT_OUR_PATHS and not (root / path).exists():
                problems.add(f"{rel}: {path} -> no such file")
    return sorted(problems)


def test_every_repository_path_named_in_docs_and_code_exists():
    # Files move (issue 19 moved a dozen); a comment or page that still names the old place misleads.
    assert broken_repository_paths() == []


def test_the_path_check_sees_a_moved_file(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("see infra/config.py and infra/catalog.py\n")
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "catalog.py").write_text("")
    assert broken_repository_paths(tmp_path, [page]) == ["page.md: infra/config.py -> no such file"]
