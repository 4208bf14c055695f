"""The review tool on programs that are not ours: small typical programs, each written for its test."""

from __future__ import annotations

import importlib.metadata
import json
import textwrap
from pathlib import Path

import pytest

from review.wire import UNKNOWN
from tests.review.test_cli_helpers import run, run_subprocess


def program(tmp_path: Path, main: str, *, project: str = "demo", config: str = "", stack: str = "dev",
            stack_config: str = "") -> Path:
    """A Pulumi Python project in `tmp_path`: Pulumi.yaml, Pulumi.<stack>.yaml and __main__.py."""
    (tmp_path / "Pulumi.yaml").write_text(f"name: {project}\nruntime: python\n" + textwrap.dedent(config))
    (tmp_path / f"Pulumi.{stack}.yaml").write_text("config:\n" + textwrap.indent(textwrap.dedent(stack_config), "  ")
                                                    if stack_config.strip() else "config: {}\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(main))
    return tmp_path


def outputs(result) -> dict:
    assert result.code == 0, result.all
    return json.loads(result.out)["outputs"]


@pytest.mark.slow
def test_plain_invokes_run_with_the_lazily_imported_sdks(tmp_path):
    # Only the real CLI process installs the lazy importer, which once turned `get_zone` into a module.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>hi</h1>")
    prog = program(tmp_path, """
        import pulumi
        import pulumi_cloudflare as cloudflare
        import pulumiverse_vercel as vercel

        zone = cloudflare.get_zone(filter={"name": "example.com"})
        site = vercel.get_project_directory(path="site")
        pulumi.export("zoneName", zone.name)
        pulumi.export("files", len(site.files))
    """)
    result = run_subprocess("plan", "--stack", "dev", "--program", str(prog), "--format", "json")
    assert outputs(result) == {"zoneName": "example.com", "files": 1.0}


def test_project_level_values_are_accepted_and_only_typed_entries_are_declarations(tmp_path):
    # What `pulumi new` writes: values without a type, namespaced or not; a stack file overrides them.
    prog = program(tmp_path, config="""
        config:
          pulumi:tags:
            value:
              owner: platform
          region:
            value: weur
          greeting: hello
          size:
            type: integer
            default: 3
    """, stack_config="demo:region: enam\n", main="""
        import pulumi
        cfg = pulumi.Config()
        pulumi.export("region", cfg.require("region"))
        pulumi.export("greeting", cfg.require("greeting"))
        pulumi.export("size", cfg.require_int("size"))
        pulumi.export("tags", pulumi.Config("pulumi").require_object("tags"))
    """)
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json")
    assert outputs(result) == {"region": "enam", "greeting": "hello", "size": 3.0, "tags": {"owner": "platform"}}


STACK_REFERENCE = """
    import pulumi
    network = pulumi.StackReference("acme/network/prod")
    pulumi.export("vpc", network.get_output("vpcId"))
"""


def test_a_stack_reference_without_answers_is_input_the_user_must_give(tmp_path):
    # `pulumi preview` reads the other stack's outputs; running on none would check a program
    # the real one never is. The user's input to supply: exit 2, the stack and the answers' shape.
    result = run("plan", "--stack", "dev", "--program", str(program(tmp_path, STACK_REFERENCE)), "--format", "json")
    assert result.code == 2, result.all
    assert "the program reads the outputs of stack 'acme/network/prod'" in result.err
    assert '{"stackReferences": {"acme/network/prod": {"<output name>": ...}}}' in result.err
    assert "Traceback" not in result.all and "Task" not in result.all


def test_stack_reference_outputs_come_from_the_answers_file(tmp_path):
    prog = program(tmp_path, STACK_REFERENCE)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"stackReferences": {"acme/network/prod": {"vpcId": "vpc-123"}}}))
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json", "--answers", str(answers))
    assert outputs(result) == {"vpc": "vpc-123"}
    assert "warning" not in result.err


INVOKE = """
    import pulumi
    region = pulumi.runtime.invoke("aws:index/getRegion:getRegion", {})
    pulumi.export("region", region.value["name"])
"""


def test_an_invoke_without_an_answer_names_the_token_and_the_remedy(tmp_path):
    result = run("plan", "--stack", "dev", "--program", str(program(tmp_path, INVOKE)))
    assert result.code == 2
    assert "aws:index/getRegion:getRegion" in result.err and "--answers FILE" in result.err
    assert "Traceback" not in result.all and len(result.err.splitlines()) <= 3


def test_an_invoke_answer_from_the_file_is_what_the_program_gets(tmp_path):
    prog = program(tmp_path, INVOKE)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"invokes": {"aws:index/getRegion:getRegion": {"name": "eu-west-1"}}}))
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json", "--answers", str(answers))
    assert outputs(result) == {"region": "eu-west-1"}


@pytest.mark.parametrize("content,expected", [
    ("{not json", "not valid JSON"),
    ('{"invoke": {}}', "unknown keys: invoke"),
    ('{"invokes": {"x:index/y:y": 3}}', "invokes must map each name to an object"),
])
def test_a_bad_answers_file_is_a_usage_error_naming_the_file(tmp_path, content, expected):
    prog = program(tmp_path, INVOKE)
    answers = tmp_path / "answers.json"
    answers.write_text(content)
    result = run("plan", "--stack", "dev", "--program", str(prog), "--answers", str(answers))
    assert result.code == 2 and str(answers) in result.err and expected in result.err


PROVIDER_CONFIG = """
    import pulumi_postgresql as postgresql
    postgresql.Role("app", name="app", login=True)
"""


@pytest.mark.slow
def test_provider_config_in_the_stack_file_reaches_the_default_provider_and_is_judged(tmp_path):
    # The engine configures a default provider from `<package>:` keys; offline they were never seen.
    prog = program(tmp_path, PROVIDER_CONFIG,
                   stack_config="postgresql:sslmode: disable\npostgresql:host: db.internal\n")
    result = run("check", "--stack", "dev", "--program", str(prog))
    assert result.code == 1, result.all
    assert "postgresql-provider-require-tls" in result.out and "default_3_18_2" in result.out


def test_the_default_provider_carries_the_package_config_and_version(tmp_path):
    prog = program(tmp_path, PROVIDER_CONFIG, stack_config="postgresql:sslmode: verify-full\n")
    manifest = json.loads(run("plan", "--stack", "dev", "--program", str(prog), "--format", "json").out)
    provider = next(r for r in manifest["resources"] if r["type"] == "pulumi:providers:postgresql")
    role = next(r for r in manifest["resources"] if r["type"] == "postgresql:index/role:Role")
    assert provider["name"] == "default_3_18_2" and provider["parent"] is None
    assert provider["props"] == {"sslmode": "verify-full", "version": "3.18.2"}
    assert role["provider"].startswith(provider["urn"] + "::")


def test_a_secret_provider_config_value_stays_secret(tmp_path):
    prog = program(tmp_path, PROVIDER_CONFIG, stack_config="postgresql:password:\n  secure: AAABAKv8dGVzdA==\n")
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json")
    provider = next(r for r in json.loads(result.out)["resources"] if r["type"] == "pulumi:providers:postgresql")
    assert provider["props"]["password"] == {"secret": True}


def test_additional_secret_outputs_keep_an_exported_password_secret(tmp_path):
    prog = program(tmp_path, """
        import pulumi
        import pulumi_random as random
        password = random.RandomPassword("pw", length=24)
        pulumi.export("password", password.result)
    """)
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json")
    # A preview: the password is generated when the engine runs, so it is an unknown, still secret.
    assert outputs(result) == {"password": {"secret": True, "unknown": True}}
    assert "Stack outputs:\n  password: [secret]" in run("plan", "--stack", "dev", "--program", str(prog)).out


@pytest.mark.parametrize("call", ["sys.exit(0)", "sys.exit(2)", "raise SystemExit"])
def test_sys_exit_inside_the_program_fails_the_run_instead_of_passing_it(tmp_path, call):
    prog = program(tmp_path, f"""
        import sys
        import pulumi_random as random
        random.RandomPassword("pw", length=24)
        {call}
    """)
    for command in ("plan", "check"):
        result = run(command, "--stack", "dev", "--program", str(prog))
        assert result.code == 3, (command, result.all)
        assert "called sys.exit(" in result.err and "nothing was checked" in result.err


# --------------------------------------------------------------------------- as `pulumi preview` runs them
# Programs in the style of the public Pulumi examples and templates. `pulumi preview` runs each with
# every provider-computed value unknown; so does the review tool.

AWS_SERVERLESS = """
    import json
    import pulumi
    import pulumi_aws as aws

    bucket = aws.s3.Bucket("site")
    aws.s3.BucketObject("index", bucket=bucket.id, key="index.html", content_type="text/html",
                        source=pulumi.FileAsset("site/index.html"))
    role = aws.iam.Role("fn-role", assume_role_policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                       "Action": "sts:AssumeRole"}],
    }))
    fn = aws.lambda_.Function("fn", role=role.arn, runtime="python3.12", handler="handler.handler",
                              code=pulumi.AssetArchive({".": pulumi.FileArchive("site")}))
    aws.iam.Policy("read-site", policy=bucket.arn.apply(lambda arn: json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{arn}/*"}],
    })))
    api = aws.appsync.GraphQLApi("api", authentication_type="API_KEY", name="notes")
    pulumi.export("graphqlUrl", api.uris.apply(lambda uris: uris["GRAPHQL"]))
    pulumi.export("bucketName", bucket.bucket)
    pulumi.export("functionArn", fn.arn)
"""


def aws_program(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir(parents=True)
    (tmp_path / "site" / "index.html").write_text("<h1>notes</h1>\n")
    (tmp_path / "site" / "handler.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    return program(tmp_path, AWS_SERVERLESS, project="serverless", stack_config="aws:region: us-west-2\n")


def test_values_a_provider_computes_are_unknown_and_an_apply_on_them_does_not_run(tmp_path):
    # `api.uris["GRAPHQL"]` inside an apply crashed on a mock's None; a preview never runs it.
    result = run("plan", "--stack", "dev", "--program", str(aws_program(tmp_path)), "--format", "json")
    assert outputs(result) == {"graphqlUrl": UNKNOWN, "bucketName": UNKNOWN, "functionArn": UNKNOWN}
    text = run("plan", "--stack", "dev", "--program", str(aws_program(tmp_path / "again")))
    assert "graphqlUrl: [unknown]" in text.out


def test_file_assets_and_archives_are_not_taken_for_secrets(tmp_path):
    result = run("plan", "--stack", "dev", "--program", str(aws_program(tmp_path)), "--format", "json")
    manifest = json.loads(result.out)
    obj = next(r for r in manifest["resources"] if r["type"] == "aws:s3/bucketObject:BucketObject")
    assert obj["props"]["source"]["path"] == "site/index.html"
    assert "[secret]" not in result.out and "appeared outside a secret" not in result.err


@pytest.mark.slow
def test_an_ordinary_aws_program_passes_check(tmp_path):
    result = run_subprocess("check", "--stack", "dev", "--program", str(aws_program(tmp_path)))
    assert result.code == 0, result.all
    assert "Traceback" not in result.all


def test_an_answer_makes_a_computed_value_known(tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"resources": {"aws:appsync/graphQLApi:GraphQLApi": {
        "uris": {"GRAPHQL": "https://abc.appsync-api.us-west-2.amazonaws.com/graphql"}}}}))
    prog = aws_program(tmp_path / "p")
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json", "--answers", str(answers))
    assert outputs(result)["graphqlUrl"] == "https://abc.appsync-api.us-west-2.amazonaws.com/graphql"


KUBERNETES = """
    import pulumi
    import pulumi_kubernetes as k8s

    labels = {"app": "nginx"}
    deployment = k8s.apps.v1.Deployment("nginx", spec={
        "selector": {"match_labels": labels},
        "replicas": 1,
        "template": {"metadata": {"labels": labels},
                     "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}},
    })
    service = k8s.core.v1.Service("nginx", spec={"type": "LoadBalancer", "selector": labels,
                                                  "ports": [{"port": 80}]})
    pulumi.export("name", deployment.metadata.apply(lambda m: m.name))
    pulumi.export("ip", service.status.apply(lambda s: s.load_balancer.ingress[0].ip))
"""


def test_a_kubernetes_service_status_is_unknown_in_a_preview(tmp_path):
    prog = program(tmp_path, KUBERNETES, project="k8s-nginx")
    assert outputs(run("plan", "--stack", "dev", "--program", str(prog), "--format", "json")) == \
        {"name": UNKNOWN, "ip": UNKNOWN}


GCP_CLOUD_RUN = """
    import pulumi
    import pulumi_gcp as gcp

    bucket = gcp.storage.Bucket("site", location="US", uniform_bucket_level_access=True,
                                website=gcp.storage.BucketWebsiteArgs(main_page_suffix="index.html"))
    gcp.storage.BucketObject("index", bucket=bucket.name, name="index.html", content_type="text/html",
                             source=pulumi.FileAsset("site/index.html"))
    gcp.storage.BucketIAMBinding("public-read", bucket=bucket.name, role="roles/storage.objectViewer",
                                 members=["allUsers"])
    service = gcp.cloudrunv2.Service("api", location="us-central1", deletion_protection=False,
                                     ingress="INGRESS_TRAFFIC_ALL",
                                     template=gcp.cloudrunv2.ServiceTemplateArgs(
                                         containers=[gcp.cloudrunv2.ServiceTemplateContainerArgs(
                                             image="us-docker.pkg.dev/cloudrun/container/hello")]))
    gcp.cloudrunv2.ServiceIamMember("invoker", name=service.name, location=service.location,
                                    role="roles/run.invoker", member="allUsers")
    pulumi.export("bucketUrl", bucket.url)
    pulumi.export("serviceUrl", service.uri)
    pulumi.export("firstUrl", service.urls.apply(lambda urls: urls[0]))
"""

AZURE_WEB_APP = """
    import pulumi
    from pulumi_azure_native import resources, storage, web

    group = resources.ResourceGroup("rg")
    account = storage.StorageAccount("site", resource_group_name=group.name, kind=storage.Kind.STORAGE_V2,
                                     sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS))
    website = storage.StorageAccountStaticWebsite("site", account_name=account.name,
                                                  resource_group_name=group.name, index_document="index.html")
    storage.Blob("index", resource_group_name=group.name, account_name=account.name,
                 container_name=website.container_name, blob_name="index.html", content_type="text/html",
                 source=pulumi.FileAsset("site/index.html"))
    plan = web.AppServicePlan("plan", resource_group_name=group.name, kind="Linux", reserved=True,
                              sku=web.SkuDescriptionArgs(name="B1", tier="Basic"))
    app = web.WebApp("api", resource_group_name=group.name, server_farm_id=plan.id, https_only=True,
                     site_config=web.SiteConfigArgs(linux_fx_version="DOCKER|nginx:1.27", min_tls_version="1.2"))
    keys = storage.list_storage_account_keys_output(resource_group_name=group.name, account_name=account.name)
    pulumi.export("staticEndpoint", account.primary_endpoints.web)
    pulumi.export("appHost", app.default_host_name.apply(lambda host: f"https://{host}"))
    pulumi.export("primaryKey", pulumi.Output.secret(keys.keys[0].value))
"""


def cloud_program(tmp_path: Path, main: str, project: str, stack_config: str) -> Path:
    (tmp_path / "site").mkdir(parents=True)
    (tmp_path / "site" / "index.html").write_text("<h1>notes</h1>\n")
    return program(tmp_path, main, project=project, stack_config=stack_config)


def gcp_program(tmp_path: Path) -> Path:
    return cloud_program(tmp_path, GCP_CLOUD_RUN, "gcp-run", "gcp:project: demo-project\ngcp:region: us-central1\n")


def azure_program(tmp_path: Path) -> Path:
    return cloud_program(tmp_path, AZURE_WEB_APP, "azure-webapp", "azure-native:location: westeurope\n")


def test_a_cloud_run_url_and_a_bucket_url_are_unknown_in_a_gcp_preview(tmp_path):
    # `service.urls[0]` inside an apply: a preview leaves the list unknown and never runs the lambda.
    result = run("plan", "--stack", "dev", "--program", str(gcp_program(tmp_path)), "--format", "json")
    assert outputs(result) == {"bucketUrl": UNKNOWN, "serviceUrl": UNKNOWN, "firstUrl": UNKNOWN}
    obj = next(r for r in json.loads(result.out)["resources"] if r["type"] == "gcp:storage/bucketObject:BucketObject")
    assert obj["props"]["source"]["path"] == "site/index.html"


def test_an_azure_invoke_on_values_not_yet_known_is_unknown_and_stays_secret(tmp_path):
    # The SDK itself skips an invoke whose inputs hold unknowns (pulumi/runtime/invoke.py:
    # `struct_contains_unknowns` -> an unknown result), so no answer is needed, as in `pulumi preview`.
    result = run("plan", "--stack", "dev", "--program", str(azure_program(tmp_path)), "--format", "json")
    assert outputs(result) == {"staticEndpoint": UNKNOWN, "appHost": UNKNOWN,
                               "primaryKey": {"secret": True, "unknown": True}}
    types = {r["type"] for r in json.loads(result.out)["resources"]}
    assert {"azure-native:web:WebApp", "azure-native:storage:Blob", "pulumi:providers:azure-native"} <= types


@pytest.mark.slow
@pytest.mark.parametrize("make", [gcp_program, azure_program], ids=["gcp", "azure"])
def test_an_ordinary_gcp_or_azure_program_passes_check(tmp_path, make):
    result = run_subprocess("check", "--stack", "dev", "--program", str(make(tmp_path)))
    assert result.code == 0, result.all
    assert "result: PASS" in result.out and "Traceback" not in result.all


POSTGRES_AND_VERCEL = """
    import pulumi
    import pulumi_postgresql as postgresql
    import pulumi_random as random
    import pulumiverse_vercel as vercel

    password = random.RandomPassword("app", length=32, special=False)
    role = postgresql.Role("app", name="app", login=True, password=password.result)
    database = postgresql.Database("app", name="app", owner=role.name)
    url = pulumi.Output.all(role.name, password.result, database.name).apply(
        lambda v: f"postgresql://{v[0]}:{v[1]}@db.example.com:5432/{v[2]}?sslmode=require")
    project = vercel.Project("web", name="web", framework="nextjs")
    vercel.ProjectEnvironmentVariable("db", project_id=project.id, key="DATABASE_URL", value=url,
                                      targets=["production"], sensitive=True)
    pulumi.export("databaseUrl", pulumi.Output.secret(url))
"""


def test_a_url_built_from_a_generated_password_is_a_secret_unknown(tmp_path):
    prog = program(tmp_path, POSTGRES_AND_VERCEL, project="webapp",
                   stack_config="postgresql:host: db.example.com\npostgresql:sslmode: require\n")
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json")
    assert outputs(result) == {"databaseUrl": {"secret": True, "unknown": True}}
    env = next(r for r in json.loads(result.out)["resources"] if r["name"] == "db")
    assert env["props"]["projectId"] == UNKNOWN  # the project is created by this preview


def test_an_exported_state_makes_unchanged_resources_known(tmp_path):
    # `pulumi stack export` of a deployed stack: an unchanged password keeps its (encrypted) result,
    # which stays a secret; the project keeps its id.
    prog = program(tmp_path, POSTGRES_AND_VERCEL, project="webapp",
                   stack_config="postgresql:host: db.example.com\npostgresql:sslmode: require\n")
    urn = "urn:pulumi:dev::webapp::{}::{}"
    providers = {}
    for package, dist in (("random", "pulumi_random"), ("vercel", "pulumiverse_vercel")):
        version = importlib.metadata.version(dist)
        purn = urn.format(f"pulumi:providers:{package}", "default_" + version.replace(".", "_"))
        providers[package] = f"{purn}::0c5c8b8e-{package}"
        # The default provider as the engine records it: its package config and version.
        providers[f"{package}-state"] = {"urn": purn, "custom": True, "id": f"0c5c8b8e-{package}",
                                         "type": f"pulumi:providers:{package}", "inputs": {"version": version},
                                         "outputs": {"version": version}}
    state = {"version": 3, "deployment": {"resources": [
        providers["random-state"], providers["vercel-state"],
        {"urn": urn.format("random:index/randomPassword:RandomPassword", "app"), "custom": True, "id": "none",
         "type": "random:index/randomPassword:RandomPassword", "provider": providers["random"],
         "inputs": {"length": 32, "special": False},
         "outputs": {"length": 32, "special": False, "result": {
             "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:abc:def"}}},
        {"urn": urn.format("vercel:index/project:Project", "web"), "custom": True, "id": "prj_123",
         "type": "vercel:index/project:Project", "provider": providers["vercel"],
         "inputs": {"name": "web", "framework": "nextjs"},
         "outputs": {"name": "web", "framework": "nextjs", "id": "prj_123"}},
    ]}}
    export = tmp_path / "dev.json"
    export.write_text(json.dumps(state))
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json", "--state", str(export))
    env = next(r for r in json.loads(result.out)["resources"] if r["name"] == "db")
    assert env["props"]["projectId"] == "prj_123"
    assert outputs(result) == {"databaseUrl": {"secret": True}}  # known now, and still a secret


def test_a_state_file_of_another_stack_is_refused(tmp_path):
    prog = program(tmp_path, POSTGRES_AND_VERCEL, project="webapp")
    export = tmp_path / "prod.json"
    export.write_text(json.dumps({"deployment": {"resources": [
        {"urn": "urn:pulumi:prod::webapp::vercel:index/project:Project::web",
         "type": "vercel:index/project:Project"}]}}))
    result = run("plan", "--stack", "dev", "--program", str(prog), "--state", str(export))
    assert result.code == 2 and "holds stack prod" in result.err


PARSES_A_SECRET = """
    import json
    import pulumi
    credentials = pulumi.Config().require_secret("serviceAccount")
    pulumi.export("clientEmail", credentials.apply(lambda text: json.loads(text)["client_email"]))
"""


def test_a_program_that_parses_an_encrypted_secret_is_told_how_to_pass_a_real_shape(tmp_path):
    prog = program(tmp_path, PARSES_A_SECRET, project="gke",
                   stack_config="gke:serviceAccount:\n  secure: v1:bm9uY2U=:Y2lwaGVy\n")
    result = run("plan", "--stack", "dev", "--program", str(prog))
    assert result.code == 3
    assert "the failing code held a stand-in for the secret serviceAccount" in result.err
    assert "--config serviceAccount=<value>" in result.err
    given = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json",
                "--config", 'serviceAccount={"client_email": "ci@example.iam.gserviceaccount.com"}')
    assert outputs(given) == {"clientEmail": {"secret": True}}


def test_a_stack_without_a_stack_file_runs_on_the_projects_defaults(tmp_path):
    prog = program(tmp_path, """
        import pulumi
        pulumi.export("replicas", pulumi.Config().require_int("replicas"))
    """, config="""
        config:
          replicas:
            type: integer
            default: 2
    """)
    (prog / "Pulumi.dev.yaml").unlink()
    result = run("plan", "--stack", "dev", "--program", str(prog), "--format", "json")
    assert outputs(result) == {"replicas": 2.0}
    assert "no Pulumi.dev.yaml" in result.err and "Pulumi.yaml's defaults only" in result.err


def test_a_declared_key_the_stack_lacks_is_refused_in_the_clis_words(tmp_path):
    prog = program(tmp_path, "import pulumi\n", config="""
        config:
          dbPassword:
            type: string
            secret: true
          region:
            type: string
    """)
    result = run("plan", "--stack", "dev", "--program", str(prog))
    assert result.code == 2
    assert result.err.startswith("error: Stack 'dev' is missing configuration values 'dbPassword' and 'region'")


def test_a_key_under_a_namespace_nothing_reads_is_refused(tmp_path):
    # The CLI hands `site:hstsPreload` to the program, which reads `web:hstsPreload`: silently unset.
    prog = program(tmp_path, """
        import pulumi
        pulumi.export("preload", pulumi.Config().get_bool("hstsPreload") or False)
    """, project="web", stack_config="site:hstsPreload: true\naws:region: us-east-1\n")
    result = run("plan", "--stack", "dev", "--program", str(prog))
    assert result.code == 2
    assert "site:hstsPreload: namespace 'site' is neither this project's (web) nor a provider's" in result.err
    assert "did you mean 'web:hstsPreload'?" in result.err
    assert "aws:region" not in result.err  # a provider's namespace: its default provider reads it
