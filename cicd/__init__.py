"""What the GitHub workflows run from the base branch or from `main`, never from a pull request's
code: the code-owner approval of a pull request (`cicd.approval`, `cicd.codeowners`) and the
hash-pinned locks of what the credentialed jobs install (`cicd.lock`); and the policy pack's
generated copy of the shared catalog (`cicd.pack`). Standard library only (and the
standard-library leaf `infra.exitcodes`).

    python -m cicd gate --base DIR --changed FILE --reviews FILE --head-sha SHA --author LOGIN
    python -m cicd approved-head --base DIR --pull FILE --reviews FILE --repository OWNER/NAME
                                 [--base-branch main] [--github-output FILE]
    python -m cicd lock
    python -m cicd pack [--check]

Exit codes (the repository's one scheme, `infra.exitcodes`; docs/reference/exit-codes.md): 0 approved
(or nothing to approve; `pack`: the copy is current), 1 a finding: not approved (`pack --check`: the
copy is stale), 2 bad input (named), 4 pip or the package index failed (`lock`), 5 a bug (`--debug`
shows the traceback), 130 interrupted.
"""
