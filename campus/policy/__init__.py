"""Access policy: stewards' YAML grants, decided by Rego.

The gateway asks one question per dataset a query touches::

    policy = load_policy(settings)
    decision = policy.decide(user="alice", groups=["researchers"], project=None,
                             dataset="card_usage", columns=["district", "amount"],
                             shape="aggregates", action="query")
    decision.check()          # raises Denied with the reasons, or returns the decision
    decision.masks, decision.row_filter, decision.disclosure, ...   # terms to apply

Layers, each in its own module: `grants` (the YAML models), `files` (reading and
cross-checking the files), `engines` (regopy in-process, or an OPA server),
`store` (reload on change, keep the last good policy), `decision` (the answer),
`policy` (the policy in force). Which engine decides is a campus setting
(`campus.settings.Settings.policy_engine`, ``CAMPUS_POLICY_ENGINE``, ``CAMPUS_OPA_URL``).
Names load on first use, so reading a `Decision` (the notebook client does) never loads
a Rego engine.
The decision logic itself lives in ``policies/campus/*.rego``.
"""

from __future__ import annotations

from importlib import import_module

_LAZY = {
    "Action": ".decision", "Decision": ".decision", "PolicyRequest": ".decision", "Shape": ".decision", "engine_failed": ".decision",
    "request_document": ".decision", "Engine": ".engines", "OpaEngine": ".engines", "PolicyError": ".engines",
    "RegoEngine": ".engines", "PolicyPaths": ".files", "PolicySource": ".files", "PolicyStore": ".store",
    "Policy": ".policy", "load_policy": ".policy", "make_engine": ".policy",
}
MODULES = {"decision", "engines", "expected", "files", "grants", "policy", "regotest", "store"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
    elif name in MODULES:
        value = import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'campus.policy' has no attribute {name!r}")
    globals()[name] = value
    return value
