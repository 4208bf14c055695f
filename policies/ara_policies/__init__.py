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
]

__all__ = ["ALL_POLICIES"]
