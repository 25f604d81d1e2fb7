"""The airlock's errors: each names what was refused and what to do next.

They are `campus.CampusError`s, so every caller (the HTTP layer, the CLI, a notebook)
reads the same `code` and `reason`.
"""

from __future__ import annotations

from collections.abc import Callable

from campus.errors import CampusError, NotFound


class AirlockError(CampusError):
    """Base of the airlock's refusals."""

    code = "airlock_error"


class RequestNotFound(NotFound, AirlockError):
    """No such export request, or none that this user may see (the two look the same)."""


class NotPermitted(AirlockError):
    """This user may not do this to this request (`permissions`)."""

    code = "not_permitted"
    http_status = 403


class WrongState(AirlockError):
    """The request is not in a state that allows this (`policies`)."""

    code = "wrong_state"
    http_status = 409


class Conflict(AirlockError):
    """Someone else changed the request at the same moment; reload and try again."""

    code = "conflict"
    http_status = 409


class InvalidExport(AirlockError):
    """The export itself is malformed: no name, an empty or oversized file, a missing comment."""

    code = "invalid_export"
    http_status = 422


class ContentChanged(AirlockError):
    """A stored table or file no longer matches the hash it was reviewed under."""

    code = "content_changed"
    http_status = 409


class QuotaExceeded(AirlockError):
    """A user has asked for as many exports, or bytes, as a day allows."""

    code = "quota_exceeded"
    http_status = 429


class DuplicateExport(AirlockError):
    """The same requester already asked for this export, and that request is in progress or released."""

    code = "duplicate_export"
    http_status = 409

    def __init__(self, reason: str, existing: int | None = None):
        super().__init__(reason)
        self.existing = existing


class StaleReview(AirlockError):
    """A decision given for content or a round the request no longer holds."""

    code = "stale_review"
    http_status = 409


def question(check: Callable[..., None], *refusals: type[AirlockError]) -> Callable[..., bool]:
    """A ``check_…`` as a yes/no question for pages (``can_…``): False where it would refuse.

    >>> def check_can_fly(request): raise WrongState("not in this state")
    >>> can_fly = question(check_can_fly, WrongState)
    >>> can_fly.__name__, can_fly(None)
    ('can_fly', False)
    """
    def can(*args) -> bool:
        try:
            check(*args)
        except refusals:
            return False
        return True

    can.__name__ = "can_" + check.__name__.removeprefix("check_").removeprefix("user_").removeprefix("can_")
    can.__doc__ = f"Whether `{check.__name__}` would allow it."
    return can
