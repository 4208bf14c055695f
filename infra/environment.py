"""The app's environment variables for one Vercel target, driven by the shared catalog."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pulumi
import pulumiverse_vercel as vercel

from infra import catalog


@dataclass(frozen=True, kw_only=True)
class AppEnvironmentArgs:
    """Inputs of `AppEnvironment`: the target plus one value per catalog variable.

    A variable left as None is not declared (a branch environment overrides a few).
    """

    project_id: pulumi.Input[str]
    """Vercel project id; required."""
    target: str
    """"production" or "preview"; required. Never "development": secrets stay off laptops."""
    git_branch: str | None = None
    """Limit the variables to one preview branch; defaults to None (all branches)."""
    database_url: pulumi.Input[str] | None = None
    """DATABASE_URL; defaults to None."""
    clerk_secret_key: pulumi.Input[str] | None = None
    """CLERK_SECRET_KEY; defaults to None."""
    clerk_jwt_key: pulumi.Input[str] | None = None
    """CLERK_JWT_KEY; defaults to None."""
    public_clerk_publishable_key: pulumi.Input[str] | None = None
    """PUBLIC_CLERK_PUBLISHABLE_KEY; defaults to None."""
    next_public_clerk_publishable_key: pulumi.Input[str] | None = None
    """NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY; defaults to None."""
    openai_api_key: pulumi.Input[str] | None = None
    """OPENAI_API_KEY; defaults to None."""
    cloudflare_r2_access_key_id: pulumi.Input[str] | None = None
    """CLOUDFLARE_R2_ACCESS_KEY_ID; defaults to None."""
    cloudflare_r2_secret_access_key: pulumi.Input[str] | None = None
    """CLOUDFLARE_R2_SECRET_ACCESS_KEY; defaults to None."""
    cloudflare_r2_bucket_name: pulumi.Input[str] | None = None
    """CLOUDFLARE_R2_BUCKET_NAME; defaults to None."""
    encryption_key: pulumi.Input[str] | None = None
    """ENCRYPTION_KEY; defaults to None."""
    jwt_secret: pulumi.Input[str] | None = None
    """JWT_SECRET; defaults to None."""
    upstash_redis_url: pulumi.Input[str] | None = None
    """UPSTASH_REDIS_URL; defaults to None."""
    public_app_url: pulumi.Input[str] | None = None
    """PUBLIC_APP_URL; defaults to None."""
    next_public_app_url: pulumi.Input[str] | None = None
    """NEXT_PUBLIC_APP_URL; defaults to None."""
    posthog_api_key: pulumi.Input[str] | None = None
    """POSTHOG_API_KEY; defaults to None."""
    sentry_dsn: pulumi.Input[str] | None = None
    """SENTRY_DSN; defaults to None."""

    def value_of(self, key: str) -> pulumi.Input[str] | None:
        """The value given for catalog variable `key` (e.g. "DATABASE_URL")."""
        return getattr(self, key.lower())


VALUE_FIELDS = tuple(f.name for f in fields(AppEnvironmentArgs) if f.name not in ("project_id", "target", "git_branch"))
ALLOWED_TARGETS = (catalog.TARGET_PRODUCTION, catalog.TARGET_PREVIEW)


class AppEnvironment(pulumi.ComponentResource):
    """One `ProjectEnvironmentVariable` per catalog entry, secrets marked sensitive."""

    keys: pulumi.Output[list[str]]
    """The variable names declared."""

    def __init__(self, name: str, args: AppEnvironmentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_APP_ENVIRONMENT, name, None, opts)
        if args.target not in ALLOWED_TARGETS:
            raise ValueError(f"{name}: target must be one of {', '.join(ALLOWED_TARGETS)}, not {args.target!r}")
        if args.git_branch and args.target != catalog.TARGET_PREVIEW:
            raise ValueError(f"{name}: git_branch scopes preview variables only; target is {args.target!r}")
        declared: list[str] = []
        for spec in catalog.ENV_VARS:
            value = args.value_of(spec.key)
            if value is None:
                continue
            # One resource per variable (not the bulk resource): the SDK keeps each value
            # secret, a diff names the variable that changed, and a policy sees each one.
            vercel.ProjectEnvironmentVariable(
                f"{name}-{spec.key.lower().replace('_', '-')}",
                project_id=args.project_id,
                key=spec.key,
                value=pulumi.Output.secret(value) if spec.sensitive else value,
                targets=[args.target],
                git_branch=args.git_branch,
                sensitive=spec.sensitive,
                comment=spec.description,
                opts=pulumi.ResourceOptions(parent=self),
            )
            declared.append(spec.key)
        self.keys = pulumi.Output.from_input(declared)
        self.register_outputs({"keys": self.keys})
