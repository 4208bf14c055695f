"""Object storage on Cloudflare R2: reports and backups buckets and their S3 credentials."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_cloudflare as cloudflare

from infra import catalog

# Object read/write on the named buckets only; no bucket admin rights ("Workers R2 Storage
# Bucket Item Write - Bucket - Can read, write, and list objects in buckets", Cloudflare
# r2/api/tokens.mdx).
R2_OBJECT_WRITE_GROUP = "Workers R2 Storage Bucket Item Write"
R2_BUCKET_SCOPE = "com.cloudflare.edge.r2.bucket"
"""The scope of bucket-level permission groups (the prefix of every bucket resource key)."""
DAY = 86_400


def _abort_uploads_after_a_day() -> cloudflare.R2BucketLifecycleRuleAbortMultipartUploadsTransitionArgs:
    # Incomplete multipart uploads are invisible but billed: drop them after a day.
    return cloudflare.R2BucketLifecycleRuleAbortMultipartUploadsTransitionArgs(
        condition=cloudflare.R2BucketLifecycleRuleAbortMultipartUploadsTransitionConditionArgs(type="Age", max_age=DAY)
    )


def r2_bucket_resource(account_id: str, jurisdiction: str, bucket: str) -> str:
    """The token resource key that scopes a permission to one bucket."""
    return f"com.cloudflare.edge.r2.bucket.{account_id}_{jurisdiction}_{bucket}"


def r2_endpoint(account_id: str, jurisdiction: str = "default") -> str:
    """The account's S3 endpoint (presigned URLs point here)."""
    region = {"eu": "eu.", "fedramp": "fedramp."}.get(jurisdiction, "")
    return f"https://{account_id}.{region}r2.cloudflarestorage.com"


def token_resources(resources: dict[str, str]) -> str:
    """A token policy's `resources` as the API returns it: compact JSON, keys sorted.

    The provider stores the API's raw JSON in state and compares it as a plain string
    (terraform-provider-cloudflare internal/services/api_token/schema.go:89-94, custom.go:160-168;
    the API's compact form in custom_test.go:72-77; account_token/custom.go does the same), so
    `json.dumps`'s default ", " / ": " would show a diff on every `up`.
    """
    return json.dumps(resources, separators=(",", ":"), sort_keys=True)


class PermissionGroupNotFound(pulumi.RunError):
    """The permission-group list has no group of the exact name the program needs.

    A `RunError`: "a clean exit rather than the usual verbose unhandled error logic" (pulumi/errors.py:18-22).
    """


def permission_group_id(results: Sequence[Any], name: str) -> str:
    """The id of the group called exactly `name` in a permission-group list.

    The API filters by name on its side, but the filter is not documented as exact, so the
    match is made here; a missing group is an error naming it, not an IndexError.
    """
    ids = [r.id for r in results if getattr(r, "name", None) == name]
    if not ids:
        found = ", ".join(sorted(str(getattr(r, "name", "?")) for r in results)) or "none"
        raise PermissionGroupNotFound(
            f"Cloudflare permission group {name!r} not found (scope {R2_BUCKET_SCOPE}; the lookup returned: {found}). "
            "The deploying token needs 'Account API Tokens Read'; see docs/tutorials/first-deployment.md, "
            "'Before the first up'."
        )
    return ids[0]


def r2_bucket_origins(account_id: str, jurisdiction: str = "default") -> str:
    """A CSP source matching the virtual-hosted origin of every bucket in the account.

    Presigned URLs use https://<bucket>.<account>.r2.cloudflarestorage.com by default
    (Cloudflare's example, r2/api/s3/presigned-urls.mdx; AWS SDKs unless told to use path
    style), which the account endpoint alone does not match. The wildcard covers each stack's
    own reports bucket, so previews (served by prod's routes) reach theirs too.
    """
    return r2_endpoint(account_id, jurisdiction).replace("https://", "https://*.", 1)


def s3_secret_from_token(token_value: str) -> str:
    """R2's S3 secret access key is the SHA-256 hex digest of the API token value."""
    return hashlib.sha256(token_value.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class ObjectStorageArgs:
    """Inputs of `ObjectStorage`."""

    account_id: str
    """Cloudflare account id; required."""
    reports_bucket_name: str
    """Bucket for generated reports; required."""
    backups_bucket_name: str
    """Bucket for database backups; required."""
    app_origin: pulumi.Input[str]
    """The only origin CORS allows on the reports bucket; required."""
    location: str = ""
    """Location hint (apac, eeur, enam, weur, wnam, oc); defaults to none, letting Cloudflare choose."""
    jurisdiction: str = "default"
    """Data jurisdiction; defaults to "default"."""
    backup_retention_days: int = 30
    """Days until backups are deleted; defaults to 30."""
    cors_methods: Sequence[str] = ("GET", "HEAD")
    """Methods the browser may use on reports (presigned downloads); defaults to GET and HEAD."""
    protect: bool = True
    """Protect and retain both buckets; defaults to True."""
    lock_backups: bool = True
    """Lock every backup against overwrite and deletion for `backup_retention_days`; defaults to True."""


class ObjectStorage(pulumi.ComponentResource):
    """Two private R2 buckets, each with an API token scoped to exactly that bucket."""

    reports_bucket_name: pulumi.Output[str]
    """Name of the reports bucket."""
    backups_bucket_name: pulumi.Output[str]
    """Name of the backups bucket."""
    access_key_id: pulumi.Output[str]
    """The app's S3 access key id for the reports bucket (the token id; secret)."""
    secret_access_key: pulumi.Output[str]
    """The app's S3 secret access key (SHA-256 of the token value; secret)."""
    backup_access_key_id: pulumi.Output[str]
    """The backup job's S3 access key id for the backups bucket (secret)."""
    backup_secret_access_key: pulumi.Output[str]
    """The backup job's S3 secret access key (secret)."""
    endpoint: pulumi.Output[str]
    """S3 endpoint of the account."""

    def __init__(self, name: str, args: ObjectStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_OBJECT_STORAGE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        reports, backups = self._buckets(name, args)
        self._r2dev_off(name, args, child, reports=reports, backups=backups)
        self._reports_cors(name, args, child, reports)
        self._lifecycles(name, args, child, reports=reports, backups=backups)
        if args.lock_backups:
            self._backups_lock(name, args, child, backups)
        group_id = self._object_write_group_id(args)
        # One token per bucket: the app can read and write reports but never touch the
        # database dumps; the backup job gets the backups bucket and nothing else.
        app_token = _bucket_token(f"{name}-app-token", args, reports, group_id, child)
        backup_token = _bucket_token(f"{name}-backup-token", args, backups, group_id, child)

        self.reports_bucket_name = reports.name
        self.backups_bucket_name = backups.name
        self.access_key_id, self.secret_access_key = _s3_credentials(app_token)
        self.backup_access_key_id, self.backup_secret_access_key = _s3_credentials(backup_token)
        self.endpoint = pulumi.Output.from_input(r2_endpoint(args.account_id, args.jurisdiction))
        self.register_outputs(
            {
                "reports_bucket_name": self.reports_bucket_name,
                "backups_bucket_name": self.backups_bucket_name,
                "access_key_id": self.access_key_id,
                "secret_access_key": self.secret_access_key,
                "backup_access_key_id": self.backup_access_key_id,
                "backup_secret_access_key": self.backup_secret_access_key,
                "endpoint": self.endpoint,
            }
        )

    # -- steps ----------------------------------------------------------------------------------
    def _buckets(self, name: str, args: ObjectStorageArgs) -> tuple[cloudflare.R2Bucket, cloudflare.R2Bucket]:
        """(reports, backups): protected and retained unless `protect` is off."""
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)
        location = {"location": args.location} if args.location else {}

        def bucket(role: str, bucket_name: str) -> cloudflare.R2Bucket:
            return cloudflare.R2Bucket(
                f"{name}-{role}",
                account_id=args.account_id,
                name=bucket_name,
                jurisdiction=args.jurisdiction,
                storage_class="Standard",
                opts=stateful,
                **location,
            )

        return bucket("reports", args.reports_bucket_name), bucket("backups", args.backups_bucket_name)

    def _r2dev_off(self, name: str, args: ObjectStorageArgs, child: pulumi.ResourceOptions, *,
                   reports: cloudflare.R2Bucket, backups: cloudflare.R2Bucket) -> None:
        # r2.dev would serve every object publicly. New buckets start with it off; this states
        # it, and turns it off on a bucket adopted with it on. It does not watch it: the
        # provider's Read and Delete are empty (internal/services/r2_managed_domain/resource.go:
        # 148-154), so switching r2.dev on in the dashboard shows in no refresh or preview.
        # docs/explanation/limits.md ("Drift this program cannot see") says how to check it.
        for role, bucket in (("reports", reports), ("backups", backups)):
            cloudflare.R2ManagedDomain(
                f"{name}-{role}-r2dev",
                account_id=args.account_id,
                bucket_name=bucket.name,
                jurisdiction=args.jurisdiction,
                enabled=False,
                opts=child,
            )

    def _reports_cors(self, name: str, args: ObjectStorageArgs, child: pulumi.ResourceOptions,
                      reports: cloudflare.R2Bucket) -> None:
        cloudflare.R2BucketCors(
            f"{name}-reports-cors",
            account_id=args.account_id,
            bucket_name=reports.name,
            jurisdiction=args.jurisdiction,
            rules=[
                cloudflare.R2BucketCorsRuleArgs(
                    id="app-origin-only",
                    allowed=cloudflare.R2BucketCorsRuleAllowedArgs(
                        origins=[args.app_origin], methods=list(args.cors_methods)
                    ),
                    max_age_seconds=3600,
                )
            ],
            opts=child,
        )

    def _lifecycles(self, name: str, args: ObjectStorageArgs, child: pulumi.ResourceOptions, *,
                    reports: cloudflare.R2Bucket, backups: cloudflare.R2Bucket) -> None:
        cloudflare.R2BucketLifecycle(
            f"{name}-reports-lifecycle",
            account_id=args.account_id,
            bucket_name=reports.name,
            jurisdiction=args.jurisdiction,
            rules=[_abort_uploads_rule()],
            opts=child,
        )
        # The guide's cron deleted local copies only; here R2 itself expires backups.
        cloudflare.R2BucketLifecycle(
            f"{name}-backups-lifecycle",
            account_id=args.account_id,
            bucket_name=backups.name,
            jurisdiction=args.jurisdiction,
            rules=[
                cloudflare.R2BucketLifecycleRuleArgs(
                    id=f"expire-after-{args.backup_retention_days}-days",
                    enabled=True,
                    conditions=cloudflare.R2BucketLifecycleRuleConditionsArgs(prefix=""),
                    delete_objects_transition=cloudflare.R2BucketLifecycleRuleDeleteObjectsTransitionArgs(
                        condition=cloudflare.R2BucketLifecycleRuleDeleteObjectsTransitionConditionArgs(
                            type="Age", max_age=args.backup_retention_days * DAY
                        )
                    ),
                    abort_multipart_uploads_transition=_abort_uploads_after_a_day(),
                )
            ],
            opts=child,
        )

    def _backups_lock(self, name: str, args: ObjectStorageArgs, child: pulumi.ResourceOptions,
                      backups: cloudflare.R2Bucket) -> None:
        # A leaked backup token (object write on this bucket) can delete objects; the lock
        # makes each dump immutable until it is as old as the retention, when the lifecycle
        # rule removes it (`_lifecycles`). Lock rules take precedence over lifecycle deletion, and a
        # token without bucket-configuration rights cannot remove them (Cloudflare
        # r2/buckets/bucket-locks.mdx, "Notes"). Backups must be written under new keys:
        # an overwrite of a locked key is refused too.
        cloudflare.R2BucketLock(
            f"{name}-backups-lock",
            account_id=args.account_id,
            bucket_name=backups.name,
            jurisdiction=args.jurisdiction,
            rules=[
                # No `prefix`: the whole bucket, in the form the provider's own test uses
                # (r2_bucket_lock/resource_test.go reads an omitted prefix back as null). An
                # empty string would read back as null (model.go `json:"prefix,optional"`,
                # Read copies the API's JSON), a change on every `up` (audit 2026-12b B10).
                cloudflare.R2BucketLockRuleArgs(
                    id=f"lock-for-{args.backup_retention_days}-days",
                    enabled=True,
                    condition=cloudflare.R2BucketLockRuleConditionArgs(
                        type="Age", max_age_seconds=args.backup_retention_days * DAY
                    ),
                )
            ],
            opts=child,
        )

    def _object_write_group_id(self, args: ObjectStorageArgs) -> pulumi.Output[str]:
        """The id of the R2 object-write permission group both tokens are granted."""
        # The raw name: the provider puts it into url.Values, which encodes it
        # (account_api_token_permission_groups/list_data_source_model.go:33, and the user-token
        # twin api_token_permission_groups/list_data_source_model.go:30, whose acceptance test
        # passes a raw "DNS Read", data_source_test.go:38). A pre-encoded name would go out as
        # Workers%2520R2... and match nothing.
        return cloudflare.get_account_api_token_permission_groups_list_output(
            account_id=args.account_id,
            name=R2_OBJECT_WRITE_GROUP,
            scope=R2_BUCKET_SCOPE,
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).results.apply(lambda results: permission_group_id(results, R2_OBJECT_WRITE_GROUP))


def _abort_uploads_rule() -> cloudflare.R2BucketLifecycleRuleArgs:
    return cloudflare.R2BucketLifecycleRuleArgs(
        id="abort-incomplete-uploads",
        enabled=True,
        conditions=cloudflare.R2BucketLifecycleRuleConditionsArgs(prefix=""),
        abort_multipart_uploads_transition=_abort_uploads_after_a_day(),
    )


def _bucket_token(
    resource_name: str,
    args: ObjectStorageArgs,
    bucket: cloudflare.R2Bucket,
    group_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> cloudflare.AccountToken:
    # Account-owned, not user-owned: a user token "become[s] inactive if your user is removed
    # from the account", an account token stays "valid until manually revoked" (Cloudflare
    # r2/api/tokens.mdx), and minting one needs "Account API Tokens Write" rather than the
    # user-wide "API Tokens Write" (account_token/schema.go, Scopes).
    return cloudflare.AccountToken(
        resource_name,
        account_id=args.account_id,
        name=pulumi.Output.concat("ara-r2-", bucket.name),
        policies=[
            cloudflare.AccountTokenPolicyArgs(
                effect="allow",
                permission_groups=[cloudflare.AccountTokenPolicyPermissionGroupArgs(id=group_id)],
                # A JSON string, not a map: the v6 provider's wire format.
                resources=bucket.name.apply(
                    lambda n: token_resources({r2_bucket_resource(args.account_id, args.jurisdiction, n): "*"})
                ),
            )
        ],
        opts=opts,
    )


def _s3_credentials(token: cloudflare.AccountToken) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """(access key id, secret access key) of a token, both secret."""
    return pulumi.Output.secret(token.id), pulumi.Output.secret(token.value.apply(s3_secret_from_token))
