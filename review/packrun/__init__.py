"""Run a pulumi-policy (Python) pack over captured resources, as `pulumi preview --policy-pack` does.

`process` starts the pack as the engine does and stops it; `session` talks to its Analyzer gRPC
service in the engine's order; `config` parses, reconciles and validates the policy config as
the engine does; `results` holds what comes back. See `review.packrun.session` for the decisions
taken where the engine's behaviour had to be modelled.
"""

from review.packrun.config import (
    PolicyConfigError,
    load_policy_config,
    parse_policy_config,
    reconcile_policy_config,
)
from review.packrun.results import (
    ENFORCEMENT_LEVELS,
    Diagnostic,
    NotApplicable,
    PackInfo,
    PolicyInfo,
    PolicyPackError,
    PolicyResult,
    Remediation,
)
from review.packrun.session import AnalysisRun, Outcome, PolicyPackSession, Tracker, open_policy_pack, run_policy_pack

__all__ = [
    "ENFORCEMENT_LEVELS", "AnalysisRun", "Diagnostic", "Outcome", "Tracker", "NotApplicable", "PackInfo",
    "PolicyConfigError", "PolicyInfo",
    "PolicyPackError", "PolicyPackSession", "PolicyResult", "Remediation", "load_policy_config",
    "open_policy_pack", "parse_policy_config", "reconcile_policy_config", "run_policy_pack",
]
