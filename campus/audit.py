"""The audit trail: every query and decision, hash-chained so tampering shows.

Each event stores the hash of the one before it; its own hash covers that and its
content. ``verify`` recomputes the chain: an edited, deleted or inserted event breaks
it at that point. Appends are serialised through a one-row head table, so concurrent
services (PostgreSQL) or processes (SQLite) cannot fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, insert, select, update

from .db import connect, ensure_schema, metadata

events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("project", String(200)),
    Column("action", String(50), nullable=False),
    Column("outcome", String(50), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

GENESIS = "0" * 64


@dataclass(frozen=True)
class Verification:
    ok: bool
    events: int
    broken_at: int | None = None
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.events} events"
        return f"audit chain broken at event {self.broken_at}: {self.problem}"


def event_hash(prev_hash: str, event: dict) -> str:
    """The hash of an event: its predecessor's hash and its canonical JSON.

    >>> event_hash(GENESIS, {"id": 1, "actor": "alice"})[:12]
    'b6200440a41f'
    """
    body = json.dumps(event, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


class AuditLog:
    """Append-only, hash-chained events in the service database."""

    def __init__(self, url: str):
        self.engine = connect(url)
        ensure_schema(self.engine)
        with self.engine.begin() as db:
            if db.execute(select(head.c.id)).first() is None:
                db.execute(insert(head).values(id=1, last_id=0, last_hash=GENESIS))

    def record(self, actor: str, action: str, outcome: str, *, project: str | None = None, **detail) -> int:
        """Append one event; returns its id."""
        at = datetime.now(timezone.utc)
        with self.engine.begin() as db:
            db.execute(update(head).where(head.c.id == 1).values(last_id=head.c.last_id))  # takes the write lock
            last_id, last_hash = db.execute(select(head.c.last_id, head.c.last_hash).where(head.c.id == 1)).one()
            event = {"id": last_id + 1, "at": at.isoformat(), "actor": actor, "project": project,
                     "action": action, "outcome": outcome, "detail": _plain(detail)}
            digest = event_hash(last_hash, event)
            db.execute(insert(events).values(**{**event, "at": at}, prev_hash=last_hash, hash=digest))
            db.execute(update(head).where(head.c.id == 1).values(last_id=event["id"], last_hash=digest))
        return event["id"]

    def events(self, limit: int | None = None) -> list[dict]:
        query = select(events).order_by(events.c.id.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as db:
            return [dict(row._mapping) for row in db.execute(query)]

    def verify(self) -> Verification:
        """Recompute the chain from the first event to the head."""
        prev, count = GENESIS, 0
        with self.engine.connect() as db:
            for row in db.execute(select(events).order_by(events.c.id)):
                count += 1
                if row.id != count:
                    return Verification(False, count, row.id, f"event {count} is missing")
                if row.prev_hash != prev:
                    return Verification(False, count, row.id, "it does not follow the event before it")
                event = {"id": row.id, "at": _iso(row.at), "actor": row.actor, "project": row.project,
                         "action": row.action, "outcome": row.outcome, "detail": row.detail}
                if event_hash(prev, event) != row.hash:
                    return Verification(False, count, row.id, "its content was changed after it was recorded")
                prev = row.hash
            last_id, last_hash = db.execute(select(head.c.last_id, head.c.last_hash)).one()
        if (last_id, last_hash) != (count, prev):
            return Verification(False, count, last_id, "events after it were removed")
        return Verification(True, count)

    def close(self) -> None:
        self.engine.dispose()


def _iso(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).isoformat()


def _plain(value):
    return json.loads(json.dumps(value, default=str))
