"""The campus's errors: each says what went wrong and what to do next.

Every error class with a code of its own is registered under it when it is defined,
wherever it lives (here, or a package's ``errors`` module: the data service, the airlock,
the hub); a second class claiming a code already taken fails at import. `by_code` turns a
code from the wire back into its class, loading the packages' ``errors`` modules for a code
it has not met yet, so no module has to be imported for its codes alone.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module
from pathlib import Path

REGISTRY: dict[str, type[CampusError]] = {}


class CampusError(Exception):
    """Base of every error the campus raises on purpose.

    `reason` is the sentence a researcher, steward or admin reads; it says what to
    do next. `code` names the error for programs, and `http_status` is its status
    wherever it crosses HTTP (the data service, the airlock).
    """

    code = "campus_error"
    http_status = 500

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            register(cls)


def register(cls: type[CampusError]) -> None:
    """Register `cls` under its code; TypeError if another class holds the code."""
    held = REGISTRY.get(cls.code)
    if held is not None and (held.__module__, held.__qualname__) != (cls.__module__, cls.__qualname__):
        raise TypeError(f"error code {cls.code!r} of {cls.__module__}.{cls.__qualname__} is already "
                        f"{held.__module__}.{held.__qualname__}'s: give it a code of its own, or raise that one")
    REGISTRY[cls.code] = cls


register(CampusError)


def by_code(code: str) -> type[CampusError] | None:
    """The error class registered under `code`, wherever the campus defines it.

    >>> by_code("denied").__name__, by_code("wrong_state").__module__, by_code("no such code") is None
    ('Denied', 'campus.airlock.errors', True)
    """
    if code not in REGISTRY:
        load_error_modules()
    return REGISTRY.get(code)


def load_error_modules() -> None:
    """Import each ``campus.<package>.errors``; its classes register their codes as they are defined."""
    here = Path(__file__).parent
    for package in pkgutil.iter_modules([str(here)]):
        if package.ispkg and (here / package.name / "errors.py").is_file():
            import_module(f"{__package__}.{package.name}.errors")


class ConfigError(CampusError):
    """A steward- or admin-written file (catalog, grants, users) is invalid."""

    code = "invalid_config"


class DataMissing(CampusError):
    """A dataset's files are not where the catalog says."""

    code = "data_missing"
    http_status = 503


class Denied(CampusError):
    """The policy said no."""

    code = "denied"
    http_status = 403


class QueryRejected(CampusError):
    """The SQL is unsafe or not supported by the gateway."""

    code = "query_rejected"
    http_status = 400


class OverBudget(CampusError):
    """Releasing a query's new cells would pass a disclosure budget (campus/gateway/ledger.py)."""

    code = "over_budget"
    http_status = 403


class QueryTimeout(CampusError):
    """The query ran past the time limit and was cancelled."""

    code = "query_timeout"
    http_status = 504


class GatewayFailure(CampusError):
    """Something inside the campus failed; the query was refused rather than risked."""

    code = "gateway_failure"


class NotFound(CampusError):
    """No such thing (a dataset, an endpoint, an export request), or none this user may see."""

    code = "not_found"
    http_status = 404


class InvalidRequest(CampusError):
    """A request's body or parameters do not fit the API."""

    code = "invalid_request"
    http_status = 422


class HubUnavailable(CampusError):
    """JupyterHub's REST API did not answer, or refused the token it was asked with."""

    code = "hub_unavailable"
    http_status = 502


class BuildError(CampusError):
    """The demo data cannot be built as asked; the reason says what to change."""

    code = "build_failed"


class LoadRefused(CampusError):
    """A steward's file cannot be loaded as it is; the reason names the file, column and line, never a value."""

    code = "load_refused"
    http_status = 400


class AuditTampered(CampusError):
    """The audit trail no longer follows from the anchor the campus kept: nothing more is recorded."""

    code = "audit_tampered"
    http_status = 503
