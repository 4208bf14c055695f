"""ObjectStorage: two private R2 buckets, lifecycle rules, CORS, and one token per bucket."""

import hashlib
import json
from types import SimpleNamespace

import pulumi
import pytest

from infra import catalog
from infra.storage import (
    R2_OBJECT_WRITE_GROUP,
    ObjectStorage,
    ObjectStorageArgs,
    PermissionGroupNotFound,
    permission_group_id,
    r2_bucket_origins,
    r2_bucket_resource,
    s3_secret_from_token,
    token_resources,
)
from review import wire
from tests.support import run_component

ACCOUNT = "0123456789abcdef0123456789abcdef"
ORIGIN = "https://app.example.com"
DAY = 86_400


def _args(**overrides):
    base = {
        "account_id": ACCOUNT,
        "reports_bucket_name": "t-reports",
        "backups_bucket_name": "t-backups",
        "app_origin": ORIGIN,
    }
    return ObjectStorageArgs(**{**base, **overrides})


def _storage(**overrides):
    return run_component(lambda: ObjectStorage("st", _args(**overrides)))


def _buckets(cap):
    return {r.name: r for r in cap.of_type(catalog.CF_R2_BUCKET)}


def test_declares_the_reports_and_backups_buckets_as_children():
    cap = _storage()
    component = cap.one(catalog.TOKEN_OBJECT_STORAGE, "st")
    buckets = _buckets(cap)
    assert sorted(buckets) == ["st-backups", "st-reports"]
    assert buckets["st-reports"].props["name"] == "t-reports"
    assert buckets["st-backups"].props["name"] == "t-backups"
    for bucket in buckets.values():
        assert bucket.parent == component.urn
        assert bucket.props["accountId"] == ACCOUNT
        assert bucket.props["jurisdiction"] == "default"
        assert bucket.props["storageClass"] == "Standard"


def test_no_location_is_sent_when_none_is_configured():
    for bucket in _buckets(_storage()).values():
        assert "location" not in bucket.props


@pytest.mark.parametrize("location", ["enam", "weur", "apac"])
def test_configured_location_hint_is_sent_verbatim(location):
    for bucket in _buckets(_storage(location=location)).values():
        assert bucket.props["location"] == location
        assert bucket.props["location"] != "auto"


def test_buckets_are_protected_and_retained_by_default():
    for bucket in _buckets(_storage()).values():
        assert bucket.protect is True
        assert bucket.retain_on_delete is True


def test_buckets_are_neither_protected_nor_retained_when_protect_is_false():
    for bucket in _buckets(_storage(protect=False)).values():
        assert bucket.protect is False
        assert bucket.retain_on_delete is False


def test_only_the_buckets_are_protected():
    cap = _storage()
    protected = {r.type for r in cap.resources if r.protect}
    assert protected == {catalog.CF_R2_BUCKET}


def test_public_r2_dev_domains_are_disabled_for_both_buckets():
    domains = {r.name: r for r in _storage().of_type(catalog.CF_R2_MANAGED_DOMAIN)}
    assert sorted(domains) == ["st-backups-r2dev", "st-reports-r2dev"]
    assert domains["st-reports-r2dev"].props["bucketName"] == "t-reports"
    assert domains["st-backups-r2dev"].props["bucketName"] == "t-backups"
    assert all(d.props["enabled"] is False for d in domains.values())


def test_no_custom_domain_makes_a_bucket_public():
    assert _storage().of_type(catalog.CF_R2_CUSTOM_DOMAIN) == []


def test_cors_allows_only_the_app_origin_to_get_and_head_reports():
    cors = _storage().one(catalog.CF_R2_CORS)
    assert cors.name == "st-reports-cors"
    assert cors.props["bucketName"] == "t-reports"
    [rule] = cors.props["rules"]
    assert rule["allowed"]["origins"] == [ORIGIN]
    assert rule["allowed"]["methods"] == ["GET", "HEAD"]
    assert "*" not in rule["allowed"]["origins"]


def test_backups_bucket_has_no_cors_rule():
    cors = _storage().of_type(catalog.CF_R2_CORS)
    assert [c.props["bucketName"] for c in cors] == ["t-reports"]


def _lifecycle(cap, bucket):
    return cap.one(catalog.CF_R2_LIFECYCLE, f"st-{bucket}-lifecycle")


def test_backups_expire_after_30_days():
    [rule] = _lifecycle(_storage(), "backups").props["rules"]
    assert rule["enabled"] is True
    assert rule["conditions"] == {"prefix": ""}
    assert rule["deleteObjectsTransition"]["condition"] == {"type": "Age", "maxAge": 30 * DAY}


def test_backups_expire_after_a_custom_retention():
    [rule] = _lifecycle(_storage(backup_retention_days=7), "backups").props["rules"]
    assert rule["id"] == "expire-after-7-days"
    assert rule["deleteObjectsTransition"]["condition"]["maxAge"] == 7 * DAY


@pytest.mark.parametrize("bucket", ["reports", "backups"])
def test_incomplete_multipart_uploads_are_aborted_after_a_day(bucket):
    [rule] = _lifecycle(_storage(), bucket).props["rules"]
    assert rule["abortMultipartUploadsTransition"] == {"condition": {"type": "Age", "maxAge": DAY}}


def test_reports_are_never_expired():
    [rule] = _lifecycle(_storage(), "reports").props["rules"]
    assert "deleteObjectsTransition" not in rule


@pytest.mark.parametrize(("token", "bucket"), [("st-app-token", "t-reports"), ("st-backup-token", "t-backups")])
def test_each_token_is_scoped_to_exactly_its_own_bucket(token, bucket):
    [policy] = _storage().one(catalog.CF_ACCOUNT_TOKEN, token).props["policies"]
    assert policy["effect"] == "allow"
    # The v6 provider takes `resources` as a JSON string.
    assert isinstance(policy["resources"], str)
    assert json.loads(policy["resources"]) == {f"com.cloudflare.edge.r2.bucket.{ACCOUNT}_default_{bucket}": "*"}


def test_the_app_token_cannot_reach_the_backups():
    app = _storage().one(catalog.CF_ACCOUNT_TOKEN, "st-app-token")
    assert "t-backups" not in app.props["policies"][0]["resources"]


def test_token_resources_follow_the_jurisdiction():
    tokens = _storage(jurisdiction="eu").of_type(catalog.CF_ACCOUNT_TOKEN)
    resources = {k for t in tokens for k in json.loads(t.props["policies"][0]["resources"])}
    assert resources == {r2_bucket_resource(ACCOUNT, "eu", b) for b in ("t-reports", "t-backups")}


def test_tokens_use_the_permission_group_the_provider_returns():
    expected = hashlib.sha256(f"permission-group/{R2_OBJECT_WRITE_GROUP}".encode()).hexdigest()[:32]
    for token in _storage().of_type(catalog.CF_ACCOUNT_TOKEN):
        assert token.props["policies"][0]["permissionGroups"] == [{"id": expected}]


def test_permission_group_lookup_sends_the_raw_name_and_the_bucket_scope():
    # The provider URL-encodes the name itself (list_data_source_model.go:30); a pre-encoded
    # name would reach the API as Workers%2520R2... and match nothing.
    invokes = [args for tok, args in _storage().invokes if tok == catalog.INVOKE_GET_ACCOUNT_PERMISSION_GROUPS]
    assert invokes == [{"accountId": ACCOUNT, "name": "Workers R2 Storage Bucket Item Write",
                        "scope": "com.cloudflare.edge.r2.bucket"}]


def _group(name, id_):
    return SimpleNamespace(name=name, id=id_, scopes=["com.cloudflare.edge.r2.bucket"])


def test_the_permission_group_is_picked_by_its_exact_name():
    results = [_group("Workers R2 Storage Bucket Item Read", "read"), _group(R2_OBJECT_WRITE_GROUP, "write")]
    assert permission_group_id(results, R2_OBJECT_WRITE_GROUP) == "write"


@pytest.mark.parametrize("results", [[], [SimpleNamespace(name="Workers R2 Storage Bucket Item Read", id="read")]])
def test_a_missing_permission_group_is_a_clear_error_naming_it(results):
    with pytest.raises(PermissionGroupNotFound, match="'Workers R2 Storage Bucket Item Write' not found"):
        permission_group_id(results, R2_OBJECT_WRITE_GROUP)
    # A RunError: the language host prints the message, not a traceback.
    assert issubclass(PermissionGroupNotFound, pulumi.RunError)


@pytest.mark.parametrize("token", ["st-app-token", "st-backup-token"])
def test_token_resources_are_compact_json_as_the_api_returns_them(token):
    resources = _storage().one(catalog.CF_ACCOUNT_TOKEN, token).props["policies"][0]["resources"]
    assert ", " not in resources and ": " not in resources
    assert resources == json.dumps(json.loads(resources), separators=(",", ":"), sort_keys=True)


def test_token_resources_sort_keys_so_the_string_is_stable():
    assert token_resources({"b": "*", "a": "*"}) == '{"a":"*","b":"*"}'


def test_tokens_are_named_after_their_buckets():
    names = {t.name: t.props["name"] for t in _storage().of_type(catalog.CF_ACCOUNT_TOKEN)}
    assert names == {"st-app-token": "ara-r2-t-reports", "st-backup-token": "ara-r2-t-backups"}


def test_bucket_resource_key_has_account_jurisdiction_and_bucket():
    assert r2_bucket_resource("acct", "default", "b") == "com.cloudflare.edge.r2.bucket.acct_default_b"


def test_s3_secret_is_the_sha256_hex_of_the_token_value():
    assert s3_secret_from_token("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(s3_secret_from_token("abc")) == 64


@pytest.mark.parametrize(
    ("jurisdiction", "endpoint"),
    [
        ("default", f"https://{ACCOUNT}.r2.cloudflarestorage.com"),
        ("eu", f"https://{ACCOUNT}.eu.r2.cloudflarestorage.com"),
        ("fedramp", f"https://{ACCOUNT}.fedramp.r2.cloudflarestorage.com"),
    ],
)
def test_endpoint_follows_the_jurisdiction(jurisdiction, endpoint):
    outputs = _storage(jurisdiction=jurisdiction).one(catalog.TOKEN_OBJECT_STORAGE).outputs
    assert outputs["endpoint"] == endpoint


def test_registered_credentials_outputs_are_secret():
    outputs = _storage().one(catalog.TOKEN_OBJECT_STORAGE).outputs
    for key in ("access_key_id", "secret_access_key", "backup_access_key_id", "backup_secret_access_key"):
        assert wire.is_secret(outputs[key]), key
    assert outputs["reports_bucket_name"] == "t-reports"
    assert outputs["backups_bucket_name"] == "t-backups"


def test_prod_buckets_are_protected_and_preview_buckets_are_not(prod, preview):
    assert all(b.protect and b.retain_on_delete for b in prod.of_type(catalog.CF_R2_BUCKET))
    assert not any(b.protect or b.retain_on_delete for b in preview.of_type(catalog.CF_R2_BUCKET))


@pulumi.runtime.test
def test_access_key_id_and_secret_access_key_are_secrets(mocks):
    storage = ObjectStorage("st", _args())

    def check(flags):
        assert flags == [True, True]

    return pulumi.Output.all(
        pulumi.Output.from_input(storage.access_key_id.is_secret()),
        pulumi.Output.from_input(storage.secret_access_key.is_secret()),
    ).apply(check)


@pulumi.runtime.test
def test_secret_access_key_is_sha256_of_the_token_value(mocks):
    storage = ObjectStorage("st", _args())

    def check(values):
        access_key_id, secret = values
        token = next(r for urn, r in mocks.get_registered_resources().items() if urn.endswith("::st-app-token"))
        assert access_key_id == token.id
        assert secret == hashlib.sha256(token.state["value"].encode()).hexdigest()
        assert secret != token.state["value"]

    return pulumi.Output.all(storage.access_key_id, storage.secret_access_key).apply(check)


R2_LOCK = catalog.CF_R2_LOCK


def test_backups_are_locked_for_the_retention_period_so_a_leaked_token_cannot_delete_them():
    cap = _storage(backup_retention_days=14)
    lock = cap.one(R2_LOCK)
    assert lock.name == "st-backups-lock"
    assert lock.parent == cap.one(catalog.TOKEN_OBJECT_STORAGE).urn
    assert lock.props["bucketName"] == "t-backups"
    # No prefix: the whole bucket as the provider's own test writes it (an empty prefix reads back
    # as null: audit B10).
    assert lock.props["rules"] == [{"id": "lock-for-14-days", "enabled": True,
                                    "condition": {"type": "Age", "maxAgeSeconds": 14 * DAY}}]


def test_the_lock_never_outlasts_the_lifecycle_expiry():
    cap = _storage()
    [lock_rule] = cap.one(R2_LOCK).props["rules"]
    [expiry] = _lifecycle(cap, "backups").props["rules"]
    assert lock_rule["condition"]["maxAgeSeconds"] == expiry["deleteObjectsTransition"]["condition"]["maxAge"]


def test_reports_are_not_locked_and_locking_can_be_left_out():
    assert [lock.props["bucketName"] for lock in _storage().of_type(R2_LOCK)] == ["t-backups"]
    assert _storage(lock_backups=False).of_type(R2_LOCK) == []


def test_prod_locks_its_backups_and_preview_does_not(prod, preview):
    assert [lock.props["bucketName"] for lock in prod.of_type(R2_LOCK)] == ["ara-prod-backups"]
    assert preview.of_type(R2_LOCK) == []


@pytest.mark.parametrize("token", ["st-app-token", "st-backup-token"])
def test_tokens_are_owned_by_the_account_not_by_a_user(token):
    # A user token goes inactive when its user leaves the account (r2/api/tokens.mdx).
    cap = _storage()
    assert cap.of_type(catalog.CF_API_TOKEN) == []
    assert cap.one(catalog.CF_ACCOUNT_TOKEN, token).props["accountId"] == ACCOUNT


@pytest.mark.parametrize(("jurisdiction", "origins"), [
    ("default", f"https://*.{ACCOUNT}.r2.cloudflarestorage.com"),
    ("eu", f"https://*.{ACCOUNT}.eu.r2.cloudflarestorage.com"),
])
def test_bucket_origins_cover_virtual_hosted_urls_in_the_jurisdiction(jurisdiction, origins):
    assert r2_bucket_origins(ACCOUNT, jurisdiction) == origins
