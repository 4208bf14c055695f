"""The whole pack judges a pull-request stack as it judges preview: the real one passes, and a
pull request that weakens its database or its variables is stopped."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from infra import catalog
from review import packrun, wire
from review.capture import Capture, CapturedResource
from tests.support import ROOT, pull_request_config, run_pull_request

# Starts real processes (the linters / the policy pack): left out of `make test-fast`.
pytestmark = pytest.mark.slow

PACK = ROOT / "policies"
PREVIEW_CONFIG = PACK / "config" / "preview.json"


@pytest.fixture(scope="module")
def pr() -> Capture:
    return run_pull_request(123, "feature/search")


def _judge(capture: Capture, policy_config=PREVIEW_CONFIG) -> packrun.PolicyResult:
    source = pull_request_config(123, "feature/search")
    return packrun.run_policy_pack(PACK, capture, config=source.values, secret_keys=source.secret_keys,
                                   policy_config=policy_config)


def test_the_pr_stack_has_no_mandatory_violation_and_nothing_to_remediate(pr):
    result = _judge(pr)
    assert result.analyzed >= len([r for r in pr.resources if r.custom])
    assert result.mandatory == [], result.summary()
    assert result.remediations == [], result.summary()


def _changed(capture: Capture, type_: str, key: str | None, **updates: Any) -> Capture:
    def hit(r: CapturedResource) -> bool:
        return r.type == type_ and (key is None or r.props.get("key") == key)

    assert any(hit(r) for r in capture.resources)
    return dataclasses.replace(capture, resources=[
        dataclasses.replace(r, props={**json.loads(json.dumps(r.props)), **updates}) if hit(r) else r
        for r in capture.resources])


def test_a_pr_database_url_without_tls_is_refused(pr):
    url = next(v for v in pr.of_type(catalog.VERCEL_ENV_VAR) if v.props["key"] == "DATABASE_URL")
    plain = wire.reveal(url.props["value"]).replace("sslmode=require", "sslmode=disable")
    broken = _changed(pr, catalog.VERCEL_ENV_VAR, "DATABASE_URL", value=plain)
    assert "vercel-env-require-tls-connection-urls" in {d.policy_name for d in _judge(broken).mandatory}


def test_a_pr_app_role_with_admin_rights_is_refused(pr):
    broken = _changed(pr, catalog.PG_ROLE, None, superuser=True)
    assert "postgresql-role-restrict-login-privileges" in {d.policy_name for d in _judge(broken).mandatory}


def test_a_short_generated_key_in_a_pr_stack_is_refused(pr):
    broken = _changed(pr, catalog.RANDOM_PASSWORD, None, length=8)
    assert "generated-keys-require-min-length" in {d.policy_name for d in _judge(broken).mandatory}

