"""The Vercel project: framework, build settings, git integration, functions, protection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumiverse_vercel as vercel

from infra import catalog
from infra.config import SkewProtection

_SECONDS = {"30 minutes": 1800, "12 hours": 43_200, "1 day": 86_400, "7 days": 604_800}
"""Skew Protection ages (terraform-provider-vercel resource_project.go `toSkewProtectionAge`)."""
_RETENTION_SECONDS = {"1d": 86_400, "1w": 604_800, "1m": 2_592_000, "2m": 5_184_000, "3m": 7_776_000,
                      "6m": 15_552_000, "1y": 31_536_000, "unlimited": float("inf")}
"""Deployment retention periods (resource_project_deployment_retention.go, OneOf), a month as 30 days."""


@dataclass(frozen=True, kw_only=True)
class WebProjectArgs:
    """Inputs of `WebProject`."""

    project_name: str
    """Vercel project name; required."""
    git_repository: str
    """GitHub repository "owner/name"; required."""
    production_branch: str = "main"
    """Branch deployed to production; defaults to "main" (other branches get previews)."""
    framework: str = "astro"
    """Framework preset; defaults to "astro"."""
    build_command: str = "npm run build"
    """Build command; defaults to "npm run build"."""
    output_directory: str = "dist"
    """Build output directory; defaults to "dist"."""
    install_command: str = "npm ci"
    """Install command; defaults to "npm ci"."""
    dev_command: str = "npm run dev"
    """Local dev command; defaults to "npm run dev"."""
    function_regions: Sequence[str] = ("iad1", "sfo1")
    """Function regions; defaults to iad1 and sfo1."""
    function_max_duration: int = 30
    """Default function timeout in seconds; defaults to 30."""
    deployment_protection: str = "standard_protection_new"
    """Vercel Authentication scope; defaults to Standard Protection (all but the production domain)."""
    production_retention: str = "3m"
    """How long production deployments are kept; defaults to 3 months (the rollback window)."""
    preview_retention: str = "1m"
    """How long preview deployments are kept; defaults to 1 month."""
    skew_protection: SkewProtection = "off"
    """How long clients of an older production deployment keep reaching it; defaults to off. At most the
    production retention ("You can configure a custom maximum age up to your project's retention policy",
    vercel.com/docs/skew-protection, Limitations)."""

    def __post_init__(self) -> None:
        age = _SECONDS.get(self.skew_protection, 0)
        if age > _RETENTION_SECONDS[self.production_retention]:
            raise ValueError(f"skew_protection: {self.skew_protection} outlives the production deployments it "
                             f"protects (production_retention {self.production_retention})")


class _SkewProtectionInputs(TypedDict, total=False):
    skew_protection: str
    automatically_expose_system_environment_variables: bool


class WebProject(pulumi.ComponentResource):
    """The Vercel project that builds and serves ARA."""

    project_id: pulumi.Output[str]
    """The Vercel project id."""
    project_name: pulumi.Output[str]
    """The Vercel project name."""

    def __init__(self, name: str, args: WebProjectArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_WEB_PROJECT, name, None, opts)
        project = vercel.Project(
            f"{name}-project",
            name=args.project_name,
            framework=args.framework,
            build_command=args.build_command,
            output_directory=args.output_directory,
            install_command=args.install_command,
            dev_command=args.dev_command,
            git_repository=vercel.ProjectGitRepositoryArgs(
                type="github", repo=args.git_repository, production_branch=args.production_branch
            ),
            resource_config=vercel.ProjectResourceConfigArgs(
                function_default_regions=list(args.function_regions),
                function_default_timeout=args.function_max_duration,
            ),
            vercel_authentication=vercel.ProjectVercelAuthenticationArgs(deployment_type=args.deployment_protection),
            # Fork PRs must be approved before they build with the project's secrets.
            git_fork_protection=True,
            directory_listing=False,
            # Every pull request gets a comment with its preview URL, as the guide's workflow expects.
            git_comments=vercel.ProjectGitCommentsArgs(on_pull_request=True, on_commit=False),
            **self._skew_protection(args),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Every deployment keeps the variables it was built with and stays reachable at its own
        # URL; without a retention policy an old deployment holds a rotated secret for the
        # provider's default year (resource_project_deployment_retention.go:84-87).
        vercel.ProjectDeploymentRetention(
            f"{name}-retention",
            project_id=project.id,
            expiration_production=args.production_retention,
            expiration_preview=args.preview_retention,
            expiration_canceled="1w",
            expiration_errored="1w",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.project_id = project.id
        self.project_name = project.name
        self.register_outputs({"project_id": self.project_id, "project_name": self.project_name})

    @staticmethod
    def _skew_protection(args: WebProjectArgs) -> _SkewProtectionInputs:
        """Skew Protection, and the system variables it works through (VERCEL_DEPLOYMENT_ID,
        VERCEL_SKEW_PROTECTION_ENABLED: "Ensure your project has the Automatically expose system
        environment variables setting enabled", vercel.com/docs/skew-protection). Off declares
        neither, so existing settings stay as they are."""
        if args.skew_protection == "off":
            return {}
        return {"skew_protection": args.skew_protection, "automatically_expose_system_environment_variables": True}

