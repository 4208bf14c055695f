"""The shared catalog: every variable of the guide, with its source and sensitivity."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cicd import pack
from infra import catalog, projectfile
from infra.environment import VALUE_FIELDS
from tests.support import ROOT, parse

GUIDE_VARIABLES = {
    "DATABASE_URL", "CLERK_SECRET_KEY", "CLERK_JWT_KEY", "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY", "OPENAI_API_KEY",
    "CLOUDFLARE_R2_ACCESS_KEY_ID", "CLOUDFLARE_R2_SECRET_ACCESS_KEY", "CLOUDFLARE_R2_BUCKET_NAME", "ENCRYPTION_KEY",
    "JWT_SECRET", "UPSTASH_REDIS_URL", "NEXT_PUBLIC_APP_URL", "NODE_ENV", "POSTHOG_API_KEY", "SENTRY_DSN",
}
# Astro's client sees only PUBLIC_*; the guide's NODE_ENV would break `npm ci` at build time.
ASTRO_PUBLIC = {"PUBLIC_CLERK_PUBLISHABLE_KEY", "PUBLIC_APP_URL"}
NOT_DECLARED = {"NODE_ENV"}
NOT_SECRET = {"NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY", "CLOUDFLARE_R2_BUCKET_NAME", "NEXT_PUBLIC_APP_URL", *ASTRO_PUBLIC}


def test_catalog_lists_the_guides_variables_but_node_env_plus_the_astro_public_names():
    assert {spec.key for spec in catalog.ENV_VARS} == (GUIDE_VARIABLES - NOT_DECLARED) | ASTRO_PUBLIC
    assert "VERCEL_ANALYTICS_ID" not in catalog.ENV_VARS_BY_KEY


def test_every_astro_public_name_mirrors_a_guide_name():
    for key in ASTRO_PUBLIC:
        assert catalog.ENV_VARS_BY_KEY[key].origin == catalog.ENV_VARS_BY_KEY["NEXT_" + key].origin


def test_every_credential_is_sensitive_and_nothing_public_is():
    assert catalog.CATALOG_SECRET_KEYS == GUIDE_VARIABLES - NOT_DECLARED - NOT_SECRET


def test_no_secret_carries_a_public_prefix():
    assert not any(catalog.has_public_prefix(k) for k in catalog.CATALOG_SECRET_KEYS)


def test_generated_variables_are_the_two_keys():
    generated = {s.key for s in catalog.ENV_VARS if s.source is catalog.Source.GENERATED}
    assert generated == {"ENCRYPTION_KEY", "JWT_SECRET"}
    assert {s.origin for s in catalog.ENV_VARS if s.source is catalog.Source.GENERATED} == set(
        catalog.GENERATED_KEY_LENGTHS)


def test_config_sourced_variables_name_declared_config_keys():
    decls = projectfile.declarations(ROOT)
    for spec in catalog.ENV_VARS:
        if spec.source in (catalog.Source.SECRET_CONFIG, catalog.Source.CONFIG):
            assert spec.origin in decls, spec.key
            assert decls[spec.origin].secret == spec.sensitive, spec.key


def test_the_environment_component_has_one_argument_per_catalog_variable():
    assert set(VALUE_FIELDS) == {spec.key.lower() for spec in catalog.ENV_VARS}


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("STRIPE_SECRET_KEY", True), ("GITHUB_TOKEN", True), ("SMTP_PASSWORD", True), ("ANALYTICS_DSN", True),
        ("REPLICA_DATABASE_URL", True), ("CACHE_REDIS_URL", True), ("AWS_ACCESS_KEY_ID", True),
        ("NEXT_PUBLIC_APP_URL", False), ("FEATURE_FLAGS", False), ("LOG_LEVEL", False),
        ("NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY", False),
    ],
)
def test_secret_key_patterns_catch_credentials_outside_the_catalog(key, secret):
    assert catalog.is_secret_key(key) is secret


def test_catalog_imports_only_the_standard_library():
    # The policy pack imports it inside a virtualenv without the provider SDKs.
    tree = parse(Path(catalog.__file__).read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert modules <= {"__future__", "re", "dataclasses", "enum"}


def test_type_tokens_follow_the_engine_format():
    tokens = [v for k, v in vars(catalog).items()
              if k.isupper() and not k.startswith("INVOKE_") and isinstance(v, str) and ":index/" in v]
    assert tokens
    for token in tokens:
        assert re.fullmatch(r"[a-z]+:index/[a-zA-Z0-9]+:[A-Z][A-Za-z0-9]+", token), token
    components = [v for k, v in vars(catalog).items() if k.startswith("TOKEN_")]
    assert all(re.fullmatch(r"ara:[a-z]+:[A-Z][A-Za-z]+", t) for t in components)
    assert len(set(components)) == len(components)


def test_infra_catalog_is_a_real_module_not_a_loader():
    # Type checkers and editors follow `infra.catalog` to this file; nothing is exec'd at import.
    assert Path(catalog.__file__).resolve() == ROOT / "infra" / "catalog.py"
    text = (ROOT / "infra" / "catalog.py").read_text()
    assert "importlib" not in text and "exec_module" not in text


def test_the_packs_catalog_is_the_current_generated_copy():
    # `pulumi policy publish` packs only policies/: the pack carries a byte copy. Run `make pack` when this fails.
    copy = ROOT / "policies" / "ara_policies" / "catalog.py"
    assert copy.read_bytes() == pack.HEADER + (ROOT / "infra" / "catalog.py").read_bytes(), (
        "policies/ara_policies/catalog.py is stale: run `make pack`")
    assert pack.is_current()


def test_pack_check_fails_on_a_stale_copy_and_writing_fixes_it(tmp_path):
    source, copy = tmp_path / "catalog.py", tmp_path / "copy.py"
    source.write_bytes(b'"""doc"""\nX = 1\n')
    assert not pack.is_current(source, copy)  # missing
    copy.write_bytes(pack.expected(source))
    assert pack.is_current(source, copy)
    copy.write_bytes(pack.expected(source) + b"# hand edit\n")
    assert not pack.is_current(source, copy)
    assert pack.HEADER.startswith(b"# GENERATED") and b"make pack" in pack.HEADER


@pytest.mark.slow
def test_cicd_pack_check_reports_the_copy_current():
    done = subprocess.run([sys.executable, "-m", "cicd", "pack", "--check"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "policies/ara_policies/catalog.py is current" in done.stdout
