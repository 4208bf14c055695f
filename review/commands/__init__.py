"""One module per `python -m review` subcommand (`cmd_plan`, `cmd_check`, `cmd_diff`, `cmd_graph`).

Each takes the `Output` to write through, the `Inputs` every subcommand shares and its own options
as keyword arguments, and returns an exit code (`review.errors`). `review.cli` parses and dispatches.
"""
