"""Which property changes make a provider replace a resource rather than update it.

A leaf (it imports only the catalog's names), shared by `review.diff`, which compares two
manifests, and `review.capture.state`, which predicts each step against a deployed state.
"""

from __future__ import annotations

from infra import catalog

# Stateful resources (`catalog.STATEFUL_TYPES`): a change of one of these replaces the database or
# bucket, which `diff` flags: the physical name, and a bucket's account, jurisdiction and location.
REPLACE_KEYS: dict[str, tuple[str, ...]] = {
    catalog.PG_DATABASE: ("name",),
    catalog.CF_R2_BUCKET: ("name", "accountId", "jurisdiction", "location"),
}

# Properties whose change makes the provider replace the resource (not flagged: nothing stateful),
# so a reviewer sees "replaced" rather than "updated", and what the new resource feeds changes too.
# `*`: every input. Sources: hashicorp/terraform-provider-random internal/provider/resource_password.go
# (keepers: RequiresReplaceIfValuesNotNull; length and the character options: RequiresReplace);
# vercel/terraform-provider-vercel vercel/resource_project_environment_variable.go (key, project_id,
# sensitive, custom_environment_ids, team_id: RequiresReplace).
REPLACED_BY: dict[str, tuple[str, ...]] = {
    catalog.RANDOM_PASSWORD: ("*",),
    catalog.VERCEL_ENV_VAR: ("key", "projectId", "sensitive", "customEnvironmentIds", "teamId"),
    **REPLACE_KEYS,
}
