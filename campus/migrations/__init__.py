"""The service database's schema, as Alembic migrations.

Every table on ``campus.db.metadata`` is created by a revision in ``versions/``, never
by ``create_all``: the service (and `AuditLog`, through ``campus.db.ensure_schema``)
upgrades the database to the newest revision before using it, and ``campus db
upgrade`` does the same by hand. Upgrades are serialised, so services starting
together do not race: an advisory lock on PostgreSQL, a lock file beside SQLite.

A module that declares a table adds itself to `TABLE_MODULES` and a revision that
creates it (``.venv/bin/alembic revision --autogenerate -m "..."`` from the project
root writes one from the difference); ``tests/test_service_db.py`` fails while the
metadata and the migrations disagree. A process that finds its database up to date
does not import Alembic (a second or two at every start): `newest` reads the newest
revision from the files in versions/.
"""

from __future__ import annotations

import fcntl
import importlib
import re
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

HERE = Path(__file__).resolve().parent
TABLE_MODULES = ("campus.audit", "campus.service.tokens", "campus.service.sessions", "campus.airlock.store",
                 "campus.gateway.ledger")
LOCK_KEY = 0x63616D707573  # "campus": the PostgreSQL advisory lock held while upgrading


def config(connection: Connection | None = None):
    """Alembic's configuration for the campus, bound to `connection` if given."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def head() -> str:
    """The newest revision, as the scripts in versions/ say."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config()).get_current_head()


def current(connection: Connection) -> str | None:
    """The revision the database is at (None if it has never been migrated)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


@cache
def newest() -> str | None:
    """The newest revision, read from versions/ without Alembic (None if there is no single one)."""
    revisions, parents = set(), set()
    for path in (HERE / "versions").glob("*.py"):
        source = path.read_text()
        revision = re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", source, re.MULTILINE)
        parent = re.search(r"^down_revision\s*=\s*['\"]([^'\"]+)['\"]", source, re.MULTILINE)
        revisions |= {revision.group(1)} if revision else set()
        parents |= {parent.group(1)} if parent else set()
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def up_to_date(engine: Engine) -> bool:
    """Whether the database is at the newest revision (one query, no Alembic)."""
    target = newest()
    if target is None:
        return False
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no version table: never migrated
        return False
    return versions == [target]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision`; does nothing (one query) when it is there."""
    lock_file = _sqlite_lock_file(engine)
    if lock_file:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
    if revision == "head" and up_to_date(engine):
        return
    from alembic import command

    with _exclusive(lock_file), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        command.upgrade(config(connection), revision)


def load_table_modules() -> None:
    """Import every module that declares a table, so the metadata holds them all."""
    for name in TABLE_MODULES:
        importlib.import_module(name)


def _sqlite_lock_file(engine: Engine) -> Path | None:
    """The lock file beside a SQLite database file (None for other databases)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    return path.with_name(path.name + ".migrating")


@contextmanager
def _exclusive(lock_file: Path | None):
    """Hold `lock_file` (if any) while the database is upgraded."""
    if lock_file is None:
        yield
        return
    with open(lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
