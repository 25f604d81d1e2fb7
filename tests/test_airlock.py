"""The export airlock end to end: real gateway, real demo data, SQLite and PostgreSQL.

Each test module gets its own database (a fresh PostgreSQL schema, dropped after) and
store directory; requests are made through the real gateway as the demo users.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import replace
from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campus import Denied, QueryRejected
from campus.audit import AuditLog
from databases import DATABASES, fresh_database
from export_files import png
from campus.airlock import (
    AIRLOCK,
    STATUSES,
    TRANSITIONS,
    Airlock,
    CampusUser,
    Conflict,
    ContentChanged,
    DuplicateExport,
    ExportRequest,
    InvalidExport,
    NotPermitted,
    Owner,
    RequestNotFound,
    SqlExportStore,
    Status,
    Transition,
    WrongState,
    policies,
)
from campus.airlock.states import FINAL, STATUSES, moves_from
from campus.settings import AirlockSettings


ALICE = CampusUser("alice", ("researchers",))
BOB = CampusUser("bob", ("researchers",))
SEJIN = CampusUser("sejin", ("stewards",))
JIWOO = CampusUser("jiwoo", ("stewards",))  # a second steward, for two-reviewer mode
DANA = CampusUser("dana", ("researchers", "stewards"))  # a researcher who also reviews
ADMIN = CampusUser("admin", ("admins",))
USERS = {u.name: u for u in (ALICE, BOB, SEJIN, JIWOO, DANA, ADMIN)}

BY_GENDER = "SELECT gender, count(*) AS n FROM card_usage GROUP BY 1"
BY_DISTRICT = (
    "SELECT district, category, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY ALL ORDER BY 1, 2"
)
AIR_BY_STATION = "SELECT station, avg(pm25) AS pm25 FROM air_quality GROUP BY 1"


@pytest.fixture(scope="module", params=DATABASES)
def database(request, tmp_path_factory):
    """A service database for this module: SQLite in a temporary folder, or a fresh PostgreSQL schema."""
    with fresh_database(request.param, tmp_path_factory.mktemp("airlock-db")) as url:
        yield url


@pytest.fixture(scope="module")
def store_dir(database, tmp_path_factory):
    return tmp_path_factory.mktemp("airlock-store")


@pytest.fixture(scope="module")
def audit(database):
    log = AuditLog(database)
    yield log
    log.close()


@pytest.fixture(scope="module")
def airlock(cx, database, store_dir):
    opened = Airlock(cx, SqlExportStore(database, store_dir))
    yield opened
    opened.store.close()


@pytest.fixture(scope="module")
def on_sqlite(cx, tmp_path_factory):
    """An airlock and audit log on SQLite only, for the truth tables (the rules do not depend on the database)."""
    folder = tmp_path_factory.mktemp("airlock-truth")
    log = AuditLog(f"sqlite:///{folder / 'campus.db'}")
    opened = Airlock(cx, SqlExportStore(log.engine, folder / "store"))
    yield opened, log
    log.close()


@pytest.fixture(scope="module")
def two_reviewers(cx, airlock):
    """The same requests, in two-reviewer mode."""
    return Airlock(cx, airlock.store, AirlockSettings(reviewers_required=2))


def session(cx, user: CampusUser, project: str | None = None):
    return cx.session(user.name, list(user.groups), project)


def export(airlock, cx, audit, sql=BY_GENDER, user=ALICE, name=None, project=None) -> ExportRequest:
    """A new export request (named anew each time: the airlock refuses the same one twice while it stands)."""
    return airlock.export(session(cx, user, project), sql, name or f"by-gender-{next(NEW)}", "for the report",
                          audit=audit)


PNG = png(0)
NEW = itertools.count(1)


def figure(airlock, audit, user=ALICE, content=None) -> ExportRequest:
    """A new figure's export request (new content unless `content` is given)."""
    content = png(next(NEW)) if content is None else content
    return airlock.export_file(user, "figure.png", content, "figure 2", audit=audit)


def events_for(audit: AuditLog, request_id: int) -> list[dict]:
    return [e for e in reversed(audit.events(limit=60)) if e["detail"].get("request") == request_id]


def assert_timeline_is_legal(request: ExportRequest) -> None:
    steps = [(t.from_status, t.to_status) for t in request.timeline]
    assert steps[0] == (None, Status.SUBMITTED)
    assert all(step in TRANSITIONS for step in steps[1:]), steps


# --- the status table ------------------------------------------------------------------


def test_every_status_has_an_owner_and_a_way_forward():
    assert set(STATUSES) == set(Status)
    for status, info in STATUSES.items():
        assert isinstance(info.owner, Owner) and info.next, status
        if info.owner is Owner.NOBODY:
            assert moves_from(status) == [], f"{status} is final, yet something moves it"
        else:
            assert moves_from(status), f"{status} has an owner but no move out of it"


def test_every_move_is_made_by_the_owner_of_the_status_it_leaves():
    for (frm, to), (who, action) in TRANSITIONS.items():
        assert STATUSES[frm].owner is who, f"{frm} → {to} is made by {who}, but {frm} is owned by {STATUSES[frm].owner}"
        assert action.startswith("export_")


def test_every_status_is_reachable_from_submitted():
    seen, frontier = {Status.SUBMITTED}, [Status.SUBMITTED]
    while frontier:
        for to in moves_from(frontier.pop()):
            if to not in seen:
                seen.add(to)
                frontier.append(to)
    assert seen == set(Status)


# --- every move, driven through the airlock -------------------------------------------


def _needs_review(airlock, cx, audit):
    return export(airlock, cx, audit)


def _approved(airlock, cx, audit):
    return airlock.review(_needs_review(airlock, cx, audit).id, SEJIN, "approve", audit=audit)


def _returned(airlock, cx, audit):
    return airlock.review(_needs_review(airlock, cx, audit).id, SEJIN, "return", "group by region", audit=audit)


MOVES = {
    # (from, to): how to make it happen, as people would
    (Status.SUBMITTED, Status.NEEDS_REVIEW): _needs_review,
    (Status.SUBMITTED, Status.AUTO_APPROVED): lambda a, cx, au: export(a, cx, au, AIR_BY_STATION),
    (Status.AUTO_APPROVED, Status.RELEASED): lambda a, cx, au: export(a, cx, au, AIR_BY_STATION),
    (Status.SUBMITTED, Status.BLOCKED): lambda a, cx, au: export(
        a, cx, au, "SELECT district AS card_id, count(*) AS n FROM card_usage GROUP BY 1", name="renamed"),
    (Status.NEEDS_REVIEW, Status.APPROVED): _approved,
    (Status.NEEDS_REVIEW, Status.REJECTED): lambda a, cx, au: a.review(
        _needs_review(a, cx, au).id, SEJIN, "reject", "too fine", audit=au),
    (Status.NEEDS_REVIEW, Status.RETURNED): _returned,
    (Status.APPROVED, Status.RELEASED): lambda a, cx, au: a.release(_approved(a, cx, au).id, SEJIN, audit=au),
    (Status.RETURNED, Status.SUBMITTED): lambda a, cx, au: a.resubmit(
        _returned(a, cx, au).id, ALICE, sql="SELECT age_band, count(*) AS n FROM card_usage GROUP BY 1", audit=au),
    (Status.RETURNED, Status.WITHDRAWN): lambda a, cx, au: a.withdraw(_returned(a, cx, au).id, ALICE, audit=au),
}


def test_every_move_has_a_test():
    assert set(MOVES) == set(TRANSITIONS)


@pytest.mark.parametrize("move", list(MOVES), ids=[f"{a}->{b}" for a, b in MOVES])
def test_move(airlock, cx, audit, move):
    request = MOVES[move](airlock, cx, audit)
    assert move in [(t.from_status, t.to_status) for t in request.timeline]
    assert_timeline_is_legal(request)
    who, action = TRANSITIONS[move]
    step = next(t for t in request.timeline if (t.from_status, t.to_status) == move)
    assert (step.actor == AIRLOCK) == (who is Owner.AIRLOCK)
    recorded = [(e["action"], e["detail"].get("from"), e["outcome"]) for e in events_for(audit, request.id)]
    assert (action, str(move[0]), str(move[1])) in recorded


@pytest.mark.parametrize("status", [Status.BLOCKED, Status.REJECTED, Status.WITHDRAWN, Status.RELEASED])
def test_final_statuses_cannot_move(status):
    request = replace(_blank(), status=status)
    for to in Status:
        with pytest.raises(WrongState):
            policies.check_transition(request, to)


# --- the life of a table export --------------------------------------------------------


def test_a_table_export_is_checked_reviewed_released_and_downloaded(airlock, cx, audit):
    request = export(airlock, cx, audit, BY_DISTRICT, name="spending by district")
    assert request.status is Status.NEEDS_REVIEW and request.owner is Owner.REVIEWERS
    assert request.filename == "spending-by-district.parquet"
    assert 0 < request.report["cells"] < 600 and request.withheld > 0 and request.report["withheld"]
    provenance = request.provenance
    assert provenance["query"] == BY_DISTRICT and provenance["requester"] == "alice"
    assert provenance["data"]["card_usage"].startswith("build:")
    assert len(provenance["policy"]["files_sha256"]) == 64
    assert provenance["content_sha256"] == request.content_sha256
    assert provenance["decisions"][0]["grant"] == "researchers-card-usage"

    stored = airlock.table(request.id, SEJIN, audit=audit)
    fresh = session(cx, ALICE).sql(BY_DISTRICT).with_errors().to_arrow()
    assert stored.schema == fresh.schema and stored.select(["district", "category"]).equals(
        fresh.select(["district", "category"])), "what is stored is the table the gateway computed"
    assert any(name.startswith("±") for name in stored.column_names), "each value leaves with its error bar"
    assert request.report["errors"], "the export's report carries the error bars"

    approved = airlock.review(request.id, SEJIN, "approve", "small cells are withheld", audit=audit)
    assert approved.status is Status.APPROVED and approved.approvals == ["sejin"]
    released = airlock.release(request.id, SEJIN, audit=audit)
    assert released.status is Status.RELEASED and released.released_at is not None

    download = airlock.download(request.id, ALICE, audit=audit)
    assert pq.ParquetFile(io.BytesIO(download.content)).read().equals(stored)
    assert download.sha256 == request.content_sha256

    actions = [(e["actor"], e["action"], e["outcome"]) for e in events_for(audit, request.id)]
    assert actions == [
        ("alice", "export_submitted", "submitted"),
        ("airlock", "export_checked", "needs_review"),
        ("sejin", "export_previewed", "ok"),
        ("sejin", "export_reviewed", "approved"),
        ("sejin", "export_released", "released"),
        ("alice", "export_downloaded", "ok"),
    ]
    assert audit.verify().ok


def test_every_download_is_audited(airlock, cx, audit):
    request = airlock.release(_approved(airlock, cx, audit).id, SEJIN, audit=audit)
    for _ in range(3):
        airlock.download(request.id, ALICE, audit=audit)
    with pytest.raises(RequestNotFound):
        airlock.download(request.id, BOB, audit=audit)
    downloads = [(e["actor"], e["outcome"]) for e in events_for(audit, request.id)
                 if e["action"] == "export_downloaded"]
    assert downloads == [("alice", "ok")] * 3 + [("bob", "refused")]


def test_an_auto_export_with_nothing_withheld_is_released_at_once(airlock, cx, audit):
    request = export(airlock, cx, audit, AIR_BY_STATION, name="pm25")
    assert request.status is Status.RELEASED and request.export_rule == "auto" and request.withheld == 0
    assert [t.actor for t in request.timeline] == ["alice", AIRLOCK, AIRLOCK]
    assert airlock.download(request.id, ALICE, audit=audit).content


def test_a_returned_request_is_resubmitted_with_a_new_query_and_reviewed_again(airlock, cx, audit):
    returned = _returned(airlock, cx, audit)
    assert returned.owner is Owner.REQUESTER and returned.reviews[-1].comment == "group by region"
    again = airlock.resubmit(returned.id, ALICE, description="now by age band",
                             sql="SELECT age_band, count(*) AS n FROM card_usage GROUP BY 1", audit=audit)
    assert again.status is Status.NEEDS_REVIEW and again.round == 2 and again.description == "now by age band"
    assert again.content_sha256 != returned.content_sha256 and again.columns == ["age_band", "n", "±n"]
    assert again.approvals == [], "approvals of an earlier round do not count"


def test_a_figure_always_waits_for_a_reviewer(airlock, audit):
    request = figure(airlock, audit)
    assert request.kind == "file" and request.status is Status.NEEDS_REVIEW
    assert request.media_type == "image/png" and request.filename == "figure.png"
    assert airlock.content(request.id, SEJIN, audit=audit).startswith(b"\x89PNG")


@pytest.mark.parametrize("filename,content,problem", [
    ("empty.png", b"", "is empty"),
    ("", b"x", "needs a name"),
    ("huge.png", b"x" * (20 * 1024 * 1024 + 1), "files up to"),
])
def test_bad_files_are_refused(airlock, audit, filename, content, problem):
    with pytest.raises(InvalidExport, match=problem):
        airlock.export_file(ALICE, filename, content, audit=audit)


def test_a_file_name_cannot_climb_out_of_the_store(airlock, audit):
    assert airlock.export_file(ALICE, "../../etc/figure.png", PNG, audit=audit).filename == "figure.png"
    with pytest.raises(InvalidExport, match="without an extension"):
        airlock.export_file(ALICE, "../../etc/passwd", b"x", audit=audit)


# --- what can never leave ---------------------------------------------------------------

NEVER_EXPORTED = [
    # (what, query, the gateway's refusal)
    ("rows of a rows-mode dataset", "SELECT station, measured_at, pm25 FROM air_quality", Denied),
    ("every row of it", "SELECT * FROM air_quality", Denied),
    ("rows of an aggregates dataset", "SELECT district, amount FROM card_usage", Denied),
    ("an identifier as a group key", "SELECT card_id, count(*) AS n FROM card_usage GROUP BY 1", Denied),
    ("an identifier under another name", "SELECT merchant_id AS m, sum(amount) AS s FROM card_usage GROUP BY 1",
     Denied),
    ("an identifier laundered", "SELECT card_id || '' AS c, count(*) AS n FROM card_usage GROUP BY 1",
     (Denied, QueryRejected)),
    ("a store identifier", "SELECT store_id, sum(sales_amount) AS s FROM sales_by_location GROUP BY 1", Denied),
]


@pytest.mark.parametrize("what,sql,refusal", NEVER_EXPORTED, ids=[c[0] for c in NEVER_EXPORTED])
def test_rows_and_identifiers_are_never_exported(airlock, cx, audit, what, sql, refusal):
    before = len(airlock.mine(ALICE))
    with pytest.raises(refusal):
        export(airlock, cx, audit, sql, name="attempt")
    assert len(airlock.mine(ALICE)) == before, "a refused export leaves no request and stores nothing"
    assert cx.audit.events(limit=1)[0]["action"] == "export", "the gateway recorded the refusal"


def test_a_column_named_like_an_identifier_is_blocked_by_the_airlock(airlock, cx, audit):
    request = export(airlock, cx, audit, "SELECT district AS card_id, count(*) AS n FROM card_usage GROUP BY 1",
                     name="renamed")
    assert request.status is Status.BLOCKED and "card_id" in request.status_reason
    with pytest.raises(WrongState):
        airlock.review(request.id, SEJIN, "approve", audit=audit)
    with pytest.raises(WrongState):
        airlock.download(request.id, ALICE, audit=audit)


# --- the automatic check, as a table ------------------------------------------------------

AUTO_CHECK = [
    # (kind, export rule, round, withheld, identifier columns) -> status
    ("file", "auto", 1, 0, [], Status.NEEDS_REVIEW),     # files are always seen by eye
    ("table", "review", 1, 0, [], Status.NEEDS_REVIEW),
    ("table", "never", 1, 0, [], Status.BLOCKED),
    ("table", "sometimes", 1, 0, [], Status.BLOCKED),    # a rule not known: fail closed
    ("table", "auto", 1, 0, [], Status.AUTO_APPROVED),
    ("table", "auto", 1, 3, [], Status.NEEDS_REVIEW),    # something withheld: a reviewer looks
    ("table", "auto", 2, 0, [], Status.NEEDS_REVIEW),    # returned once: reviewed again
    ("table", "auto", 1, 0, ["card_id"], Status.BLOCKED),
    ("table", "review", 1, 0, ["card_id"], Status.BLOCKED),
]


@pytest.mark.parametrize("kind,rule,round,withheld,identifiers,expected", AUTO_CHECK)
def test_auto_check(kind, rule, round, withheld, identifiers, expected):
    request = replace(_blank(), kind=kind, export_rule=rule, round=round, report={"suppressed": withheld},
                      provenance={"identifier_columns": identifiers})
    status, reason = policies.auto_check(request)
    assert status is expected and reason


# --- who may: truth tables -----------------------------------------------------------------

PERMISSIONS = [
    # (requester, actor, action, the request's status, outcome)
    # reviewing: export reviewers only, never their own request
    ("alice", "sejin", "approve", Status.NEEDS_REVIEW, "ok"),
    ("alice", "sejin", "reject", Status.NEEDS_REVIEW, "ok"),
    ("alice", "sejin", "return", Status.NEEDS_REVIEW, "ok"),
    ("alice", "alice", "approve", Status.NEEDS_REVIEW, NotPermitted),  # the requester cannot approve her own
    ("dana", "dana", "approve", Status.NEEDS_REVIEW, NotPermitted),    # not even when she is a reviewer
    ("dana", "sejin", "approve", Status.NEEDS_REVIEW, "ok"),
    ("sejin", "sejin", "approve", Status.NEEDS_REVIEW, NotPermitted),  # a steward's own figure
    ("alice", "bob", "approve", Status.NEEDS_REVIEW, RequestNotFound),  # bob cannot even see it
    ("alice", "admin", "approve", Status.NEEDS_REVIEW, RequestNotFound),  # admins administer; they do not review
    ("alice", "jiwoo", "approve", Status.APPROVED, WrongState),  # (sejin approved these: jiwoo tries)
    ("alice", "jiwoo", "approve", Status.RETURNED, WrongState),
    ("alice", "jiwoo", "approve", Status.RELEASED, WrongState),
    # releasing: export reviewers, an approved request
    ("alice", "sejin", "release", Status.APPROVED, "ok"),
    ("alice", "alice", "release", Status.APPROVED, NotPermitted),
    ("alice", "bob", "release", Status.APPROVED, RequestNotFound),
    ("alice", "sejin", "release", Status.NEEDS_REVIEW, WrongState),
    ("alice", "sejin", "release", Status.REJECTED, WrongState),
    # downloading: the requester, a released request
    ("alice", "alice", "download", Status.RELEASED, "ok"),
    ("alice", "bob", "download", Status.RELEASED, RequestNotFound),  # bob cannot download alice's release
    ("alice", "sejin", "download", Status.RELEASED, NotPermitted),   # nor can the steward who released it
    ("alice", "alice", "download", Status.REJECTED, WrongState),     # a rejected export never downloads
    ("alice", "alice", "download", Status.APPROVED, WrongState),     # nor an approved one not yet released
    ("alice", "alice", "download", Status.NEEDS_REVIEW, WrongState),
    ("alice", "alice", "download", Status.RETURNED, WrongState),
    # resubmitting and withdrawing: the requester, a returned request
    ("alice", "alice", "resubmit", Status.RETURNED, "ok"),
    ("alice", "sejin", "resubmit", Status.RETURNED, NotPermitted),
    ("alice", "bob", "resubmit", Status.RETURNED, RequestNotFound),
    ("alice", "alice", "resubmit", Status.NEEDS_REVIEW, WrongState),
    ("alice", "alice", "withdraw", Status.RETURNED, "ok"),
    ("alice", "sejin", "withdraw", Status.RETURNED, NotPermitted),
    ("alice", "alice", "withdraw", Status.REJECTED, WrongState),
    ("alice", "alice", "withdraw", Status.NEEDS_REVIEW, WrongState),  # under review: it says so, not "resubmit"
    ("alice", "alice", "withdraw", Status.RELEASED, WrongState),
    # seeing
    ("alice", "alice", "see", Status.NEEDS_REVIEW, "ok"),
    ("alice", "sejin", "see", Status.NEEDS_REVIEW, "ok"),
    ("alice", "bob", "see", Status.NEEDS_REVIEW, RequestNotFound),
]


DONE = {"approve": "reviewed", "reject": "reviewed", "return": "reviewed", "release": "released by a reviewer",
        "download": "downloaded", "resubmit": "resubmitted", "withdraw": "withdrawn"}


def _file_in(airlock, audit, requester: CampusUser, status: Status) -> ExportRequest:
    """A figure by `requester`, moved to `status` by the steward sejin (or jiwoo, for sejin's own)."""
    reviewer = JIWOO if requester.name == "sejin" else SEJIN
    request = figure(airlock, audit, requester)
    if status is Status.NEEDS_REVIEW:
        return request
    if status in (Status.APPROVED, Status.RELEASED):
        request = airlock.review(request.id, reviewer, "approve", audit=audit)
        return airlock.release(request.id, reviewer, audit=audit) if status is Status.RELEASED else request
    decision = {Status.REJECTED: "reject", Status.RETURNED: "return"}[status]
    return airlock.review(request.id, reviewer, decision, "not like this", audit=audit)


@pytest.mark.parametrize("requester,actor,action,status,outcome", PERMISSIONS,
                         ids=[f"{a}'s-{s}-{act}-by-{b}" for a, b, act, s, _ in PERMISSIONS])
def test_who_may(on_sqlite, requester, actor, action, status, outcome):
    airlock, audit = on_sqlite
    request = _file_in(airlock, audit, USERS[requester], status)
    user = USERS[actor]
    act = {
        "approve": lambda: airlock.review(request.id, user, "approve", audit=audit),
        "reject": lambda: airlock.review(request.id, user, "reject", "no", audit=audit),
        "return": lambda: airlock.review(request.id, user, "return", "change it", audit=audit),
        "release": lambda: airlock.release(request.id, user, audit=audit),
        "download": lambda: airlock.download(request.id, user, audit=audit),
        "resubmit": lambda: airlock.resubmit(request.id, user, content=png(90_001), audit=audit),
        "withdraw": lambda: airlock.withdraw(request.id, user, audit=audit),
        "see": lambda: airlock.get(request.id, user),
    }[action]
    if outcome == "ok":
        act()
        return
    with pytest.raises(outcome) as refused:
        act()
    assert refused.value.reason
    if outcome is WrongState:  # the refusal names the state the request is in, and what happens next
        assert f"is {status}, so it cannot be {DONE[action]}" in refused.value.reason
        assert STATUSES[status].next in refused.value.reason
    if action != "see":
        last = events_for(audit, request.id)[-1]
        assert (last["actor"], last["outcome"], last["detail"]["code"]) == (actor, "refused", refused.value.code)
    assert airlock.store.get(request.id).status is status, "a refusal changes nothing"


def test_another_users_request_and_a_missing_one_are_refused_alike_by_the_same_statements(on_sqlite):
    """Bob asking for alice's request and for no request: the same refusal, after the same one
    query (so neither its words nor its time tell him that alice's exists)."""
    from sqlalchemy import event

    airlock, audit = on_sqlite
    alices = figure(airlock, audit, ALICE, content=png(91_001))
    missing = alices.id + 10_000
    statements: list[str] = []
    record = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(airlock.store.engine, "before_cursor_execute", record)
    try:
        answers = []
        for request_id in (alices.id, missing):
            statements.clear()
            with pytest.raises(RequestNotFound) as refused:
                airlock.get(request_id, BOB)
            answers.append((refused.value.reason.replace(str(request_id), "<id>"), list(statements)))
    finally:
        event.remove(airlock.store.engine, "before_cursor_execute", record)
    assert answers[0] == answers[1] and len(answers[0][1]) == 1


# --- the same export twice --------------------------------------------------------------------

REFORMATTED = "select gender,\n       COUNT(*) as n\n  from card_usage  -- by gender\n group by 1;"


def test_the_same_export_twice_is_refused_while_the_first_stands(airlock, cx, audit):
    first = export(airlock, cx, audit, BY_GENDER, name="twice")
    with pytest.raises(DuplicateExport, match=f"export request {first.id}, twice, is needs review") as refused:
        export(airlock, cx, audit, REFORMATTED, name="twice")  # the same query, however it is written
    assert refused.value.existing == first.id and "Wait for its review" in refused.value.reason
    assert events_for(audit, None)[-1]["detail"]["code"] == "duplicate_export", "the refusal is audited"
    # | what differs from the first                 | taken? |
    assert export(airlock, cx, audit, BY_GENDER, name="twice-again").name == "twice-again"  # the name      | yes
    assert export(airlock, cx, audit, BY_GENDER + " ORDER BY 1", name="twice").sql.endswith("1")  # query | yes
    assert export(airlock, cx, audit, BY_GENDER, user=BOB, name="twice").requester == "bob"  # requester  | yes

    airlock.review(first.id, SEJIN, "return", "a finer grain, please", audit=audit)
    with pytest.raises(DuplicateExport, match=rf"Resubmit it instead \(campus.resubmit\({first.id}"):
        export(airlock, cx, audit, BY_GENDER, name="twice")
    airlock.withdraw(first.id, ALICE, audit=audit)
    assert export(airlock, cx, audit, BY_GENDER, name="twice").status is Status.NEEDS_REVIEW, (
        "a withdrawn (or rejected, or blocked) request no longer stands: the same export may be asked again")


def test_a_released_export_is_not_asked_for_again(airlock, cx, audit):
    released = export(airlock, cx, audit, AIR_BY_STATION, name="stations")
    assert released.status is Status.RELEASED
    with pytest.raises(DuplicateExport, match="It is released: download it"):
        export(airlock, cx, audit, AIR_BY_STATION, name="stations")


def test_the_same_file_twice_is_refused_whatever_its_name(airlock, audit):
    first = figure(airlock, audit, content=png(90_002))
    with pytest.raises(DuplicateExport, match=f"export request {first.id}"):
        airlock.export_file(ALICE, "map-final.png", png(90_002), "again", name="map", audit=audit)
    assert figure(airlock, audit, user=BOB, content=png(90_002)).requester == "bob"


KEYWORDS = ["select", "as", "from", "group", "by", "order", "where"]


@settings(max_examples=60, deadline=None)
@given(gaps=st.lists(st.sampled_from([" ", "  ", "\n", "\t", "\n   "]), min_size=12, max_size=12),
       upper=st.lists(st.booleans(), min_size=12, max_size=12), semicolon=st.booleans())
def test_a_query_is_the_same_however_it_is_spaced_or_cased(gaps, upper, semicolon):
    words = ["select", "district,", "count(*)", "as", "n", "from", "card_usage", "where", "amount", "> 10",
             "group", "by 1"]
    written = "".join(gap + (w.upper() if up and w in KEYWORDS else w) for gap, w, up in zip(gaps, words, upper))
    written += ";" if semicolon else ""
    assert policies.normal_sql(written) == policies.normal_sql(" ".join(words))
    assert policies.normal_sql(written.replace("> 10", "> 11")) != policies.normal_sql(" ".join(words)), (
        "a different literal is a different query")


def test_a_rejection_or_return_says_why(airlock, audit):
    request = figure(airlock, audit)
    for decision in ("reject", "return"):
        with pytest.raises(InvalidExport, match="say why"):
            airlock.review(request.id, SEJIN, decision, "  ", audit=audit)
    with pytest.raises(InvalidExport, match="approve, reject or return"):
        airlock.review(request.id, SEJIN, "maybe", "hm", audit=audit)


def test_only_reviewers_see_the_queue(airlock, audit):
    request = figure(airlock, audit)
    assert request.id in [r.id for r in airlock.queue(SEJIN)]
    for user in (ALICE, BOB, ADMIN):
        with pytest.raises(NotPermitted):
            airlock.queue(user)
    assert request.id in [r.id for r in airlock.mine(ALICE)]
    assert request.id not in [r.id for r in airlock.mine(BOB)]


def test_projects_are_for_their_members(airlock, cx, audit):
    with pytest.raises(NotPermitted, match="not a member of project gangnam-retail"):
        airlock.export_file(BOB, "figure.png", PNG, project="gangnam-retail", audit=audit)
    with pytest.raises(NotPermitted, match="not a member"):
        export(airlock, cx, audit, user=BOB, project="gangnam-retail")
    with pytest.raises(NotPermitted, match="no project"):
        airlock.export_file(ALICE, "figure.png", PNG, project="nowhere", audit=audit)
    request = export(airlock, cx, audit, "SELECT industry, count(*) AS n FROM sales_by_location GROUP BY 1",
                     project="gangnam-retail", name="gangnam-industries")
    assert request.project == "gangnam-retail" and request.status is Status.NEEDS_REVIEW
    assert request.provenance["decisions"][0]["grant"] == "gangnam-retail-sales"


# --- two-reviewer mode ------------------------------------------------------------------------


def test_two_reviewer_mode_needs_two_different_reviewers(two_reviewers, cx, audit):
    request = export(two_reviewers, cx, audit)
    first = two_reviewers.review(request.id, SEJIN, "approve", audit=audit)
    assert first.status is Status.NEEDS_REVIEW and first.approvals == ["sejin"]
    with pytest.raises(NotPermitted, match="a second reviewer must approve"):
        two_reviewers.review(request.id, SEJIN, "approve", audit=audit)
    with pytest.raises(WrongState):
        two_reviewers.release(request.id, SEJIN, audit=audit)
    second = two_reviewers.review(request.id, JIWOO, "approve", audit=audit)
    assert second.status is Status.APPROVED and second.approvals == ["sejin", "jiwoo"]
    assert two_reviewers.release(request.id, SEJIN, audit=audit).status is Status.RELEASED
    reviewed = [(e["actor"], e["outcome"]) for e in events_for(audit, request.id) if e["action"] == "export_reviewed"]
    assert reviewed == [("sejin", "approve"), ("sejin", "refused"), ("jiwoo", "approved")]


def test_the_last_reviewers_approval_can_release_at_once(airlock, two_reviewers, cx, audit):
    one = export(airlock, cx, audit)
    with pytest.raises(NotPermitted, match="cannot review it"):
        airlock.review(one.id, ALICE, "approve", audit=audit, release=True)  # still nobody reviews their own
    released = airlock.review(one.id, SEJIN, "approve", audit=audit, release=True)
    assert released.status is Status.RELEASED and [t.to_status for t in released.timeline][-2:] == [
        Status.APPROVED, Status.RELEASED]
    assert [e["action"] for e in events_for(audit, one.id)][-2:] == ["export_reviewed", "export_released"]

    two = export(two_reviewers, cx, audit)
    first = two_reviewers.review(two.id, SEJIN, "approve", audit=audit, release=True)
    assert first.status is Status.NEEDS_REVIEW, "one approval of two releases nothing"
    assert two_reviewers.review(two.id, JIWOO, "approve", audit=audit, release=True).status is Status.RELEASED


def test_in_two_reviewer_mode_one_rejection_is_enough(two_reviewers, cx, audit):
    request = export(two_reviewers, cx, audit)
    two_reviewers.review(request.id, SEJIN, "approve", audit=audit)
    assert two_reviewers.review(request.id, JIWOO, "reject", "cell for 30s in Jung-gu", audit=audit).status \
        is Status.REJECTED


# --- history: what the reviewer compares against ----------------------------------------------


def test_history_shows_earlier_releases_by_the_requester_and_the_project(airlock, cx, audit):
    project_sql = "SELECT industry, count(*) AS n FROM sales_by_location GROUP BY 1"
    earlier = [
        airlock.release(airlock.review(export(airlock, cx, audit, sql, project=project, name=name).id, SEJIN,
                                       "approve", audit=audit).id, SEJIN, audit=audit)
        for sql, project, name in [(BY_GENDER, None, "first"), (project_sql, "gangnam-retail", "in-project")]
    ]
    rejected = airlock.review(export(airlock, cx, audit).id, SEJIN, "reject", "no", audit=audit)
    new = export(airlock, cx, audit, project=None, name="new")
    history = [r.id for r in airlock.history(new.id, SEJIN)]
    assert {e.id for e in earlier} <= set(history) and rejected.id not in history and new.id not in history
    assert history == sorted(history, reverse=True), "newest first"
    bobs = figure(airlock, audit, BOB)
    assert not {e.id for e in earlier} & {r.id for r in airlock.history(bobs.id, SEJIN)}
    with pytest.raises(NotPermitted):
        airlock.history(new.id, ALICE)


# --- integrity, concurrency, restart ------------------------------------------------------------


def test_a_stored_table_changed_on_disk_is_never_released(airlock, cx, audit, store_dir):
    request = airlock.release(_approved(airlock, cx, audit).id, SEJIN, audit=audit)
    path = store_dir / "tables" / f"{request.content_sha256}.parquet"
    original = path.read_bytes()
    try:
        path.write_bytes(original[:-8] + b"tampered")
        with pytest.raises(ContentChanged):
            airlock.download(request.id, ALICE, audit=audit)
        assert events_for(audit, request.id)[-1]["outcome"] == "refused"
    finally:
        path.write_bytes(original)


def test_two_reviewers_acting_at_once_cannot_both_move_a_request(airlock, audit):
    request = figure(airlock, audit)
    stale = airlock.store.get(request.id)
    airlock.review(request.id, SEJIN, "approve", audit=audit)
    with pytest.raises(Conflict):
        airlock.store.save(replace(stale, status=Status.REJECTED), expected_version=stale.version)
    assert airlock.store.get(request.id).status is Status.APPROVED


def test_a_restart_loses_nothing(cx, database, store_dir, airlock, audit):
    released = airlock.release(_approved(airlock, cx, audit).id, SEJIN, audit=audit)
    waiting = export(airlock, cx, audit)
    returned = _returned(airlock, cx, audit)
    # a crash between submitting and the automatic check leaves a request the airlock still owes a move
    pending = airlock.store.create(
        replace(figure(airlock, audit), id=None, status=Status.SUBMITTED, reviews=(), timeline=()),
        Transition("alice", None, Status.SUBMITTED, "", datetime.now(timezone.utc)),
    )

    reopened = Airlock(cx, SqlExportStore(database, store_dir))
    try:
        for before in (released, waiting, returned):
            after = reopened.store.get(before.id)
            assert after == before and after.reviews == before.reviews and after.timeline == before.timeline
        assert reopened.download(released.id, ALICE, audit=audit).sha256 == released.content_sha256
        assert waiting.id in [r.id for r in reopened.queue(SEJIN)]
        finished = {r.id: r for r in reopened.finish_pending(audit=audit)}
        assert finished[pending.id].status is Status.NEEDS_REVIEW
        assert reopened.resubmit(returned.id, ALICE, audit=audit).status is Status.NEEDS_REVIEW
    finally:
        reopened.store.close()
    assert audit.verify().ok


def test_the_audit_chain_holds_after_everything(audit):
    verification = audit.verify()
    assert verification.ok, verification


def _blank() -> ExportRequest:
    return ExportRequest(
        id=1, kind="table", name="x", description="", requester="alice", groups=("researchers",), project=None,
        status=Status.SUBMITTED, status_reason="", export_rule="review", sql="SELECT 1", filename="x.parquet",
        media_type="application/vnd.apache.parquet", content_sha256="0" * 64, content_bytes=0, report={},
        provenance={},
    )


def test_final_statuses_are_exactly_the_ownerless_ones():
    assert FINAL == {s for s, info in STATUSES.items() if info.owner is Owner.NOBODY}


def test_every_setting_says_what_it_does():
    for name, field in AirlockSettings.model_fields.items():
        assert field.description, f"AirlockSettings.{name} has no description"
