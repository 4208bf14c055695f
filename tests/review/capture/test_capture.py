"""review.capture: engine-shaped URNs, secrets kept on the wire, invokes recorded, runs isolated."""

import runpy

import pulumi
import pulumi_random as random
import pytest

from infra import catalog
from infra.keys import GeneratedKeys, GeneratedKeysArgs
from review import capture, wire
from tests.support import ROOT, run_component, stack_config


class _Outer(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:x:Outer", name, None, opts)
        _Inner(f"{name}-inner", pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


class _Inner(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:x:Inner", name, None, opts)
        pulumi.CustomResource(catalog.RANDOM_PASSWORD, f"{name}-pw", {"length": 8},
                              pulumi.ResourceOptions(parent=self, protect=True))
        self.register_outputs({})


def _secret_program():
    pulumi.CustomResource(
        catalog.VERCEL_ENV_VAR, "var",
        {"key": "K", "value": pulumi.Output.secret("hunter2"), "nested": {"inner": pulumi.Output.secret("s2")}},
    )
    pulumi.export("plain", "visible")
    pulumi.export("hidden", pulumi.Output.secret("s3"))


def test_root_stack_urn_is_the_engines():
    cap = capture.run(lambda: None, stack="prod")
    assert cap.root.urn == "urn:pulumi:prod::ara-infra::pulumi:pulumi:Stack::ara-infra-prod"
    assert cap.root.parent is None
    assert (cap.project, cap.stack) == ("ara-infra", "prod")


def test_top_level_component_urn_leaves_out_the_stack_type():
    cap = run_component(lambda: GeneratedKeys("keys", GeneratedKeysArgs()))
    component = cap.one(catalog.TOKEN_GENERATED_KEYS, "keys")
    assert component.urn == "urn:pulumi:prod::ara-infra::ara:secrets:GeneratedKeys::keys"
    assert "pulumi:pulumi:Stack$" not in component.urn
    assert component.parent == cap.root.urn


def test_child_urn_qualifies_its_type_with_the_component_type():
    cap = run_component(lambda: GeneratedKeys("keys", GeneratedKeysArgs()))
    child = cap.one(catalog.RANDOM_PASSWORD, "keys-jwt-secret")
    assert child.urn == (
        "urn:pulumi:prod::ara-infra::ara:secrets:GeneratedKeys$random:index/randomPassword:RandomPassword"
        "::keys-jwt-secret"
    )
    assert child.type == catalog.RANDOM_PASSWORD
    assert child.name == "keys-jwt-secret"


def test_grandchild_urn_carries_the_whole_type_chain():
    cap = capture.run(lambda: _Outer("o"), stack="preview")
    inner = cap.one("test:x:Inner", "o-inner")
    leaf = cap.one(catalog.RANDOM_PASSWORD, "o-inner-pw")
    assert inner.urn == "urn:pulumi:preview::ara-infra::test:x:Outer$test:x:Inner::o-inner"
    assert leaf.urn == (
        "urn:pulumi:preview::ara-infra::test:x:Outer$test:x:Inner$random:index/randomPassword:RandomPassword::o-inner-pw"
    )
    assert leaf.parent == inner.urn
    assert cap.children(inner) == [leaf]
    assert cap.by_urn(leaf.urn) is leaf


def test_options_and_wire_form_numbers_are_recorded():
    leaf = capture.run(lambda: _Outer("o"), stack="prod").one(catalog.RANDOM_PASSWORD)
    assert leaf.protect is True
    assert leaf.custom is True
    assert leaf.props == {"length": 8.0}
    assert isinstance(leaf.props["length"], float)


def test_secrets_stay_wrapped_in_props():
    var = capture.run(_secret_program, stack="prod").one(catalog.VERCEL_ENV_VAR, "var")
    assert var.props["key"] == "K"
    assert wire.is_secret(var.props["value"])
    assert var.props["value"][wire.SECRET_SIG] == wire.SECRET_MARK
    assert wire.is_secret(var.props["nested"]["inner"])


def test_plain_reveals_and_redact_hides_secrets():
    var = capture.run(_secret_program, stack="prod").one(catalog.VERCEL_ENV_VAR)
    assert var.plain == {"key": "K", "value": "hunter2", "nested": {"inner": "s2"}}
    redacted = wire.redact(var.props)
    assert redacted == {"key": "K", "value": "[secret]", "nested": {"inner": "[secret]"}}
    assert "hunter2" not in repr(redacted)
    assert wire.redact([var.props["value"]], "***") == ["***"]


def test_stack_outputs_keep_secrets_wrapped():
    cap = capture.run(_secret_program, stack="prod")
    assert cap.stack_outputs["plain"] == "visible"
    assert wire.is_secret(cap.stack_outputs["hidden"])
    assert wire.reveal(cap.stack_outputs["hidden"]) == "s3"


def test_is_secret_is_false_for_plain_values():
    assert not wire.is_secret("x")
    assert not wire.is_secret({"value": "x"})
    assert not wire.is_secret(None)


def test_invokes_are_recorded_with_their_arguments():
    def program():
        pulumi.runtime.invoke(catalog.INVOKE_GET_ZONE, {"filter": {"name": "example.com"}})

    cap = capture.run(program, stack="prod")
    assert cap.invokes == [(catalog.INVOKE_GET_ZONE, {"filter": {"name": "example.com"}})]


def test_an_invoke_without_a_mock_answer_fails_loudly():
    def program():
        pulumi.runtime.invoke("aws:index/getRegion:getRegion", {})

    with pytest.raises(capture.InvokeNotMocked,
                       match="invoke aws:index/getRegion:getRegion, which has no offline answer"):
        capture.run(program, stack="prod")


def test_two_runs_do_not_leak_resources_into_each_other():
    first = run_component(lambda: GeneratedKeys("first", GeneratedKeysArgs()))
    second = run_component(lambda: GeneratedKeys("second", GeneratedKeysArgs()))
    assert {r.name for r in first.declared if r.custom} == {"first-encryption-key", "first-jwt-secret"}
    assert {r.name for r in second.declared if r.custom} == {"second-encryption-key", "second-jwt-secret"}
    assert len([r for r in second.resources if r.type == wire.STACK_TYPE]) == 1


def test_two_runs_do_not_share_invokes():
    def program():
        pulumi.runtime.invoke(catalog.INVOKE_GET_ZONE, {"filter": {"name": "a.com"}})

    assert len(capture.run(program, stack="prod").invokes) == 1
    assert capture.run(lambda: None, stack="prod").invokes == []


def test_a_failing_program_raises_with_the_partial_capture():
    def program():
        GeneratedKeys("ok", GeneratedKeysArgs())
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom") as excinfo:
        capture.run(program, stack="prod")
    assert excinfo.value.capture.one(catalog.TOKEN_GENERATED_KEYS, "ok")


def test_one_refuses_a_missing_or_ambiguous_match():
    cap = run_component(lambda: GeneratedKeys("keys", GeneratedKeysArgs()))
    with pytest.raises(AssertionError, match="found"):
        cap.one(catalog.RANDOM_PASSWORD)
    with pytest.raises(AssertionError, match="nope"):
        cap.one(catalog.RANDOM_PASSWORD, "nope")


def test_config_is_visible_to_the_program_under_the_project_namespace():
    seen = {}

    def program():
        seen["domain"] = pulumi.Config().get("domain")
        seen["secret"] = pulumi.Config().get_secret("token")

    capture.run(program, stack="prod", config={"ara-infra:domain": "a.example.com", "ara-infra:token": "t"},
                secret_keys=["ara-infra:token"])
    assert seen["domain"] == "a.example.com"
    assert isinstance(seen["secret"], pulumi.Output)


def test_project_directory_skips_vercel_defaults_and_describes_files_by_size_and_sha1(tmp_path):
    site = tmp_path / "site"
    (site / "node_modules").mkdir(parents=True)
    (site / "node_modules" / "x.js").write_text("x")
    (site / ".git").mkdir()
    (site / ".git" / "HEAD").write_text("ref")
    (site / "index.html").write_text("hi")
    answer = capture.ProgramMocks(tmp_path).project_directory("site")
    assert answer["files"] == {"site/index.html": "2~c22b5f9178342609428d6f51b2c5af4c0bde6a42"}


def test_project_directory_of_a_missing_path_fails(tmp_path):
    with pytest.raises(FileNotFoundError):
        capture.ProgramMocks(tmp_path).project_directory("missing")


def test_real_prod_run_registers_secret_stack_outputs(prod):
    for key in catalog.SECRET_OUTPUTS:
        assert wire.is_secret(prod.stack_outputs[key]), key
    assert prod.stack_outputs[catalog.OUTPUT_APP_URL] == "https://app.appstoagents.com"


def test_project_directory_honours_vercelignore_globs(tmp_path):
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "docs" / "drafts").mkdir(parents=True)
    for rel in ("index.html", ".env.local", "src/.env", "src/main.js", "docs/drafts/a.md", "docs/b.md", "x.log"):
        (app / rel).write_text(rel)
    (app / ".vercelignore").write_text("# local only\n.env*\n/docs/drafts/\n*.log\n!keep.log\n")
    files = capture.ProgramMocks(tmp_path).project_directory("app")["files"]
    assert sorted(files) == ["app/.vercelignore", "app/docs/b.md", "app/index.html", "app/src/main.js"]


def test_children_inherit_their_parents_aliases_as_the_engine_computes_them():
    class Box(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("ara:test:Box", name, None, opts)
            random.RandomPassword(f"{name}-pw", length=8, opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({})

    cap = capture.run(lambda: Box("new", pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old")])), stack="prod")
    aliases = wire.resolve_aliases(cap.resources, cap.project, cap.stack)
    box = cap.one("ara:test:Box")
    child = cap.one(catalog.RANDOM_PASSWORD)
    assert aliases[box.urn] == ["urn:pulumi:prod::ara-infra::ara:test:Box::old"]
    assert aliases[child.urn] == [
        "urn:pulumi:prod::ara-infra::ara:test:Box$random:index/randomPassword:RandomPassword::old-pw"]


def test_an_output_value_marked_secret_counts_as_a_secret_and_reveals_its_value():
    wrapped = {wire.SECRET_SIG: wire.OUTPUT_VALUE_SIG, "value": "v", "secret": True}
    plain = {wire.SECRET_SIG: wire.OUTPUT_VALUE_SIG, "value": "v"}
    assert wire.is_secret(wrapped) and not wire.is_secret(plain)
    assert wire.reveal({"a": wrapped, "b": [plain]}) == {"a": "v", "b": ["v"]}


def test_the_linear_wait_captures_exactly_what_the_sdks_wait_captures():
    # The capture swaps the SDK's quadratic wait for a linear one; the registrations must not change.
    from pulumi.runtime import stack as sdk_stack

    from review.capture import runner as run_module
    from review.manifest import build

    source = stack_config("preview")

    def capture_with(wait):
        original = run_module.wait_for_rpcs
        run_module.wait_for_rpcs = wait
        try:
            return capture.run(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"),
                               stack="preview", config=source.values, secret_keys=source.secret_keys,
                               program_dir=ROOT)
        finally:
            run_module.wait_for_rpcs = original

    sdk_wait = sdk_stack.wait_for_rpcs
    assert build(capture_with(sdk_wait)) == build(capture_with(run_module.wait_for_rpcs))
    assert sdk_stack.wait_for_rpcs is sdk_wait


def test_a_failing_output_still_fails_the_run_under_the_linear_wait():
    def program():
        def boom(_):
            raise ValueError("apply failed")

        pulumi.export("x", pulumi.Output.from_input(1).apply(boom))

    with pytest.raises(ValueError, match="apply failed"):
        capture.run(program, stack="prod")
