"""Deploy the application code from a sibling directory, with the security headers in vercel.json."""

from __future__ import annotations

import os
import shutil
import tempfile
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
    so a file deleted from the app disappears from the deployment too. It is built aside and
    moved in file by file (`os.replace`), so a reader of `out_dir`, or another run rendering the
    same bundle at the same time, never sees a missing or half-written file.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        built = staging / "bundle"
        shutil.copytree(app_dir, built, ignore=BUNDLE_IGNORE)
        vercel_json = built / "vercel.json"
        existing = vercel_json.read_text() if vercel_json.exists() else None
        vercel_json.write_text(render_vercel_json(existing, headers))
        _move_in(built, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _move_in(built: Path, out_dir: Path) -> None:
    """Make `out_dir` hold exactly `built`'s files, each replaced atomically."""
    wanted = {p.relative_to(built) for p in built.rglob("*") if p.is_file()}
    for rel in sorted(wanted):
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(built / rel, out_dir / rel)
    for path in sorted(out_dir.rglob("*"), reverse=True):  # children before their directories
        if path.is_file() and path.relative_to(out_dir) not in wanted:
            path.unlink(missing_ok=True)
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


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
