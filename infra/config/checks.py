"""Per-key checks: `CHECKS` (each key's validators, each returning a message or None),
`SECRET_CHECKS` (secrets, checked for shape only, never echoed), and the small validators they use
(`git_branch_problem`, `https_origin_problem`, …). Messages name the problem, never a credential.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any, get_args

from infra import catalog, regions
from infra.config.model import (
    FRAMEWORKS,
    MIN_RATE_LIMIT_WINDOW_SECONDS,
    SKEW_PROTECTION,
    VERCEL_PLANS,
    ManagedRulesMode,
    branch_slug,
)

DEPLOYMENT_PROTECTION = ("standard_protection_new", "standard_protection", "all_deployments",
                         "only_preview_deployments")
R2_LOCATIONS = ("apac", "eeur", "enam", "weur", "wnam", "oc")
R2_JURISDICTIONS = ("default", "eu", "fedramp")
SSL_MODES = ("require", "verify-ca", "verify-full")
ONE_YEAR = 31_536_000

# --- value checks: each returns an error message or None -------------------------------

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# GitHub: an owner (user or organization) is 1-39 letters, digits or single inner hyphens; a
# repository name 1-100 letters, digits, '.', '_' or '-', never '.' or '..'.
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_GITHUB_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
# An https URL's origin part: host (no userinfo) and an optional port, nothing after it.
_HTTPS_ORIGIN = re.compile(r"https://(?P<host>[^/:?#@\s]+)(?::(?P<port>[^/?#\s]*))?")
# CSP hash-source (CSP3 "hash-source": base64 or base64url of the digest) and each digest's size.
_SCRIPT_HASH = re.compile(r"(?P<alg>sha256|sha384|sha512)-(?P<b64>[A-Za-z0-9+/_-]+={0,2})")
_DIGEST_BYTES = {"sha256": 32, "sha384": 48, "sha512": 64}
# A Clerk publishable key: pk_live_/pk_test_ and the base64 (unpadded) of "<Frontend API host>$"
# (Clerk's SDKs decode it so: @clerk/shared keys.ts `parsePublishableKey`).
_CLERK_PUBLISHABLE_KEY = re.compile(r"pk_(?P<kind>live|test)_(?P<b64>[A-Za-z0-9+/]+={0,2})")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
# A team slug (the URL name) or a team id (team_...): provider.go:204-220 resolves either.
_VERCEL_TEAM = re.compile(r"^(team_[A-Za-z0-9]{1,64}|[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?)$")


NOT_SHOWN = "a value shaped like a credential, not shown"


def show(value: Any, limit: int = 60) -> str:
    """repr() of a (non-secret) value for a message, cut short: messages name, they do not dump. A
    value shaped like a credential (catalog.contains_credential) is never shown, whatever key it is
    under: a secret pasted into a public key must not reach a log."""
    if any(catalog.contains_credential(v) for v in (value if isinstance(value, tuple) else (value,))):
        return NOT_SHOWN
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value))} characters)"


@functools.cache
def _public_suffixes() -> Any:
    from publicsuffixlist import PublicSuffixList  # noqa: PLC0415 - the list loads on first use

    return PublicSuffixList()


def is_public_suffix(host: str) -> bool:
    """True for a public suffix (Mozilla's Public Suffix List, ICANN and private: co.uk, vercel.app),
    under which anyone can register a site."""
    return bool(_public_suffixes().is_public(host))


def https_origin_problem(v: str, *, wildcard: bool, port: bool) -> str | None:
    """Why `v` is not an https origin (`https://host[:port]`, no path), or None. `wildcard`: allow
    `*` as the whole first label of a domain that is not a public suffix; `port`: allow 1-65535."""
    match = _HTTPS_ORIGIN.fullmatch(v)
    if "@" in v.partition("://")[2]:
        return f"must be an https origin without a user or password (got {show(v)})"
    if not match:
        return f"must be an https origin without a path, such as https://api.example.com (got {show(v)})"
    host, given_port = match["host"], match["port"]
    if given_port is not None and not port:
        return f"must name the host without a port (got {show(v)})"
    if given_port is not None and not (re.fullmatch(r"[1-9][0-9]{0,4}", given_port) and int(given_port) <= 65535):
        return f"has port {given_port!r}: a port is a number from 1 to 65535 (got {show(v)})" \
            if not catalog.contains_credential(v) else f"has a port that is not a number (got {show(v)})"
    if "*" in host:
        base = host[2:]
        if not wildcard:
            return f"must name one host, without a wildcard (got {show(v)})"
        if not host.startswith("*.") or "*" in base or not _HOST.fullmatch(base):
            return f"may hold a wildcard only as its whole first label, as in https://*.example.com (got {show(v)})"
        if is_public_suffix(base):
            return (f"*.{base} matches every site under the public suffix {base!r} (Public Suffix List); "
                    f"name the site's own domain, as in https://*.example.{base} (got {show(v)})")
        return None
    if not _HOST.fullmatch(host):
        return f"must be an https origin whose host is a lowercase DNS name (got {show(v)})"
    return None


def clerk_key_host(key: str) -> str | None:
    """The Frontend API host a Clerk publishable key encodes, or None when it encodes none."""
    match = _CLERK_PUBLISHABLE_KEY.fullmatch(key)
    if not match:
        return None
    b64 = match["b64"].rstrip("=")
    try:
        decoded = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    host = decoded.removesuffix("$")
    return host if decoded.endswith("$") and _HOST.fullmatch(host) else None


def _clerk_publishable_key(v: str) -> str | None:
    if not _CLERK_PUBLISHABLE_KEY.fullmatch(v):
        return f"must be a Clerk publishable key (pk_live_... or pk_test_...) (got {show(v)})"
    if clerk_key_host(v) is None:
        return (f"is not a Clerk publishable key: after pk_live_/pk_test_ comes the base64 of "
                f"\"<Frontend API host>$\" (got {show(v)})")
    return None


def _repository(v: str) -> str | None:
    owner, sep, name = v.partition("/")
    if not sep or not _GITHUB_OWNER.fullmatch(owner) or not _GITHUB_NAME.fullmatch(name) or name in (".", ".."):
        return (f"must be a GitHub repository 'owner/name': owner 1-39 letters, digits or inner hyphens, name "
                f"1-100 letters, digits, '.', '_' or '-' and not '.' or '..' (got {show(v)})")
    if name.lower().endswith(".git"):
        return f"must name the repository without .git (got {show(v)})"
    return None


def _script_hash(v: str) -> str | None:
    match = _SCRIPT_HASH.fullmatch(v)
    example = "sha256-<44 characters of base64>, from `openssl dgst -sha256 -binary script.js | openssl base64`"
    if not match:
        return f"must be a CSP hash such as {example} (got {show(v)})"
    body = match["b64"].rstrip("=")
    padding = len(match["b64"]) - len(body)
    b64 = body.replace("-", "+").replace("_", "/")
    try:
        digest = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    size = _DIGEST_BYTES[match["alg"]]
    if len(digest) != size or (padding and (len(body) + padding) % 4):
        return (f"must be the base64 of a {size}-byte {match['alg']} digest ({4 * ((size + 2) // 3)} characters "
                f"with padding), such as {example} (got {show(v)})")
    return None


def _function_region(v: str) -> str | None:
    if v in regions.FUNCTION_REGIONS:
        return None
    return (f"must be a Vercel function region: one of {', '.join(regions.FUNCTION_REGIONS)} (pinned in "
            f"infra/regions.py on {regions.PINNED_ON}; `python -m infra.regions --refresh` updates it) "
            f"(got {show(v)}{did_you_mean(v, regions.FUNCTION_REGIONS)})")


def _one_of(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda v: None if v in options else f"must be one of {', '.join(options)} (got {show(v)})"


def _between(lo: int, hi: int) -> Callable[[Any], str | None]:
    return lambda v: None if lo <= v <= hi else f"must be between {lo} and {hi} (got {v})"


def _matches(pattern: re.Pattern[str], what: str) -> Callable[[Any], str | None]:
    # fullmatch: a `$`-anchored pattern alone lets "name\n" through.
    return lambda v: None if pattern.fullmatch(v) else f"must be {what} (got {show(v)})"


def did_you_mean(value: str, options: Iterable[str]) -> str:
    options = list(options)
    folded = {o.lower(): o for o in options}
    close = [folded[value.lower()]] if value.lower() in folded else difflib.get_close_matches(value, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _framework(v: str) -> str | None:
    if v in FRAMEWORKS:
        return None
    return (f"must be a Vercel framework preset such as astro or nextjs (got {show(v)}"
            f"{did_you_mean(v, FRAMEWORKS)})")


def _command(v: str) -> str | None:
    if not v.strip():
        return "must be a command (leave the key out to use the default)"
    return None if len(v) <= 256 else f"must be at most 256 characters (got {len(v)})"


def _relative_directory(v: str) -> str | None:
    # A directory inside the build: relative, no `..`, no drive or home expansion.
    path = PurePosixPath(v)
    if not v or path.is_absolute() or ".." in path.parts or not re.fullmatch(r"[A-Za-z0-9._/-]{1,256}", v):
        return f"must be a relative directory such as dist, without '..' (got {show(v)})"
    return None


def git_branch_problem(name: str) -> str | None:
    """Why git refuses `name` as a branch (`git check-ref-format --branch`), or None.

    git refs.c `check_branch_ref`: no leading '-', not 'HEAD', then `check_refname_format` on
    refs/heads/<name>: no component starting with '.' or ending with '.lock', no '..', '@{',
    '//', control characters, space or any of ~^:?*[\\, no leading '/', no trailing '/' or '.'.
    On top of git: at most 100 characters, and a name that leaves something once slugged
    (branch_slug), since per-branch resources are named after the slug.
    """
    why = None
    if not name:
        why = "is empty"
    elif name.startswith("-"):
        why = "starts with '-'"
    elif name == "HEAD":
        why = "is reserved by git"
    elif re.search(r"[\x00-\x20\x7f~^:?*\[\\]", name):
        why = "contains a space, a control character or one of ~^:?*[\\"
    elif ".." in name or "@{" in name or "//" in name:
        why = "contains '..', '@{' or '//'"
    elif name.startswith("/") or name.endswith(("/", ".")):
        why = "starts with '/' or ends with '/' or '.'"
    elif any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        why = "has a part starting with '.' or ending with '.lock'"
    elif len(name) > 100:
        why = f"is longer than 100 characters ({len(name)})"
    elif not branch_slug(name):
        why = "has no letters or digits (resource names are made from them)"
    return f"must be a git branch name: {show(name)} {why}" if why else None


def _branch_or_empty(v: str) -> str | None:
    return None if v == "" else git_branch_problem(v)


def _no_duplicates(values: tuple[str, ...]) -> str | None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            return f"lists {show(v)} more than once"
        seen.add(v)
    return None


def _control_characters(value: str, *, allow_newlines: bool = False) -> bool:
    """True when `value` holds a control, format or line-separator character (category C*, Zl, Zp)."""
    allowed = "\n\r\t" if allow_newlines else ""
    return any(unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")
               for c in value if c not in allowed)


def _each(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    def run(values: tuple[str, ...]) -> str | None:
        errors = [e for e in (check(v) for v in values) if e]
        return errors[0] if errors else None
    return run


def _r2_location(v: str) -> str | None:
    if v == "auto":
        return ("'auto' is not an R2 location hint (the seed guide's Terraform value); use one of "
                f"{', '.join(R2_LOCATIONS)} or leave it empty to let Cloudflare choose")
    return None if v in ("", *R2_LOCATIONS) else f"must be empty or one of {', '.join(R2_LOCATIONS)} (got {show(v)})"


def _clerk_frontend_api(v: str) -> str | None:
    """Clerk's Frontend API is one host (https://clerk.<domain>): no port, no wildcard."""
    if v == "":
        return None
    problem = https_origin_problem(v, wildcard=False, port=False)
    return f"must be empty or {problem.removeprefix('must be ')}" if problem and problem.startswith("must be ") \
        else problem


def _nonempty(v: tuple[str, ...]) -> str | None:
    return None if v else "must list at least one value"


CHECKS: dict[str, list[Callable[[Any], str | None]]] = {
    "vercel_plan": [_one_of(VERCEL_PLANS)],
    "vercel_team": [lambda v: None if v == "" or _VERCEL_TEAM.match(v) else
                    f"must be empty, a Vercel team slug or a team id (team_...) (got {show(v)})"],
    "cloudflare_account_id": [_matches(_HEX32, "a 32-character hex Cloudflare account id")],
    # The provider's own rule: LengthBetween(1, 52) and ^[a-z0-9\-]{0,100}$ (terraform-provider-vercel
    # vercel/resource_project.go:94-101); "." and "_" would fail at preview.
    "vercel_project_name": [_matches(re.compile(r"^[a-z0-9-]{1,52}$"),
                                     "a Vercel project name: 1-52 lowercase letters, digits or hyphens")],
    "git_repository": [_repository],
    "github_infra_repository": [_repository],
    "production_branch": [git_branch_problem],
    "framework": [_framework],
    "build_command": [_command],
    "install_command": [_command],
    "dev_command": [_command],
    "output_directory": [_relative_directory],
    "function_regions": [_nonempty, _each(_function_region)],
    "function_max_duration": [_between(1, 900)],
    "deployment_protection": [_one_of(DEPLOYMENT_PROTECTION)],
    "skew_protection": [_one_of(SKEW_PROTECTION)],
    "rate_limit_requests": [_between(1, 1_000_000)],
    "rate_limit_window_seconds": [_between(MIN_RATE_LIMIT_WINDOW_SECONDS, 3600)],
    "firewall_managed_rules": [_one_of(get_args(ManagedRulesMode))],
    "rate_limit_path": [_matches(re.compile(r"^/[A-Za-z0-9/_.-]*$"), "a path starting with /")],
    "hsts_max_age": [lambda v: None if v >= ONE_YEAR else f"must be at least {ONE_YEAR} (one year; got {v})"],
    "clerk_frontend_api": [_clerk_frontend_api],
    "preview_clerk_frontend_api": [_clerk_frontend_api],
    "csp_connect_sources": [_each(lambda v: https_origin_problem(v, wildcard=True, port=True))],
    "csp_script_hashes": [_each(_script_hash)],
    "domain": [_matches(_HOST, "a lowercase DNS name")],
    "dns_zone": [_matches(_HOST, "a lowercase DNS zone name")],
    "domain_git_branch": [_branch_or_empty],
    "reports_bucket_name": [_matches(_BUCKET, "3-63 lowercase letters, digits or hyphens")],
    "backups_bucket_name": [_matches(_BUCKET, "3-63 lowercase letters, digits or hyphens")],
    "r2_location": [_r2_location],
    "r2_jurisdiction": [_one_of(R2_JURISDICTIONS)],
    "backup_retention_days": [_between(1, 3650)],
    "db_host": [_matches(_HOST, "a DNS host name")],
    "db_port": [_between(1, 65535)],
    "db_admin_user": [_matches(re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$"), "a Postgres role name")],
    "db_admin_database": [_matches(_IDENT, "a lowercase Postgres identifier")],
    "db_ssl_mode": [lambda v: None if v in SSL_MODES else
                    f"must be one of {', '.join(SSL_MODES)}: connections without TLS are not allowed (got {show(v)})"],
    # Roles are named <db>_owner, <db>_app and <db>_backup; Postgres truncates names past 63 characters.
    "db_name": [_matches(_IDENT, "a lowercase Postgres identifier"),
                lambda v: None if len(v) <= 56 else
                f"must be at most 56 characters so <db>_backup fits 63 (got {len(v)})"],
    # 0 stops the app's new sessions: docs/how-to/runbooks/rollback.md, "Data", step 1.
    "db_connection_limit": [_between(0, 10_000)],
    "db_rotation_connections": [_between(0, 10_000)],
    "db_password_version": [_between(1, 1_000_000)],
    "clerk_publishable_key": [_clerk_publishable_key],
    "generated_keys_version": [_between(1, 1_000_000)],
    "extra_preview_environments": [lambda v: None if not v else (
        "removed: each pull request now gets its own stack pr-<number> (docs/how-to/pull-request-stacks.md). "
        "Delete the key from the stack file; the next `pulumi up` of preview then deletes the branch databases, "
        "keys and variables it declared (dump any branch data you need first); the preview stack's own resources "
        "stay as they are")],
    "pull_request_number": [_between(0, 999_999_999)],
    "pull_request_branch": [_branch_or_empty],
    "github_reviewer_user_ids": [_each(_matches(re.compile(r"^[1-9][0-9]{0,14}$"), "a numeric GitHub user id")),
                                 lambda v: None if len(v) <= 6 else f"GitHub takes at most 6 (got {len(v)})"],
    "github_reviewer_team_ids": [_each(_matches(re.compile(r"^[1-9][0-9]{0,14}$"), "a numeric GitHub team id")),
                                 lambda v: None if len(v) <= 6 else f"GitHub takes at most 6 (got {len(v)})"],
}

# Database server: PostgreSQL 14 and older leave schema public to a superuser, so a non-superuser
# admin cannot take CREATE away from PUBLIC there (catalog.PG_MIN_SERVER_MAJOR_VERSION).
MIN_DB_SERVER_MAJOR_VERSION = catalog.PG_MIN_SERVER_MAJOR_VERSION
CHECKS |= {
    "db_server_major_version": [
        lambda v: None if v >= MIN_DB_SERVER_MAJOR_VERSION else (
            f"PostgreSQL {v} is not supported: {MIN_DB_SERVER_MAJOR_VERSION} or newer is required (on 14 and older "
            "PUBLIC may create tables in schema public and a non-superuser admin cannot revoke it); "
            "upgrade the server"),
        _between(MIN_DB_SERVER_MAJOR_VERSION, 99),
    ],
    "db_ssl_root_cert": [_matches(re.compile(r"^$|^[A-Za-z0-9_./-]+\.(pem|crt)$"),
                                  "empty or the path of a .pem/.crt file")],
}

# Secrets are checked for shape only; messages never include the value.
SECRET_CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "upstash_redis_url": (lambda v: bool(re.fullmatch(r"rediss://[^\s:@/]*:[^\s@/]+@[a-z0-9.-]+(:\d{1,5})?/?", v)),
                          "must be a rediss://<user>:<password>@<host>[:port] URL (TLS)"),
    # Sentry's DSN: https://<public key>[:<secret>]@<host>[:port]/[<path>/]<project id>
    # (develop.sentry.dev/sdk/overview/, "Parsing the DSN").
    "sentry_dsn": (lambda v: bool(re.fullmatch(
        r"https://[A-Za-z0-9-]+(:[A-Za-z0-9-]+)?@[a-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._-]+)*/[0-9]+", v)),
        "must be an https://<key>@<host>/<project id> DSN"),
    "clerk_secret_key": (lambda v: bool(re.fullmatch(r"sk_(live|test)_[A-Za-z0-9]+", v)),
                         "must be a Clerk secret key (sk_live_... or sk_test_...)"),
    # Clerk's JWT verification key is a PEM public key; newlines may be real or written as \n.
    "clerk_jwt_key": (lambda v: bool(re.fullmatch(
        r"\s*-----BEGIN PUBLIC KEY-----(\s|\\n)+([A-Za-z0-9+/=]+(\s|\\n)+)+-----END PUBLIC KEY-----\s*", v)),
        "must be a PEM public key (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)"),
}
MULTILINE_SECRETS = frozenset({"clerk_jwt_key"})
"""Secrets that may span lines (PEM); every other secret is one line without control characters."""


MIN_SECRET_LENGTH = 16
"""Shorter values are refused: no credential this program takes is that short, and a review of its
output cannot keep a short value out of it without turning every copy of that text into [secret]
(a common word such as `production` would reveal itself that way)."""


def secret_problem(name: str, raw: str) -> str | None:
    """What is wrong with a secret's value, in words that never include the value."""
    if not raw.strip():
        return "is empty or blank"
    if _control_characters(raw, allow_newlines=name in MULTILINE_SECRETS):
        return "contains a line break or control character (a pasted newline?)"
    check = SECRET_CHECKS.get(name)
    if check and not check[0](raw):
        return check[1]
    return weak_secret_problem(raw)


def weak_secret_problem(raw: str) -> str | None:
    """Why a secret value is too weak to be a credential (words only, never the value), or None."""
    if len(raw.strip()) < MIN_SECRET_LENGTH:
        return f"is too short to be a credential (fewer than {MIN_SECRET_LENGTH} characters)"
    if re.fullmatch(r"[A-Za-z]+(?:[ _-][A-Za-z]+)*", raw.strip()):
        return "is made of words, not a credential"
    return None



def value_problem(name: str, value: Any) -> str | None:
    """The first problem of one parsed, non-secret value: characters, duplicates, then its checks."""
    items = value if isinstance(value, tuple) else (value,) if isinstance(value, str) else ()
    for item in items:
        if _control_characters(item):
            return f"must not contain line breaks or control characters (got {show(item)})"
    if isinstance(value, tuple) and (error := _no_duplicates(value)):
        return error
    for check in CHECKS.get(name, []):
        if error := check(value):
            return error
    return None
