"""ara-infra: load and validate the stack's config, then declare that stack."""

import pulumi

import stacks
from infra.config import ConfigError, load_config

try:
    config = load_config()
except ConfigError as error:
    # RunError prints the message alone: the operator needs the keys, not a traceback.
    raise pulumi.RunError(str(error)) from None

for key, value in stacks.build(config).items():
    pulumi.export(key, value)
