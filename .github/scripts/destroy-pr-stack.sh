#!/usr/bin/env bash
# Destroy and remove the pull-request stack pr-$PR_NUMBER: the one destroy both
# pull-request-closed.yml (a merged pull request) and sweep-pr-stacks.yml (left-over stacks) run,
# from main's code (`destroy` runs no program: it needs Pulumi.yaml and the providers in the state).
#
# Environment: PR_NUMBER (digits), HEAD_REF (the pull request's head branch, for the stack file),
# DB_ADMIN_PASSWORD (the preview server's admin), RUNNER_TEMP, PULUMI_BACKEND_URL (empty: Pulumi
# Cloud) and the backend's and providers' credentials. Run from the program directory, with its
# .venv. The stack name is built from the number and checked here, before any pulumi command, so
# this script can never touch prod or preview.
set -euo pipefail

if ! [[ "$PR_NUMBER" =~ ^[1-9][0-9]{0,8}$ ]]; then
  echo "::error::pull request number '$PR_NUMBER' is not a number; refusing"; exit 1
fi
stack="pr-$PR_NUMBER"
if ! [[ "$stack" =~ ^pr-[1-9][0-9]{0,8}$ ]] || [[ "$stack" == "prod" || "$stack" == "preview" ]]; then
  echo "::error::refusing to destroy stack '$stack'"; exit 1
fi
if [[ -n "$PULUMI_BACKEND_URL" ]]; then pulumi login --non-interactive "$PULUMI_BACKEND_URL"; else pulumi login --non-interactive; fi
state="$RUNNER_TEMP/$stack.state.json"
set +e
pulumi stack export --stack "$stack" --file "$state" --non-interactive
code=$?
set -e
# Exit code 6: stack not found (https://www.pulumi.com/docs/iac/cli/exit-codes/).
if [[ "$code" == 6 ]]; then echo "no stack $stack: nothing to destroy"; exit 0; fi
if [[ "$code" != 0 ]]; then exit "$code"; fi
# The runner has no stack file: write it with the salt of the stack's secrets (pulumi/pulumi#5657).
.venv/bin/python -m stacks.prstack --number "$PR_NUMBER" --branch "$HEAD_REF" --state "$state"
rm -f "$state"
# The rewritten file has no secret, and `destroy` of CLI releases before 3.249 validates the
# stack's config like `up` (pkg/cmd/pulumi/operations/destroy.go): every key Pulumi.yaml
# declares without a default must be set. The admin password as for `up`; the app
# secrets, which this stack never reads, to a stand-in that is no credential.
printf '%s' "$DB_ADMIN_PASSWORD" | pulumi config set --secret --stack "$stack" dbAdminPassword
pulumi config set-all --stack "$stack" \
  --secret clerkSecretKey=unread-by-pull-request-stacks --secret clerkJwtKey=unread-by-pull-request-stacks \
  --secret openaiApiKey=unread-by-pull-request-stacks --secret upstashRedisUrl=unread-by-pull-request-stacks \
  --secret posthogApiKey=unread-by-pull-request-stacks --secret sentryDsn=unread-by-pull-request-stacks
pulumi destroy --stack "$stack" --yes --non-interactive --suppress-outputs
pulumi stack rm --stack "$stack" --yes --non-interactive
