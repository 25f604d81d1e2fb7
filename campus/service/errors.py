"""Errors over HTTP: every error is ``{"code": ..., "reason": ...}`` with a fitting status.

Each error class carries its own status (``http_status``); the client turns a code back
into the same exception class the gateway raised in-process (`campus.errors.by_code`). Reasons never
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

from ..errors import CampusError, GatewayFailure, HubUnavailable, InvalidRequest, NotFound, by_code

__all__ = [  # the service's errors, and those it re-exports for its modules
    "Forbidden", "HubUnavailable", "InternalError", "InvalidRequest", "InvalidToken", "NotFound", "RequestTooLarge",
    "SessionEnded", "TokenExpired", "TooManyRequests", "Unauthenticated", "body", "from_body", "scrub",
]


class Unauthenticated(CampusError):
    """The request carries no token (or not in an Authorization header)."""

    code = "unauthenticated"
    http_status = 401


class SessionEnded(Unauthenticated):
    """A browser's sign-in ended: signed out, out of time, or what it was opened with is gone."""

    code = "session_ended"


class InvalidToken(CampusError):
    """The token is unknown, malformed, revoked, or its secret does not match."""

    code = "invalid_token"
    http_status = 401


class TokenExpired(CampusError):
    """The token was valid until its expiry."""

    code = "token_expired"
    http_status = 401


class Forbidden(CampusError):
    """The token is valid but may not use the data service."""

    code = "forbidden"
    http_status = 403


class RequestTooLarge(InvalidRequest):
    """The request's body is larger than the service reads."""

    code = "request_too_large"
    http_status = 413


class TooManyRequests(CampusError):
    """One user asked more, or more at once, than the service takes from one user."""

    code = "too_many_requests"
    http_status = 429

    def __init__(self, reason: str, retry_after: float = 1.0):
        super().__init__(reason)
        self.headers = {"Retry-After": str(max(1, round(retry_after)))}


class InternalError(CampusError):
    """A failure inside the service; the reason carries an incident id for the admins."""

    code = "internal_error"


PATH = re.compile(r"(?<![\w./:])/(?:[^\s/'\"\]\[,]+/)+[^\s/'\"\]\[,]*")


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
    error = (by_code(code) or (GatewayFailure if status >= 500 else InvalidRequest))(reason)
    if code and error.code != code:
        error.code = code
    return error
