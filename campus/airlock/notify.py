"""Telling people when an export request moves, by e-mail.

Who is told, by the status a request moves to (`TOLD`):

=============================================  =========================================
the request becomes                            who is told
=============================================  =========================================
needs_review (a new or resubmitted request)    every export reviewer but its requester
approved, rejected, returned, released         its requester
anything else                                  nobody (the requester is the one acting)
=============================================  =========================================

Addresses are the provisioning file's ``email:`` per user (hub/users.yaml); someone
without one is not mailed. Mail goes over SMTP (`smtplib`) to ``CAMPUS_AIRLOCK_SMTP_HOST``;
with no host set nothing is sent. A mail that cannot be sent is logged and never
stops the move: the request's page and the requester's list show what changed anyway.
A mail names the request, its new status, the note and the link to its page; never
its content.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from campus.settings import AirlockSettings

from .request import ExportRequest
from .states import Status

log = logging.getLogger(__name__)

REVIEWERS, REQUESTER = "reviewers", "requester"
TOLD: dict[Status, str] = {
    Status.NEEDS_REVIEW: REVIEWERS,
    Status.APPROVED: REQUESTER,
    Status.REJECTED: REQUESTER,
    Status.RETURNED: REQUESTER,
    Status.RELEASED: REQUESTER,
}
WHAT_NEXT: dict[Status, str] = {
    Status.NEEDS_REVIEW: "Open it to approve, return or reject it.",
    Status.APPROVED: "A reviewer releases it next.",
    Status.REJECTED: "It will not leave the campus; the comment says why.",
    Status.RETURNED: "Answer the comment and resubmit it from your notebook (campus.resubmit), or withdraw it.",
    Status.RELEASED: "Download it from its page.",
}


def recipients(request: ExportRequest, policy) -> list[str]:
    """The addresses told about `request` in its current status (the table above)."""
    told = TOLD.get(request.status)
    source = policy.store.source
    if told is None or source is None:
        return []
    people = source.users.users
    if told == REQUESTER:
        names = [request.requester]
    else:
        names = [name for name, user in people.items()
                 if name != request.requester and policy.may_review_exports(name, user.groups)]
    return sorted({people[n].email for n in names if n in people and people[n].email})


def message(request: ExportRequest, sender: str, to: list[str], pages_url: str | None) -> EmailMessage:
    """The e-mail about `request`'s new status."""
    status = str(request.status).replace("_", " ")
    mail = EmailMessage()
    mail["From"], mail["To"] = sender, ", ".join(to)
    mail["Subject"] = f"Export request {request.id} ({request.name}) is {status}"
    link = f"{pages_url.rstrip('/')}/{request.id}" if pages_url else "the airlock's pages"
    mail.set_content(
        f"Export request {request.id}, {request.name}, by {request.requester}, is now {status}.\n"
        + (f"Note: {request.status_reason}\n" if request.status_reason else "")
        + f"{WHAT_NEXT.get(request.status, '')}\n\nOpen it: {link}\n"
    )
    return mail


def tell(request: ExportRequest, policy, settings: AirlockSettings) -> list[str]:
    """Mail the people `request`'s new status concerns; the addresses mailed (none when off or
    when sending failed, which is logged)."""
    to = recipients(request, policy) if settings.smtp_host else []
    if not to:
        return []
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(message(request, settings.smtp_from, to, settings.pages_url))
    except (OSError, smtplib.SMTPException) as e:
        log.warning("could not mail %s about export request %s (%s): %s; check CAMPUS_AIRLOCK_SMTP_HOST and _PORT",
                    ", ".join(to), request.id, request.status, e)
        return []
    return to
