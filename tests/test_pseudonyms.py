"""Rows of people for approved projects: identifiers as per-project pseudonyms, in sealed sessions only.

A campus of its own over the demo data: two projects (north, south) each granted rows of
card usage (and north rows of sales), a group of researchers granted aggregates. Every
pseudonym that comes back is checked against the definition in
`campus.vocabulary.pseudonyms`, computed here from the raw data and the service's secret.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import stat

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from test_policy_fixtures import campus_root

import campus
from campus import Denied, QueryRejected
from campus.engines.duckdb import DuckDBEngine
from campus.vocabulary import pseudonyms
from campus.vocabulary.pseudonyms import parameters, project_key, pseudonym

USERS = """\
users:
  alice: {groups: [researchers]}
  bob: {groups: [researchers]}
projects:
  north: {members: [alice, bob], expires: 2099-12-31}
  south: {members: [alice], expires: 2099-12-31}
"""

GRANTS = """\
grants:
  - {name: researchers-cards, groups: [researchers], dataset: card_usage, columns: all,
     purpose: Researchers see checked aggregates.}
  - {name: north-cards, project: north, dataset: card_usage, mode: rows, columns: all, row_cap: 500000,
     purpose: The north project follows cardholders.}
  - {name: south-cards, project: south, dataset: card_usage, mode: rows, columns: all, row_cap: 500000,
     purpose: The south project follows cardholders too.}
  - {name: north-stores, project: north, dataset: sales_by_location, mode: rows, columns: all, row_cap: 500000,
     purpose: The north project follows stores.}
"""

IDENTIFIERS = ["txn_id", "card_id", "merchant_id"]
PSEUDONYM = re.compile(r"[0-9a-f]{32}")
# A raw id anywhere in a text: transactions T + 14 digits, cards C + 16 hex digits,
# merchants M + 8 digits, stores S + 8 digits (overlapping matches included).
RAW_ID = re.compile(r"(?=(T\d{14}|C[0-9a-f]{16}|M\d{8}|S\d{8}))")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return campus_root(tmp_path_factory.mktemp("root"), GRANTS, USERS)


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="module")
def sealed(root, state, demo_data):
    """The campus as the data service runs it under the sandboxed spawner."""
    opened = campus.open(root, data_dir=demo_data, state_dir=state, sessions_sealed=True)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def unsealed(root, state, demo_data):
    """The same campus (same secret) where the service does not know its sessions are sealed."""
    opened = campus.open(root, data_dir=demo_data, state_dir=state)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def raw_ids(raw) -> set[str]:
    """Every identifier of the demo data, as it is."""
    found = set()
    for column in IDENTIFIERS:
        found |= {v for (v,) in raw.sql(f"SELECT DISTINCT {column} FROM card_usage").fetchall()}
    found |= {v for (v,) in raw.sql("SELECT DISTINCT store_id FROM sales_by_location").fetchall()}
    return found


def key_of(cx, project: str) -> bytes:
    return project_key(cx.gateway.pseudonym_secret, project)


def counted(session, column: str, dataset: str = "card_usage", where: str = "") -> dict[str, int]:
    """Records per value of `column`, as the session sees it."""
    table = session.sql(f"SELECT {column} AS id, count(*) AS n FROM {dataset} {where} GROUP BY 1").pl()
    return dict(zip(table["id"], table["n"]))


def raw_counted(raw, column: str, dataset: str = "card_usage", where: str = "") -> dict[str, int]:
    return dict(raw.sql(f"SELECT {column}, count(*) FROM {dataset} {where} GROUP BY 1").fetchall())


def leaks(values, raw_ids: set[str]) -> list[str]:
    """The first few values that are, or contain, a raw identifier."""
    found = []
    for value in values:
        text = str(value)
        if text in raw_ids or any(m.group(1) in raw_ids for m in RAW_ID.finditer(text)):
            found.append(text)
            if len(found) == 3:
                break
    return found


# -- the pseudonyms ---------------------------------------------------------------------


@pytest.mark.parametrize("dataset,column", [("card_usage", c) for c in IDENTIFIERS] + [("sales_by_location", "store_id")])
def test_every_identifier_is_its_projects_keyed_pseudonym(sealed, raw, dataset, column):
    """Each id's records come back under HMAC-SHA256(project key, id): the definition, bit for bit."""
    shown = counted(sealed.session("bob", ["researchers"], "north"), column, dataset)
    key = key_of(sealed, "north")
    expected = {pseudonym(key, value): n for value, n in raw_counted(raw, column, dataset).items()}
    strangers = shown.keys() - expected.keys()
    assert not strangers, f"{len(strangers)} of {len(shown)} values are not the definition's, such as {min(strangers)}"
    assert shown == expected
    assert all(PSEUDONYM.fullmatch(p) for p in shown)


def test_two_projects_see_unrelated_pseudonyms_of_the_same_cards(sealed, raw):
    alice = {project: counted(sealed.session("alice", ["researchers"], project), "card_id")
             for project in ("north", "south")}
    shared = set(alice["north"]) & set(alice["south"])
    assert not shared, f"{len(shared)} values are shown alike to both projects, such as {min(shared)}"
    assert sorted(alice["north"].values()) == sorted(alice["south"].values()), "the same cards, relabelled"
    for card, n in list(raw_counted(raw, "card_id").items())[:200]:
        north, south = (pseudonym(key_of(sealed, p), card) for p in ("north", "south"))
        assert north != south and alice["north"][north] == alice["south"][south] == n


def test_pseudonyms_are_stable_across_queries_sessions_and_restarts(sealed, root, state, demo_data):
    bob = counted(sealed.session("bob", ["researchers"], "north"), "card_id")
    night = counted(sealed.session("alice", ["researchers"], "north"), "card_id", where="WHERE hour < 6")
    assert set(night) < set(bob), "another query, another session: the same pseudonyms"
    reopened = campus.open(root, data_dir=demo_data, state_dir=state, sessions_sealed=True)
    try:
        again = counted(reopened.session("bob", ["researchers"], "north"), "card_id")
    finally:
        reopened.close()
    assert again == bob, "a restarted service keeps its secret, so the project keeps its pseudonyms"
    kept = state / "pseudonym.secret"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and len(bytes.fromhex(kept.read_text())) == 32


def test_a_project_can_follow_a_card_and_join_its_own_pseudonyms(sealed):
    """Within a project the same card is the same pseudonym everywhere, so a self-join works."""
    north = sealed.session("alice", ["researchers"], "north")
    table = north.sql(
        "SELECT a.card_id, count(*) AS pairs FROM card_usage AS a JOIN card_usage AS b "
        "ON a.card_id = b.card_id AND a.txn_id < b.txn_id WHERE a.hour = 3 AND b.hour = 4 GROUP BY 1").pl()
    assert table.height > 0 and all(PSEUDONYM.fullmatch(p) for p in table["card_id"])


def test_no_raw_identifier_reaches_a_rows_result(sealed, raw_ids):
    north = sealed.session("alice", ["researchers"], "north")
    for sql in ("SELECT * FROM card_usage", "SELECT * FROM sales_by_location"):
        table = north.sql(sql).pl()
        for column in table.columns:
            found = leaks(table[column].unique().to_list(), raw_ids)
            assert not found, f"{column}: {found}"


# Expressions a researcher may write over identifiers in rows mode, and filters and shapes.
EXPRESSIONS = ["card_id", "txn_id", "merchant_id", "upper(card_id)", "lower(merchant_id)", "substring(txn_id, 3, 12)",
               "concat(card_id, '-', merchant_id)", "left(card_id, 17)", "right(txn_id, 15)", "coalesce(card_id, 'x')",
               "replace(card_id, '0', 'C')", "CASE WHEN hour < 12 THEN card_id ELSE merchant_id END",
               "length(card_id)", "district", "category"]
FILTERS = ["", "WHERE hour < 3", "WHERE category = 'Golf'", "WHERE card_id <> 'Cced5f1de36de9772'",
           "WHERE card_id LIKE 'C%'", "WHERE district IN ('Jung-gu', 'Mapo-gu')"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=st.lists(st.sampled_from(EXPRESSIONS), min_size=1, max_size=4, unique=True),
       where=st.sampled_from(FILTERS), grouped=st.booleans(), limit=st.integers(1, 3000))
def test_no_query_in_rows_mode_returns_a_raw_identifier(sealed, raw_ids, chosen, where, grouped, limit):
    """Whatever a researcher writes over the rows, no output value is or holds a raw id."""
    columns = ", ".join(f"{e} AS c{i}" for i, e in enumerate(chosen))
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(chosen)))}" if grouped else ""
    sql = f"SELECT {columns}{', count(*) AS n' if grouped else ''} FROM card_usage {where}{group} LIMIT {limit}"
    table = sealed.session("alice", ["researchers"], "south").sql(sql).pl()
    for column in table.columns:
        found = leaks(table[column].to_list(), raw_ids)
        assert not found, f"{sql}: {column} holds {found}"


def test_a_filter_on_a_raw_identifier_finds_nothing(sealed, raw):
    """The rows carry pseudonyms only: a card number someone knows matches no row."""
    [(card,)] = raw.sql("SELECT card_id FROM card_usage LIMIT 1").fetchall()
    north = sealed.session("alice", ["researchers"], "north")
    assert north.sql(f"SELECT count(*) AS n FROM card_usage WHERE card_id = '{card}'").pl()["n"][0] == 0
    mine = pseudonym(key_of(sealed, "north"), card)
    assert north.sql(f"SELECT count(*) AS n FROM card_usage WHERE card_id = '{mine}'").pl()["n"][0] > 0


# -- the key -------------------------------------------------------------------------


def test_a_pseudonym_is_no_unkeyed_hash_of_the_identifier(sealed, raw):
    """Without the secret nobody can compute a pseudonym: it is no plain digest, and no HMAC
    keyed by anything public (nothing, the project's name, the derivation's label)."""
    north = counted(sealed.session("alice", ["researchers"], "north"), "card_id")
    for (card,) in raw.sql("SELECT DISTINCT card_id FROM card_usage ORDER BY 1 LIMIT 50").fetchall():
        guesses = [hashlib.new(name, card.encode()).hexdigest() for name in ("md5", "sha1", "sha256", "sha512")]
        guesses += [hmac.new(key, card.encode(), hashlib.sha256).hexdigest()
                    for key in (b"", bytes(32), b"north", b"pseudonym:north")]
        assert not {g[:pseudonyms.DIGITS] for g in guesses} & set(north)


def test_the_key_is_in_no_sql_no_audit_and_no_result(sealed):
    north = sealed.session("alice", ["researchers"], "north")
    result = north.sql("SELECT card_id, amount FROM card_usage LIMIT 20")
    plan = north.decide(north.analyse("SELECT card_id, amount FROM card_usage LIMIT 20"))
    north.rewrite(plan)
    secrets = [sealed.gateway.pseudonym_secret.hex(), key_of(sealed, "north").hex(),
               *parameters(sealed.gateway.pseudonym_secret, "north").values()]
    assert plan.pseudonyms and "$pseudonym_inner" in plan.sql and "$pseudonym_outer" in plan.sql
    recorded = repr(sealed.audit.events(limit=5)) + plan.sql + repr(result.pl().rows())
    assert not [s for s in secrets if s in recorded]


QUERIES_THAT_HASH = [
    # comment, query: a researcher's own hash of an id, or a parameter naming the campus's key
    ("sha256", "SELECT sha256(card_id) AS h FROM card_usage"),
    ("md5", "SELECT md5(card_id) AS h FROM card_usage"),
    ("sha1", "SELECT sha1(card_id) AS h FROM card_usage"),
    ("DuckDB's hash", "SELECT hash(card_id) AS h FROM card_usage"),
    ("an HMAC", "SELECT hmac('sha256', 'key', card_id) AS h FROM card_usage"),
    ("the key as a named parameter", "SELECT $pseudonym_inner AS k FROM card_usage"),
    ("the key as a positional parameter", "SELECT ? AS k FROM card_usage"),
    ("unhex of the pad", "SELECT unhex(card_id) AS k FROM card_usage"),
]


@pytest.mark.parametrize("comment,sql", QUERIES_THAT_HASH, ids=[q[0] for q in QUERIES_THAT_HASH])
def test_queries_cannot_hash_under_a_key_of_their_choice(sealed, comment, sql):
    with pytest.raises(QueryRejected, match="not allowed in campus queries"):
        sealed.session("alice", ["researchers"], "north").sql(sql)


# -- the definition, on the engine --------------------------------------------------------

TEXTS = st.one_of(st.text(max_size=40), st.integers(-(2**63), 2**63 - 1))


@settings(max_examples=200, deadline=None)
@given(first=st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True),
       second=st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True), value=TEXTS)
def test_two_distinct_projects_never_share_a_pseudonym(first, second, value):
    secret = hashlib.sha256(b"a test secret").digest()
    same = pseudonym(project_key(secret, first), value) == pseudonym(project_key(secret, second), value)
    assert same is (first == second)


@settings(max_examples=150, deadline=None)
@given(value=TEXTS)
def test_duckdb_computes_the_definition_bit_for_bit(value):
    """Any text (any Unicode, escapes, quotes) and any integer id: the engine's SQL is the definition."""
    secret = hashlib.sha256(b"another test secret").digest()
    sql = "SELECT " + DuckDBEngine.pseudonym(exp.Placeholder(this="value")).sql("duckdb")
    with duckdb.connect() as db:
        (got,) = db.execute(sql, {"value": value, **parameters(secret, "north")}).fetchone()
    assert got == pseudonym(project_key(secret, "north"), value)


def test_a_missing_identifier_stays_missing():
    assert pseudonym(project_key(bytes(32), "north"), None) is None
    sql = "SELECT " + DuckDBEngine.pseudonym(exp.null()).sql("duckdb")
    with duckdb.connect() as db:
        assert db.execute(sql, parameters(bytes(32), "north")).fetchone() == (None,)


def test_a_short_secret_is_refused():
    with pytest.raises(ValueError, match="at least 256 bits"):
        project_key(bytes(8), "north")


# -- sealed sessions, projects, and what leaves -------------------------------------------

UNSEALED = [
    # comment, project, query, what the denial says
    ("rows of people", "north", "SELECT card_id, amount FROM card_usage LIMIT 5",
     "grant north-cards gives rows of card_usage, which carry identifiers, to sealed sessions only, and this campus "
     "does not run them: the campus admins must run sealed sessions (CAMPUS_HUB_SPAWNER=sandbox)"),
    ("rows without an identifier column read", "north", "SELECT amount, hour FROM card_usage LIMIT 5",
     "to sealed sessions only"),
    ("an aggregate under the rows grant", "south", "SELECT category, count(*) AS n FROM card_usage GROUP BY 1",
     "to sealed sessions only"),
]


@pytest.mark.parametrize("comment,project,sql,says", UNSEALED, ids=[row[0] for row in UNSEALED])
def test_an_unsealed_campus_denies_rows_of_people_saying_what_to_do(unsealed, comment, project, sql, says):
    with pytest.raises(Denied, match=re.escape(says)):
        unsealed.session("alice", ["researchers"], project).sql(sql)
    [event] = unsealed.audit.events(limit=1)
    assert event["outcome"] == "denied" and says in event["detail"]["reason"]


def test_an_unsealed_campus_still_answers_aggregates_outside_the_project(unsealed):
    result = unsealed.session("alice", ["researchers"]).sql("SELECT category, count(*) AS n FROM card_usage GROUP BY 1")
    assert result.report.cells > 0


def test_a_service_without_a_pseudonym_secret_refuses_identifiers_only(sealed):
    """Fail closed: no secret, no pseudonyms; rows without identifiers need none."""
    gateway = dataclasses.replace(sealed.gateway, pseudonym_secret=None)
    north = gateway.session("alice", ["researchers"], "north")
    with pytest.raises(Denied, match="holds no pseudonym secret"):
        north.sql("SELECT card_id FROM card_usage LIMIT 5")
    assert north.sql("SELECT amount, hour FROM card_usage LIMIT 5").table.num_rows == 5


def test_nothing_of_the_rows_is_exported_but_checked_aggregates(sealed):
    """Exports go through the airlock's path: rows and identifier keys are refused, aggregates
    are checked under the disclosure rules, whatever the grant's mode."""
    north = sealed.session("alice", ["researchers"], "north")
    with pytest.raises(Denied, match="rows never leave the campus"):
        north.sql("SELECT card_id, amount FROM card_usage", action="export")
    with pytest.raises(QueryRejected, match="card_id is an identifier"):
        north.sql("SELECT card_id, count(*) AS n FROM card_usage GROUP BY 1", action="export")
    exported = north.sql("SELECT category, count(*) AS n FROM card_usage GROUP BY 1", action="export")
    assert exported.report.cells > 0 and (exported.pl()["n"] % 5 == 0).all()


def test_a_data_service_answering_its_own_tokens_cannot_claim_sealed_sessions(sealed, unsealed):
    """Its API tokens work from anywhere, so rows of people would leave the sealed sessions."""
    from campus.errors import ConfigError
    from campus.service.server import authenticator_for
    from campus.service.tokens import TokenStore

    with pytest.raises(ConfigError, match="campus serve --auth hub"):
        authenticator_for(sealed, "tokens", TokenStore(sealed.audit.engine))
    assert authenticator_for(unsealed, "tokens", TokenStore(unsealed.audit.engine)) is not None
