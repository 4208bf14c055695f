"""Where a command's database URL and bucket come from: the environment, or a stack's outputs.

The environment is the guide's: DATABASE_URL (the read-only backup role's URL, with sslmode),
BACKUP_BUCKET, and the standard S3 variables AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY. With `--stack S` they are read from `pulumi stack output --stack S
--show-secrets` instead (needs the Pulumi CLI, logged in to the stack's backend).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from infra import catalog
from ops.errors import UsageError

ENV_FROM_OUTPUTS = {
    # The read-only backup role's URL, with its sslmode.
    "DATABASE_URL": catalog.OUTPUT_BACKUP_DATABASE_URL,
    "BACKUP_BUCKET": catalog.OUTPUT_BACKUPS_BUCKET,
    "AWS_ENDPOINT_URL": catalog.OUTPUT_R2_ENDPOINT,
    "AWS_ACCESS_KEY_ID": catalog.OUTPUT_BACKUP_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": catalog.OUTPUT_BACKUP_SECRET_ACCESS_KEY,
}
PROGRAM_DIR = Path(__file__).resolve().parent.parent


def environment(stack: str | None) -> Mapping[str, str]:
    """The variables a command reads: os.environ, or the stack's outputs under the same names."""
    if not stack:
        return os.environ
    pulumi = shutil.which("pulumi")
    if not pulumi:
        raise UsageError(f"--stack {stack}: the Pulumi CLI (`pulumi`) is not on PATH; install it and "
                         "`pulumi login`, or set DATABASE_URL, BACKUP_BUCKET, AWS_ENDPOINT_URL, "
                         "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead")
    result = subprocess.run(
        [pulumi, "stack", "output", "--stack", stack, "--json", "--show-secrets", "--non-interactive"],
        cwd=PROGRAM_DIR, capture_output=True, text=True, check=False, timeout=300,
    )
    if result.returncode != 0:
        # stderr of a failed `stack output` holds no output values.
        raise UsageError(f"--stack {stack}: `pulumi stack output` failed: {result.stderr.strip()}")
    try:
        outputs = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise UsageError(f"--stack {stack}: `pulumi stack output --json` did not print JSON") from None
    missing = [key for key in ENV_FROM_OUTPUTS.values() if not isinstance(outputs.get(key), str)]
    if missing:
        raise UsageError(f"--stack {stack}: the stack has no output {', '.join(missing)}; run `pulumi up` first")
    return {**os.environ, **{var: outputs[key] for var, key in ENV_FROM_OUTPUTS.items()}}
