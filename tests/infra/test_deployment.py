"""AppDeployment: render the app with the header block into a bundle, then deploy the bundle's files."""

import hashlib
import json
import shutil
import threading

import pulumi
import pytest

from infra import catalog
from infra.deployment import AppDeployment, AppDeploymentArgs, render_bundle
from infra.headers import vercel_json_headers
from tests.support import APP_FIXTURE, ROOT, run_component

HEADERS = {"X-Frame-Options": "DENY", "X-XSS-Protection": "0"}


@pytest.fixture
def app(tmp_path):
    """A copy of the fixture app, with the clutter a real checkout has."""
    app_dir = tmp_path / "app"
    shutil.copytree(ROOT / APP_FIXTURE, app_dir)
    (app_dir / "node_modules" / "astro").mkdir(parents=True)
    (app_dir / "node_modules" / "astro" / "index.js").write_text("module.exports = {}\n")
    (app_dir / ".git").mkdir()
    (app_dir / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (app_dir / "dist").mkdir()
    (app_dir / "dist" / "index.html").write_text("<html></html>\n")
    return app_dir


def _relative_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_render_copies_the_app_sources(app, tmp_path):
    out = render_bundle(app, tmp_path / "bundle", HEADERS)
    assert out == tmp_path / "bundle"
    assert (out / "package.json").read_bytes() == (app / "package.json").read_bytes()
    assert (out / "src" / "pages" / "index.astro").read_bytes() == (app / "src" / "pages" / "index.astro").read_bytes()


def test_render_skips_node_modules_git_and_build_output(app, tmp_path):
    files = _relative_files(render_bundle(app, tmp_path / "bundle", HEADERS))
    assert not [f for f in files if f.split("/")[0] in {"node_modules", ".git", "dist", ".vercel", ".astro"}]
    assert files == [".vercelignore", "package.json", "src/pages/index.astro", "vercel.json"]


def test_render_leaves_program_state_and_virtualenvs_out(app, tmp_path):
    for rel in ("Pulumi.prod.yaml", ".venv/bin/python", "venv/pyvenv.cfg", "build/prod/app/x.js"):
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_text("x")
    files = _relative_files(render_bundle(app, tmp_path / "bundle", HEADERS))
    assert files == [".vercelignore", "package.json", "src/pages/index.astro", "vercel.json"]


def test_render_writes_the_headers_and_keeps_the_apps_other_settings(app, tmp_path):
    data = json.loads((render_bundle(app, tmp_path / "bundle", HEADERS) / "vercel.json").read_text())
    assert data["cleanUrls"] is True
    assert data["$schema"] == "https://openapi.vercel.sh/vercel.json"
    # The app's own "1; mode=block" is replaced, not merged.
    assert data["headers"] == vercel_json_headers(HEADERS)


def test_render_never_writes_to_the_app_directory(app, tmp_path):
    before = {f: (app / f).read_bytes() for f in _relative_files(app)}
    render_bundle(app, tmp_path / "bundle", HEADERS)
    assert {f: (app / f).read_bytes() for f in _relative_files(app)} == before


def test_render_creates_vercel_json_when_the_app_has_none(app, tmp_path):
    (app / "vercel.json").unlink()
    data = json.loads((render_bundle(app, tmp_path / "bundle", HEADERS) / "vercel.json").read_text())
    assert data == {"headers": vercel_json_headers(HEADERS)}


def test_rerender_removes_files_deleted_from_the_app(app, tmp_path):
    render_bundle(app, tmp_path / "bundle", HEADERS)
    (app / "src" / "pages" / "index.astro").unlink()
    files = _relative_files(render_bundle(app, tmp_path / "bundle", HEADERS))
    assert "src/pages/index.astro" not in files
    assert "vercel.json" in files


def test_renders_of_the_same_bundle_at_once_never_show_a_missing_or_partial_file(app, tmp_path):
    # Two runs of the program (two test workers, two terminals) render the same bundle directory.
    out, stop, seen = tmp_path / "bundle", threading.Event(), []
    render_bundle(app, out, HEADERS)
    expected = _relative_files(out)

    def render() -> None:
        while not stop.is_set():
            render_bundle(app, out, HEADERS)

    def read() -> None:
        for _ in range(300):
            seen.append((_relative_files(out), json.loads((out / "vercel.json").read_text())["headers"]))

    writers = [threading.Thread(target=render) for _ in range(2)]
    for w in writers:
        w.start()
    try:
        read()
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert all(files == expected and headers for files, headers in seen)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle-")]  # staging removed


@pytest.mark.parametrize("env_file", [".env", ".env.local", ".env.production"])
def test_render_leaves_local_env_files_out_of_the_bundle(app, tmp_path, env_file):
    # A developer's .env files hold real secrets; they must not depend on the app's
    # .vercelignore to stay off Vercel.
    (app / env_file).write_text("OPENAI_API_KEY=sk-local\n")
    assert env_file not in _relative_files(render_bundle(app, tmp_path / "bundle", HEADERS))


def _deploy(app, bundle, production=True, **kwargs):
    args = AppDeploymentArgs(
        project_id="prj_123", app_directory=str(app), bundle_directory=str(bundle),
        headers=HEADERS, production=production, **kwargs,
    )
    return run_component(lambda: AppDeployment("dep", args))


def test_deployment_is_a_child_with_the_bundle_files(app, tmp_path):
    bundle = tmp_path / "bundle"
    cap = _deploy(app, bundle)
    deployment = cap.one(catalog.VERCEL_DEPLOYMENT, "dep-deployment")
    assert deployment.parent == cap.one(catalog.TOKEN_APP_DEPLOYMENT, "dep").urn
    assert deployment.props["projectId"] == "prj_123"
    assert sorted(deployment.props["files"]) == [
        f"{bundle}/{f}" for f in (".vercelignore", "package.json", "src/pages/index.astro", "vercel.json")
    ]


def test_deployment_files_come_from_the_project_directory_lookup_of_the_bundle(app, tmp_path):
    bundle = tmp_path / "bundle"
    cap = _deploy(app, bundle)
    assert [a for t, a in cap.invokes if t == catalog.INVOKE_GET_PROJECT_DIRECTORY] == [{"path": str(bundle)}]
    files = cap.one(catalog.VERCEL_DEPLOYMENT).props["files"]
    # The rendered vercel.json, not the app's, is what gets uploaded.
    rendered = (bundle / "vercel.json").read_bytes()
    digest = hashlib.sha1(rendered, usedforsecurity=False).hexdigest()
    assert files[f"{bundle}/vercel.json"] == f"{len(rendered)}~{digest}"


def test_deployment_strips_the_bundle_directory_from_uploaded_paths(app, tmp_path):
    bundle = tmp_path / "bundle"
    assert _deploy(app, bundle).one(catalog.VERCEL_DEPLOYMENT).props["pathPrefix"] == str(bundle)


@pytest.mark.parametrize("production", [True, False])
def test_deployment_production_flag_follows_the_args(app, tmp_path, production):
    props = _deploy(app, tmp_path / "bundle", production=production).one(catalog.VERCEL_DEPLOYMENT).props
    assert props["production"] is production


def test_deployment_project_settings_default_to_astro_with_npm(app, tmp_path):
    props = _deploy(app, tmp_path / "bundle").one(catalog.VERCEL_DEPLOYMENT).props
    assert props["projectSettings"] == {
        "framework": "astro", "buildCommand": "npm run build", "installCommand": "npm ci", "outputDirectory": "dist",
    }


def test_deployment_project_settings_follow_the_args(app, tmp_path):
    props = _deploy(
        app, tmp_path / "bundle", framework="vite", build_command="vite build",
        install_command="npm install", output_directory="build",
    ).one(catalog.VERCEL_DEPLOYMENT).props
    assert props["projectSettings"] == {
        "framework": "vite", "buildCommand": "vite build", "installCommand": "npm install", "outputDirectory": "build",
    }


def test_prod_deploys_its_bundle_to_production(prod):
    props = prod.one(catalog.VERCEL_DEPLOYMENT).props
    assert props["production"] is True
    assert props["pathPrefix"] == "build/prod/app"
    assert "build/prod/app/vercel.json" in props["files"]
    assert all(f.startswith("build/prod/app/") for f in props["files"])


def test_preview_deploys_its_bundle_as_a_preview(preview):
    props = preview.one(catalog.VERCEL_DEPLOYMENT).props
    assert props["production"] is False
    assert props["pathPrefix"] == "build/preview/app"
    assert "build/preview/app/vercel.json" in props["files"]


@pulumi.runtime.test
def test_url_output_is_the_deployment_url(mocks, app, tmp_path):
    deploy = AppDeployment("dep", AppDeploymentArgs(
        project_id="prj_123", app_directory=str(app), bundle_directory=str(tmp_path / "bundle"),
        headers=HEADERS, production=False,
    ))

    def check(url):
        assert url.startswith("dep-deployment-")
        assert url.endswith(".vercel.app")

    return deploy.url.apply(check)
