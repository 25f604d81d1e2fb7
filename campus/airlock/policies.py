"""What can happen to an export request in its current state (who may is `permissions`).

The rules:

* only a request that needs review is reviewed; only an approved one is released by a
  reviewer (an automatically approved one is released by the airlock itself); only a
  returned one is resubmitted or withdrawn; only a released one is downloaded;
* every move must be one of `states.TRANSITIONS`;
* the **automatic check** after submission routes a request by the strictest export rule
  of the grants its query used (`auto_check`):

  =====================================  ===============================================
  the request                            goes to
  =====================================  ===============================================
  a file (a figure…)                     needs_review: files are always seen by eye
  has an identifier column               blocked: identifiers never leave the campus
  rule ``never``, or a rule not known    blocked (fail closed)
  rule ``review``                        needs_review
  rule ``auto``, resubmitted             needs_review: a reviewer returned it, so they see it again
  rule ``auto``, values withheld         needs_review: a reviewer checks the rest does not reveal them
  rule ``auto``, nothing withheld        auto_approved, then released by the airlock
  =====================================  ===============================================

* a request the same requester already made is refused while that one stands (in
  progress or released; `check_not_duplicate`): the same query (its text normalised) under
  the same name, or a file with the same content;
* a **review** (`after_review`): one rejection rejects and one return returns (the safe
  direction needs one voice); approval needs ``reviewers_required`` different reviewers
  in the same round. A rejection or a return says why: the requester reads it.

Each ``check_…`` raises `WrongState` (or `InvalidExport`) with the reason; each
``can_…`` answers as a bool.
"""

from __future__ import annotations

import sqlglot
from sqlglot.errors import SqlglotError

from .errors import DuplicateExport, InvalidExport, WrongState, question
from .request import Decision, ExportRequest
from .states import STATUSES, TRANSITIONS, Status

DECISIONS: dict[str, Status] = {"approve": Status.APPROVED, "reject": Status.REJECTED, "return": Status.RETURNED}


def _check_status(request: ExportRequest, allowed: set[Status], doing: str) -> None:
    """Refuse unless `request` is in an `allowed` status, naming the status it is in and what
    happens to it next (so a refusal says what can be done, not which move was wanted)."""
    if request.status not in allowed:
        wanted = " or ".join(sorted(str(s) for s in allowed))
        raise WrongState(f"export request {request.id} is {request.status}, so it cannot be {doing} (only a request "
                         f"that is {wanted} can be); next: {STATUSES[request.status].next}")


def check_can_review(request: ExportRequest) -> None:
    _check_status(request, {Status.NEEDS_REVIEW}, "reviewed")


def check_can_release(request: ExportRequest) -> None:
    _check_status(request, {Status.APPROVED}, "released by a reviewer")


def check_can_resubmit(request: ExportRequest) -> None:
    _check_status(request, {Status.RETURNED}, "resubmitted")


def check_can_withdraw(request: ExportRequest) -> None:
    _check_status(request, {Status.RETURNED}, "withdrawn")


def check_can_download(request: ExportRequest) -> None:
    _check_status(request, {Status.RELEASED}, "downloaded")


def check_transition(request: ExportRequest, to: Status) -> None:
    """Refuse any move that `states.TRANSITIONS` does not list."""
    if (request.status, to) not in TRANSITIONS:
        raise WrongState(f"export request {request.id} is {request.status}: it cannot become {to}")


def check_review(decision: str, comment: str) -> None:
    """A review decides approve, reject or return; a rejection or return says why."""
    if decision not in DECISIONS:
        raise InvalidExport(f"a review decides approve, reject or return, not {decision!r}")
    if decision != "approve" and not comment.strip():
        raise InvalidExport(f"say why you {decision} it: the requester reads your comment")


#: a request in one of these still stands: the same export again is refused
STANDING = frozenset({Status.SUBMITTED, Status.NEEDS_REVIEW, Status.AUTO_APPROVED, Status.APPROVED,
                      Status.RETURNED, Status.RELEASED})


def check_not_duplicate(earlier: list[ExportRequest], *, name: str, sql: str | None = None,
                        content_sha256: str | None = None, pages_url: str | None = None) -> None:
    """Refuse a table export (`name`, `sql`) or file export (`content_sha256`) that one of
    `earlier` (the same requester's) already is, while that one stands; the refusal names it."""
    query = normal_sql(sql) if sql is not None else None
    for first in earlier:
        same = (first.kind == "table" and first.name == name and normal_sql(first.sql or "") == query
                if sql is not None else first.kind == "file" and first.content_sha256 == content_sha256)
        if same and first.status in STANDING:
            where = f" ({pages_url.rstrip('/')}/{first.id})" if pages_url else ""
            raise DuplicateExport(
                f"you already asked for this export: export request {first.id}{where}, {first.name}, is "
                f"{str(first.status).replace('_', ' ')}. {_instead(first)}", existing=first.id)


def _instead(first: ExportRequest) -> str:
    if first.status is Status.RELEASED:
        return "It is released: download it from its page, or campus.exports()."
    if first.status is Status.RETURNED:
        return f"Resubmit it instead (campus.resubmit({first.id}, ...)), or withdraw it first."
    return "Wait for its review (campus.exports() shows where it stands); to ask for something else, change the query."


def normal_sql(sql: str) -> str:
    """`sql` as one text whatever its spacing, keyword case, comments or final semicolon.

    >>> normal_sql("select  district,\\n count(*) FROM card_usage -- all\\n GROUP BY 1;")
    'SELECT district, COUNT(*) FROM card_usage GROUP BY 1'
    """
    try:
        return ";".join(e.sql(dialect="duckdb", normalize=True, comments=False)
                        for e in sqlglot.parse(sql, read="duckdb") if e is not None)
    except SqlglotError:
        return " ".join(sql.split()).rstrip(";").strip()


def auto_check(request: ExportRequest) -> tuple[Status, str]:
    """Where the automatic check sends a submitted request, and why (the table above)."""
    identifiers = request.provenance.get("identifier_columns") or []
    if request.kind == "file":
        return Status.NEEDS_REVIEW, "files leave the campus only after a reviewer has looked at them"
    if identifiers:
        return Status.BLOCKED, f"identifier columns never leave the campus: {', '.join(identifiers)}"
    if request.export_rule == "never" or request.export_rule not in ("review", "auto"):
        return Status.BLOCKED, f"the grants used do not allow exports (export rule: {request.export_rule})"
    if request.export_rule == "review":
        return Status.NEEDS_REVIEW, "the grants used say a reviewer approves each export"
    if request.round > 1:
        return Status.NEEDS_REVIEW, "a reviewer returned this request, so a reviewer sees it again"
    if request.withheld:
        return Status.NEEDS_REVIEW, (
            f"{request.withheld} values were withheld: a reviewer checks that the rest does not reveal them"
        )
    return Status.AUTO_APPROVED, "the grants used allow automatic export and nothing was withheld"


def after_review(request: ExportRequest, decision: Decision, reviewers_required: int) -> Status:
    """The status after one more review (`request.approvals` does not count it yet)."""
    if decision != "approve":
        return DECISIONS[decision]
    approvals = len(set(request.approvals)) + 1
    return Status.APPROVED if approvals >= reviewers_required else Status.NEEDS_REVIEW


can_review = question(check_can_review, WrongState)
can_release = question(check_can_release, WrongState)
can_resubmit = question(check_can_resubmit, WrongState)
can_withdraw = question(check_can_withdraw, WrongState)
can_download = question(check_can_download, WrongState)
