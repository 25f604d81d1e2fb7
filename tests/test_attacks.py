"""Attacks on the gateway. Each shows that a person's value cannot be recovered.

Every attack runs on each engine (DuckDB, then Spark). Victims are real cardholders of the demo data who are alone in a (dong, category,
month) cell: the raw truth of their spending is known to the test, and each attack
tries to learn it through the gateway.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from campus import CampusError, Denied, OverBudget, QueryRejected


@pytest.fixture(scope="module")
def alice(campus_on):
    """Alice the researcher, on each engine in turn: every attack is tried on DuckDB and on Spark."""
    return campus_on.session("alice", ["researchers"])


@pytest.fixture(scope="module")
def victims(raw):
    """Cardholders alone in their (dong, category, month) cell, in dongs with many cardholders."""
    rows = raw.sql(
        """
        WITH cells AS (
            SELECT dong, category, month(txn_date) AS month, count(DISTINCT card_id) AS cards,
                   any_value(card_id) AS card_id, sum(amount) AS value
            FROM card_usage GROUP BY ALL),
        dongs AS (SELECT dong, month(txn_date) AS month, count(DISTINCT card_id) AS cards FROM card_usage GROUP BY ALL)
        SELECT c.dong, c.category, c.month, c.card_id, c.value
        FROM cells c JOIN dongs d USING (dong, month)
        WHERE c.cards = 1 AND d.cards >= 100 ORDER BY hash(c.dong, c.category, c.month) LIMIT 30
        """
    ).fetchall()
    assert len(rows) >= 20, "the demo data must have people alone in a cell"
    victims = [dict(zip(("dong", "category", "month", "card_id", "value"), r)) for r in rows]
    for v in victims:
        v["where"] = f"dong = '{v['dong']}' AND month(txn_date) = {v['month']}"
    return victims


@pytest.fixture(scope="module")
def categories_in(raw):
    def of(victim: dict) -> list[str]:
        return [r[0] for r in raw.sql(f"SELECT DISTINCT category FROM card_usage WHERE {victim['where']}").fetchall()]

    return of


def lone_purchase(raw) -> tuple[str, object, str, int]:
    """A cardholder alone in a (dong, day) cell of a busy dong: their dong, day, card and spending that day."""
    ((dong, day, card, value),) = raw.sql(
        """
        WITH days AS (SELECT dong, txn_date, count(DISTINCT card_id) AS cards, any_value(card_id) AS card_id,
                             sum(amount) AS value FROM card_usage GROUP BY ALL),
             dongs AS (SELECT dong, count(DISTINCT card_id) AS cards FROM card_usage GROUP BY ALL)
        SELECT d.dong, d.txn_date, d.card_id, d.value FROM days d JOIN dongs USING (dong)
        WHERE d.cards = 1 AND dongs.cards >= 150 AND month(d.txn_date) BETWEEN 4 AND 11 AND d.value >= 50000
        ORDER BY hash(d.dong, d.txn_date) LIMIT 1
        """
    ).fetchall()
    return dong, day, card, value


def average_until_refused(sql, raw, starts=range(20, 400)) -> tuple[float, int, bool]:
    """The averaging attack: pairs of date ranges ending the day before and the day of a
    lone purchase (`lone_purchase`), each pair's difference an estimate of it, asked through
    `sql` (a query's text -> its first value) until a budget refuses. Returns the mean
    estimate's relative error, the pairs answered, and whether a budget refused."""
    dong, day, _, value = lone_purchase(raw)
    estimates = []
    for start in starts:
        span = f"dong = '{dong}' AND txn_date >= DATE '{day - timedelta(days=start)}' AND txn_date <= DATE "
        try:
            upto = sql(f"SELECT sum(amount) AS t FROM card_usage WHERE {span}'{day}'")
            before = sql(f"SELECT sum(amount) AS t FROM card_usage WHERE {span}'{day - timedelta(days=1)}'")
        except OverBudget:
            return (abs(np.mean(estimates) - value) / value if estimates else float("inf")), len(estimates), True
        if upto is not None and before is not None:
            estimates.append(upto - before)
    return (abs(np.mean(estimates) - value) / value if estimates else float("inf")), len(estimates), False


def total(session, where: str) -> float:
    return session.sql(f"SELECT sum(amount) AS total FROM card_usage WHERE {where}").pl()["total"][0]


def quoted(values) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def refused(session, sql: str, victim: dict | None = None) -> CampusError:
    """The query is refused, and the refusal itself carries nothing of the victim."""
    with pytest.raises((Denied, QueryRejected)) as e:
        session.sql(sql)
    if victim:
        assert str(victim["value"]) not in e.value.reason and victim["card_id"] not in e.value.reason
    return e.value


# --- the cell of one person -------------------------------------------------------


def test_a_cell_of_one_person_is_not_shown(alice, victims):
    for v in victims[:10]:
        r = alice.sql(
            f"SELECT dong, category, count(*) AS n, sum(amount) AS total, count(DISTINCT card_id) AS cards "
            f"FROM card_usage WHERE {v['where']} AND category = '{v['category']}' GROUP BY ALL"
        )
        assert len(r) == 0, "no row, no key: the cell looks exactly like one nobody is in"
        assert r.report.cells == 0 and r.report.suppressed == 0


def test_having_cannot_probe_a_withheld_cell(alice, victims):
    v = victims[0]
    probe = (
        f"SELECT category, sum(amount) AS total FROM card_usage WHERE {v['where']} "
        f"AND category = '{v['category']}' GROUP BY 1 HAVING sum(amount) > {{x}}"
    )
    answers = {len(alice.sql(probe.format(x=x))) for x in (0, v["value"] - 1, v["value"] + 1, 10**12)}
    assert answers == {0}, "HAVING sees the withheld (null) value, never the raw one"


def region_of(column: str) -> str:
    """The region mask as raw SQL, for ground truth."""
    from campus.synth.seoul import REGION_OF_DISTRICT

    cases = " ".join(f"WHEN {column} = '{d}' THEN '{r}'" for d, r in REGION_OF_DISTRICT.items())
    return f"CASE {cases} END"


def test_every_released_cell_has_enough_people(alice, raw):
    keys = "dong, age_band, gender, home_district, category"
    released = alice.sql(f"SELECT {keys}, count(*) AS n FROM card_usage GROUP BY ALL").pl()
    truth = raw.sql(
        f"SELECT dong, age_band, gender, {region_of('home_district')} AS home_district, category, "
        "count(DISTINCT card_id) AS cards FROM card_usage GROUP BY ALL"
    ).pl()
    both = released.join(truth, on=keys.split(", "), how="left")
    assert both.height == released.height > 0
    assert both["cards"].min() >= 10, "every cell shown holds at least 10 cardholders"
    assert truth.filter(pl.col("cards") < 10).height > 0.5 * truth.height, "most fine combinations were small"


DOMINANCE_PLACES = [
    # (dataset, entity, measure, cell keys)
    ("sales_by_location", "store_id", "sales_amount", ["district", "industry"]),
    ("card_usage", "card_id", "amount", ["dong", "category"]),
]


@pytest.mark.parametrize("dataset,entity,measure,keys", DOMINANCE_PLACES, ids=[p[0] for p in DOMINANCE_PLACES])
def test_cells_dominated_by_two_contributors_withhold_the_sum(alice, raw, dataset, entity, measure, keys):
    k = ", ".join(keys)
    truth = raw.sql(
        f"SELECT {k}, count(*) AS n, sum(s) AS total, list_sum(max(s, 2)) / sum(s) AS top2 FROM "
        f"(SELECT {k}, {entity}, sum({measure}) AS s FROM {dataset} GROUP BY ALL) GROUP BY ALL"
    ).pl()
    released = alice.sql(f"SELECT {k}, sum({measure}) AS total FROM {dataset} GROUP BY ALL")
    both = released.pl().join(truth, on=keys, suffix="_raw")
    dominated = both.filter((both["n"] >= 10) & (both["top2"] >= 0.9))
    assert dominated["total"].null_count() == dominated.height, "every dominated cell's sum is withheld"
    safe = both.filter((both["n"] >= 20) & (both["top2"] < 0.5))
    assert safe["total"].null_count() < safe.height, "cells far from the rules are released"
    named = set(released.report.withheld["cell"])
    for cell in dominated.select(keys).iter_rows():
        assert " ".join(f"{k}={v}" for k, v in zip(keys, cell)) in named, "the report names a shown cell's withheld sum"


# --- differencing, trackers, margins, averaging ----------------------------------


def test_differencing_two_large_cells_does_not_reveal_the_person(alice, victims, categories_in):
    """Q(dong) − Q(dong, every category but the victim's) would be the victim's spending."""
    errors = []
    for v in victims:
        others = [c for c in categories_in(v) if c != v["category"]]
        everyone = total(alice, v["where"])
        without = total(alice, f"{v['where']} AND category IN ({quoted(others)})")
        if everyone is not None and without is not None:  # else a rule withheld one: nothing to subtract
            errors.append(abs((everyone - without) - v["value"]) / v["value"])
    assert len(errors) >= 15, "most pairs of large cells are released, so the attack can be tried"
    errors = np.array(errors)
    # the difference is the victim's spending times their noise factor: 10% to 15% away, never closer
    assert (errors >= 0.099).all(), f"recovered within 10% for {(errors < 0.099).mean():.0%} of victims"
    assert (errors <= 0.151).all()


def test_averaging_many_different_pairs_does_not_reveal_the_person(alice, raw):
    """The averaging attack: many *different* pairs of released cells that differ by one
    person's purchases on one day (date ranges ending the day before and the day of), each
    pair's difference an estimate; averaging them all still leaves the person's noise
    factor, 10% to 15% of their value, because every pair carries the same factor."""
    dong, day, card, value = lone_purchase(raw)
    estimates, cells = [], set()
    for start in range(20, 80, 2):  # 30 pairs, each over other days
        span = f"dong = '{dong}' AND txn_date >= DATE '{day - timedelta(days=start)}' AND txn_date <= DATE "
        upto, before = total(alice, span + f"'{day}'"), total(alice, span + f"'{day - timedelta(days=1)}'")
        if upto is not None and before is not None:
            estimates.append(upto - before)
            cells.add(upto)
    assert len(estimates) >= 20, "most pairs are released, so averaging can be tried"
    assert len(cells) >= 15, "the pairs are different cells (some ranges differ only by days without purchases)"
    error = abs(np.mean(estimates) - value) / value
    assert 0.099 <= error <= 0.151, f"{card}'s purchases on {day} ({value}) recovered within {error:.1%}"


def test_asking_again_or_rephrased_gives_the_same_noise(alice, victims):
    """Averaging repeats gains nothing: the same cell always gets the same answer."""
    dong = victims[0]["dong"]
    phrasings = [
        f"dong = '{dong}'", f"dong IN ('{dong}')", f"'{dong}' = dong", f"dong BETWEEN '{dong}' AND '{dong}'",
        f"dong LIKE '{dong}'", f"dong = '{dong}' AND dong IS NOT NULL",
    ]
    answers = {total(alice, p) for p in phrasings for _ in range(3)}
    assert len(answers) == 1


def test_trackers_built_from_conditions_across_columns_are_refused(alice, victims):
    v = victims[0]
    for where in (
        f"dong = '{v['dong']}' OR category = '{v['category']}'",
        f"NOT (dong = '{v['dong']}' AND category = '{v['category']}')",
        f"(dong <> '{v['dong']}') = (category <> '{v['category']}')",
        f"CASE WHEN dong = '{v['dong']}' THEN category ELSE 'x' END = '{v['category']}'",
        f"dong || category = '{v['dong']}{v['category']}'",
    ):
        assert "must test one column" in refused(alice, f"SELECT sum(amount) FROM card_usage WHERE {where}", v).reason


def test_negation_on_one_column_is_the_same_cell_as_listing_the_rest(alice, victims, categories_in):
    """`category <> C` keeps exactly the rows of `category IN (every other value)`: the
    same cell, so the same key and the same noise; it gives an attacker nothing new."""
    for v in victims[:5]:
        others = quoted([c for c in categories_in(v) if c != v["category"]])
        listed = total(alice, f"{v['where']} AND category IN ({others})")
        for negation in (f"category <> '{v['category']}'", f"category NOT IN ('{v['category']}')",
                         f"NOT category = '{v['category']}'"):
            assert total(alice, f"{v['where']} AND {negation}") == listed


def test_margins_do_not_re_derive_a_withheld_cell(alice, victims):
    """Total of the dong minus its released categories would leave the victim's cell."""
    errors = []
    for v in victims[:15]:
        cells = alice.sql(f"SELECT category, sum(amount) AS total FROM card_usage WHERE {v['where']} GROUP BY 1").pl()
        mine = cells.filter(cells["category"] == v["category"])["total"][0]
        assert mine is None
        withheld = cells["total"].null_count()
        assert withheld >= 2, "secondary suppression hides a second cell beside the victim's"
        everyone = total(alice, v["where"])
        if everyone is not None:
            errors.append(abs(everyone - cells["total"].drop_nulls().sum() - v["value"]) / v["value"])
    assert len(errors) >= 8
    assert np.median(errors) > 0.5


def test_suppressed_cells_sort_together_whatever_their_value(alice, victims):
    r = alice.sql(
        f"SELECT category, sum(amount) AS total FROM card_usage WHERE {victims[0]['where']} "
        "GROUP BY 1 ORDER BY sum(amount) NULLS LAST"
    ).pl()
    nulls = r["total"].is_null().to_list()
    assert nulls == sorted(nulls), "withheld cells are null, so ORDER BY cannot rank them by their raw values"


# --- value-revealing functions and identifiers --------------------------------------

VALUE_REVEALING = [
    "min(amount)", "max(amount)", "median(amount)", "mode(amount)", "string_agg(category, ',')", "list(amount)",
    "arg_max(card_id, amount)", "any_value(amount)", "first(amount)", "quantile_cont(amount, 0.5)",
    "max(amount, 2)", "histogram(amount)", "stddev(amount)", "sum(DISTINCT amount)",
]


@pytest.mark.parametrize("aggregate", VALUE_REVEALING)
def test_value_revealing_aggregates_are_refused(alice, victims, aggregate):
    refused(alice, f"SELECT dong, {aggregate} FROM card_usage WHERE dong = '{victims[0]['dong']}' GROUP BY 1", victims[0])


IDENTIFIER_USES = [
    ("raw pull", "SELECT * FROM card_usage"),
    ("identifier listed", "SELECT card_id FROM card_usage"),
    ("group by identifier", "SELECT card_id, sum(amount) FROM card_usage GROUP BY card_id"),
    ("group by all with identifier", "SELECT card_id, count(*) FROM card_usage GROUP BY ALL"),
    ("identifier + 1 laundering", "SELECT card_id || '' AS c, count(*) FROM card_usage GROUP BY 1"),
    ("hash laundering", "SELECT hash(card_id) % 1000 AS h, count(*) FROM card_usage GROUP BY 1"),
    ("filter on identifier", "SELECT count(*) FROM card_usage WHERE card_id = '{card_id}'"),
    ("count distinct laundered", "SELECT count(DISTINCT card_id || 'x') FROM card_usage"),
    ("merchant id", "SELECT merchant_id, count(*) FROM card_usage GROUP BY 1"),
    ("transaction id", "SELECT count(*) FROM card_usage WHERE txn_id = 'T1'"),
    ("amount + 1 laundering", "SELECT amount + 1 AS a, count(*) FROM card_usage GROUP BY 1"),
    ("exact timestamp key", "SELECT txn_time, count(*) FROM card_usage GROUP BY 1"),
    ("exact timestamp filter", "SELECT count(*) FROM card_usage WHERE txn_time = TIMESTAMP '2025-03-04 12:00:00'"),
    ("hourly truncation", "SELECT date_trunc('hour', txn_time) AS h, count(*) FROM card_usage GROUP BY 1"),
    ("whole-row reference", "SELECT c FROM card_usage c"),
    ("window over rows", "SELECT sum(amount) OVER () FROM card_usage"),
    ("sampling", "SELECT count(*) FROM card_usage USING SAMPLE 1"),
    ("exists probe", "SELECT count(*) FROM card_usage c WHERE EXISTS (SELECT 1 FROM air_quality a WHERE a.pm25 = c.amount)"),
    ("union of rows", "SELECT district, count(*) AS n FROM card_usage GROUP BY 1 UNION ALL SELECT card_id, 1 FROM card_usage"),
    ("cte shadowing an open dataset", "WITH air_quality AS (SELECT * FROM card_usage) SELECT * FROM air_quality"),
    ("filter clause", "SELECT count(*) FILTER (WHERE amount = 24615) FROM card_usage"),
]


@pytest.mark.parametrize("what,sql", IDENTIFIER_USES, ids=[i[0] for i in IDENTIFIER_USES])
def test_identifiers_rows_and_laundering_are_refused(alice, victims, what, sql):
    refused(alice, sql.format(card_id=victims[0]["card_id"]), victims[0])


def test_a_masked_column_cannot_be_filtered_back_to_districts(alice):
    r = alice.sql("SELECT home_district, count(*) AS n FROM card_usage WHERE home_district = 'Gangnam-gu' GROUP BY 1")
    assert len(r) == 0, "home_district holds regions only: no district matches"


# --- error side channels -----------------------------------------------------------

SIDE_CHANNELS = [
    "SELECT sum(1 / (amount - {x})) FROM card_usage",
    "SELECT CASE WHEN amount = {x} THEN 1 / 0 END AS k, count(*) FROM card_usage GROUP BY 1",
    "SELECT count(*) FROM card_usage WHERE 1 / (amount - {x}) > 0",
    "SELECT count(*) FROM card_usage WHERE amount = {x}",
    "SELECT sum(amount) FROM card_usage WHERE dong = '{dong}' AND amount BETWEEN {x} AND {x}",
]


@pytest.mark.parametrize("template", SIDE_CHANNELS)
def test_errors_are_the_same_whether_or_not_the_value_exists(alice, raw, victims, template):
    v = victims[0]
    present = raw.execute(f"SELECT amount FROM card_usage WHERE card_id = '{v['card_id']}' LIMIT 1").fetchall()[0][0]
    absent = raw.execute("SELECT max(amount) + 7 FROM card_usage").fetchall()[0][0]
    reasons = {refused(alice, template.format(x=x, dong=v["dong"])).reason.replace(str(x), "X") for x in (present, absent)}
    assert len(reasons) == 1, "the refusal does not depend on the data"


# --- files, settings, extensions, statements -------------------------------------

ESCAPES = [
    "SELECT * FROM read_parquet('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM duckdb_settings()",
    "SELECT current_setting('allowed_paths')",
    "SELECT getvariable('x')",
    "SELECT * FROM query('SELECT * FROM card_usage')",
    "SELECT * FROM query_table('card_usage')",
    "SELECT json_execute_serialized_sql('x')",
    "COPY card_usage TO '/tmp/out.csv'",
    "ATTACH '/tmp/x.db'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA database_list",
    "SET enable_external_access = true",
    "CALL duckdb_settings()",
    "CREATE TEMP VIEW air_quality AS SELECT * FROM card_usage",
    "SELECT 1; SELECT * FROM card_usage",
    "SELECT count(*) FROM card_usage; SET lock_configuration = false",
    "PIVOT card_usage ON district USING sum(amount)",
    "SELECT COLUMNS('.*') FROM card_usage",
    "SELECT #1 FROM card_usage",
    "SELECT district.upper() FROM card_usage",
    "SELECT list_transform([1], x -> x + 1)",
    "SELECT * FROM main.card_usage",
    "SELECT * FROM card_usage, LATERAL (SELECT 1)",
]
# Spark's own ways out: its settings, jars, catalogs, SQL on files and JVM calls.
SPARK_ESCAPES = [
    "SET spark.sql.runSQLOnFiles=true",
    "ADD JAR /tmp/campus.jar",
    "CREATE TEMPORARY VIEW leaked AS SELECT 1 AS one",
    "SHOW TABLES",
    "SELECT reflect('java.lang.System', 'getProperty', 'user.home') AS home",
    "SELECT java_method('java.lang.System', 'getenv', 'HOME') AS home",
    "SELECT current_user() AS who",
    "SELECT * FROM parquet.`/etc`",
    "SELECT * FROM csv.`/etc/passwd`",
    "SELECT * FROM spark_catalog.default.anything",
    "SELECT * FROM global_temp.card_usage",
    "SELECT 1 AS one; SELECT 2 AS two",
    "SELECT * FROM range(10)",
    "INSERT OVERWRITE DIRECTORY '/tmp/campus-out' SELECT 1 AS one",
]


@pytest.mark.parametrize("sql", ESCAPES + SPARK_ESCAPES)
def test_files_settings_extensions_and_statements_are_refused(alice, sql):
    refused(alice, sql)


def test_keys_only_aggregates_leave_small_cells_out(alice, raw):
    """GROUP BY without aggregates would show which rare combinations exist."""
    keys = "dong, category, age_band, gender"
    shown = alice.sql(f"SELECT {keys} FROM card_usage GROUP BY ALL").pl()
    truth = raw.sql(f"SELECT {keys}, count(DISTINCT card_id) AS cards FROM card_usage GROUP BY ALL").pl()
    both = shown.join(truth, on=keys.split(", "))
    assert both.height == shown.height > 0
    assert both["cards"].min() >= 10
    assert truth.filter(truth["cards"] < 10).height > 0, "there were small combinations to hide"


def test_outer_references_inside_a_protected_aggregate_are_refused(alice):
    sql = (
        "SELECT station, (SELECT count(*) FROM card_usage c WHERE c.district = a.district) AS n "
        "FROM air_quality a"
    )
    assert "not a column of card_usage" in refused(alice, sql).reason
    sql = "SELECT station, (SELECT count(*) FROM card_usage c GROUP BY a.district) AS n FROM air_quality a"
    refused(alice, sql)


def test_secondary_suppression_is_the_same_on_every_run(alice):
    """Re-running a query must not release a cell an earlier run withheld."""
    sql = "SELECT district, category, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY ALL ORDER BY ALL"
    runs = {tuple(alice.sql(sql).pl()["total"].is_null().to_list()) for _ in range(6)}
    assert len(runs) == 1


def test_secondary_suppression_does_not_depend_on_row_order():
    import numpy as np
    import pyarrow as pa

    from extractguard import Cells, Disclosure, Measure, check

    rng = np.random.default_rng(3)
    n = 60
    stats = pa.table({
        "k0": [f"d{i % 6}" for i in range(n)], "k1": [f"c{i // 6}" for i in range(n)],
        "entities": rng.choice([5, 12, 12, 40], n), "rows": rng.integers(50, 100, n),
        "cellkey": rng.integers(0, 2**63, n).astype(np.uint64),
    })
    cells = Cells(keys=["k0", "k1"], measures=[Measure("m0", "rows", "count(*)")])
    outcomes = set()
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(n)
        checked = check(stats.take(order), cells, Disclosure(), secret=1)
        shown = checked.table.select(["k0", "k1"]).to_pydict()
        outcomes.add(tuple(sorted(zip(shown["k0"], shown["k1"]))))
    assert len(outcomes) == 1 and "secondary" in checked.left_out


@pytest.mark.parametrize("sql", [
    "SELECT count(*) AS n FROM card_usage WHERE strftime(txn_date, dong) = 'x'",
    "SELECT count(*) AS n FROM card_usage WHERE make_date(2025, hour, 40) > DATE '2025-01-01'",
    "SELECT district, sum(CAST(dong AS INTEGER)) AS n FROM card_usage GROUP BY district",
    "SELECT district, count(*) AS n FROM card_usage WHERE date_part(dong, txn_date) = 1 GROUP BY district",
])
def test_an_engine_error_never_carries_a_value_of_the_data(alice, raw, sql):
    """A computation that fails on some rows (a value used as a format, a date part or a
    number) must be refused before the engine runs it, or fail with text holding no value:
    an engine's error message would otherwise print the row it failed on."""
    dongs = {r[0] for r in raw.sql("SELECT DISTINCT dong FROM card_usage").fetchall()}
    error = refused(alice, sql)
    assert not any(dong in error.reason for dong in dongs if dong not in sql), error.reason
