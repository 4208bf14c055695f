"""Per-stack composition: which components a stack declares and what it exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.config import StackConfig
from stacks import preview, prod, pull_request

COMPOSITIONS: dict[str, Callable[[StackConfig], dict[str, Any]]] = {
    "prod": prod.build,
    "preview": preview.build,
}


def build(cfg: StackConfig) -> dict[str, Any]:
    """Declare the stack's resources and return its exports."""
    if cfg.is_pull_request:
        return pull_request.build(cfg)
    return COMPOSITIONS[cfg.stack](cfg)
