"""Errors over HTTP: every error is ``{"code": ..., "reason": ...}`` with a fitting status.

The status of each code, in one table (`STATUS`); the client turns a code back into
the same exception class the gateway raised in-process (`ERRORS`). Reasons never
carry a stack trace, a token or a file path: `scrub` removes paths from the reasons
the gateway writes, and anything unexpected becomes ``internal_error`` with an
incident id to quote (the details go to the service log).

>>> scrub("DuckDB could not run the query: No files found that match /srv/campus/data/x/*.parquet")
'DuckDB could not run the query: No files found that match <path>'
>>> scrub("group by floor(amount / 10000) * 10000 instead")
'group by floor(amount / 10000) * 10000 instead'
"""

from __future__ import annotations

import re

from ..errors import CampusError, ConfigError, DataMissing, Denied, GatewayFailure, QueryRejected, QueryTimeout
from .tokens import InvalidToken, TokenExpired


class Unauthenticated(CampusError):
    """The request carries no token (or not in an Authorization header)."""

    code = "unauthenticated"


class Forbidden(CampusError):
    """The token is valid but may not use the data service."""

    code = "forbidden"


class NotFound(CampusError):
    """No such dataset (or endpoint)."""

    code = "not_found"


class InvalidRequest(CampusError):
    """The request's body or parameters do not fit the API."""

    code = "invalid_request"


class HubUnavailable(CampusError):
    """JupyterHub could not be asked who a token belongs to."""

    code = "hub_unavailable"


class InternalError(CampusError):
    """A failure inside the service; the reason carries an incident id for the admins."""

    code = "internal_error"


# code -> (HTTP status, the exception the client raises)
CODES: dict[str, tuple[int, type[CampusError]]] = {
    InvalidRequest.code: (422, InvalidRequest),
    QueryRejected.code: (400, QueryRejected),
    Unauthenticated.code: (401, Unauthenticated),
    InvalidToken.code: (401, InvalidToken),
    TokenExpired.code: (401, TokenExpired),
    Forbidden.code: (403, Forbidden),
    Denied.code: (403, Denied),
    NotFound.code: (404, NotFound),
    "request_too_large": (413, InvalidRequest),
    QueryTimeout.code: (504, QueryTimeout),
    GatewayFailure.code: (500, GatewayFailure),
    InternalError.code: (500, InternalError),
    ConfigError.code: (500, ConfigError),
    HubUnavailable.code: (502, HubUnavailable),
    DataMissing.code: (503, DataMissing),
}
STATUS = {code: status for code, (status, _) in CODES.items()}
ERRORS = {code: error for code, (_, error) in CODES.items()}

PATH = re.compile(r"(?<![\w./:])/(?:[^\s/'\"\]\[,]+/)+[^\s/'\"\]\[,]*")


def status_of(error: CampusError) -> int:
    """The HTTP status of an error: its own ``http_status`` if it has one, else the table's."""
    return getattr(error, "http_status", None) or STATUS.get(error.code, 500)


def body(code: str, reason: str) -> dict:
    return {"code": code, "reason": reason}


def scrub(reason: str) -> str:
    """`reason` with absolute file paths replaced by ``<path>``."""
    return PATH.sub("<path>", reason)


def from_body(status: int, payload: dict | None) -> CampusError:
    """The exception a client raises for an error response (the server's reason kept)."""
    payload = payload if isinstance(payload, dict) else {}
    code, reason = str(payload.get("code", "")), payload.get("reason")
    if not isinstance(reason, str) or not reason:
        reason = f"the data service answered HTTP {status} without a reason; tell the campus admins"
    error = ERRORS.get(code, GatewayFailure if status >= 500 else InvalidRequest)(reason)
    if code and error.code != code:
        error.code = code
    return error
