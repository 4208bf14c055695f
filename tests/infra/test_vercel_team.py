"""VercelTeam: one explicit Vercel provider, scoped to the team, for every Vercel resource."""

import pulumi
import pytest

from infra import catalog
from infra.vercel_team import VercelTeam, VercelTeamArgs
from tests.support import run_component, run_program


def _team(team):
    return run_component(lambda: VercelTeam("vt", VercelTeamArgs(team=team)))


def test_the_provider_is_a_child_scoped_to_the_team():
    cap = _team("appstoagents")
    provider = cap.one(catalog.VERCEL_PROVIDER, "vt-provider")
    assert provider.parent == cap.one(catalog.TOKEN_VERCEL_TEAM, "vt").urn
    assert provider.props["team"] == "appstoagents"
    assert cap.one(catalog.TOKEN_VERCEL_TEAM).outputs == {"team": "appstoagents"}


def test_the_personal_scope_sends_no_team_and_no_token():
    # The API token comes from VERCEL_API_TOKEN (provider.go:181-183), never from the program.
    provider = _team("").one(catalog.VERCEL_PROVIDER)
    assert "team" not in provider.props
    assert "apiToken" not in provider.props


def _vercel_resources(stack):
    return [r for r in stack.resources if r.custom and r.type.startswith("vercel:")]


@pytest.mark.parametrize("stack_name", ["prod", "preview"])
def test_every_vercel_resource_of_a_stack_uses_the_team_provider(stack_name, request):
    stack = request.getfixturevalue(stack_name)
    provider = stack.one(catalog.VERCEL_PROVIDER, "ara-vercel-provider")
    assert provider.props["team"] == "appstoagents"
    resources = _vercel_resources(stack)
    assert resources
    for resource in resources:
        assert resource.provider and resource.provider.startswith(provider.urn + "::"), resource.name


def test_the_team_comes_from_config():
    capture = run_program("prod", {"vercelTeam": "team_abc123"})
    assert capture.one(catalog.VERCEL_PROVIDER).props["team"] == "team_abc123"


@pulumi.runtime.test
def test_team_output_resolves(mocks):
    def check(team):
        assert team == "appstoagents"

    return VercelTeam("vt", VercelTeamArgs(team="appstoagents")).team.apply(check)
