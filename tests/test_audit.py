"""The audit trail on SQLite and on the real PostgreSQL: appends, chain, tampering."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, update

from campus.audit import AuditLog, events
from databases import DATABASES, fresh_database


@pytest.fixture(params=DATABASES)
def log(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        audit = AuditLog(url)
        yield audit
        audit.close()


def test_events_chain_and_verify(log):
    ids = [log.record("alice", "query", "allowed", sql=f"SELECT {i}", rows=i) for i in range(5)]
    assert ids == [1, 2, 3, 4, 5]
    assert str(log.verify()) == "audit chain intact: 5 events"
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
