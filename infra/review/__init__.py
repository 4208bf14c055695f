"""`python -m infra`: offline review of this Pulumi program (plan, check, diff, graph).

Modules: `evaluate` (run a program under the mock runtime), `manifest` (the desired-state
manifest and its format), `plan`, `check`, `diff`, `graph` (one command each), `render`
(text/markdown helpers and the secret scrubber) and `lazy` (load only the provider SDK modules
a program uses). The command line is `infra.cli`.
"""
