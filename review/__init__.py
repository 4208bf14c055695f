"""`python -m review`: offline review of a Pulumi Python program (plan, check, diff, graph).

Not part of the deployed program: `pulumi up` imports `infra/` and `stacks/` only.

Sub-packages: `capture` (run a program under Pulumi's mock runtime and record every
registration as the engine receives it) and `packrun` (drive a policy pack over its Analyzer
gRPC interface as the engine does). Modules: `wire` (the engine's wire format: secret markers,
URNs, alias resolution), `evaluate` (read a project's stack config and run its program),
`manifest` (the desired-state manifest and its format), `plan`, `check`, `crossstack`, `diff`,
`graph` (one command each), `render` (text/markdown helpers and the secret scrubber) and `lazy`
(load only the provider SDK modules a program uses). The command line is `review.cli`.
"""
