"""Browser sessions for the review pages: an opaque, revocable id in the cookie.

A browser signs in once (through the hub's OAuth, or with a campus API token pasted
in a form). The service then remembers who it is, in its own database, and gives the
browser only a random id. The cookie carries no token of any kind: it opens this
service's pages and nothing else (the JSON API never reads it), it expires
(`LIFETIME`, or sooner with the token it was opened with), and signing out revokes it
on the server. Only the id's SHA-256 is stored, so the table cannot be turned back
into cookies.

A session is bound to what it was opened with: its row names the token (a campus API
token's id, or the hub's token id). On every request the authenticator checks that
token and the person as they stand now (`Authenticator.recheck`, called by
`campus.service.browser.signed_in`): a revoked or expired token, a removed user, or
groups that changed end or change the session at once; nobody has to remember to
revoke it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import JSON, Column, DateTime, Index, String, Table, delete, insert, select, update
from sqlalchemy.engine import Engine

from ..db import metadata
from .auth import Identity
from .errors import SessionEnded

LIFETIME = timedelta(hours=8)

browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # the SHA-256 of the cookie's secret
    Column("user_name", String(200), nullable=False),
    Column("groups", JSON, nullable=False),
    Column("via", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("token_id", String(32)),  # the token it was opened with (via "token": api_tokens.id; "hub": the hub's)
    Index("ix_browser_sessions_expires_at", "expires_at"),
)


@dataclass(frozen=True)
class Opened:
    """A new session: `secret` goes in the cookie, and nowhere else."""

    secret: str
    expires_at: datetime


class SessionStore:
    """Open, look up and revoke browser sessions in the service database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def open(self, identity: Identity, *, until: datetime | None = None) -> Opened:
        """A session for `identity`, bound to its token: ending after `LIFETIME`, or sooner at
        `until` or when the token expires."""
        now = _now()
        expires_at = min(at for at in (now + LIFETIME, until, identity.expires_at) if at is not None)
        secret = secrets.token_urlsafe(32)
        with self.engine.begin() as db:
            db.execute(delete(browser_sessions).where(browser_sessions.c.expires_at < now))  # forget ended ones
            db.execute(insert(browser_sessions).values(
                id=_digest(secret), user_name=identity.user, groups=list(identity.groups), via=identity.via,
                created_at=now, expires_at=expires_at, token_id=identity.token_id))
        return Opened(secret, expires_at)

    def identity(self, secret: str) -> Identity:
        """Who a cookie's session was opened for, and with which token; SessionEnded, saying
        why, if it is unknown, signed out or out of time."""
        if not secret or len(secret) > 100:
            raise SessionEnded("you are not signed in; sign in again")
        with self.engine.connect() as db:
            row = db.execute(select(browser_sessions).where(browser_sessions.c.id == _digest(secret))).first()
        if row is None or row.revoked_at is not None:
            raise SessionEnded("you are signed out; sign in again")
        if _utc(row.expires_at) <= _now():
            raise SessionEnded("your sign-in has ended (it lasts eight hours, or as long as its token); sign in again")
        return Identity(row.user_name, list(row.groups), via=row.via, token_id=row.token_id)

    def revoke(self, secret: str) -> bool:
        """End a session now (sign-out); whether there was one to end."""
        with self.engine.begin() as db:
            done = db.execute(update(browser_sessions).where(
                browser_sessions.c.id == _digest(secret or ""), browser_sessions.c.revoked_at.is_(None)
            ).values(revoked_at=_now()))
        return bool(done.rowcount)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC


def _now() -> datetime:
    return datetime.now(timezone.utc)
