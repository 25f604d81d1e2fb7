"""Big Data Campus: policy-checked analysis of sensitive city data.

In a notebook, ``campus.sql(...)``, ``campus.datasets()``, ``campus.describe(name)`` and
``campus.explain(...)`` go through the data service (`campus.client`); ``campus.open()``
opens the campus in-process (the service itself, tests, benchmarks).
"""

from .errors import CampusError, ConfigError, DataMissing, Denied, QueryRejected
from .settings import Settings
from .campus import Campus, open
from .gateway.result import Result
from .client import datasets, describe, explain, load_ipython_extension, sql  # through the data service

__all__ = [
    "Campus", "CampusError", "ConfigError", "DataMissing", "Denied", "QueryRejected", "Result", "Settings", "datasets",
    "describe", "explain", "open", "sql",
]
