"""Cross-key rules: what one key's value means for another (the Vercel plan's limits, prod and
preview, `pr-<n>` stacks, Postgres names, the app directory, the CA file) and keys nobody reads
(undeclared, or under a foreign namespace). Each returns messages prefixed with the key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from infra.config.checks import clerk_key_host, did_you_mean, show
from infra.config.model import PLAN_LIMITS, config_key, pr_number

CONFIG_NAMESPACES = ("pulumi", "cloudflare", "github", "postgresql", "random", "vercel")
"""Namespaces a stack file may use besides the project's: the CLI's own `pulumi:` keys (`pulumi:tags`)
and the packages of requirements.txt, whose default providers read `<package>:<key>` (the engine's
GetPackageConfig). Anything else reaches the program (the CLI passes every key) and is read by nothing."""


def _plan_checks(v: Mapping[str, Any]) -> list[str]:
    """What the Vercel plan (`vercelPlan`) does not allow, one message per key."""
    plan = v.get("vercel_plan")
    if plan not in PLAN_LIMITS:
        return []
    limits = PLAN_LIMITS[plan]
    key = config_key
    on_plan = f"on the {plan} plan ({key('vercel_plan')})"
    problems: list[str] = []
    if limits.team and not v.get("vercel_team", "x"):
        problems.append(f"{key('vercel_team')}: required {on_plan}: without the team scope the provider "
                        "creates everything in the token owner's personal Hobby scope")
    regions = v.get("function_regions") or ()
    if not limits.multiple_function_regions and len(regions) > 1:
        problems.append(f"{key('function_regions')}: functions run in one region {on_plan}; "
                        f"got {len(regions)} ({', '.join(regions)})")
    duration = v.get("function_max_duration")
    if isinstance(duration, int) and duration > limits.max_function_duration_seconds:
        problems.append(f"{key('function_max_duration')}: at most {limits.max_function_duration_seconds} "
                        f"seconds {on_plan} (got {duration})")
    if not limits.skew_protection and v.get("skew_protection", "off") != "off":
        problems.append(f"{key('skew_protection')}: Skew Protection is not available {on_plan}; set it to off")
    if v.get("vercel_observability_plus") and plan == "hobby":
        problems.append(f"{key('vercel_observability_plus')}: an add-on of the pro and enterprise plans; "
                        f"{key('vercel_plan')} is hobby")
    return problems


def cross_key_problems(stack: str, v: Mapping[str, Any], program_dir: Path) -> list[str]:
    problems: list[str] = _plan_checks(v)
    key = config_key
    if "domain" in v and "dns_zone" in v and not (v["domain"] == v["dns_zone"]
                                                  or v["domain"].endswith("." + v["dns_zone"])):
        problems.append(f"{key('domain')}: {v['domain']!r} is not inside {key('dns_zone')} {v['dns_zone']!r}")
    if v.get("reports_bucket_name") and v.get("reports_bucket_name") == v.get("backups_bucket_name"):
        problems.append(f"{key('backups_bucket_name')}: must differ from {key('reports_bucket_name')}")
    if v.get("domain_git_branch") and v.get("domain_git_branch") == v.get("production_branch"):
        problems.append(f"{key('domain_git_branch')}: the production branch already gets the production domain; "
                        "leave it empty instead")
    if stack == "prod" and v.get("protect_stateful_resources") is False:
        problems.append(f"{key('protect_stateful_resources')}: must stay true in prod "
                        "(databases and buckets are protected)")
    if stack == "prod" and v.get("domain_git_branch"):
        problems.append(f"{key('domain_git_branch')}: the prod domain serves production; leave it empty")
    if stack == "preview" and not v.get("domain_git_branch") and "domain_git_branch" in v:
        problems.append(f"{key('domain_git_branch')}: required in preview (the branch the preview domain follows)")
    problems.extend(_clerk_cross_checks(v))
    problems.extend(_database_cross_checks(v, program_dir))
    problems.extend(_app_directory_problems(v.get("app_directory") or "", program_dir))
    problems.extend(_postgres_name_problems(v))
    problems.extend(_pull_request_checks(stack, v))
    if v.get("github_guardrails") and stack != "prod":
        problems.append(f"{key('github_guardrails')}: only prod owns the repository's guardrails")
    elif v.get("github_guardrails") and not (v.get("github_reviewer_user_ids") or v.get("github_reviewer_team_ids")):
        problems.append(f"{key('github_guardrails')}: the production environment needs a reviewer; set "
                        f"{key('github_reviewer_user_ids')} or {key('github_reviewer_team_ids')}")
    return problems


def _clerk_cross_checks(v: Mapping[str, Any]) -> list[str]:
    """The publishable key belongs to the Clerk instance whose Frontend API the CSP allows: a key of
    another instance (another stack's, a development instance's) signs users in elsewhere."""
    api, key = v.get("clerk_frontend_api"), v.get("clerk_publishable_key")
    if not api or not key:
        return []
    api_host, key_host = api.removeprefix("https://"), clerk_key_host(key)
    if key_host is None or key_host == api_host:
        return []
    return [f"{config_key('clerk_publishable_key')}: is the key of the Clerk instance at {key_host!r}, not of "
            f"{config_key('clerk_frontend_api')} {api_host!r}; set the publishable key of that instance (Clerk "
            "dashboard, API keys) or correct the Frontend API"]


def _pull_request_checks(stack: str, v: Mapping[str, Any]) -> list[str]:
    """A pr-<n> stack belongs to one pull request and one branch; the long-lived stacks to none."""
    key = config_key
    number, branch = pr_number(stack), v.get("pull_request_branch")
    if number is None:
        problems = []
        if v.get("pull_request_number"):
            problems.append(f"{key('pull_request_number')}: only pull-request stacks (pr-<number>) have one")
        if branch:
            problems.append(f"{key('pull_request_branch')}: only pull-request stacks (pr-<number>) have one")
        return problems
    problems = []
    if "pull_request_number" in v and v["pull_request_number"] != number:
        problems.append(f"{key('pull_request_number')}: must be {number}, the number in the stack name {stack!r} "
                        f"(got {v['pull_request_number']})")
    if "pull_request_branch" in v:
        if not branch:
            problems.append(f"{key('pull_request_branch')}: required in a pull-request stack (the branch its "
                            "variables are scoped to); write the stack file with `python -m stacks.prstack`")
        elif branch == v.get("production_branch"):
            problems.append(f"{key('pull_request_branch')}: {show(branch)} is the production branch")
        elif branch == v.get("domain_git_branch"):
            problems.append(f"{key('pull_request_branch')}: {show(branch)} is the branch the preview domain follows; "
                            "its variables belong to the preview stack")
    if v.get("protect_stateful_resources") is True:
        problems.append(f"{key('protect_stateful_resources')}: must be false in a pull-request stack "
                        "(it is destroyed when the pull request closes)")
    if "db_name" in v and not v["db_name"].endswith(f"_pr_{number}"):
        problems.append(f"{key('db_name')}: must end in _pr_{number} so each pull request has its own database "
                        f"(got {v['db_name']!r})")
    return problems


def _app_directory_problems(value: str, program_dir: Path) -> list[str]:
    """appDirectory is uploaded to Vercel: it must be a directory of this repository, not .git."""
    if not value:
        return []
    key = config_key("app_directory")
    program = program_dir.resolve()
    if PurePosixPath(value).is_absolute() or value.startswith("~"):
        return [f"{key}: {show(value)} must be relative to the program directory {program}"]
    try:
        app = (program / value).resolve()  # symlinks resolved: a link out of the repository counts as out
    except (OSError, ValueError) as exc:
        return [f"{key}: {show(value)} cannot be resolved ({getattr(exc, 'strerror', None) or exc})"]
    if not app.is_relative_to(program):
        return [f"{key}: {show(value)} is outside the program directory {program}"]
    if ".git" in app.relative_to(program).parts:
        return [f"{key}: {show(value)} is inside .git; point it at the application's own directory"]
    try:
        is_dir = app.is_dir()
    except OSError:
        is_dir = False
    if not is_dir:
        return [f"{key}: {show(value)} is not a directory (relative to {program_dir})"]
    if app == program:
        # The bundle is rendered inside the program; copying a parent would upload the
        # program, its state files and its virtualenv to Vercel.
        return [f"{key}: {show(value)} contains this program; point it at the application's own directory"]
    return []


# Names Postgres reserves or that this program must never take over: the maintenance database,
# the templates (CREATE DATABASE copies template1), and `pg_`-prefixed role names, which
# CREATE ROLE refuses ("role name ... is reserved", postgres src/backend/commands/user.c).
_SYSTEM_DATABASES = ("postgres", "template0", "template1")


def _postgres_name_problems(v: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    db, admin, admin_db = v.get("db_name"), v.get("db_admin_user"), v.get("db_admin_database")
    if isinstance(admin, str) and admin.startswith("pg_"):
        problems.append(f"{config_key('db_admin_user')}: role names starting with pg_ are reserved by Postgres")
    if not isinstance(db, str) or not db:
        return problems
    key = config_key("db_name")
    if db in _SYSTEM_DATABASES:
        problems.append(f"{key}: {db!r} is a Postgres system database; the program would own and manage it")
    elif db == admin_db:
        problems.append(f"{key}: must differ from {config_key('db_admin_database')} ({db!r}), "
                        "the database the admin connection opens")
    if db.startswith("pg_"):
        problems.append(f"{key}: must not start with pg_: its roles {db}_owner, {db}_app and {db}_backup "
                        "would be reserved names Postgres refuses")
    kinds = ("owner", "app", "backup")
    for role in (f"{db}_{r}" for r in kinds):
        if role == admin:
            problems.append(f"{key}: the program's role {role!r} would be the admin role {config_key('db_admin_user')}")
    return problems


def _normalised(namespace: str) -> str:
    return re.sub(r"[^a-z0-9]", "", namespace.lower())


def undeclared_key_problems(project: str, keys: Iterable[str], declared: Iterable[str],
                            namespaces: Iterable[str] = CONFIG_NAMESPACES) -> list[str]:
    """Keys no one reads: in this project's namespace (or a misspelling of it) but not declared in
    Pulumi.yaml, or under a namespace that is neither the project's nor one of `namespaces`.

    Pulumi passes such keys to the program silently, so a misspelt `dbSslMode`, or `ara:hstsPreload`
    for `ara-infra:hstsPreload`, would leave the default in place without a word.
    """
    declared = sorted(declared)
    namespaces = set(namespaces)
    problems = []
    for full in sorted(keys):
        namespace, sep, name = full.partition(":")
        if not sep:
            continue
        if namespace == project:
            if name not in declared:
                problems.append(f"{full}: not a key of this program (not declared in Pulumi.yaml)"
                                f"{did_you_mean(name, declared)}")
            continue
        if namespace in namespaces:
            continue
        close = difflib.get_close_matches(name, declared, n=1)
        meant = name if name in declared else (close[0] if close else None)
        if _normalised(namespace) == _normalised(project) or \
                difflib.SequenceMatcher(None, namespace, project).ratio() >= 0.8:
            problems.append(f"{full}: namespace {namespace!r} is not this project's; "
                            f"did you mean '{project}:{meant or name}'?")
        else:
            hint = f"; did you mean '{project}:{meant}'?" if meant else ""
            problems.append(f"{full}: namespace {namespace!r} is neither this project's ({project}) nor one of "
                            f"{', '.join(sorted(namespaces))}; nothing reads the key{hint}")
    return problems


def _database_cross_checks(v: Mapping[str, Any], program_dir: Path) -> list[str]:
    """The CA file the provider verifies the server with: present, a PEM certificate, with a verifying sslmode."""
    key = config_key
    path = v.get("db_ssl_root_cert")
    if not path:
        return []
    problems: list[str] = []
    if v.get("db_ssl_mode") not in ("verify-ca", "verify-full"):
        problems.append(f"{key('db_ssl_root_cert')}: only used to verify the server; set {key('db_ssl_mode')} "
                        f"to verify-ca or verify-full (got {v.get('db_ssl_mode')!r})")
    file = program_dir / path
    try:
        pem = file.read_text(errors="replace")
    except OSError:
        problems.append(f"{key('db_ssl_root_cert')}: {path!r} is not a readable file (relative to {program_dir})")
    else:
        if "-----BEGIN CERTIFICATE-----" not in pem:
            problems.append(f"{key('db_ssl_root_cert')}: {path!r} holds no PEM certificate")
    return problems
