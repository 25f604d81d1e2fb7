"""The audit trail on SQLite and on the real PostgreSQL: appends, chain, tampering."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, update

from campus.audit import GENESIS, AuditLog, event_hash, events, head, texts
from campus.errors import AuditTampered
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


def rewrite(db, at: int, field: str = "outcome", value=None) -> None:
    """Set `field` of event `at` to `value` and recompute every hash after it, and the head: a consistent forgery."""
    changed = {"outcome": "denied", "actor": "mallory", "project": "other", "action": "export_released",
               "detail": {"sql": "SELECT 'forged'"}, "at": datetime(2000, 1, 1, tzinfo=timezone.utc)}[field]
    prev = GENESIS
    for row in db.execute(select(events).order_by(events.c.id)).all():
        stored = dict(row._mapping)
        if row.id == at:
            stored[field] = value if value is not None else changed
        prev = _rehashed(db, stored, prev)
    db.execute(update(head).values(last_id=db.execute(select(func.max(events.c.id))).scalar() or 0, last_hash=prev))


def forge_appends(db, count: int) -> None:
    """Append `count` events by hand, chained onto the head and moving it: what an insider's own appends look like."""
    last_id, prev = db.execute(select(head.c.last_id, head.c.last_hash)).one()
    for n in range(last_id + 1, last_id + 1 + count):
        stored = {"id": n, "at": datetime.now(timezone.utc), "actor": "alice", "project": None, "action": "query",
                  "outcome": "allowed", "detail": {"sql": f"SELECT {n}"}}
        db.execute(insert(events).values(**stored, prev_hash=prev, hash=""))
        prev = _rehashed(db, stored, prev)
    db.execute(update(head).values(last_id=last_id + count, last_hash=prev))


def _rehashed(db, stored: dict, prev: str) -> str:
    at = stored["at"] if stored["at"].tzinfo else stored["at"].replace(tzinfo=timezone.utc)
    event = {k: stored[k] for k in ("id", "actor", "project", "action", "outcome", "detail")}
    digest = event_hash(prev, {**event, "at": at.isoformat()})
    db.execute(update(events).where(events.c.id == stored["id"]).values(**event, at=at, prev_hash=prev, hash=digest))
    return digest


FIELDS = ["outcome", "actor", "project", "action", "detail", "at"]
names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=20)
REWRITES = {"actor": names.filter(lambda t: t != "alice"), "detail": st.dictionaries(names, st.integers() | names, min_size=1)}


@pytest.mark.parametrize("kind", DATABASES)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(length=st.integers(2, 10), data=st.data())
def test_a_rewritten_or_truncated_chain_stays_broken_whatever_is_appended(kind, tmp_path_factory, length, data):
    """Any rewrite (any field of any event, hashes and head recomputed) or truncation, then the
    insider's own appends and the campus's: verify fails, and the campus's appends are refused."""
    folder = tmp_path_factory.mktemp("forged")
    with fresh_database(kind, folder) as url:
        log = AuditLog(url, anchor=folder)
        try:
            for i in range(length):
                log.record("alice", "query", "allowed", sql=f"SELECT {i}")
            with log.engine.begin() as db:
                if data.draw(st.booleans(), label="truncate"):
                    truncate(db, data.draw(st.integers(0, length - 1), label="keep"))
                else:
                    field = data.draw(st.sampled_from(FIELDS), label="field")
                    value = data.draw(REWRITES[field], label="value") if field in REWRITES else None
                    rewrite(db, data.draw(st.integers(1, length), label="event"), field, value or None)
                forge_appends(db, data.draw(st.integers(0, 6), label="forged appends"))
            unanchored = AuditLog(url)
            assert unanchored.verify().ok, "the forgery is consistent: the chain alone looks whole"
            unanchored.close()
            for _ in range(data.draw(st.integers(0, 4), label="appends")):
                with pytest.raises(AuditTampered, match="restore the service database from a backup"):
                    log.record("alice", "query", "allowed", sql="SELECT 2")
            result = log.verify()
            assert not result.ok and "intact" not in str(result)
        finally:
            log.close()


def test_an_append_checks_only_the_events_since_the_anchor(tmp_path):
    """An old event edited in place is left to verify (an append does not re-hash the trail), and verify still finds it."""
    log = AuditLog(f"sqlite:///{tmp_path / 'campus.db'}", anchor=tmp_path)
    for i in range(5):
        log.record("alice", "query", "allowed", sql=f"SELECT {i}")
    with log.engine.begin() as db:
        db.execute(update(events).where(events.c.id == 1).values(outcome="denied"))
    assert log.record("alice", "query", "allowed") == 6
    assert str(log.verify()) == "audit chain broken at event 1: its content was changed after it was recorded"


def test_events_appended_by_another_process_are_checked_before_the_anchor_moves(tmp_path):
    log, other = (AuditLog(f"sqlite:///{tmp_path / 'campus.db'}", anchor=tmp_path) for _ in range(2))
    log.record("alice", "query", "allowed")
    other.record("bob", "query", "allowed")  # another process appends event 2 and anchors it; then it is rewritten
    with log.engine.begin() as db:
        rewrite(db, 2, "actor", "mallory")
    with pytest.raises(AuditTampered):
        log.record("alice", "query", "allowed")
    assert log.anchor.read()[0] == 2


def test_without_an_anchor_folder_appends_follow_what_the_process_saw(tmp_path):
    log = AuditLog(f"sqlite:///{tmp_path / 'campus.db'}")
    for i in range(3):
        log.record("alice", "query", "allowed")
    with log.engine.begin() as db:
        truncate(db, 1)
        forge_appends(db, 3)
    with pytest.raises(AuditTampered):
        log.record("alice", "query", "allowed")


def test_an_operator_s_kept_hash_shows_a_rewrite_of_the_anchor_too(tmp_path):
    """Someone who can write the state folder as well can re-anchor a forgery; a hash kept elsewhere still tells."""
    log = AuditLog(f"sqlite:///{tmp_path / 'campus.db'}", anchor=tmp_path)
    for i in range(4):
        log.record("alice", "query", "allowed")
    kept = log.verify()
    assert kept.anchored_at == 4 and log.verify(expect=(4, kept.anchored_hash)).ok
    with log.engine.begin() as db:
        rewrite(db, 2)
        last = db.execute(select(head.c.last_id, head.c.last_hash)).one()
    log.anchor.path.unlink()
    log.anchor.write(*last)
    assert log.verify().ok, "the anchor was rewritten with the forgery"
    result = log.verify(expect=(4, kept.anchored_hash))
    assert not result.ok and "not the one you kept" in result.problem


LONG_SQL = "SELECT " + " + ".join(f"c{i}" for i in range(20_000))


@pytest.mark.parametrize("kind", DATABASES)
def test_a_long_query_is_stored_once_and_read_whole(kind, tmp_path):
    with fresh_database(kind, tmp_path) as url:
        log = AuditLog(url, anchor=tmp_path)
        for _ in range(3):
            log.record("alice", "query", "allowed", sql=LONG_SQL, rows=1)
        with log.engine.connect() as db:
            assert db.execute(select(func.count()).select_from(texts)).scalar() == 1
            assert max(len(json.dumps(detail)) for detail in db.execute(select(events.c.detail)).scalars()) < 200
        assert [e["detail"] for e in log.events()] == [{"sql": LONG_SQL, "rows": 1}] * 3
        assert log.verify().ok
        with log.engine.begin() as db:
            db.execute(update(texts).values(text=LONG_SQL + " -- changed"))
        result = log.verify()
        assert not result.ok and result.broken_at == 1 and "changed" in result.problem
        with log.engine.begin() as db:
            db.execute(delete(texts))
        assert "removed" in log.verify().problem
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


def test_audit_verify_prints_the_hash_to_keep_and_checks_it(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from campus.cli import _mount, app

    _mount()
    monkeypatch.setenv("CAMPUS_STATE_DIR", str(tmp_path))
    log = AuditLog(f"sqlite:///{tmp_path / 'campus.db'}", anchor=tmp_path)
    log.record("alice", "query", "allowed", sql=LONG_SQL)
    verified = CliRunner().invoke(app, ["audit", "verify"], env={"COLUMNS": "300"})
    assert verified.exit_code == 0, verified.output
    kept = verified.output.split("--expect ")[1].split()[0]
    assert kept == f"1:{log.verify().anchored_hash}"
    assert CliRunner().invoke(app, ["audit", "verify", "--expect", kept]).exit_code == 0
    assert CliRunner().invoke(app, ["audit", "verify", "--expect", "1:" + "0" * 64]).exit_code == 1
    assert CliRunner().invoke(app, ["audit", "verify", "--expect", "one"]).exit_code == 2
    assert LONG_SQL in CliRunner().invoke(app, ["audit", "show"], env={"COLUMNS": "300"}).output.replace("\n", "")
