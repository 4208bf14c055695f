"""Operations for ARA's database: backups to R2, restores and restore drills, connection checks.

`python -m ops backup|restore|drill|list|connections|smoke`; see docs/how-to/backups-and-restores.md,
docs/reference/ops-cli.md (options, exit codes) and docs/how-to/runbooks/.
Not imported by `pulumi up`: its dependencies are in ops/requirements.txt.
"""
