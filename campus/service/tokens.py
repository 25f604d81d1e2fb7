"""API tokens for using the data service outside JupyterHub.

A token reads ``campus_<id>_<secret>``: the id finds its row, the secret proves it.
Only the SHA-256 of the secret is stored, so the table cannot be turned back into
tokens; the whole token is shown once, when it is issued. A token carries its user,
optionally the groups it acts with (else the user's groups in ``hub/users.yaml``,
looked up at each request), an expiry, and whether it was revoked. Issuing and
revoking are recorded in the audit trail.

>>> parse("campus_0a1b2c3d4e5f_s3cr3t-with_underscores")
('0a1b2c3d4e5f', 's3cr3t-with_underscores')
>>> parse("Bearer nonsense") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import JSON, Column, DateTime, Index, String, Table, insert, select, update
from sqlalchemy.engine import Engine

from ..audit import AuditLog
from ..db import metadata
from .errors import InvalidToken, TokenExpired

PREFIX = "campus"
CLAIMED = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_")
TOKEN = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_\-]{{20,100}})$")
DURATION = re.compile(r"^(\d+)([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_name", String(200), nullable=False),
    Column("groups", JSON),  # None: the user's groups in hub/users.yaml at each request
    Column("hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_api_tokens_user_name", "user_name"),
)


@dataclass(frozen=True)
class TokenInfo:
    """A token as the table keeps it (never the secret)."""

    id: str
    user: str
    groups: list[str] | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime | None = None) -> str:
        now = now or _now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class Issued:
    """A newly issued token: `token` is the only copy of the secret."""

    token: str
    info: TokenInfo


class TokenStore:
    """Issue, verify, list and revoke API tokens in the service database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def issue(self, user: str, *, audit: AuditLog, by: str, groups: list[str] | None = None,
              expires_at: datetime | None = None) -> Issued:
        """A new token for `user`; recorded in the audit trail as issued `by` someone."""
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        info = TokenInfo(token_id, user, list(groups) if groups is not None else None, _now(), by, expires_at, None)
        with self.engine.begin() as db:
            db.execute(insert(api_tokens).values(
                id=token_id, user_name=user, groups=info.groups, hash=_digest(secret), created_at=info.created_at,
                created_by=by, expires_at=expires_at,
            ))
        audit.record(by, "token_issue", "issued", token=token_id, user=user, groups=info.groups,
                     expires_at=expires_at.isoformat() if expires_at else None)
        return Issued(f"{PREFIX}_{token_id}_{secret}", info)

    def verify(self, token: str) -> TokenInfo:
        """The token's record if it is valid now; else InvalidToken or TokenExpired."""
        parsed = parse(token)
        if parsed is None:
            raise InvalidToken(f"this is not a campus API token (they look like {PREFIX}_<id>_<secret>); "
                               "ask an admin for one: campus tokens create --user <you>")
        token_id, secret = parsed
        with self.engine.connect() as db:
            row = db.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None or not hmac.compare_digest(row.hash, _digest(secret)):
            raise InvalidToken("this token is not valid; check it was copied whole, or ask an admin for a new one")
        return _in_force(_info(row))

    def check(self, token_id: str) -> TokenInfo:
        """The record of the token with this id if it is still valid (a sign-in opened with it
        lives while it does); else InvalidToken or TokenExpired."""
        with self.engine.connect() as db:
            row = db.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None:
            raise InvalidToken(f"token {token_id} is no longer known; ask an admin for a new one")
        return _in_force(_info(row))

    def list(self, user: str | None = None) -> list[TokenInfo]:
        query = select(api_tokens).order_by(api_tokens.c.created_at)
        if user is not None:
            query = query.where(api_tokens.c.user_name == user)
        with self.engine.connect() as db:
            return [_info(row) for row in db.execute(query)]

    def revoke(self, token_id: str, *, audit: AuditLog, by: str) -> TokenInfo:
        """Revoke a token from now on; an error naming `campus tokens list` if there is none."""
        with self.engine.begin() as db:
            done = db.execute(update(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                              .values(revoked_at=_now()))
            row = db.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None:
            raise InvalidToken(f"there is no token {token_id}; `campus tokens list` shows their ids")
        if done.rowcount:
            audit.record(by, "token_revoke", "revoked", token=token_id, user=row.user_name)
        return _info(row)


def parse(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    match = TOKEN.match(token.strip())
    return (match.group(1), match.group(2)) if match else None


def claimed_id(token: str) -> str | None:
    """The id a campus token names, whether or not the rest is well formed (for the audit trail)."""
    match = CLAIMED.match(token)
    return match.group(1) if match else None


def expiry(duration: str, now: datetime | None = None) -> datetime | None:
    """When a token issued now for `duration` (``30d``, ``12h``, ``2w``, ``never``) expires.

    >>> expiry("30d", datetime(2026, 1, 1, tzinfo=timezone.utc)).isoformat()
    '2026-01-31T00:00:00+00:00'
    >>> expiry("never") is None
    True
    """
    if duration == "never":
        return None
    match = DURATION.match(duration.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{duration!r} is not a duration: use e.g. 90m, 12h, 30d, 2w or never")
    return (now or _now()) + timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC


def _info(row) -> TokenInfo:
    return TokenInfo(row.id, row.user_name, row.groups, _utc(row.created_at), row.created_by,
                     _utc(row.expires_at), _utc(row.revoked_at))


def _in_force(info: TokenInfo) -> TokenInfo:
    """`info` if the token is neither revoked nor expired; else InvalidToken or TokenExpired."""
    if info.revoked_at is not None:
        raise InvalidToken(f"token {info.id} was revoked; ask an admin for a new one")
    if info.status() == "expired":
        raise TokenExpired(f"token {info.id} expired at {info.expires_at:%Y-%m-%d %H:%M} UTC; "
                           "ask an admin for a new one")
    return info


def _now() -> datetime:
    return datetime.now(timezone.utc)
