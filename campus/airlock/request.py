"""An export request as the airlock's layers pass it around: plain, immutable values.

A request is one thing leaving the campus: a **table** (a query the gateway ran again
under the export rules, stored as Parquet) or a **file** (a figure from the workspace,
always reviewed by eye). Its content is fixed by its sha256 once submitted; a returned
request that is resubmitted gets a new round, and possibly new content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from .states import STATUSES, Owner, Status

Kind = Literal["table", "file"]
Decision = Literal["approve", "reject", "return"]
#: The airlock's own name in the audit trail and the timeline, for the moves it makes itself.
AIRLOCK = "airlock"


class User(Protocol):
    """Whoever is acting: the data service's current user, or a gateway session's."""

    name: str
    groups: Sequence[str]


@dataclass(frozen=True)
class CampusUser:
    """A user by name and groups (what the hub tells the service)."""

    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Review:
    """One reviewer's decision in one round of review."""

    reviewer: str
    decision: Decision
    comment: str
    round: int
    at: datetime
    content_sha256: str | None = None  # the content the reviewer looked at (None: recorded before this was kept)


@dataclass(frozen=True)
class Transition:
    """One move between statuses, as the request's timeline shows it."""

    actor: str
    from_status: Status | None  # None: the request was created
    to_status: Status
    note: str
    at: datetime


@dataclass(frozen=True)
class ExportRequest:
    id: int | None
    kind: Kind
    name: str
    description: str
    requester: str
    groups: tuple[str, ...]
    project: str | None
    status: Status
    status_reason: str  # why the airlock or a reviewer put it in this status
    export_rule: str  # the strictest export rule of the grants used: never | review | auto
    sql: str | None  # tables: the query the gateway ran
    filename: str  # the name it downloads as
    media_type: str
    content_sha256: str
    content_bytes: int
    # tables: the disclosure report (`airlock.report_document`); files: the checks (`checks.FileReport.document`)
    report: dict = field(repr=False)
    provenance: dict = field(repr=False)  # query, policy version, data version, content hash, who, when
    round: int = 1
    version: int = 0  # bumped by every save; saves compare it, so concurrent changes conflict
    created_at: datetime | None = None
    updated_at: datetime | None = None
    released_at: datetime | None = None
    reviews: tuple[Review, ...] = field(default=(), compare=False, repr=False)
    timeline: tuple[Transition, ...] = field(default=(), compare=False, repr=False)

    @property
    def owner(self) -> Owner:
        """Who acts next."""
        return STATUSES[self.status].owner

    @property
    def next_step(self) -> str:
        return STATUSES[self.status].next

    @property
    def approvals(self) -> list[str]:
        """The reviewers who approved it in the current round, in order."""
        return [r.reviewer for r in self.reviews if r.round == self.round and r.decision == "approve"]

    @property
    def columns(self) -> list[str]:
        return list(self.provenance.get("columns", []))

    @property
    def withheld(self) -> int:
        """How many values the disclosure rules withheld (0 for files)."""
        return int(self.report.get("suppressed", 0))
