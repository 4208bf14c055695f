"""The Vercel scope every Vercel resource and lookup of a stack uses: one explicit provider."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumiverse_vercel as vercel

from infra import catalog


@dataclass(frozen=True, kw_only=True)
class VercelTeamArgs:
    """Inputs of `VercelTeam`."""

    team: str = ""
    """Team slug or id (team_...); defaults to "" (the token owner's personal scope)."""


class VercelTeam(pulumi.ComponentResource):
    """A `vercel.Provider` scoped to the team; pass `provider` to every Vercel component.

    Without `team` the provider creates everything in the token owner's personal (Hobby)
    scope: every Vercel resource's `team_id` is "Required when configuring a team resource if
    a default team has not been set in the provider". The provider resolves a slug or an id
    and refuses a team the token cannot see (terraform-provider-vercel vercel/provider.go:
    204-220). The API token stays out of the program: the provider reads `VERCEL_API_TOKEN`
    when `api_token` is not set (provider.go:181-183).
    """

    team: pulumi.Output[str]
    """The team slug or id ("" for the personal scope)."""

    def __init__(self, name: str, args: VercelTeamArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_VERCEL_TEAM, name, None, opts)
        self.provider = vercel.Provider(
            f"{name}-provider",
            team=args.team or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.team = pulumi.Output.from_input(args.team)
        self.register_outputs({"team": self.team})
