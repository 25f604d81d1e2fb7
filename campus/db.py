"""The service database: one SQLAlchemy metadata for every table the campus keeps.

SQLite in the state directory by default, PostgreSQL by URL (``CAMPUS_DB_URL``).
Tables are declared beside the code that owns them (audit, tokens, exports) on this
``metadata``; migrations are generated from it.
"""

from __future__ import annotations

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine

metadata = MetaData()


def connect(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys and a busy timeout for concurrent writers."""
    if url.startswith("sqlite"):
        engine = create_engine(url, future=True, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi, _record):
            cursor = dbapi.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def ensure_schema(engine: Engine) -> None:
    """Migrate the database to the newest schema (campus/migrations); one query when it is.

    A SQLite database's folder is created if missing.
    """
    from .migrations import upgrade  # alembic loads only when a database is opened

    upgrade(engine)
