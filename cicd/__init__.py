"""What the GitHub workflows run from the base branch or from `main`, never from a pull request's
code: the code-owner approval of a pull request (`cicd.approval`, `cicd.codeowners`) and the
hash-pinned locks of what the credentialed jobs install (`cicd.lock`); and the policy pack's
generated copy of the shared catalog (`cicd.pack`). Standard library only.

    python -m cicd gate --base DIR --changed FILE --reviews FILE --head-sha SHA --author LOGIN
    python -m cicd approved-head --base DIR --pull FILE --reviews FILE --repository OWNER/NAME
                                 [--base-branch main] [--github-output FILE]
    python -m cicd lock
    python -m cicd pack [--check]

Exit codes: 0 approved (or nothing to approve; `pack`: the copy is current), 1 not approved (`pack --check`:
the copy is stale), 2 bad input (named).
"""
