"""Per-stack composition: which components a stack declares and what it exports.

Kept free of component and provider-SDK imports: `python -m stacks.prstack` and `stacks.prsweep`
load this package first, and they must start without the Vercel or Cloudflare SDK (the compositions
are imported by `build`, which only `pulumi up`'s program calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.config import StackConfig


def build(cfg: StackConfig) -> dict[str, Any]:
    """Declare the stack's resources and return its exports."""
    from stacks import preview, prod, pull_request  # noqa: PLC0415 - loads the provider SDKs; see above

    if cfg.is_pull_request:
        return pull_request.build(cfg)
    compositions = {"prod": prod.build, "preview": preview.build}
    return compositions[cfg.stack](cfg)
