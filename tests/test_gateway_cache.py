"""The gateway's memory: analyses and rewrites are remembered, results never are.

A campus remembers the analysis of a query text and its rewrite under the policy's
decisions (campus/gateway/cache.py). These tests show that a repeated query is served
from that memory with the same answer, that people whose grants differ never share a
rewrite, that a policy reload forgets everything, that the memory is bounded, and that
the data, the guard and the audit are still read and run for every query.
"""

from __future__ import annotations

import shutil
import textwrap
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import campus
from campus import Denied
from campus.gateway.cache import LRU, Memory
from campus.gateway.session import rewrite_key
from campus.settings import PROJECT_ROOT
from campus.synth.seoul import REGION_OF_DISTRICT

USERS = """\
users:
  alice: {groups: [researchers]}
  bob: {groups: [researchers]}
  carol: {groups: [researchers]}
  dana: {groups: [researchers]}
  erin: {groups: [researchers]}
  frank: {groups: [researchers]}
  mallory: {groups: [visitors]}
projects:
  stores: {members: [alice], expires: 2099-12-31}
"""

# One grant per person on card_usage, alike but for one term each; two rows grants on air_quality.
GRANTS = """\
grants:
  - {name: alice-cards, users: [alice], dataset: card_usage, mode: aggregates, columns: all, purpose: Plain.}
  - {name: bob-cards, users: [bob], dataset: card_usage, mode: aggregates, columns: all,
     masks: {home_district: region}, purpose: Home districts by region.}
  - {name: carol-cards, users: [carol], dataset: card_usage, mode: aggregates, columns: all,
     masks: {home_district: hidden}, purpose: No home districts.}
  - {name: dana-cards, users: [dana], dataset: card_usage, mode: aggregates, columns: all,
     row_filter: {district: [Jung-gu]}, purpose: Jung-gu only.}
  - {name: erin-cards, users: [erin], dataset: card_usage, mode: aggregates, columns: all,
     disclosure: {min_entities: 1000}, purpose: A much higher threshold.}
  - {name: frank-cards, users: [frank], dataset: card_usage, mode: aggregates, columns: [district, gender],
     purpose: Two columns only.}
  - {name: alice-air, users: [alice], dataset: air_quality, mode: rows, columns: all, row_cap: 50000, export: auto,
     purpose: Open data.}
  - {name: stores-sales, project: stores, dataset: sales_by_location, mode: rows, columns: all, export: auto,
     purpose: Rows of stores; exported only as checked aggregates.}
  - {name: frank-air, users: [frank], dataset: air_quality, mode: rows, columns: all, row_cap: 10, export: auto,
     purpose: Open data; a few rows.}
"""

HOME = "SELECT home_district, count(*) AS n FROM card_usage GROUP BY 1 ORDER BY 1"
BY_DISTRICT = "SELECT district, count(*) AS n FROM card_usage GROUP BY 1 ORDER BY 1"
AIR = "SELECT station, measured_at, pm25 FROM air_quality"
DISTRICTS, REGIONS = set(REGION_OF_DISTRICT), set(REGION_OF_DISTRICT.values())


def campus_root(root: Path, grants: str = GRANTS) -> Path:
    """The shipped catalog and Rego, with this module's grants and users."""
    (root / "datasets").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "datasets" / "catalog.yaml", root / "datasets" / "catalog.yaml")
    shutil.copytree(PROJECT_ROOT / "policies" / "campus", root / "policies" / "campus", dirs_exist_ok=True)
    write_grants(root, grants)
    (root / "hub").mkdir(exist_ok=True)
    (root / "hub" / "users.yaml").write_text(USERS)
    return root


def write_grants(root: Path, grants: str) -> None:
    (root / "policies" / "grants.yaml").write_text(textwrap.dedent(grants))


@contextmanager
def campus_of_its_own(demo_data: Path, folder: Path, grants: str = GRANTS):
    """A campus of its own (its own memory, state and ledger), over a copy of the demo data."""
    data = folder / "data"
    shutil.copytree(demo_data, data)
    opened = campus.open(campus_root(folder / "root", grants), data_dir=data, state_dir=folder / "state",
                         sessions_sealed=True)  # the stores project's rows of stores are for sealed sessions
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def cx(demo_data, tmp_path):
    with campus_of_its_own(demo_data, tmp_path) as opened:
        yield opened


def session(cx, user: str):
    groups = ["visitors"] if user == "mallory" else ["researchers"]
    return cx.session(user, groups)


# --- a repeated query --------------------------------------------------------------


def test_a_repeated_query_is_served_from_memory_with_the_same_answer(cx):
    memory, alice = cx.memory, session(cx, "alice")
    first = alice.sql(BY_DISTRICT)
    assert (memory.analyses.hits, memory.rewrites.hits) == (0, 0)
    events = len(cx.audit.events())
    again = alice.sql(BY_DISTRICT)
    assert (memory.analyses.hits, memory.rewrites.hits) == (1, 1)
    assert again.table.equals(first.table)
    assert again.report.cells == first.report.cells and again.report.suppressed == first.report.suppressed
    assert again.notes == first.notes and again.decisions == first.decisions
    assert len(cx.audit.events()) == events + 1, "the audit records every query, remembered or not"


def test_a_remembered_rewrite_still_reads_the_data_now(cx):
    """Results are never remembered: the same rewrite over changed files gives the new rows."""
    alice = session(cx, "alice")
    before = len(alice.sql(AIR))
    for part in cx.files(cx.catalog["air_quality"]):
        pq.write_table(pq.read_table(part).slice(0, 3), part)
    hits = cx.memory.rewrites.hits
    after = alice.sql(AIR)
    assert cx.memory.rewrites.hits == hits + 1
    assert len(after) == 3 * len(cx.files(cx.catalog["air_quality"])) < before


# --- people whose grants differ never share a rewrite ------------------------------

# (user, query, what the result must show); each query is run by alice first, and the
# others must not be given her rewrite.
OWN_REWRITES = [
    ("alice", HOME, lambda r: set(r["home_district"]) == DISTRICTS),
    ("bob", HOME, lambda r: set(r["home_district"]) == REGIONS),  # masked to regions
    ("carol", HOME, lambda r: r["home_district"].to_list() == [None]),  # hidden
    ("alice", BY_DISTRICT, lambda r: set(r["district"]) == DISTRICTS and r["n"].null_count() == 0),
    ("dana", BY_DISTRICT, lambda r: r["district"].to_list() == ["Jung-gu"]),  # row filter
    ("erin", BY_DISTRICT, lambda r: r.height == 25 and r["n"].null_count() > 0),  # threshold 1000 withholds
    ("alice", AIR, lambda r: r.height > 10),
    ("frank", AIR, lambda r: r.height == 10),  # row cap
]


def test_people_whose_grants_differ_get_their_own_rewrites(cx):
    for user, sql, shows in OWN_REWRITES:
        session(cx, "alice").sql(sql)  # remembered first, under alice's grants
        result = session(cx, user).sql(sql)
        assert shows(result.pl()), f"{user}: {sql}\n{result.pl()}"


def test_one_researcher_is_never_served_from_another_s_memory(cx):
    """Else how fast a query answers would tell whether someone else ran the same text."""
    memory = cx.memory
    session(cx, "alice").sql(BY_DISTRICT)
    session(cx, "erin").sql(BY_DISTRICT)
    assert (memory.analyses.hits, memory.rewrites.hits) == (0, 0)
    assert len(memory.analyses) == len(memory.rewrites) == 2


def test_a_column_outside_the_grant_is_denied_after_another_user_ran_the_query(cx):
    session(cx, "alice").sql(HOME)
    with pytest.raises(Denied, match="home_district"):
        session(cx, "frank").sql(HOME)


def test_a_user_without_a_grant_is_denied_after_another_user_ran_the_query(cx):
    session(cx, "alice").sql(BY_DISTRICT)
    with pytest.raises(Denied, match="no grant"):
        session(cx, "mallory").sql(BY_DISTRICT)


def test_an_export_is_not_given_the_query_s_rewrite(cx):
    """An export aggregates a rows grant's dataset under the disclosure rules; a query does not."""
    sql = "SELECT district, count(*) AS n FROM sales_by_location GROUP BY 1 ORDER BY 1"
    alice = cx.session("alice", ["researchers"], "stores")
    exact = alice.sql(sql)
    exported = alice.sql(sql, action="export")
    assert exact.report.cells == 0 and exported.report.cells == exact.table.num_rows
    assert (exported.pl()["n"] % 5 == 0).all(), "exported counts are rounded"


# --- forgetting ---------------------------------------------------------------------


def test_a_policy_reload_forgets_everything(cx, tmp_path):
    bob = session(cx, "bob")
    assert set(bob.sql(HOME).pl()["home_district"]) == REGIONS
    memory = cx.memory
    generation = memory.generation
    write_grants(tmp_path / "root", GRANTS.replace("masks: {home_district: region}", "masks: {home_district: hidden}"))
    assert cx.policy.reload()
    assert bob.sql(HOME).pl()["home_district"].to_list() == [None]
    assert memory.generation == generation + 1
    assert len(memory.analyses) == len(memory.rewrites) == 1, "only the query run since the reload"
    assert memory.analyses.hits == memory.rewrites.hits == 0


def test_the_memory_is_bounded(cx):
    memory = cx.gateway.memory = Memory(size=2)
    alice = session(cx, "alice")
    for i in range(4):
        alice.sql(f"SELECT district, count(*) AS n FROM card_usage WHERE month(txn_date) = {i + 1} GROUP BY 1")
    assert len(memory.analyses) == len(memory.rewrites) == 2
    alice.sql("SELECT district, count(*) AS n FROM card_usage WHERE month(txn_date) = 1 GROUP BY 1")
    assert memory.rewrites.hits == 0, "the oldest was forgotten"


# (operations, what the LRU holds after them, oldest first)
LRU_CASES = [
    ([("put", "a"), ("put", "b"), ("put", "c")], ["b", "c"]),
    ([("put", "a"), ("put", "b"), ("get", "a"), ("put", "c")], ["a", "c"]),  # a used last: b goes
    ([("put", "a"), ("put", "a"), ("put", "b")], ["a", "b"]),
]


@pytest.mark.parametrize("operations,holds", LRU_CASES)
def test_the_lru_forgets_the_least_recently_used(operations, holds):
    lru = LRU(2)
    for op, key in operations:
        lru.put(key, key) if op == "put" else lru.get(key)
    assert list(lru._entries) == holds


# --- the rewrite's key holds everything the rewrite reads -------------------------

# (what changes, how); each must change the key of alice's query on card_usage
KEY_CHANGES = [
    ("action", lambda plan, files, generation: (replace(plan, action="export"), files, generation)),
    ("mode", lambda plan, files, generation: (decided(plan, mode="rows"), files, generation)),
    ("columns", lambda plan, files, generation: (decided(plan, columns=["district"]), files, generation)),
    ("masks", lambda plan, files, generation: (decided(plan, masks={"district": "region"}), files, generation)),
    ("row filter", lambda plan, files, generation: (decided(plan, row_filter={"district": ["Jung-gu"]}), files,
                                                     generation)),
    ("disclosure", lambda plan, files, generation: (decided(plan, disclosure=replace(
        plan.uses[0].decision.disclosure, dominance_n=3)), files, generation)),
    ("row cap", lambda plan, files, generation: (decided(plan, row_cap=1), files, generation)),
    ("files", lambda plan, files, generation: (plan, lambda d: [*files(d), Path("/elsewhere.parquet")], generation)),
    ("generation", lambda plan, files, generation: (plan, files, generation + 1)),
]


def decided(plan, **terms):
    first = plan.uses[0]
    return replace(plan, uses=[replace(first, decision=first.decision.model_copy(update=terms))])


@pytest.mark.parametrize("change,how", KEY_CHANGES, ids=[c[0] for c in KEY_CHANGES])
def test_the_rewrite_key_changes_with_everything_the_rewrite_reads(cx, change, how):
    alice = session(cx, "alice")
    plan = alice.decide(alice.analyse(BY_DISTRICT))
    key = rewrite_key(plan, cx.files, 1)
    assert rewrite_key(*how(plan, cx.files, 1)) != key, change
    assert rewrite_key(plan, cx.files, 1) == key
