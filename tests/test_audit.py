"""The audit trail on SQLite and on the real PostgreSQL: appends, chain, tampering."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from campus.audit import GENESIS, AuditLog, event_hash, events, head
from databases import DATABASES, fresh_database


@pytest.fixture(params=DATABASES)
def log(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        audit = AuditLog(url, anchor=tmp_path / "state")
        yield audit
        audit.close()


def test_events_chain_and_verify(log):
    ids = [log.record("alice", "query", "allowed", sql=f"SELECT {i}", rows=i) for i in range(5)]
    assert ids == [1, 2, 3, 4, 5]
    assert str(log.verify()) == "audit chain intact: 5 events, anchored at event 5"
    assert log.events(limit=1)[0]["detail"] == {"sql": "SELECT 4", "rows": 4}


def test_concurrent_appends_keep_one_chain(log):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: log.record(f"user{i % 4}", "query", "allowed", n=i), range(80)))
    result = log.verify()
    assert result.ok and result.events == 80


# (how it is tampered with, what verify says)
TAMPERING = [
    ("content changed", lambda db: db.execute(update(events).where(events.c.id == 3).values(outcome="denied")),
     "broken at event 3: its content was changed"),
    ("event deleted", lambda db: db.execute(delete(events).where(events.c.id == 2)), "event 2 is missing"),
    ("tail removed", lambda db: db.execute(delete(events).where(events.c.id == 5)), "events after it were removed"),
]


@pytest.mark.parametrize("what,tamper,says", TAMPERING, ids=[t[0] for t in TAMPERING])
def test_tampering_is_detected(log, what, tamper, says):
    for i in range(5):
        log.record("alice", "query", "allowed", sql=f"SELECT {i}")
    with log.engine.begin() as db:
        tamper(db)
    result = log.verify()
    assert not result.ok and says in str(result)


# --- someone who can write the database, but not the service's files ---------------------------


def truncate(db, keep: int) -> None:
    """Remove every event after `keep` and move the head back to it, consistently."""
    db.execute(delete(events).where(events.c.id > keep))
    last = db.execute(select(events.c.id, events.c.hash).where(events.c.id == keep)).first()
    db.execute(update(head).values(last_id=last.id if last else 0, last_hash=last.hash if last else GENESIS))


def rewrite(db, at: int) -> None:
    """Change event `at` and recompute every hash after it, and the head: a consistent forgery."""
    rows = db.execute(select(events).order_by(events.c.id)).all()
    prev = GENESIS
    for row in rows:
        outcome = "denied" if row.id == at else row.outcome
        event = {"id": row.id, "at": row.at.isoformat() if row.at.tzinfo else row.at.isoformat() + "+00:00",
                 "actor": row.actor, "project": row.project, "action": row.action, "outcome": outcome,
                 "detail": row.detail}
        digest = event_hash(prev, event)
        db.execute(update(events).where(events.c.id == row.id).values(outcome=outcome, prev_hash=prev, hash=digest))
        prev = digest
    db.execute(update(head).values(last_id=rows[-1].id, last_hash=prev))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(length=st.integers(2, 12), data=st.data())
def test_every_truncation_or_rewrite_of_a_chain_is_detected(tmp_path_factory, length, data):
    folder = tmp_path_factory.mktemp("forged")
    log = AuditLog(f"sqlite:///{folder / 'campus.db'}", anchor=folder)
    try:
        for i in range(length):
            log.record("alice", "query", "allowed", sql=f"SELECT {i}")
        assert log.verify().ok
        if data.draw(st.booleans(), label="truncate"):
            keep = data.draw(st.integers(0, length - 1), label="keep")
            with log.engine.begin() as db:
                truncate(db, keep)
        else:
            at = data.draw(st.integers(1, length), label="rewrite")
            with log.engine.begin() as db:
                rewrite(db, at)
        assert AuditLog(f"sqlite:///{folder / 'campus.db'}").verify().ok, "the forgery is consistent: the chain looks whole"
        assert not log.verify().ok, "the anchor outside the database tells"
    finally:
        log.close()


def test_a_forged_anchor_is_not_believed(tmp_path):
    log = AuditLog(f"sqlite:///{tmp_path / 'campus.db'}", anchor=tmp_path)
    for i in range(3):
        log.record("alice", "query", "allowed")
    log.anchor.path.write_text('{"id": 2, "hash": "%s", "mac": "00"}' % ("0" * 64))
    result = log.verify()
    assert not result.ok and "not genuine" in str(result)


def test_a_malformed_row_is_reported_not_crashed_on(tmp_path):
    log = AuditLog(f"sqlite:///{tmp_path / 'campus.db'}", anchor=tmp_path)
    for i in range(3):
        log.record("alice", "query", "allowed")
    with log.engine.begin() as db:
        db.exec_driver_sql("UPDATE audit_events SET detail = 'not json{' WHERE id = 2")
    result = log.verify()
    assert not result.ok and result.broken_at == 2 and "malformed" in result.problem


def test_audit_show_prints_what_researchers_wrote_literally(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from campus.cli import _mount, app

    _mount()
    monkeypatch.setenv("CAMPUS_STATE_DIR", str(tmp_path))
    log = AuditLog(f"sqlite:///{tmp_path / 'campus.db'}", anchor=tmp_path)
    log.record("alice", "query", "allowed", sql="SELECT 1 /* [/x] [link=http://evil]click[/link] [conceal]x */ \x1b[2J")
    shown = CliRunner().invoke(app, ["audit", "show"], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    assert "[/x]" in shown.output and "[link=http://evil]" in shown.output and "\\x1b[2J" in shown.output
    assert "\x1b" not in shown.output
