"""ARA security policies for `pulumi preview --policy-pack policies`.

`ALL_POLICIES` is what `policies/__main__.py` hands to `PolicyPack`; tests import the
modules directly because constructing the pack serves gRPC forever. Everything the pack needs
is inside `policies/` (the shared names in `catalog.py` included), so `pulumi policy publish`,
which packs only this directory, ships a working pack.
"""

from . import (
    data_safety,
    database,
    dns,
    environment,
    rate_limit,
    repository,
    security_headers,
    storage,
    web,
)

ALL_POLICIES = [
    *web.POLICIES,
    *environment.POLICIES,
    *security_headers.POLICIES,
    *rate_limit.POLICIES,
    *storage.POLICIES,
    *dns.POLICIES,
    *database.POLICIES,
    *data_safety.POLICIES,
    *repository.POLICIES,
]

# Rules that encode ARA's own architecture, not a general security property: advisory in the pack,
# mandatory in ARA's `policies/config/*.json` (which apply to the `ara-infra` project only).
ARA_ARCHITECTURE_POLICIES = frozenset({
    rate_limit.REQUIRE_API_RATE_LIMIT.name,
    web.REQUIRE_SKEW_PROTECTION.name,
    security_headers.REQUIRE_SECURITY_HEADERS_ROUTE.name,
    database.REQUIRE_VECTOR_EXTENSION.name,
    database.REQUIRE_EXTENSION_CASCADE_WHEN_UNPROTECTED.name,
    database.REQUIRE_ADMIN_MEMBERSHIP_OF_SESSION_ROLES.name,
    storage.RESTRICT_TOKEN_RESOURCE_PREFIXES.name,
    storage.REQUIRE_BACKUP_LIFECYCLE.name,
    data_safety.REQUIRE_GENERATED_KEY_LENGTH.name,
})

__all__ = ["ALL_POLICIES", "ARA_ARCHITECTURE_POLICIES"]
