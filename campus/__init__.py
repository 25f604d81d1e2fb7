"""Big Data Campus: policy-checked analysis of sensitive city data."""

from .errors import CampusError, ConfigError, DataMissing, Denied, QueryRejected
from .settings import Settings
from .campus import Campus, open
from .gateway.result import Result

__all__ = ["Campus", "CampusError", "ConfigError", "DataMissing", "Denied", "QueryRejected", "Result", "Settings", "open"]
