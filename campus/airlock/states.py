"""The export request's states: who acts next in each, and the moves between them.

::

    submitted ──airlock──▶ blocked                               (final)
        │       airlock──▶ auto_approved ──airlock──▶ released   (final)
        └─────── airlock──▶ needs_review ──reviewers──▶ approved ──reviewers──▶ released
                                    │       reviewers──▶ rejected              (final)
                                    └────── reviewers──▶ returned ──requester──▶ submitted
                                                                   requester──▶ withdrawn (final)

`STATUSES` says, for every status, who acts next (its *owner*) and what they do;
`TRANSITIONS` lists every allowed move and who makes it. A move is always made by the
owner of the status it leaves (the tests check both tables against each other and
drive every move through the airlock). Downloading a released export is not a move:
it changes nothing, and is audited each time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    SUBMITTED = "submitted"
    BLOCKED = "blocked"
    NEEDS_REVIEW = "needs_review"
    AUTO_APPROVED = "auto_approved"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"
    RELEASED = "released"


class Owner(StrEnum):
    """Who acts next on a request."""

    AIRLOCK = "airlock"  # the airlock itself, at once, without anyone's say
    REQUESTER = "requester"
    REVIEWERS = "reviewers"  # export reviewers (policies' roles: export_reviewers), never the requester
    NOBODY = "nobody"  # final: nothing more happens


@dataclass(frozen=True)
class StatusInfo:
    owner: Owner
    next: str  # what happens next, in words a requester or steward reads


STATUSES: dict[Status, StatusInfo] = {
    Status.SUBMITTED: StatusInfo(Owner.AIRLOCK, "the airlock checks it against the grant's export rule"),
    Status.BLOCKED: StatusInfo(Owner.NOBODY, "final: this export is not allowed to leave the campus"),
    Status.NEEDS_REVIEW: StatusInfo(Owner.REVIEWERS, "an export reviewer approves, rejects or returns it"),
    Status.AUTO_APPROVED: StatusInfo(Owner.AIRLOCK, "the airlock releases it (the grant allows automatic export)"),
    Status.APPROVED: StatusInfo(Owner.REVIEWERS, "an export reviewer releases it"),
    Status.REJECTED: StatusInfo(Owner.NOBODY, "final: a reviewer rejected it"),
    Status.RETURNED: StatusInfo(Owner.REQUESTER, "the requester answers the comments and resubmits, or withdraws it"),
    Status.WITHDRAWN: StatusInfo(Owner.NOBODY, "final: the requester withdrew it"),
    Status.RELEASED: StatusInfo(Owner.NOBODY, "final: the requester can download it"),
}

#: Every allowed move, with who makes it and the audit action that records it.
TRANSITIONS: dict[tuple[Status, Status], tuple[Owner, str]] = {
    (Status.SUBMITTED, Status.BLOCKED): (Owner.AIRLOCK, "export_checked"),
    (Status.SUBMITTED, Status.NEEDS_REVIEW): (Owner.AIRLOCK, "export_checked"),
    (Status.SUBMITTED, Status.AUTO_APPROVED): (Owner.AIRLOCK, "export_checked"),
    (Status.AUTO_APPROVED, Status.RELEASED): (Owner.AIRLOCK, "export_released"),
    (Status.NEEDS_REVIEW, Status.APPROVED): (Owner.REVIEWERS, "export_reviewed"),
    (Status.NEEDS_REVIEW, Status.REJECTED): (Owner.REVIEWERS, "export_reviewed"),
    (Status.NEEDS_REVIEW, Status.RETURNED): (Owner.REVIEWERS, "export_reviewed"),
    (Status.APPROVED, Status.RELEASED): (Owner.REVIEWERS, "export_released"),
    (Status.RETURNED, Status.SUBMITTED): (Owner.REQUESTER, "export_resubmitted"),
    (Status.RETURNED, Status.WITHDRAWN): (Owner.REQUESTER, "export_withdrawn"),
}

FINAL = frozenset(s for s, info in STATUSES.items() if info.owner is Owner.NOBODY)


def moves_from(status: Status) -> list[Status]:
    """The statuses a request in `status` can move to.

    >>> [str(s) for s in moves_from(Status.NEEDS_REVIEW)]
    ['approved', 'rejected', 'returned']
    """
    return [to for (frm, to) in TRANSITIONS if frm is status]
