"""Object storage on Cloudflare R2: reports and backups buckets and their S3 credentials."""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare

from infra import catalog

# Object read/write on the named buckets only; no bucket admin rights.
R2_OBJECT_WRITE_GROUP = "Workers R2 Storage Bucket Item Write"
DAY = 86_400
# Incomplete multipart uploads are invisible but billed: drop them after a day.
ABORT_UPLOADS_AFTER_A_DAY = {"condition": {"type": "Age", "max_age": DAY}}


def r2_bucket_resource(account_id: str, jurisdiction: str, bucket: str) -> str:
    """The token resource key that scopes a permission to one bucket."""
    return f"com.cloudflare.edge.r2.bucket.{account_id}_{jurisdiction}_{bucket}"


def r2_endpoint(account_id: str, jurisdiction: str = "default") -> str:
    """The account's S3 endpoint (presigned URLs point here)."""
    region = {"eu": "eu.", "fedramp": "fedramp."}.get(jurisdiction, "")
    return f"https://{account_id}.{region}r2.cloudflarestorage.com"


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
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)
        location = {"location": args.location} if args.location else {}

        reports = cloudflare.R2Bucket(
            f"{name}-reports",
            account_id=args.account_id,
            name=args.reports_bucket_name,
            jurisdiction=args.jurisdiction,
            storage_class="Standard",
            opts=stateful,
            **location,
        )
        backups = cloudflare.R2Bucket(
            f"{name}-backups",
            account_id=args.account_id,
            name=args.backups_bucket_name,
            jurisdiction=args.jurisdiction,
            storage_class="Standard",
            opts=stateful,
            **location,
        )

        # r2.dev would serve every object publicly; state "off" explicitly so drift shows.
        for role, bucket in (("reports", reports), ("backups", backups)):
            cloudflare.R2ManagedDomain(
                f"{name}-{role}-r2dev",
                account_id=args.account_id,
                bucket_name=bucket.name,
                jurisdiction=args.jurisdiction,
                enabled=False,
                opts=child,
            )

        cloudflare.R2BucketCors(
            f"{name}-reports-cors",
            account_id=args.account_id,
            bucket_name=reports.name,
            jurisdiction=args.jurisdiction,
            rules=[
                {
                    "id": "app-origin-only",
                    "allowed": {"origins": [args.app_origin], "methods": list(args.cors_methods)},
                    "max_age_seconds": 3600,
                }
            ],
            opts=child,
        )
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
                {
                    "id": f"expire-after-{args.backup_retention_days}-days",
                    "enabled": True,
                    "conditions": {"prefix": ""},
                    "delete_objects_transition": {
                        "condition": {"type": "Age", "max_age": args.backup_retention_days * DAY}
                    },
                    "abort_multipart_uploads_transition": ABORT_UPLOADS_AFTER_A_DAY,
                }
            ],
            opts=child,
        )

        group_id = cloudflare.get_api_token_permission_groups_list_output(
            name=urllib.parse.quote(R2_OBJECT_WRITE_GROUP),
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).results[0].id
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


def _abort_uploads_rule() -> dict:
    return {
        "id": "abort-incomplete-uploads",
        "enabled": True,
        "conditions": {"prefix": ""},
        "abort_multipart_uploads_transition": ABORT_UPLOADS_AFTER_A_DAY,
    }


def _bucket_token(
    resource_name: str,
    args: ObjectStorageArgs,
    bucket: cloudflare.R2Bucket,
    group_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> cloudflare.ApiToken:
    return cloudflare.ApiToken(
        resource_name,
        name=pulumi.Output.concat("ara-r2-", bucket.name),
        policies=[
            {
                "effect": "allow",
                "permission_groups": [{"id": group_id}],
                # A JSON string, not a map: the v6 provider's wire format.
                "resources": pulumi.Output.json_dumps(
                    bucket.name.apply(lambda n: {r2_bucket_resource(args.account_id, args.jurisdiction, n): "*"})
                ),
            }
        ],
        opts=opts,
    )


def _s3_credentials(token: cloudflare.ApiToken) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """(access key id, secret access key) of a token, both secret."""
    return pulumi.Output.secret(token.id), pulumi.Output.secret(token.value.apply(s3_secret_from_token))
