"""A CODEOWNERS file read as GitHub reads it: who owns each path.

GitHub's rules (docs.github.com, "About code owners", github/docs
`content/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners.md`):

* each line is a pattern followed by owners (`@user`, `@org/team`, or an e-mail address); `#` starts
  a comment, also after the owners;
* patterns follow gitignore's rules, except that `!` (negation), `[ ]` (character ranges) and a
  `\\#` escape do not work; a line using one of them is invalid and skipped;
* the last matching pattern wins; a matching pattern with no owners leaves the path unowned;
* paths are case sensitive; `docs/*` matches `docs/a.md` but not `docs/sub/b.md`, while `/build/logs/`,
  `apps/` and `/apps/github` own everything beneath them.

Only the standard library: the pull-request gate runs this from the base branch before anything of
the pull request is installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 3 * 1024 * 1024
"""GitHub does not load a CODEOWNERS file of 3 MB or more (same docs, "CODEOWNERS file size")."""

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
"""Where GitHub looks, in this order; the first one found is used (same docs, "CODEOWNERS file location")."""

_USER = re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_TEAM = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class CodeOwnersError(ValueError):
    """A CODEOWNERS file that cannot be read (named in the message)."""


@dataclass(frozen=True)
class Rule:
    """One line: its pattern, its owners and where it is."""

    line: int
    pattern: str
    owners: tuple[str, ...]
    regex: re.Pattern[str]

    @property
    def users(self) -> tuple[str, ...]:
        """Owners that are single accounts (`@login`), as lower-case logins."""
        return tuple(o[1:].lower() for o in self.owners if _USER.fullmatch(o))

    @property
    def unverifiable(self) -> tuple[str, ...]:
        """Owners a workflow's GITHUB_TOKEN cannot resolve to accounts: teams (membership needs an
        organization permission the token does not have) and e-mail addresses."""
        return tuple(o for o in self.owners if not _USER.fullmatch(o))


@dataclass(frozen=True)
class CodeOwners:
    """The rules of one file, in file order, and the lines GitHub would skip."""

    rules: tuple[Rule, ...]
    skipped: tuple[str, ...] = ()

    def owner_of(self, path: str) -> Rule | None:
        """The rule that decides `path` (a repository-relative path with `/`), or None."""
        for rule in reversed(self.rules):
            if rule.regex.fullmatch(path):
                return rule if rule.owners else None
        return None

    @property
    def users(self) -> frozenset[str]:
        """Every single-account owner named anywhere in the file (lower-case logins)."""
        return frozenset(u for rule in self.rules for u in rule.users)


def _segment(glob: str) -> str:
    out = []
    for ch in glob:
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A regex matching every file path the pattern owns (see the module docstring)."""
    directory = pattern.endswith("/")
    body = pattern.strip("/")
    # gitignore: a slash at the start or in the middle anchors the pattern to the root.
    anchored = pattern.startswith("/") or "/" in body
    parts = body.split("/")
    regex: list[str] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            regex.append("(?:.*)" if last else "(?:[^/]+/)*")
            continue
        regex.append(_segment(part) + ("" if last else "/"))
    core = "".join(regex)
    prefix = "" if anchored else "(?:[^/]+/)*"
    if parts[-1] == "*" and not directory:
        tail = ""  # `docs/*`: direct children only, as GitHub documents
    elif parts[-1] == "**":
        tail = ""
    else:
        tail = "(?:/.*)" + ("" if directory else "?")
    return re.compile(prefix + core + tail)


def _invalid(pattern: str) -> str | None:
    if pattern.startswith("!"):
        return "negation (!) does not work in CODEOWNERS"
    if "[" in pattern or "]" in pattern:
        return "character ranges ([ ]) do not work in CODEOWNERS"
    if pattern.startswith("\\#"):
        return "escaping # does not work in CODEOWNERS"
    return None


def parse(text: str) -> CodeOwners:
    """Every rule of a CODEOWNERS text, and a note for each line GitHub would skip."""
    rules: list[Rule] = []
    skipped: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        pattern, *owners = line.split()
        why = _invalid(pattern) or next(
            (f"owner {o!r} is neither @user, @org/team nor an e-mail address" for o in owners
             if not (_USER.fullmatch(o) or _TEAM.fullmatch(o) or _EMAIL.fullmatch(o))), None)
        if why:
            skipped.append(f"line {number}: {why}; GitHub skips it")
            continue
        rules.append(Rule(number, pattern, tuple(owners), compile_pattern(pattern)))
    return CodeOwners(tuple(rules), tuple(skipped))


def load(root: Path) -> tuple[Path | None, CodeOwners]:
    """The CODEOWNERS file GitHub would use in the tree at `root` (None: the tree has none)."""
    for location in LOCATIONS:
        path = root / location
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise CodeOwnersError(f"{location}: not a regular file")
        if path.is_file():
            data = path.read_bytes()
            if len(data) >= MAX_BYTES:
                raise CodeOwnersError(
                    f"{location}: {len(data)} bytes; GitHub ignores a CODEOWNERS file of 3 MB or more")
            try:
                return path, parse(data.decode("utf-8"))
            except UnicodeDecodeError:
                raise CodeOwnersError(f"{location}: not UTF-8 text") from None
    return None, CodeOwners(())
