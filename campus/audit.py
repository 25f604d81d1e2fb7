"""The audit trail: every query and decision, hash-chained so tampering shows.

Each event stores the hash of the one before it; its own hash covers that and its
content. ``verify`` recomputes the chain: an edited, deleted or inserted event breaks
it at that point. Appends are serialised through a one-row head table, so concurrent
services (PostgreSQL) or processes (SQLite) cannot fork the chain.

A chain alone cannot show what someone who can write the database does *consistently*:
remove the last events and move the head back, or edit an event and recompute every
hash after it. So the head is also **anchored outside the database** (`Anchor`): the
newest event's id and hash, in a file in the service's state folder, signed with a key
beside it that only the service's OS user reads. The anchor moves only by a verified
append: ``record`` first checks the events from the anchored one to the head (the
anchored event still has its hash, each later one follows and hashes right, the head
row names the last), and refuses (`AuditTampered`) if they do not — so a rewritten or
truncated chain never becomes "intact" by appending to it. That check covers only the
events since the anchor, one or two in a running campus, so an append costs the same
however long the trail. ``verify`` recomputes the whole chain and holds it against the
anchor, and prints the anchored hash for an operator to keep apart from the campus:
``campus audit verify --expect ID:HASH`` then shows a rewrite even by someone who can
also write the state folder.

Long texts (a researcher's SQL) are stored once, by their SHA-256, in ``audit_texts``;
the event's detail holds ``{"$text": digest}`` in their place, so the chain covers the
digest and the digest the text, and a query repeated a thousand times adds a thousand
small events and one text. `events` puts the texts back.
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
from .errors import AuditTampered
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

texts = Table(
    "audit_texts",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("text", Text, nullable=False),
)

GENESIS = "0" * 64
LONG_TEXT = 512  # characters: a detail's text longer than this is stored once, by its digest
TEXT = "$text"  # the key of a stored text's digest in an event's detail
REWRITTEN = "the chain was rewritten: this event's hash is not the one the anchor outside the database vouches for"


@dataclass(frozen=True)
class Verification:
    ok: bool
    events: int
    broken_at: int | None = None
    problem: str = ""
    anchored_at: int | None = None  # the event the anchor outside the database vouches for
    anchored_hash: str = ""  # its hash, for an operator to keep (`verify(expect=...)`)

    def __str__(self) -> str:
        if not self.ok:
            return f"audit chain broken at event {self.broken_at}: {self.problem}"
        anchor = f", anchored at event {self.anchored_at}" if self.anchored_at else ", not anchored"
        return f"audit chain intact: {self.events} events{anchor}"


class Broken(Exception):
    """The chain breaks at event `at` for `problem`."""

    def __init__(self, at: int, problem: str):
        super().__init__(f"event {at}: {problem}")
        self.at, self.problem = at, problem


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
        try:
            held = self._stored()
            if held is None:
                return None
            last_id, last_hash, mac = int(held["id"]), str(held["hash"]), str(held.get("mac", ""))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"it cannot be read: {type(e).__name__}") from None
        if not hmac.compare_digest(mac, self._mac(last_id, last_hash)):
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
        """The trail in the database at `url`, anchored in the folder `anchor` if given.

        Without a folder, appends are checked from the head this process first found (or last appended).
        """
        self.anchor = Anchor(anchor, url) if anchor is not None else None
        self.engine = connect(url)
        ensure_schema(self.engine)
        with self.engine.begin() as db:
            if db.execute(select(head.c.id)).first() is None:
                db.execute(insert(head).values(id=1, last_id=0, last_hash=GENESIS))
            self._seen = tuple(db.execute(select(head.c.last_id, head.c.last_hash)).one())

    def record(self, actor: str, action: str, outcome: str, *, project: str | None = None, **detail) -> int:
        """Append one event, once the events since the anchor are checked; returns its id.

        Raises `AuditTampered`, recording nothing, if they are not as the anchor left them.
        """
        at = datetime.now(timezone.utc)
        with self.engine.begin() as db:
            db.execute(update(head).where(head.c.id == 1).values(last_id=head.c.last_id))  # takes the write lock
            last_id, last_hash = self._checked_head(db)
            event = {"id": last_id + 1, "at": at.isoformat(), "actor": actor, "project": project,
                     "action": action, "outcome": outcome, "detail": _stored_once(db, _plain(detail))}
            digest = event_hash(last_hash, event)
            db.execute(insert(events).values(**{**event, "at": at}, prev_hash=last_hash, hash=digest))
            db.execute(update(head).where(head.c.id == 1).values(last_id=event["id"], last_hash=digest))
        self._move_anchor(event["id"], digest)
        return event["id"]

    def events(self, limit: int | None = None, *, actor: str | None = None, action: str | None = None,
               since: datetime | None = None, until: datetime | None = None) -> list[dict]:
        """The newest events first, their long texts whole: `limit` of them, by `actor`, of `action`
        (``*`` matches any text: ``export_*``), recorded from `since` and before `until`."""
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
            found = [dict(row._mapping) for row in db.execute(query)]
            held = _texts(db, {d for event in found for d in _text_digests(event["detail"])})
        return [{**event, "detail": _with_texts(event["detail"], held)} for event in found]

    def verify(self, expect: tuple[int, str] | None = None) -> Verification:
        """Recompute the chain from the first event to the head, check the texts it stored once,
        and hold it against the anchor and `expect` (an event's id and hash an operator kept)."""
        hashes, referenced = {}, {}
        with self.engine.connect() as db:
            try:
                for event_id, digest, detail in _chain(db, (0, GENESIS)):
                    hashes[event_id] = digest
                    referenced.update((d, event_id) for d in _text_digests(detail) if d not in referenced)
                _check_head(db, len(hashes), hashes.get(len(hashes), GENESIS))  # ids run 1, 2, ... (checked)
                _check_texts(db, referenced)
            except Broken as e:
                return Verification(False, len(hashes), e.at, e.problem)
        result = self._against_anchor(hashes)
        if result.ok and expect is not None:
            return _against_kept(result, hashes, *expect)
        return result

    def _checked_head(self, db) -> tuple[int, str]:
        """The head's (id, hash), once every event after the anchored one is checked; `AuditTampered` if not."""
        try:
            anchored_id, anchored_hash = self._anchored()
            if anchored_id:
                held = db.execute(select(events.c.hash).where(events.c.id == anchored_id)).scalar()
                if held != anchored_hash:
                    raise Broken(anchored_id, "it was removed" if held is None else REWRITTEN)
            last = (anchored_id, anchored_hash)
            for event_id, digest, _ in _chain(db, last):
                last = (event_id, digest)
            _check_head(db, *last)
        except Broken as e:
            raise AuditTampered(f"the audit trail was changed outside the campus (event {e.at}: {e.problem}), so "
                                "nothing more is recorded: restore the service database from a backup; `campus "
                                "audit verify` says where the chain breaks") from None
        return last

    def _anchored(self) -> tuple[int, str]:
        """The last verified event's (id, hash): the anchor's, or without one what this process saw last."""
        if self.anchor is None:
            return self._seen
        try:
            return self.anchor.read() or (0, GENESIS)
        except ValueError as e:
            raise Broken(0, f"the anchor outside the database is not genuine ({e})") from None

    def _move_anchor(self, last_id: int, last_hash: str) -> None:
        if self.anchor is not None:
            self.anchor.write(last_id, last_hash)
        elif last_id > self._seen[0]:
            self._seen = (last_id, last_hash)

    def _against_anchor(self, hashes: dict[int, str]) -> Verification:
        count = len(hashes)
        if self.anchor is None:
            return Verification(True, count)
        try:
            anchored = self.anchor.read()
        except ValueError as e:
            return Verification(False, count, count, f"the anchor outside the database is not genuine ({e})")
        if anchored is None:
            return Verification(True, count)
        anchored_id, anchored_hash = anchored
        if anchored_id > count:
            return Verification(False, count, count + 1, f"events {count + 1} to {anchored_id} were removed (the "
                                "anchor outside the database vouches for them), and the head moved back")
        if hashes[anchored_id] != anchored_hash:
            return Verification(False, count, anchored_id, REWRITTEN)
        return Verification(True, count, anchored_at=anchored_id, anchored_hash=anchored_hash)

    def close(self) -> None:
        self.engine.dispose()


def _against_kept(result: Verification, hashes: dict[int, str], kept_id: int, kept_hash: str) -> Verification:
    """`result`, unless event `kept_id` no longer has the hash an operator kept for it."""
    if hashes.get(kept_id) == kept_hash:
        return result
    problem = ("it was removed" if kept_id not in hashes else
               "the chain was rewritten: this event's hash is not the one you kept")
    return Verification(False, result.events, kept_id, problem)


def _chain(db, since: tuple[int, str]):
    """Each event after `since` (an event's id and hash), checked: its (id, hash, detail); `Broken` where not."""
    expected, prev = since
    stored = [*(c for c in events.c if c.name != "detail"), type_coerce(events.c.detail, Text).label("detail")]
    query = select(*stored).where(events.c.id > expected).order_by(events.c.id)
    for row in db.execute(query):  # details parsed row by row, not all at once
        expected += 1
        detail, problem = _chain_problem(row, expected, prev)
        if problem:
            raise Broken(row.id if row.id is not None else expected, problem)
        prev = row.hash
        yield row.id, row.hash, detail


def _check_head(db, last_id: int, last_hash: str) -> None:
    """`Broken` unless the head row names event `last_id` with `last_hash`."""
    head_id, head_hash = db.execute(select(head.c.last_id, head.c.last_hash)).one()
    if (head_id, head_hash) != (last_id, last_hash):
        raise Broken(head_id, "events after it were removed, or the head row was moved")


def _chain_problem(row, expected_id: int, prev: str) -> tuple[object, str]:
    """The detail of one stored event where the chain expects event `expected_id`, and what is wrong with it."""
    if row.id != expected_id:
        return None, f"event {expected_id} is missing"
    if row.prev_hash != prev:
        return None, "it does not follow the event before it"
    try:
        detail = json.loads(row.detail) if isinstance(row.detail, str) else row.detail
        event = {"id": row.id, "at": _iso(row.at), "actor": row.actor, "project": row.project,
                 "action": row.action, "outcome": row.outcome, "detail": detail}
        digest = event_hash(prev, event)
    except Exception as e:  # a row no append could have written
        return None, f"it is malformed ({type(e).__name__}); it was not written by the campus"
    return detail, "" if digest == row.hash else "its content was changed after it was recorded"


def _check_texts(db, referenced: dict[str, int]) -> None:
    """`Broken` unless each text an event refers to (`referenced`: digest to event) is there, with that digest."""
    found = set()
    for digest, text in db.execute(select(texts.c.digest, texts.c.text)):
        if digest in referenced and _digest(text) != digest:
            raise Broken(referenced.get(digest, 0), "a text it stored once was changed after it was recorded")
        found.add(digest)
    missing = sorted(referenced[d] for d in referenced.keys() - found)
    if missing:
        raise Broken(missing[0], "a text it stored once was removed")


def _stored_once(db, detail: dict) -> dict:
    """`detail` with each long text in it replaced by its digest, the text stored under it (once)."""
    stored = {}
    for key, value in detail.items():
        if _long_text(value):
            digest = _digest(value)
            if db.execute(select(texts.c.digest).where(texts.c.digest == digest)).first() is None:
                db.execute(insert(texts).values(digest=digest, text=value))  # appends are serialised: no race
            value = {TEXT: digest}
        stored[key] = value
    return stored


def _long_text(value) -> bool:
    """Whether `value` is a text to store once: long, and storable as UTF-8 (no lone surrogates)."""
    if not isinstance(value, str) or len(value) <= LONG_TEXT:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _text_digests(detail) -> list[str]:
    """The digests of the texts an event's `detail` stored once."""
    values = detail.values() if isinstance(detail, dict) else ()
    return [value[TEXT] for value in values if isinstance(value, dict) and set(value) == {TEXT}]


def _texts(db, digests: set[str]) -> dict[str, str]:
    """The texts stored under `digests`, by digest."""
    if not digests:
        return {}
    return dict(db.execute(select(texts.c.digest, texts.c.text).where(texts.c.digest.in_(digests))).all())


def _with_texts(detail, held: dict[str, str]):
    """`detail` with its texts stored once put back whole."""
    if not _text_digests(detail):
        return detail
    return {key: held.get(value[TEXT], value) if isinstance(value, dict) and set(value) == {TEXT} else value
            for key, value in detail.items()}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).isoformat()


def _plain(value):
    return json.loads(json.dumps(value, default=str))
