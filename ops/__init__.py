"""Operations for ARA's database: backups to R2, restores and restore drills, connection checks.

`python -m ops backup|restore|connections`; see README ("Operations") and docs/how-to/runbooks/.
Not imported by `pulumi up`: its dependencies are in ops/requirements.txt.
"""
