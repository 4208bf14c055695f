"""Vercel project settings: deployment protection, fork protection, exposure of source."""

from __future__ import annotations

import re

from pulumi_policy import PolicyConfigSchema

from . import catalog
from ._common import (
    EnforcementLevel,
    Severity,
    as_bool,
    as_list,
    get,
    resource_policy,
    string_list,
    subject,
    violation,
)

_DOCS = "https://vercel.com/docs/deployment-protection"


def _project(args) -> str:
    return subject("Vercel project", args.name)


# --- deployment protection --------------------------------------------------------------

def _check_deployment_protection(args, cfg, report) -> None:
    # Unset is not public: "When omitted on creation, inherits the team default (Standard
    # Protection when the team has no default)" (pulumiverse_vercel 5.21.1 `_inputs.py`,
    # `ProjectVercelAuthenticationArgs.deployment_type`, line 6330, generated from the
    # Terraform provider's schema). Only an explicit "none" turns it off.
    deployment_type = get(args.props, "vercelAuthentication", "deploymentType")
    if deployment_type is not None and str(deployment_type).lower() == "none":
        report(violation(_project(args), 'sets vercelAuthentication.deploymentType to "none".',
                         'use "standard_protection_new", "standard_protection", "all_deployments" or '
                         '"only_preview_deployments", or leave it unset to inherit the team default.'))


ENABLE_DEPLOYMENT_PROTECTION = resource_policy(
    name="vercel-project-enable-deployment-protection",
    description="Vercel projects must not turn off Vercel Authentication for preview deployments.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=[catalog.VERCEL_PROJECT],
    check=_check_deployment_protection,
    remediation_steps='Set vercel_authentication={"deployment_type": "standard_protection_new"} on the Project.',
    url=_DOCS,
)


# --- git fork protection ----------------------------------------------------------------

def _check_git_fork_protection(args, cfg, report) -> None:
    if as_bool(get(args.props, "gitForkProtection")) is False:
        report(violation(_project(args),
                         "disables git fork protection, so pull requests from forks deploy with the "
                         "project's environment variables.",
                         "remove gitForkProtection or set it to true."))


ENABLE_GIT_FORK_PROTECTION = resource_policy(
    name="vercel-project-enable-git-fork-protection",
    description="Vercel projects must keep git fork protection on.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=[catalog.VERCEL_PROJECT],
    check=_check_git_fork_protection,
    url="https://registry.terraform.io/providers/vercel/vercel/latest/docs/resources/project#git_fork_protection",
)


# --- public source ------------------------------------------------------------------------

def _check_public_source(args, cfg, report) -> None:
    if as_bool(get(args.props, "publicSource")) is True:
        report(violation(_project(args),
                         "sets publicSource, which makes /_src and /_logs of every deployment public.",
                         "remove publicSource or set it to false."))


DISALLOW_PUBLIC_SOURCE = resource_policy(
    name="vercel-project-disallow-public-source",
    description="Vercel projects must not expose deployment source and logs publicly.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    types=[catalog.VERCEL_PROJECT],
    check=_check_public_source,
    url="https://registry.terraform.io/providers/vercel/vercel/latest/docs/resources/project#public_source",
)


# --- directory listing --------------------------------------------------------------------

def _check_directory_listing(args, cfg, report) -> None:
    if as_bool(get(args.props, "directoryListing")) is True:
        report(violation(_project(args), "enables directory listing of static output.",
                         "remove directoryListing or set it to false."))


DISALLOW_DIRECTORY_LISTING = resource_policy(
    name="vercel-project-disallow-directory-listing",
    description="Vercel projects must not list directories of their static output.",
    level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    types=[catalog.VERCEL_PROJECT],
    check=_check_directory_listing,
    url="https://registry.terraform.io/providers/vercel/vercel/latest/docs/resources/project#directory_listing",
)


# --- protection bypass for automation -----------------------------------------------------

_BYPASS_SCHEMA = PolicyConfigSchema(properties={
    "allowedBypasses": string_list("Logical resource names whose automation bypass is accepted."),
})


# The pinned SDK (pulumiverse_vercel 5.21.1) has no `Project.protectionBypassForAutomation`: an
# automation bypass is its own `ProjectProtectionBypass` resource, so that is what is judged.
def _check_automation_bypass(args, cfg, report) -> None:
    if args.name in cfg["allowedBypasses"]:
        return
    report(violation(subject("Vercel protection bypass", args.name),
                     "creates a secret that skips deployment protection for anyone who holds it.",
                     "drop the bypass, or add this resource name to allowedBypasses after review."))


RESTRICT_AUTOMATION_BYPASS = resource_policy(
    name="vercel-project-restrict-automation-bypass",
    description="Vercel deployment protection should not be bypassable by an automation secret.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    types=[catalog.VERCEL_PROTECTION_BYPASS],
    check=_check_automation_bypass,
    config=_BYPASS_SCHEMA,
    url=_DOCS,
)


# --- OPTIONS allow-list -------------------------------------------------------------------

# The allow-list is a prefix match; a value that is only slashes/wildcards matches every path.
_CATCH_ALL = re.compile(r"^[\s/*.()]*$")


def _check_options_allowlist(args, cfg, report) -> None:
    for i, path in enumerate(as_list(get(args.props, "optionsAllowlist", "paths"))):
        value = get(path, "value", default="")
        if _CATCH_ALL.match(str(value)):
            report(violation(_project(args),
                             f"optionsAllowlist.paths[{i}] matches every path, so OPTIONS requests to the "
                             "whole deployment skip protection.",
                             "list only the API prefixes that need CORS preflight (e.g. /api/)."))


RESTRICT_OPTIONS_ALLOWLIST = resource_policy(
    name="vercel-project-restrict-options-allowlist",
    description="The OPTIONS allow-list of a Vercel project should not cover every path.",
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    types=[catalog.VERCEL_PROJECT],
    check=_check_options_allowlist,
    url=_DOCS,
)


# --- skew protection ------------------------------------------------------------------------

def _check_skew_protection(args, cfg, report) -> None:
    if get(args.props, "skewProtection") in (None, ""):
        report(violation(_project(args),
                         "has no Skew Protection: after a deployment, browsers still running the previous "
                         "client send requests to the new server, which may not understand them.",
                         'set skew_protection (e.g. "12 hours", pro and enterprise plans) with '
                         "automatically_expose_system_environment_variables=True."))


REQUIRE_SKEW_PROTECTION = resource_policy(
    name="vercel-project-require-skew-protection",
    description="Vercel projects should keep clients of an older deployment on that deployment (Skew Protection).",
    level=EnforcementLevel.ADVISORY,  # ARA's architecture (and not on Hobby): mandatory in its prod config
    severity=Severity.LOW,
    types=[catalog.VERCEL_PROJECT],
    check=_check_skew_protection,
    url="https://vercel.com/docs/skew-protection",
)


POLICIES = [
    REQUIRE_SKEW_PROTECTION,
    ENABLE_DEPLOYMENT_PROTECTION,
    ENABLE_GIT_FORK_PROTECTION,
    DISALLOW_PUBLIC_SOURCE,
    DISALLOW_DIRECTORY_LISTING,
    RESTRICT_AUTOMATION_BYPASS,
    RESTRICT_OPTIONS_ALLOWLIST,
]
