"""Alembic's entry point: migrate the campus database.

The database is, in order: the connection `campus.migrations.upgrade` passes in,
``-x url=...`` on the alembic command line, or the campus settings (``CAMPUS_DB_URL``,
else SQLite in the state directory).
"""

from __future__ import annotations

from alembic import context

from campus.db import connect, metadata
from campus.migrations import load_table_modules

load_table_modules()
target_metadata = metadata


def database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return url
    from campus.settings import Settings

    return Settings().database


def run_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = connect(database_url())
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
