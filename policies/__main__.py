"""ARA policy pack entry point: `pulumi preview --policy-pack policies`.

Only builds the pack. `PolicyPack(...)` starts the analyzer gRPC server and never returns,
so the rules live in `ara_policies` and tests import that package, never this file.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from ara_policies import ALL_POLICIES

PolicyPack(
    name="ara-security",
    policies=ALL_POLICIES,
    enforcement_level=EnforcementLevel.ADVISORY,
    description="Security and data-safety rules for ARA on Vercel, Cloudflare R2/DNS and Postgres.",
    display_name="ARA security",
    tags=["ara", "vercel", "cloudflare", "postgresql"],
)
