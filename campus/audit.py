"""The audit trail: every query and decision, hash-chained so tampering shows.

Each event stores the hash of the one before it; its own hash covers that and its
content. ``verify`` recomputes the chain: an edited, deleted or inserted event breaks
it at that point. Appends are serialised through a one-row head table, so concurrent
services (PostgreSQL) or processes (SQLite) cannot fork the chain.

A chain alone cannot show what someone who can write the database does *consistently*:
remove the last events and move the head back, or edit an event and recompute every
hash after it. So the head is also **anchored outside the database** (`Anchor`): after
each append the service writes the newest event's id and hash to a file in its state
folder, signed with a key beside it that only the service's OS user reads. ``verify``
then requires the event the anchor names to be in the chain with that very hash.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, Text, insert, select, type_coerce, update

from .db import connect, ensure_schema, metadata
from .keys import kept_secret

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
    anchored_at: int | None = None  # the event the anchor outside the database vouches for

    def __str__(self) -> str:
        if not self.ok:
            return f"audit chain broken at event {self.broken_at}: {self.problem}"
        anchor = f", anchored at event {self.anchored_at}" if self.anchored_at else ", not anchored"
        return f"audit chain intact: {self.events} events{anchor}"


class Anchor:
    """The chain's head, signed and kept outside the database (see the module's docstring).

    ``audit-<database>.anchor`` holds ``{"id", "hash", "mac"}`` for one database (named
    by a digest of its URL, so campuses sharing a state folder keep their own);
    ``audit.key`` (mode 0600, made on first use) keys the HMAC. The anchor only moves
    forward, under a lock, so processes appending together leave the newest head.
    """

    def __init__(self, folder: Path, database: str):
        self.folder = Path(folder)
        name = hashlib.sha256(database.encode()).hexdigest()[:16]
        self.path, self.key_path = self.folder / f"audit-{name}.anchor", self.folder / "audit.key"

    def write(self, last_id: int, last_hash: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            held = self._stored()
            if held is not None and held.get("id", 0) >= last_id:
                return
            body = {"id": last_id, "hash": last_hash, "mac": self._mac(last_id, last_hash)}
            partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            partial.write_text(json.dumps(body))
            os.replace(partial, self.path)

    def read(self) -> tuple[int, str] | None:
        """The anchored (id, hash), None if nothing was anchored; ValueError if it is not genuine."""
        held = self._stored()
        if held is None:
            return None
        last_id, last_hash = int(held["id"]), str(held["hash"])
        if not hmac.compare_digest(str(held.get("mac", "")), self._mac(last_id, last_hash)):
            raise ValueError("the anchor's signature does not match: it was written without the service's key")
        return last_id, last_hash

    def _stored(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None

    def _mac(self, last_id: int, last_hash: str) -> str:
        return hmac.new(self._key(), f"{last_id}:{last_hash}".encode(), hashlib.sha256).hexdigest()

    def _key(self) -> bytes:
        return kept_secret(self.key_path)


def event_hash(prev_hash: str, event: dict) -> str:
    """The hash of an event: its predecessor's hash and its canonical JSON.

    >>> event_hash(GENESIS, {"id": 1, "actor": "alice"})[:12]
    'b6200440a41f'
    """
    body = json.dumps(event, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


class AuditLog:
    """Append-only, hash-chained events in the service database."""

    @classmethod
    def of(cls, settings) -> "AuditLog":
        """The campus's trail: in its database, anchored in its state folder (`campus.settings.Settings`)."""
        return cls(settings.database, anchor=settings.state_dir)

    def __init__(self, url: str, anchor: Path | None = None):
        """The trail in the database at `url`, anchored in the folder `anchor` if given."""
        self.anchor = Anchor(anchor, url) if anchor is not None else None
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
        if self.anchor is not None:
            self.anchor.write(event["id"], digest)
        return event["id"]

    def events(self, limit: int | None = None, *, actor: str | None = None, action: str | None = None,
               since: datetime | None = None, until: datetime | None = None) -> list[dict]:
        """The newest events first: `limit` of them, by `actor`, of `action` (``*`` matches any
        text: ``export_*``), recorded from `since` and before `until`."""
        query = select(events).order_by(events.c.id.desc())
        if actor is not None:
            query = query.where(events.c.actor == actor)
        if action is not None:
            pattern = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
            query = query.where(events.c.action.like(pattern, escape="\\"))
        if since is not None:
            query = query.where(events.c.at >= since)
        if until is not None:
            query = query.where(events.c.at < until)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as db:
            return [dict(row._mapping) for row in db.execute(query)]

    def verify(self) -> Verification:
        """Recompute the chain from the first event to the head, and hold it against the anchor."""
        prev, count, hashes = GENESIS, 0, {}
        stored = [*(c for c in events.c if c.name != "detail"), type_coerce(events.c.detail, Text).label("detail")]
        with self.engine.connect() as db:
            for row in db.execute(select(*stored).order_by(events.c.id)):  # details parsed below, row by row
                count += 1
                problem = _chain_problem(row, count, prev)
                if problem:
                    return Verification(False, count, row.id if row.id is not None else count, problem)
                prev = hashes[row.id] = row.hash
            last_id, last_hash = db.execute(select(head.c.last_id, head.c.last_hash)).one()
        if (last_id, last_hash) != (count, prev):
            return Verification(False, count, last_id, "events after it were removed")
        return self._against_anchor(count, hashes)

    def _against_anchor(self, count: int, hashes: dict[int, str]) -> Verification:
        if self.anchor is None:
            return Verification(True, count)
        try:
            anchored = self.anchor.read()
        except (ValueError, KeyError, TypeError) as e:
            return Verification(False, count, count, f"the anchor outside the database is not genuine ({e})")
        if anchored is None:
            return Verification(True, count)
        anchored_id, anchored_hash = anchored
        if anchored_id > count:
            return Verification(False, count, count + 1, f"events {count + 1} to {anchored_id} were removed (the "
                                "anchor outside the database vouches for them), and the head moved back")
        if hashes[anchored_id] != anchored_hash:
            return Verification(False, count, anchored_id, "the chain was rewritten: this event's hash is not "
                                "the one the anchor outside the database vouches for")
        return Verification(True, count, anchored_at=anchored_id)

    def close(self) -> None:
        self.engine.dispose()


def _chain_problem(row, expected_id: int, prev: str) -> str:
    """What is wrong with one stored event where the chain expects event `expected_id`."""
    if row.id != expected_id:
        return f"event {expected_id} is missing"
    if row.prev_hash != prev:
        return "it does not follow the event before it"
    try:
        detail = json.loads(row.detail) if isinstance(row.detail, str) else row.detail
        event = {"id": row.id, "at": _iso(row.at), "actor": row.actor, "project": row.project,
                 "action": row.action, "outcome": row.outcome, "detail": detail}
        digest = event_hash(prev, event)
    except Exception as e:  # a row no append could have written
        return f"it is malformed ({type(e).__name__}); it was not written by the campus"
    return "" if digest == row.hash else "its content was changed after it was recorded"


def _iso(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).isoformat()


def _plain(value):
    return json.loads(json.dumps(value, default=str))
