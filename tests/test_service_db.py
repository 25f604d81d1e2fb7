"""The service database's migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from typer.testing import CliRunner

from campus import migrations
from campus.audit import AuditLog, events, head
from campus.cli import _mount, app as cli
from campus.db import connect, ensure_schema, metadata

pytest_plugins = ["service_fixtures"]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    from service_fixtures import fresh_database

    with fresh_database(request.param, tmp_path) as database:
        yield database


def test_a_new_database_gets_every_table_of_the_metadata(url):
    engine = connect(url)
    ensure_schema(engine)
    migrations.load_table_modules()
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    with engine.connect() as db:
        assert migrations.current(db) == migrations.head() == migrations.newest()
    assert migrations.up_to_date(engine)
    engine.dispose()


def test_the_migrations_and_the_metadata_agree(url):
    """A table or column added to the metadata without a migration fails here."""
    engine = connect(url)
    ensure_schema(engine)
    migrations.load_table_modules()
    with engine.connect() as db:
        differences = compare_metadata(MigrationContext.configure(db), metadata)
    engine.dispose()
    assert differences == []


def test_a_database_made_before_migrations_is_adopted_with_its_events(url):
    engine = connect(url)
    metadata.create_all(engine, tables=[events, head])  # as AuditLog did before migrations
    engine.dispose()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("campus.audit.ensure_schema", lambda engine: None)
        old = AuditLog(url)
        old.record("alice", "query", "allowed", sql="SELECT 1")
        old.close()
    log = AuditLog(url)
    assert log.verify().ok and log.events()[0]["detail"] == {"sql": "SELECT 1"}
    assert "api_tokens" in inspect(log.engine).get_table_names()
    log.close()


def test_services_starting_together_migrate_once(url):
    def start(_):
        log = AuditLog(url)
        event = log.record("service", "start", "ok")
        log.close()
        return event

    with ThreadPoolExecutor(6) as pool:
        assert sorted(pool.map(start, range(6))) == [1, 2, 3, 4, 5, 6]


def test_campus_db_upgrade_on_the_command_line(url, monkeypatch):
    monkeypatch.setenv("CAMPUS_DB_URL", url)
    _mount()
    upgraded = CliRunner().invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"revision {migrations.head()}" in upgraded.stdout
    assert migrations.head() in CliRunner().invoke(cli, ["db", "current"]).stdout
