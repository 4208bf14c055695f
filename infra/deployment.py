"""Deploy the application code from a sibling directory, with the security headers in vercel.json."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumiverse_vercel as vercel

from infra import catalog
from infra.headers import render_vercel_json

# Local secrets (.env*) and build artefacts never leave the machine.
BUNDLE_IGNORE = shutil.ignore_patterns(
    ".git", "node_modules", ".vercel", ".astro", "dist", "build", ".venv", "venv", ".env", ".env.*", "Pulumi.*.yaml",
)


def render_bundle(app_dir: Path, out_dir: Path, headers: Mapping[str, str]) -> Path:
    """Copy the app to `out_dir` and merge the header block into its vercel.json.

    The app directory itself is never written to; the bundle is rebuilt on every run
    so a file deleted from the app disappears from the deployment too.
    """
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(app_dir, out_dir, ignore=BUNDLE_IGNORE)
    vercel_json = out_dir / "vercel.json"
    existing = vercel_json.read_text() if vercel_json.exists() else None
    vercel_json.write_text(render_vercel_json(existing, headers))
    return out_dir


@dataclass(frozen=True, kw_only=True)
class AppDeploymentArgs:
    """Inputs of `AppDeployment`."""

    project_id: pulumi.Input[str]
    """Vercel project to deploy to; required."""
    app_directory: str
    """Application directory, relative to the program; required."""
    bundle_directory: str
    """Where the rendered bundle goes, relative to the program; required."""
    headers: Mapping[str, str]
    """Security headers to render into vercel.json; required."""
    production: bool
    """Deploy to production (prod stack) or as a preview; required."""
    framework: str = "astro"
    """Framework preset for the build; defaults to "astro"."""
    build_command: str = "npm run build"
    """Build command; defaults to "npm run build"."""
    install_command: str = "npm ci"
    """Install command; defaults to "npm ci"."""
    output_directory: str = "dist"
    """Build output directory; defaults to "dist"."""


class AppDeployment(pulumi.ComponentResource):
    """A Vercel deployment of the files in the application directory."""

    url: pulumi.Output[str]
    """The deployment's unique URL."""

    def __init__(self, name: str, args: AppDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_APP_DEPLOYMENT, name, None, opts)
        # Rendering is local and deterministic, so a preview shows the real file hashes.
        render_bundle(Path(args.app_directory), Path(args.bundle_directory), args.headers)
        files = vercel.get_project_directory_output(
            path=args.bundle_directory, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        deployment = vercel.Deployment(
            f"{name}-deployment",
            project_id=args.project_id,
            files=files.files,
            path_prefix=args.bundle_directory,
            production=args.production,
            project_settings=vercel.DeploymentProjectSettingsArgs(
                framework=args.framework,
                build_command=args.build_command,
                install_command=args.install_command,
                output_directory=args.output_directory,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.url = deployment.url
        self.register_outputs({"url": self.url})
