"""Generated application keys (ENCRYPTION_KEY, JWT_SECRET)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from infra import catalog


@dataclass(frozen=True, kw_only=True)
class GeneratedKeysArgs:
    """Inputs of `GeneratedKeys`."""

    version: int = 1
    """Rotation counter kept in the keepers; defaults to 1. Bumping it replaces both keys."""
    encryption_key_length: int = catalog.ENCRYPTION_KEY_LENGTH
    """ENCRYPTION_KEY length; defaults to 32 (the app requires exactly 32)."""
    jwt_secret_length: int = catalog.GENERATED_KEY_LENGTHS["jwt_secret"]
    """JWT_SECRET length; defaults to 64 (HS256 wants at least 256 bits; 64 alphanumerics give ~380)."""


class GeneratedKeys(pulumi.ComponentResource):
    """Keys the app needs that nobody should type: random, stored only as secrets."""

    encryption_key: pulumi.Output[str]
    """ENCRYPTION_KEY (secret)."""
    jwt_secret: pulumi.Output[str]
    """JWT_SECRET (secret)."""

    def __init__(self, name: str, args: GeneratedKeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_GENERATED_KEYS, name, None, opts)
        if args.encryption_key_length != catalog.ENCRYPTION_KEY_LENGTH:
            raise ValueError(f"{name}: ENCRYPTION_KEY must be exactly {catalog.ENCRYPTION_KEY_LENGTH} characters")
        if args.jwt_secret_length < catalog.GENERATED_KEY_LENGTHS["jwt_secret"]:
            raise ValueError(f"{name}: JWT_SECRET must be at least "
                             f"{catalog.GENERATED_KEY_LENGTHS['jwt_secret']} characters")
        keepers = {"version": str(args.version)}
        # RandomPassword, not RandomString: only its result is stored as a secret.
        # special=False keeps the values safe in URLs, headers and shell exports.
        encryption = random.RandomPassword(
            f"{name}-encryption-key",
            length=args.encryption_key_length,
            special=False,
            keepers=keepers,
            opts=pulumi.ResourceOptions(parent=self),
        )
        jwt = random.RandomPassword(
            f"{name}-jwt-secret",
            length=args.jwt_secret_length,
            special=False,
            keepers=keepers,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The provider marks `result` secret; wrapping keeps it secret under any engine.
        self.encryption_key = pulumi.Output.secret(encryption.result)
        self.jwt_secret = pulumi.Output.secret(jwt.result)
        self.register_outputs({"encryption_key": self.encryption_key, "jwt_secret": self.jwt_secret})
