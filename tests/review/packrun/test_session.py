"""review.packrun: a real pack subprocess driven over gRPC, the way `pulumi preview --policy-pack` does."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from review import wire
from review.capture import Capture, CapturedResource
from review.packrun import (
    PolicyConfigError,
    PolicyInfo,
    PolicyPackError,
    open_policy_pack,
    process,
    reconcile_policy_config,
    run_policy_pack,
)
from review.wire import SECRET_MARK, SECRET_SIG, UNKNOWN

# Starts real processes (the policy pack, the CLI, git): left out of `make test-fast`.
pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PACK = FIXTURES / "policypack_min"
CRASH_PACK = FIXTURES / "policypack_crash"
PROJECT, STACK = "proj", "dev"
WIDGET, GROUP = "test:index:Widget", "test:index:Group"


def secret(value):
    return {SECRET_SIG: SECRET_MARK, "value": value}


class Stack:
    """Builds CapturedResource objects with engine-style URNs for one project/stack."""

    def __init__(self, stack: str = STACK, project: str = PROJECT) -> None:
        self.project, self.stack = project, stack
        self.root = CapturedResource(
            urn=self.urn("pulumi:pulumi:Stack", f"{project}-{stack}"), type="pulumi:pulumi:Stack",
            name=f"{project}-{stack}", custom=False, parent=None, provider=None, props={})
        self.resources = [self.root]

    def urn(self, type_: str, name: str, parent: CapturedResource | None = None) -> str:
        if parent is not None and parent.type != "pulumi:pulumi:Stack":
            type_ = f"{parent.urn.split('::')[2]}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def group(self, name: str) -> CapturedResource:
        r = CapturedResource(urn=self.urn(GROUP, name), type=GROUP, name=name, custom=False,
                             parent=self.root.urn, provider=None, props={})
        self.resources.append(r)
        return r

    def widget(self, name: str, parent: CapturedResource | None = None, *, deps=(), prop_deps=None,
               **props) -> CapturedResource:
        parent = parent or self.root
        props.setdefault("label", name)
        r = CapturedResource(urn=self.urn(WIDGET, name, parent), type=WIDGET, name=name, custom=True,
                             parent=parent.urn, provider=None, props=props,
                             dependencies=tuple(d.urn for d in deps),
                             property_dependencies={k: tuple(d.urn for d in v) for k, v in (prop_deps or {}).items()})
        self.resources.append(r)
        return r

    def capture(self) -> Capture:
        return Capture(project=self.project, stack=self.stack, resources=list(self.resources),
                       stack_outputs={}, invokes=[])


@pytest.fixture(scope="module")
def session():
    with open_policy_pack(PACK, project=PROJECT, stack=STACK) as s:
        yield s


@pytest.fixture
def popens(monkeypatch):
    """Record every process the pack driver starts."""
    started: list[subprocess.Popen] = []
    real = subprocess.Popen

    def recording(*args, **kwargs):
        proc = real(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(process.subprocess, "Popen", recording)
    return started


# --------------------------------------------------------------------------- GetAnalyzerInfo


def test_analyzer_info_and_reconciled_defaults(session):
    info = session.info
    assert (info.name, info.version, info.supports_config) == ("policypack-min", "0.3.0", True)
    levels = {p.name: (p.enforcement_level, p.policy_type, p.severity) for p in info.policies}
    assert levels == {
        "widget-rules": ("mandatory", "resource", "high"),
        "widget-default-label": ("remediate", "resource", ""),
        "widgets-in-groups": ("advisory", "stack", ""),
    }
    schema = info.policy("widget-rules").config_schema
    assert schema["properties"]["maxSize"]["default"] == 10
    assert session.policy_config["widget-rules"] == {
        "enforcementLevel": "mandatory", "properties": {"maxSize": 10, "minPasswordLength": 12}}
    assert session.policy_config["widgets-in-groups"]["properties"] == {"maxWidgets": 10}


# --------------------------------------------------------------------------- Analyze


def test_compliant_resources_give_no_diagnostics(session):
    s = Stack()
    g = s.group("g1")
    s.widget("w1", g, size=5.0, password=secret("a-long-enough-password"))
    result = session.analyze(s.capture())
    assert result.diagnostics == []
    assert result.ok and result.mandatory == []
    assert result.analyzed == 3  # root stack, group and widget, like the engine
    assert result.remediations == []


def test_violation_is_mandatory_and_carries_the_resource_urn(session):
    s = Stack()
    g = s.group("g1")
    w = s.widget("w1", g, size=50.0)
    result = session.analyze(s.capture())
    assert not result.ok
    [d] = result.mandatory
    assert (d.policy_name, d.enforcement_level, d.severity, d.kind) == ("widget-rules", "mandatory", "high", "resource")
    assert d.urn == w.urn
    assert d.message.endswith("size 50 exceeds maxSize 10")
    assert d.policy_pack_name == "policypack-min" and d.policy_pack_version == "0.3.0"


def test_custom_only_skips_components_but_still_finds_violations(session):
    s = Stack()
    g = s.group("g1")
    s.widget("w1", g, size=50.0)
    result = session.analyze(s.capture(), custom_only=True)
    assert result.analyzed == 1
    assert [d.policy_name for d in result.mandatory] == ["widget-rules"]


def test_policy_sees_the_value_inside_a_secret(session):
    s = Stack()
    g = s.group("g1")
    short = s.widget("short", g, password=secret("12345"))
    s.widget("long", g, password=secret("a-long-enough-password"))
    result = session.analyze(s.capture())
    assert [(d.urn, d.message.splitlines()[-1]) for d in result.diagnostics] == [
        (short.urn, "password has 5 characters")]


def test_unknown_value_gives_advisory_cant_run(session):
    s = Stack()
    g = s.group("g1")
    w = s.widget("w1", g, size=UNKNOWN)
    result = session.analyze(s.capture())
    assert result.mandatory == []
    [d] = result.advisory
    assert d.policy_name == "widget-rules" and d.urn == w.urn
    assert "can't run policy 'widget-rules'" in d.message
    assert "during preview" in d.message


def test_remediation_runs_before_analysis_and_keeps_secrets(session):
    s = Stack()
    g = s.group("g1")
    w = s.widget("w1", g, password=secret("a-long-enough-password"))
    del w.props["label"]
    result = session.analyze(s.capture())
    # Without the remediation, widget-rules would report the missing label.
    assert result.diagnostics == []
    [rem] = result.remediations
    assert (rem.policy_name, rem.urn, rem.changed_keys) == ("widget-default-label", w.urn, ("label",))
    assert rem.properties["label"] == "unnamed"
    assert rem.properties["password"] == secret("a-long-enough-password")
    assert "a-long-enough-password" not in repr(rem)


# --------------------------------------------------------------------------- AnalyzeStack


def test_stack_policy_sees_parents_and_dependencies(session):
    s = Stack()
    g1, g2 = s.group("g1"), s.group("g2")
    a = s.widget("a", g1)
    s.widget("same-group", g1, deps=[a])
    cross = s.widget("cross", g2, deps=[a])
    via_prop = s.widget("via-prop", g2, prop_deps={"size": [a]})
    orphan = s.widget("orphan")
    result = session.analyze(s.capture())
    got = sorted((d.urn, d.message.splitlines()[-1]) for d in result.by_policy("widgets-in-groups"))
    assert got == sorted([
        (cross.urn, "widget 'cross' depends on widget 'a' of another group"),
        (via_prop.urn, "widget 'via-prop' depends on widget 'a' of another group"),
        (orphan.urn, f"widget 'orphan' is not inside a {GROUP}"),
    ])
    assert all(d.enforcement_level == "advisory" and d.kind == "stack" for d in result.by_policy("widgets-in-groups"))
    assert result.ok


def test_stack_diagnostic_without_urn_goes_to_the_root_stack(tmp_path):
    s = Stack()
    g = s.group("g1")
    s.widget("w1", g)
    s.widget("w2", g)
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"widgets-in-groups": {"enforcementLevel": "mandatory", "maxWidgets": 1}}))
    result = run_policy_pack(PACK, s.capture(), policy_config=config)
    [d] = result.mandatory
    assert d.urn == s.root.urn
    assert d.message.endswith("2 widgets exceed maxWidgets 1")


# --------------------------------------------------------------------------- policy config


def test_config_overrides_level_and_property():
    s = Stack()
    g = s.group("g1")
    s.widget("fits", g, size=50.0)
    too_big = s.widget("too-big", g, size=150.0)
    with open_policy_pack(PACK, project=PROJECT, stack=STACK,
                          policy_config={"widget-rules": {"enforcementLevel": "advisory", "maxSize": 100}}) as sess:
        result = sess.analyze(s.capture())
    assert sess.policy_config["widget-rules"]["properties"] == {"maxSize": 100, "minPasswordLength": 12}
    assert result.mandatory == []
    [d] = result.advisory
    assert (d.policy_name, d.urn) == ("widget-rules", too_big.urn)
    assert d.message.endswith("size 150 exceeds maxSize 100")


def test_config_file_all_and_disabled_remediation(tmp_path):
    s = Stack()
    g = s.group("g1")
    w = s.widget("w1", g)
    del w.props["label"]
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"all": "advisory", "widget-default-label": {"enforcementLevel": "disabled"}}))
    result = run_policy_pack(PACK, s.capture(), policy_config=path)
    assert result.remediations == []
    [d] = result.diagnostics
    assert (d.enforcement_level, d.urn) == ("advisory", w.urn)
    assert d.message.endswith("a widget needs a label")


@pytest.mark.parametrize(("config", "expected"), [
    ({"widget-rules": {"maxSize": "big"}}, ["widget-rules", "maxSize", "'big' is not of type 'number'"]),
    ({"widget-rules": {"maxSize": 0}}, ["widget-rules", "maxSize", "minimum"]),
    ({"widgets-in-groups": {"maxWidgets": 2.5}}, ["widgets-in-groups", "maxWidgets", "integer"]),
    ({"no-such-policy": "mandatory"}, ["no-such-policy", "no such policy", "widget-rules"]),
    ({"widget-rules": "blocking"}, ["widget-rules", "'blocking'", "advisory, mandatory, remediate, disabled"]),
    ({"all": {"maxSize": 3}}, ["all", "only an enforcement level"]),
])
def test_invalid_config_raises_and_stops_the_pack(popens, config, expected):
    with pytest.raises(PolicyConfigError) as err:
        open_policy_pack(PACK, project=PROJECT, stack=STACK, policy_config=config)
    text = str(err.value)
    for fragment in expected:
        assert fragment in text
    assert "Traceback" not in text
    [proc] = popens
    assert proc.poll() is not None


def test_reconcile_checks_required_properties_without_a_pack():
    policy = PolicyInfo(name="p", description="d", enforcement_level="advisory", severity="", policy_type="resource",
                        config_schema={"properties": {"region": {"type": "string"}}, "required": ["region"]})
    with pytest.raises(PolicyConfigError, match=r"p: property 'region' is required"):
        reconcile_policy_config([policy], None, None)
    ok = reconcile_policy_config([policy], {"p": {"enforcementLevel": "mandatory"}},
                                 {"p": {"properties": {"region": "eu"}}})
    assert ok == {"p": {"enforcementLevel": "mandatory", "properties": {"region": "eu"}}}


# --------------------------------------------------------------------------- process lifecycle


def test_subprocess_is_gone_after_the_context_exits(popens):
    with open_policy_pack(PACK, project=PROJECT, stack=STACK) as sess:
        assert sess.running
        pid = sess.pid
    assert not sess.running
    [proc] = popens
    assert proc.pid == pid and proc.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_subprocess_is_gone_after_an_error_inside_the_context(popens):
    with pytest.raises(RuntimeError, match="boom"), open_policy_pack(PACK, project=PROJECT, stack=STACK):
        raise RuntimeError("boom")
    [proc] = popens
    assert proc.poll() is not None


def test_closed_session_refuses_to_analyze():
    with open_policy_pack(PACK, project=PROJECT, stack=STACK) as sess:
        pass
    with pytest.raises(PolicyPackError, match="closed"):
        sess.analyze(Stack().capture())


def test_pack_that_crashes_on_import_raises_a_clear_error(popens):
    with pytest.raises(PolicyPackError) as err:
        open_policy_pack(CRASH_PACK, project=PROJECT, stack=STACK)
    text = str(err.value)
    assert "exited with code 1 before printing its port" in text
    assert "ModuleNotFoundError" in text and "policypack_crash_missing_dependency" in text
    [proc] = popens
    assert proc.poll() == 1


def test_missing_pack_directory_or_manifest(tmp_path):
    with pytest.raises(PolicyPackError, match="not found"):
        open_policy_pack(tmp_path / "nope", project=PROJECT, stack=STACK)
    with pytest.raises(PolicyPackError, match="PulumiPolicy.yaml"):
        open_policy_pack(tmp_path, project=PROJECT, stack=STACK)


# --------------------------------------------------------------------------- several stacks, one pack


def test_one_pack_analyzes_several_stacks(session):
    results = []
    for stack in ("dev", "prod"):
        s = Stack(stack)
        s.widget("orphan")
        results.append(session.analyze(s.capture()))
    assert [r.stack for r in results] == ["dev", "prod"]
    assert [d.urn for r in results for d in r.diagnostics] == [
        "urn:pulumi:dev::proj::test:index:Widget::orphan",
        "urn:pulumi:prod::proj::test:index:Widget::orphan",
    ]


def test_resource_references_are_downgraded_like_the_engine():
    ref = {SECRET_SIG: "5cf8f73096256a8f31e491e813e4eb8e", "urn": "urn:x", "id": "abc", "packageVersion": ""}
    comp = {SECRET_SIG: "5cf8f73096256a8f31e491e813e4eb8e", "urn": "urn:comp"}
    out = {SECRET_SIG: "d0e6a833031e9bbcd3f4e8bde6ca49a4", "value": "v", "secret": True}
    assert wire.analyzer_props({"r": ref, "c": [comp], "o": out, "__defaults": ["x"]}) == {
        "r": "abc", "c": ["urn:comp"], "o": secret("v")}
