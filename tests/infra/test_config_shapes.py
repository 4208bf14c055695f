"""Closed sets and shapes of the stack config (issue 18's fuzz classes), one table row per class.

Each bad value is refused by the program before any resource exists, in one message naming its key,
with the value cut short or, when it looks like a credential, not shown at all. Each row of the
good table is a value of the same class that must still pass, so a check cannot pass by refusing
everything."""

from __future__ import annotations

import base64
from pathlib import Path

import pulumi
import pytest

from infra import config, regions
from tests.infra.test_config import _fails, _run_raw
from tests.support import run_program, stack_config

CANARY = "CANARY4f7e"


def _pk(host: str, kind: str = "live") -> str:
    """A Clerk publishable key as Clerk makes them: pk_<kind>_ + unpadded base64 of "<host>$"."""
    return f"pk_{kind}_" + base64.b64encode(f"{host}$".encode()).decode().rstrip("=")


SHA256_OF_EMPTY = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

# class -> (overrides, the message's text). Each refusal names the key first.
BAD = {
    "unknown Vercel region": ({"functionRegions": ["iad1", "xyz9"]},
                              "ara-infra:functionRegions: must be a Vercel function region"),
    "region of the right shape, not Vercel's": ({"functionRegions": ["abc1"]}, "(got 'abc1')"),
    "repository slug climbing out": ({"gitRepository": "../.."},
                                     "ara-infra:gitRepository: must be a GitHub repository 'owner/name'"),
    "repository name '..'": ({"githubInfraRepository": "appstoagents/.."},
                             "ara-infra:githubInfraRepository: must be a GitHub repository"),
    "repository owner with a leading hyphen": ({"gitRepository": "-ara/app"}, "ara-infra:gitRepository"),
    "repository named with .git": ({"gitRepository": "appstoagents/ara.git"}, "without .git"),
    "Clerk Frontend API with a port": ({"clerkFrontendApi": "https://clerk.appstoagents.com:99999"},
                                       "ara-infra:clerkFrontendApi: must name the host without a port"),
    "Clerk Frontend API with a valid port": ({"clerkFrontendApi": "https://clerk.appstoagents.com:443"},
                                             "ara-infra:clerkFrontendApi: must name the host without a port"),
    "Clerk Frontend API with a wildcard": ({"clerkFrontendApi": "https://*.appstoagents.com"},
                                           "ara-infra:clerkFrontendApi: must name one host, without a wildcard"),
    "preview Clerk Frontend API with a path": ({"previewClerkFrontendApi": "https://clerk.appstoagents.com/x"},
                                               "ara-infra:previewClerkFrontendApi: must be empty or an https origin"),
    "publishable key of another domain": ({"clerkPublishableKey": _pk("clerk.example.org")},
                                          "ara-infra:clerkPublishableKey: is the key of the Clerk instance at "
                                          "'clerk.example.org', not of clerkFrontendApi 'clerk.appstoagents.com'"),
    "publishable key encoding no host": ({"clerkPublishableKey": "pk_live_abc"},
                                         "ara-infra:clerkPublishableKey: is not a Clerk publishable key"),
    "connect source wildcard on a public suffix": ({"cspConnectSources": ["https://*.co.uk"]},
                                                   "ara-infra:cspConnectSources: *.co.uk matches every site under "
                                                   "the public suffix 'co.uk'"),
    "connect source wildcard on a private public suffix": ({"cspConnectSources": ["https://*.vercel.app"]},
                                                           "public suffix 'vercel.app'"),
    "connect source port out of range": ({"cspConnectSources": ["https://api.example.com:99999"]},
                                         "ara-infra:cspConnectSources: has port '99999': a port is a number "
                                         "from 1 to 65535"),
    "connect source port 0": ({"cspConnectSources": ["https://api.example.com:0"]}, "has port '0'"),
    "connect source port with a leading zero": ({"cspConnectSources": ["https://api.example.com:0443"]},
                                                "has port '0443'"),
    "connect source wildcard inside a label": ({"cspConnectSources": ["https://a*.example.com"]},
                                               "a wildcard only as its whole first label"),
    "connect source with userinfo": ({"cspConnectSources": ["https://user@api.example.com"]},
                                     "ara-infra:cspConnectSources: must be an https origin without a user or password"),
    "hash too short": ({"cspScriptHashes": ["sha256-x"]},
                       "ara-infra:cspScriptHashes: must be the base64 of a 32-byte sha256 digest"),
    "sha256 hash of a sha384's length": ({"cspScriptHashes": ["sha256-" + "A" * 64]}, "32-byte sha256 digest"),
    "hash that is not base64": ({"cspScriptHashes": ["sha256-" + "!" * 44]}, "must be a CSP hash"),
}

GOOD = {
    "the newest Vercel regions": {"functionRegions": ["yul1", "dxb1"]},
    "a repository with dots and underscores": {"gitRepository": "apps-to-agents/ara_web.v2"},
    "a wildcard under a registrable domain of a multi-label suffix": {
        "cspConnectSources": ["https://*.example.co.uk", "https://api.example.com:8443"]},
    "hashes of every size, base64 and base64url": {
        "cspScriptHashes": [SHA256_OF_EMPTY, "sha384-" + "A" * 64, "sha512-" + "A" * 86 + "==",
                            "sha256-47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"]},
    "the publishable key of the configured Frontend API": {
        "clerkFrontendApi": "https://clerk.example.appstoagents.com",
        "clerkPublishableKey": _pk("clerk.example.appstoagents.com", "test")},
    "a development instance's key without a Frontend API": {
        "clerkFrontendApi": "", "clerkPublishableKey": _pk("fine-owl-12.clerk.accounts.dev", "test")},
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_value_outside_its_closed_set_or_shape_is_refused_naming_the_key(case):
    overrides, expected = BAD[case]
    message = _fails("prod", overrides)
    assert expected in message
    assert message.count("ara-infra:") == 1, message  # one message, for that key


@pytest.mark.parametrize("case", list(GOOD), ids=list(GOOD))
def test_a_value_inside_its_closed_set_and_shape_is_accepted(case):
    run_program("prod", GOOD[case])


def test_the_pinned_regions_name_their_source_date_and_refresh_command():
    assert regions.PINNED_ON and len(regions.FUNCTION_REGIONS) == len(set(regions.FUNCTION_REGIONS)) >= 20
    assert "python -m infra.regions --refresh" in regions.__doc__
    assert "validator_serverless_function_region.go" in regions.__doc__
    # The program's default regions are pinned ones.
    assert {"iad1", "sfo1"} <= set(regions.FUNCTION_REGIONS)


def test_the_refresh_keeps_only_regions_the_provider_accepts():
    # The region service's answer, shaped as the provider decodes it: {id: {"caps": [...]}}.
    answer = {"iad1": {"caps": ["V2_DEPLOYMENT_CREATE", "EDGE"]}, "dev1": {"caps": ["EDGE"]},
              "zzz9": {"caps": ["V2_DEPLOYMENT_CREATE"]}, "broken": None}
    assert regions.regions_from_service(answer) == ("iad1", "zzz9")
    with pytest.raises(ValueError):
        regions.regions_from_service({"dev1": {"caps": []}})


def test_the_refresh_rewrites_the_pinned_tuple_and_date_only():
    source = Path(regions.__file__).read_text()
    rewritten = regions.rewrite(source, ("aaa1", "bbb2"), "2030-01-02")
    assert 'FUNCTION_REGIONS: tuple[str, ...] = (\n    "aaa1", "bbb2",\n)' in rewritten
    assert 'PINNED_ON = "2030-01-02"' in rewritten
    assert rewritten.replace('"aaa1", "bbb2"', "").count("def ") == source.count("def ")


# --- nothing secret-looking is echoed, whatever key it came under --------------------------

CREDENTIAL_SHAPED = {
    "Clerk secret key as the publishable key": ("clerkPublishableKey", f"sk_live_{CANARY}"),
    "OpenAI key as a region": ("functionRegions", [f"sk-proj-{CANARY}abcdefghijklmnopq"]),
    "database URL with a password as a CSP source": ("cspConnectSources", [f"https://u:{CANARY}@db.example.com"]),
    "AWS key id as the team": ("vercelTeam", f"AKIA{CANARY.upper()}ABCDEF"),
}


@pytest.mark.parametrize("case", list(CREDENTIAL_SHAPED), ids=list(CREDENTIAL_SHAPED))
def test_a_credential_shaped_value_is_refused_without_being_shown(case):
    key, value = CREDENTIAL_SHAPED[case]
    message = _fails("prod", {key: value})
    assert f"ara-infra:{key}: " in message
    assert config.NOT_SHOWN in message
    assert CANARY not in message and CANARY.upper() not in message


@pytest.mark.parametrize("key, weak", [("posthogApiKey", "production"), ("openaiApiKey", "preview"),
                                       ("dbAdminPassword", "ara_admin"),
                                       ("clerkSecretKey", "sk_live_short"),
                                       ("posthogApiKey", "production-secret-token-value")])
def test_a_weak_secret_is_refused_by_key_without_showing_it(key, weak):
    # Scrubbing a word from every output would reveal where it occurs; refused instead.
    source = stack_config("prod")
    values = {**source.values, f"ara-infra:{key}": weak}
    with pytest.raises(pulumi.RunError) as info:
        _run_raw(values, source.secret_keys, stack="prod")
    message = str(info.value)
    assert f"ara-infra:{key}: " in message and "(value not shown)" in message
    assert weak not in message
