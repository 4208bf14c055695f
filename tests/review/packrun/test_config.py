"""Policy config: a property a policy's configSchema does not declare is refused, not ignored."""

from __future__ import annotations

import json

import pytest

from review.packrun import PolicyConfigError, PolicyInfo, open_policy_pack, reconcile_policy_config
from tests.support import ROOT

HSTS = PolicyInfo(name="web-headers-require-hsts", description="d", enforcement_level="mandatory", severity="high",
                  policy_type="resource",
                  config_schema={"properties": {"minMaxAge": {"type": "number", "default": 31536000},
                                                "requirePreload": {"type": "boolean", "default": False}}})
PLAIN = PolicyInfo(name="vercel-project-disallow-public-source", description="d", enforcement_level="mandatory",
                   severity="high", policy_type="resource", config_schema=None)


def test_misspelt_property_names_the_policy_the_property_and_the_closest_one():
    with pytest.raises(PolicyConfigError) as err:
        reconcile_policy_config([HSTS], None, {HSTS.name: {"properties": {"minMaxAg": 63072000}}})
    (line,) = err.value.errors
    assert line.startswith("web-headers-require-hsts: property 'minMaxAg' is not declared")
    assert "did you mean 'minMaxAge'?" in line and "requirePreload" in line


def test_unrelated_property_gets_no_suggestion_but_the_known_list():
    with pytest.raises(PolicyConfigError) as err:
        reconcile_policy_config([HSTS], None, {HSTS.name: {"properties": {"colour": "blue"}}})
    (line,) = err.value.errors
    assert "'colour'" in line and "did you mean" not in line and "minMaxAge, requirePreload" in line


def test_property_for_a_policy_without_config_is_refused():
    with pytest.raises(PolicyConfigError, match=r"vercel-project-disallow-public-source: property 'enabled' is not "
                                                r"accepted: the policy declares no config properties"):
        reconcile_policy_config([PLAIN], None, {PLAIN.name: {"properties": {"enabled": False}}})


def test_initial_config_from_the_pack_is_checked_too():
    with pytest.raises(PolicyConfigError, match="minMaxAges"):
        reconcile_policy_config([HSTS], {HSTS.name: {"properties": {"minMaxAges": 1}}}, None)


def test_declared_properties_and_levels_still_pass():
    got = reconcile_policy_config([HSTS, PLAIN], None, {HSTS.name: {"properties": {"minMaxAge": 63072000}},
                                                        PLAIN.name: {"enforcementLevel": "advisory"}})
    assert got[HSTS.name]["properties"] == {"minMaxAge": 63072000, "requirePreload": False}
    assert got[PLAIN.name] == {"enforcementLevel": "advisory", "properties": {}}


@pytest.mark.slow
def test_the_real_pack_refuses_a_misspelt_property_in_a_config_file(tmp_path):
    path = tmp_path / "prod.json"
    path.write_text(json.dumps({"web-headers-require-hsts": {"minMaxAg": 63072000}}))
    with pytest.raises(PolicyConfigError) as err:
        open_policy_pack(ROOT / "policies", project="ara-infra", stack="prod", policy_config=path)
    assert "did you mean 'minMaxAge'?" in str(err.value) and "Traceback" not in str(err.value)
