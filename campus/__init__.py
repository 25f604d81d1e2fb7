"""Big Data Campus: policy-checked analysis of sensitive city data.

In a notebook, ``campus.sql(...)``, ``campus.datasets()``, ``campus.describe(name)`` and
``campus.explain(...)`` go through the data service (`campus.client`), and ``campus.plot(result, ...)``
draws any result's released values; ``campus.open()``
opens the campus in-process (the service itself, tests, benchmarks).

Only the errors are imported eagerly: the rest loads on first use, so ``import campus``
(and every ``campus`` command) does not pay for DuckDB, polars and SQLAlchemy it may
never need.
"""

from importlib import import_module

from .errors import CampusError, ConfigError, DataMissing, Denied, OverBudget, QueryRejected

_LAZY = {
    "Settings": ".settings",
    "Campus": ".campus",
    "open": ".campus",
    "Result": ".gateway.result",
    "sql": ".client",
    "datasets": ".client",
    "budget": ".client",
    "cost": ".client",
    "describe": ".client",
    "explain": ".client",
    "export": ".client",
    "export_file": ".client",
    "exports": ".client",
    "resubmit": ".client",
    "withdraw": ".client",
    "guide": ".client",
    "plot": ".client",
    "load_ipython_extension": ".client",
}

__all__ = ["CampusError", "ConfigError", "DataMissing", "Denied", "OverBudget", "QueryRejected", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'campus' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
