"""Where export requests live: tables on the campus metadata, content on disk.

The airlock's logic talks to an `ExportStore` (the data-access Protocol); `SqlExportStore`
keeps requests, reviews and the timeline in the service database (SQLite or PostgreSQL;
the tables are on ``campus.db.metadata`` and created by the campus's migrations, revision
0002, like every other table) and the content — a
checked table as Parquet, a file as its bytes — under a store directory, named by its
sha256::

    <store_dir>/tables/<sha256>.parquet
    <store_dir>/files/<sha256>.bin

Content is written once and never changed; reading it checks the hash again, so a file
changed on disk after review is refused rather than released. Every save compares the
request's ``version``: two reviewers acting at the same moment cannot both move it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine

from campus.db import connect, ensure_schema, metadata

from .errors import Conflict, ContentChanged, RequestNotFound
from .request import ExportRequest, Kind, Review, Transition
from .states import Status

export_requests = Table(
    "export_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("requester", String(200), nullable=False, index=True),
    Column("groups", JSON, nullable=False),
    Column("project", String(200), index=True),
    Column("status", String(20), nullable=False, index=True),
    Column("status_reason", Text, nullable=False),
    Column("export_rule", String(10), nullable=False),
    Column("sql", Text),
    Column("filename", String(255), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("content_bytes", BigInteger, nullable=False),
    Column("report", JSON, nullable=False),
    Column("provenance", JSON, nullable=False),
    Column("round", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True)),
)

export_reviews = Table(
    "export_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", Integer, ForeignKey("export_requests.id"), nullable=False, index=True),
    Column("round", Integer, nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("decision", String(10), nullable=False),
    Column("comment", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("content_sha256", String(64)),
)

export_timeline = Table(
    "export_timeline",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", Integer, ForeignKey("export_requests.id"), nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("note", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

TABLES = [export_requests, export_reviews, export_timeline]
_SAVED = [c.name for c in export_requests.columns if c.name not in ("id", "created_at")]


class ExportStore(Protocol):
    """What the airlock needs from storage."""

    def create(self, request: ExportRequest, transition: Transition) -> ExportRequest:
        """Store a new request (its id assigned here) and the first step of its timeline."""

    def get(self, request_id: int, requester: str | None = None) -> ExportRequest:
        """The request with its reviews and timeline; `RequestNotFound` if there is none (made by
        `requester`, when given: another's request is found no more than a missing one)."""

    def save(
        self, request: ExportRequest, *, expected_version: int, transition: Transition | None = None,
        review: Review | None = None,
    ) -> ExportRequest:
        """Write `request` if nobody changed it since `expected_version` (else `Conflict`),
        with the timeline step and review that go with the change, in one transaction."""

    def find(
        self, *, requester: str | None = None, statuses: Iterable[Status] | None = None, limit: int | None = None
    ) -> list[ExportRequest]:
        """Requests, newest first."""

    def releases(self, *, requester: str, project: str | None, excluding: int | None = None) -> list[ExportRequest]:
        """Released requests by `requester` or within `project`, newest first."""

    def submitted_since(self, requester: str, since: datetime) -> tuple[int, int]:
        """How many requests `requester` made since `since`, and their content's bytes."""

    def put_content(self, kind: Kind, content: bytes) -> str:
        """Keep `content`; its sha256."""

    def read_content(self, kind: Kind, sha256: str) -> bytes:
        """The content stored under `sha256`; `ContentChanged` if it no longer hashes to it."""


class SqlExportStore:
    """Requests in the service database, content under `directory`."""

    def __init__(self, database: str | Engine, directory: Path | str):
        self.engine = connect(database) if isinstance(database, str) else database
        self.directory = Path(directory)
        ensure_schema(self.engine)

    # --- requests ---------------------------------------------------------------

    def create(self, request: ExportRequest, transition: Transition) -> ExportRequest:
        now = _now()
        row = _row(request) | {"created_at": now, "updated_at": now}
        with self.engine.begin() as db:
            request_id = db.execute(insert(export_requests).values(**row)).inserted_primary_key[0]
            db.execute(insert(export_timeline).values(request_id=request_id, **_transition_row(transition)))
        return self.get(request_id)

    def get(self, request_id: int, requester: str | None = None) -> ExportRequest:
        query = select(export_requests).where(export_requests.c.id == request_id)
        if requester is not None:
            query = query.where(export_requests.c.requester == requester)
        with self.engine.connect() as db:
            row = db.execute(query).first()
            if row is None:
                raise RequestNotFound(f"there is no export request {request_id} that you can see")
            return self._load(db, [row])[0]

    def save(self, request, *, expected_version, transition=None, review=None) -> ExportRequest:
        row = _row(request) | {"version": expected_version + 1, "updated_at": _now()}
        with self.engine.begin() as db:
            changed = db.execute(
                update(export_requests)
                .where(and_(export_requests.c.id == request.id, export_requests.c.version == expected_version))
                .values(**{k: row[k] for k in _SAVED})
            ).rowcount
            if changed != 1:
                raise Conflict(
                    f"export request {request.id} was changed by someone else just now; reload it and try again"
                )
            if transition is not None:
                db.execute(insert(export_timeline).values(request_id=request.id, **_transition_row(transition)))
            if review is not None:
                db.execute(insert(export_reviews).values(
                    request_id=request.id, round=review.round, reviewer=review.reviewer, decision=review.decision,
                    comment=review.comment, at=review.at, content_sha256=review.content_sha256,
                ))
        return self.get(request.id)

    def find(self, *, requester=None, statuses=None, limit=None) -> list[ExportRequest]:
        query = select(export_requests).order_by(export_requests.c.id.desc())
        if requester is not None:
            query = query.where(export_requests.c.requester == requester)
        if statuses is not None:
            query = query.where(export_requests.c.status.in_([str(s) for s in statuses]))
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as db:
            return self._load(db, db.execute(query).all())

    def submitted_since(self, requester: str, since: datetime) -> tuple[int, int]:
        query = select(func.count(), func.coalesce(func.sum(export_requests.c.content_bytes), 0)).where(
            export_requests.c.requester == requester, export_requests.c.created_at >= since)
        with self.engine.connect() as db:
            count, size = db.execute(query).one()
        return int(count), int(size)

    def releases(self, *, requester, project, excluding=None) -> list[ExportRequest]:
        who = export_requests.c.requester == requester
        if project is not None:
            who = or_(who, export_requests.c.project == project)
        query = (
            select(export_requests)
            .where(export_requests.c.status == str(Status.RELEASED), who)
            .order_by(export_requests.c.released_at.desc(), export_requests.c.id.desc())
        )
        if excluding is not None:
            query = query.where(export_requests.c.id != excluding)
        with self.engine.connect() as db:
            return self._load(db, db.execute(query).all())

    def _load(self, db, rows) -> list[ExportRequest]:
        ids = [row.id for row in rows]
        reviews: dict[int, list[Review]] = {i: [] for i in ids}
        timeline: dict[int, list[Transition]] = {i: [] for i in ids}
        if ids:
            for r in db.execute(select(export_reviews).where(export_reviews.c.request_id.in_(ids))
                                .order_by(export_reviews.c.id)):
                reviews[r.request_id].append(
                    Review(r.reviewer, r.decision, r.comment, r.round, _utc(r.at), r.content_sha256))
            for t in db.execute(select(export_timeline).where(export_timeline.c.request_id.in_(ids))
                                .order_by(export_timeline.c.id)):
                timeline[t.request_id].append(Transition(
                    t.actor, Status(t.from_status) if t.from_status else None, Status(t.to_status), t.note, _utc(t.at)
                ))
        return [_request(row, tuple(reviews[row.id]), tuple(timeline[row.id])) for row in rows]

    # --- content ----------------------------------------------------------------

    def put_content(self, kind: Kind, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        path = self._path(kind, digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            with open(partial, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(partial, 0o600)
            os.replace(partial, path)
        return digest

    def read_content(self, kind: Kind, sha256: str) -> bytes:
        path = self._path(kind, sha256)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise ContentChanged(f"the stored content {sha256[:12]}… is missing; tell the campus admins") from None
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ContentChanged(
                f"the stored content {sha256[:12]}… changed after it was checked; it will not be released. "
                "Tell the campus admins"
            )
        return content

    def _path(self, kind: Kind, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ContentChanged(f"{sha256!r} is not a sha256")
        if kind == "table":
            return self.directory / "tables" / f"{sha256}.parquet"
        return self.directory / "files" / f"{sha256}.bin"

    def close(self) -> None:
        self.engine.dispose()


def _row(request: ExportRequest) -> dict:
    return {
        "kind": request.kind, "name": request.name, "description": request.description,
        "requester": request.requester, "groups": list(request.groups), "project": request.project,
        "status": str(request.status), "status_reason": request.status_reason, "export_rule": request.export_rule,
        "sql": request.sql, "filename": request.filename, "media_type": request.media_type,
        "content_sha256": request.content_sha256, "content_bytes": request.content_bytes,
        "report": request.report, "provenance": request.provenance, "round": request.round,
        "version": request.version, "released_at": request.released_at,
    }


def _transition_row(t: Transition) -> dict:
    return {"actor": t.actor, "from_status": str(t.from_status) if t.from_status else None,
            "to_status": str(t.to_status), "note": t.note, "at": t.at}


def _request(row, reviews: tuple[Review, ...], timeline: tuple[Transition, ...]) -> ExportRequest:
    return ExportRequest(
        id=row.id, kind=row.kind, name=row.name, description=row.description, requester=row.requester,
        groups=tuple(row.groups), project=row.project, status=Status(row.status), status_reason=row.status_reason,
        export_rule=row.export_rule, sql=row.sql, filename=row.filename, media_type=row.media_type,
        content_sha256=row.content_sha256, content_bytes=row.content_bytes, report=row.report,
        provenance=row.provenance, round=row.round, version=row.version, created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at), released_at=_utc(row.released_at), reviews=reviews, timeline=timeline,
    )


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(at: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were written in UTC."""
    if at is None:
        return None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)

