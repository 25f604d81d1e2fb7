"""The gateway end to end: real DuckDB, real policy, real demo data."""

from __future__ import annotations

import polars as pl
import pytest

import campus
from campus import Denied, QueryRejected
from campus.errors import QueryTimeout
from extractguard import Disclosure, noise

RULES = Disclosure()  # the demo catalog's: its defaults

# --- utility: analysts' questions answered as raw DuckDB would, within the protection ---

ANALYST_QUESTIONS = [
    # (question, dataset, keys, guarded SQL, raw SQL computing the same cells plus the largest contribution)
    (
        "spending by district and month", ["district", "month"],
        "SELECT district, date_trunc('month', txn_date) AS month, count(*) AS n, sum(amount) AS total "
        "FROM card_usage GROUP BY ALL",
        "SELECT district, month, sum(n) AS n, sum(s) AS total, max(s) AS top1, sqrt(sum(s * s)) AS rss, count(*) AS entities "
        "FROM (SELECT district, date_trunc('month', txn_date) AS month, card_id, count(*) AS n, sum(amount) AS s "
        "FROM card_usage GROUP BY ALL) GROUP BY ALL",
    ),
    (
        "category mix by age band", ["category", "age_band"],
        "SELECT category, age_band, count(DISTINCT card_id) AS n, sum(amount) AS total FROM card_usage GROUP BY ALL",
        "SELECT category, age_band, count(*) AS n, sum(s) AS total, max(s) AS top1, sqrt(sum(s * s)) AS rss, count(*) AS entities "
        "FROM (SELECT category, age_band, "
        "card_id, sum(amount) AS s FROM card_usage GROUP BY ALL) GROUP BY ALL",
    ),
    (
        "sales by commercial area", ["commercial_area"],
        "SELECT commercial_area, count(*) AS n, sum(sales_amount) AS total FROM sales_by_location GROUP BY 1",
        "SELECT commercial_area, sum(n) AS n, sum(s) AS total, max(s) AS top1, sqrt(sum(s * s)) AS rss, count(*) AS entities "
        "FROM (SELECT commercial_area, store_id, "
        "count(*) AS n, sum(sales_amount) AS s FROM sales_by_location GROUP BY ALL) GROUP BY ALL",
    ),
]


@pytest.mark.parametrize("question,keys,guarded,truth", ANALYST_QUESTIONS, ids=[q[0] for q in ANALYST_QUESTIONS])
def test_released_cells_match_raw_duckdb_within_the_protection(alice, raw, question, keys, guarded, truth):
    result = alice.sql(guarded)
    released = result.pl()
    expected = pl.from_arrow(raw.sql(truth).to_arrow_table())
    both = released.join(expected, on=keys, suffix="_raw", how="inner")
    shown = both.filter(pl.col("n").is_not_null())
    assert (shown["entities"] >= 10).all(), "every cell shown has enough entities"
    absent = released.join(expected, on=keys, how="anti")
    assert absent["n"].null_count() == absent.height, "a row with no cell in the data has no values"
    threshold = 20 if "sales" in question else 10  # the Gangnam association's terms bind every such cell
    assert shown.height >= 0.5 * expected.filter(pl.col("entities") >= threshold).height, f"{question}: most pass"
    passed = shown.filter(pl.col("total").is_not_null())
    assert passed.height >= 0.5 * shown.height
    # counts: random rounding to base 5 moves a count by less than 5
    assert (passed["n"] % 5 == 0).all()
    assert ((passed["n"] - passed["n_raw"]).abs() < 5).all()
    # sums: every contribution moved by at most noise_at_most of itself, so the (positive) total too
    error = (passed["total"].cast(pl.Float64) - passed["total_raw"].cast(pl.Float64)).abs()
    assert (error <= RULES.noise_at_most * passed["total_raw"].cast(pl.Float64) + 1).all()
    # each released sum has its 95% error bar: never narrower than the noise's 1.96 sd, and it holds
    bars = passed.join(result.report.errors.filter(pl.col("measure") == "total"), on=keys, how="left")
    assert bars["half_width"].null_count() == 0, "every released sum has an error bar"
    assert (bars["half_width"] >= 1.96 * noise.spread(RULES.noise_at_least, RULES.noise_at_most) * bars["rss"] * 0.999).all()
    assert ((error <= bars["half_width"]).mean()) >= 0.9
    # and the noise is not nothing: the release is protected, not copied
    assert (passed["total"] != passed["total_raw"]).mean() > 0.9


def test_pm25_by_season_in_rows_mode_equals_raw_duckdb(alice, raw):
    sql = (
        "SELECT CASE WHEN month(measured_at) IN (12, 1, 2) THEN 'winter' WHEN month(measured_at) IN (3, 4, 5) "
        "THEN 'spring' WHEN month(measured_at) IN (6, 7, 8) THEN 'summer' ELSE 'autumn' END AS season, "
        "avg(pm25) AS pm25 FROM air_quality GROUP BY 1 ORDER BY 1"
    )
    assert alice.sql(sql).pl().equals(pl.from_arrow(raw.sql(sql).to_arrow_table()))


def test_outer_queries_see_only_checked_cells(alice):
    r = alice.sql(
        "WITH cells AS (SELECT district, sum(amount) AS total FROM card_usage GROUP BY 1), "
        "air AS (SELECT district, avg(pm25) AS pm25 FROM air_quality GROUP BY 1) "
        "SELECT cells.district, total, pm25, rank() OVER (ORDER BY total DESC) AS place "
        "FROM cells JOIN air ON air.district = cells.district ORDER BY place"
    ).pl()
    assert r.height == 25 and r["place"].to_list() == sorted(r["place"].to_list())
    assert r.columns == ["district", "total", "pm25", "place"]


def test_result_comes_back_as_arrow_polars_and_pandas(alice):
    r = alice.sql("SELECT gender, count(*) AS n FROM card_usage GROUP BY 1 ORDER BY 1")
    assert r.arrow().column_names == ["gender", "n"]
    assert r.pl()["gender"].to_list() == ["F", "M"]
    assert list(r.df()["gender"]) == ["F", "M"]
    assert "counts are rounded to a multiple of 5" in r.report.notes


def test_report_names_the_rule_and_cell_of_each_value_withheld_in_a_shown_cell(alice):
    r = alice.sql("SELECT district, category, sum(amount) AS spending FROM card_usage GROUP BY ALL")
    frame, withheld = r.pl(), r.report.withheld
    assert r.report.suppressed > 0 and set(withheld["rule"]) <= {"dominance", "p_ratio", "zeros", "all_same", "secondary"}
    named = {tuple(c.removeprefix("district=").split(" category=")) for c in withheld["cell"]}
    nulls = frame.filter(pl.col("spending").is_null())
    assert named <= set(nulls.select("district", "category").iter_rows()), "every named cell is a row of the table"
    assert any("are not shown" in n for n in r.report.notes), "the report says small cells are not shown"


def test_small_cells_are_not_shown_and_the_report_neither_names_nor_counts_them(alice, raw):
    r = alice.sql(
        "SELECT dong, category, count(DISTINCT card_id) AS cards FROM card_usage WHERE district = 'Jongno-gu' GROUP BY ALL"
    )
    truth = raw.sql(
        "SELECT count(*) FROM (SELECT dong, category FROM card_usage WHERE district = 'Jongno-gu' GROUP BY ALL "
        "HAVING count(DISTINCT card_id) < 10)"
    ).fetchall()[0][0]
    assert truth > 0, "there were small cells to leave out"
    assert r.pl()["cards"].null_count() == 0 and r.report.suppressed == 0
    assert r.report.cells == len(r) and "min_entities" not in str(r.report) and "secondary" not in str(r.report)


def test_an_empty_result_says_so(alice):
    r = alice.sql("SELECT district, count(*) AS n FROM card_usage WHERE district = 'Atlantis' GROUP BY 1")
    assert len(r) == 0
    assert "the result is empty" in r.notes
    assert any("no cell could be shown" in n for n in r.report.notes)


def test_masked_column_shows_only_regions(alice):
    regions = alice.sql("SELECT home_district, count(*) AS n FROM card_usage GROUP BY 1").pl()["home_district"]
    assert set(regions) == {"Dosim-gwon", "Dongbuk-gwon", "Seobuk-gwon", "Seonam-gwon", "Dongnam-gwon"}


def test_a_column_without_regions_is_never_shown_by_region():
    from campus.catalog import load
    from campus.engines.duckdb import DuckDBEngine
    from campus.gateway.rewrite import masked
    from campus.settings import Settings

    cards = load(Settings().catalog_path)["card_usage"]
    home = cards.columns["home_district"].model_copy(update={"regions": None})
    without = cards.model_copy(update={"columns": {**cards.columns, "home_district": home}})
    assert masked("home_district", cards, "region", DuckDBEngine).sql().startswith("CASE WHEN home_district = 'Dobong-gu'")
    with pytest.raises(QueryRejected, match=r"card_usage.home_district has no regions to be shown by: a steward "
                                            r"declares them on the column in datasets/catalog.yaml"):
        masked("home_district", without, "region", DuckDBEngine)


def test_row_cap_says_when_it_bites(alice):
    r = alice.sql("SELECT station, measured_at, pm25 FROM air_quality")
    assert len(r) == 50000
    assert any("row cap" in n for n in r.notes)


# --- refusals: each says what to do next -----------------------------------------

REFUSED = [
    # (query, error, what the reason must say)
    ("SELECT * FROM card_usage", Denied, "only as aggregates"),
    ("SELECT district FROM card_usage", Denied, "only as aggregates"),
    ("SELECT card_id, count(*) FROM card_usage GROUP BY 1", Denied, "card_id is an identifier"),
    ("SELECT district, min(amount) FROM card_usage GROUP BY 1", QueryRejected, "min() is not allowed on card_usage"),
    ("SELECT amount, count(*) FROM card_usage GROUP BY 1", QueryRejected, "bin it: floor(amount / 10000) * 10000"),
    ("SELECT txn_time, count(*) FROM card_usage GROUP BY 1", QueryRejected, "date_trunc('day', txn_time)"),
    ("SELECT count(*) FROM card_usage WHERE district = 'Jung-gu' OR age_band = '70s'", QueryRejected, "OR, NOT and !="),
    ("SELECT district, count(*) FROM card_usage c JOIN air_quality a USING (district) GROUP BY 1",
     QueryRejected, "aggregate card_usage on its own before joining it"),
    ("SELECT count(*) FROM nope", QueryRejected, "there is no dataset 'nope'"),
    ("SELECT nope FROM air_quality", QueryRejected, "campus.describe"),
    ("SELEC 1", QueryRejected, "could not be parsed (line 1)"),
    ("SELEC", QueryRejected, "it must start with SELECT, WITH or FROM, not 'SELEC'"),
    ("", QueryRejected, "the query is empty"),
]


@pytest.mark.parametrize("sql,error,says", REFUSED, ids=[r[0][:50] or "empty" for r in REFUSED])
def test_refusals_say_what_to_do(alice, sql, error, says):
    with pytest.raises(error) as e:
        alice.sql(sql)
    assert says in e.value.reason
    assert isinstance(e.value, campus.CampusError)


def test_a_user_without_a_grant_is_denied(cx):
    with pytest.raises(Denied, match="no grant"):
        cx.session("mallory", ["visitors"]).sql("SELECT count(*) FROM card_usage")


# --- the engine and the audit trail ----------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "COPY (SELECT 1) TO '/tmp/campus-escape.csv'",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "INSTALL httpfs",
        "ATTACH '/tmp/campus-escape.db'",
    ],
)
def test_the_engine_itself_refuses_files_settings_and_extensions(cx, statement):
    with cx.engine.cursor() as cursor, pytest.raises(QueryRejected):
        cursor.arrow(statement)


def test_a_query_over_the_time_limit_is_cancelled(demo_data, tmp_path):
    slow = campus.open(data_dir=demo_data, state_dir=tmp_path, query_seconds=0.2)
    try:
        with pytest.raises(QueryTimeout, match="over the 0.2 s limit"):
            slow.session("alice", ["researchers"]).sql(
                "SELECT count(*) FROM air_quality a, air_quality b WHERE a.pm25 < b.pm25"
            )
    finally:
        slow.close()


def test_every_query_is_audited_and_the_chain_verifies(cx, alice):
    before = len(cx.audit.events())
    alice.sql("SELECT count(*) AS n FROM card_usage")
    with pytest.raises(QueryRejected):
        alice.sql("SELECT max(amount) FROM card_usage")
    events = cx.audit.events(limit=2)
    assert len(cx.audit.events()) == before + 2
    assert [e["outcome"] for e in events] == ["query_rejected", "allowed"]
    assert events[1]["detail"]["cells"] == 1 and events[1]["actor"] == "alice"
    assert "max() is not allowed" in events[0]["detail"]["reason"]
    assert cx.audit.verify().ok


def test_campus_audit_verify_detects_tampering(tmp_path, monkeypatch):
    from sqlalchemy import update
    from typer.testing import CliRunner

    from campus.audit import AuditLog, events
    from campus.cli import _mount, app

    _mount()
    monkeypatch.setenv("CAMPUS_STATE_DIR", str(tmp_path))
    log = AuditLog(f"sqlite:///{tmp_path / 'campus.db'}")
    for i in range(3):
        log.record("alice", "query", "allowed", sql=f"SELECT {i}")
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "audit chain intact: 3 events" in ok.output
    with log.engine.begin() as db:
        db.execute(update(events).where(events.c.id == 2).values(actor="mallory"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "broken at event 2" in bad.output


# --- exports: checked under the aggregate rules whatever the grant's mode -----------


def test_an_export_never_carries_rows(alice):
    with pytest.raises(Denied, match="exports must aggregate air_quality: rows never leave"):
        alice.sql("SELECT station, measured_at, pm25 FROM air_quality", action="export")


def test_an_export_is_checked_under_the_aggregate_rules(alice):
    r = alice.sql("SELECT district, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY 1", action="export")
    assert r.report.cells == 25 and r.export_rule == "review"
    air = alice.sql("SELECT station, avg(pm25) AS pm25 FROM air_quality GROUP BY 1", action="export")
    assert len(air) == 25 and air.report.cells == 0, "open data has no one to protect"


def test_exports_are_audited_as_exports(cx, alice):
    alice.sql("SELECT gender, count(*) AS n FROM card_usage GROUP BY 1", action="export")
    assert cx.audit.events(limit=1)[0]["action"] == "export"


def test_pandas_keeps_counts_integers_when_cells_are_withheld(alice):
    result = alice.sql("SELECT district, age_band, home_district, count(*) AS n FROM card_usage GROUP BY ALL")
    frame = result.df()
    assert frame["n"].isna().any(), "a withheld cell of public keys is a row without values"
    assert str(frame["n"].dtype) == "Int64"


def test_the_sql_guide_is_the_allow_lists_as_they_are():
    """docs/sql-guide.md is generated from the allow-lists and the catalog; refusals cite it."""
    from campus.catalog import load
    from campus.gateway.guide import GUIDE_PATH, render
    from campus.settings import PROJECT_ROOT, Settings

    assert (PROJECT_ROOT / GUIDE_PATH).read_text() == render(load(Settings().catalog_path)), (
        "docs/sql-guide.md is out of date: run `campus guide --write`")


def test_refusals_point_to_the_guide(alice):
    for sql in ("SELECT * FROM card_usage USING SAMPLE 1", "SELECT district, count(*) FROM card_usage GROUP BY hash(dong)"):
        with pytest.raises(QueryRejected, match=r"campus SQL guide .*campus\.guide\(\)"):
            alice.sql(sql)


# --- what honest analysts gain: safe forms that used to be refused ------------------------


def test_the_pivot_idiom_gives_exactly_the_filtered_queries(alice):
    """sum(CASE WHEN category = ... THEN amount END) is the cell of the filtered query:
    the same entities, the same cell key, the same noise, the same withholding."""
    pivot = alice.sql(
        "SELECT district, sum(CASE WHEN category = 'Golf' THEN amount END) AS golf, count_if(category = 'Hotels') "
        "AS hotels, sum(IF(category = 'Restaurants', amount, 0)) AS food, count(*) AS n FROM card_usage GROUP BY 1"
    ).pl()
    separate = alice.sql("SELECT district, count(*) AS n FROM card_usage GROUP BY 1").pl()
    for name, where, measure in (("golf", "category = 'Golf'", "sum(amount)"),
                                 ("hotels", "category = 'Hotels'", "count(*)"),
                                 ("food", "category = 'Restaurants'", "sum(amount)")):
        part = alice.sql(f"SELECT district, {measure} AS {name} FROM card_usage WHERE {where} GROUP BY 1").pl()
        separate = separate.join(part, on="district", how="left")
    assert pivot.sort("district").equals(separate.select(pivot.columns).sort("district"))
    assert pivot["golf"].null_count() > 0 and pivot["golf"].is_not_null().sum() > 0


def test_a_condition_of_two_columns_in_a_pivot_is_refused(alice):
    with pytest.raises(QueryRejected, match="must test one column"):
        alice.sql("SELECT district, sum(CASE WHEN category = 'Golf' OR hour = 3 THEN amount END) AS x "
                  "FROM card_usage GROUP BY 1")
    with pytest.raises(QueryRejected, match="without ELSE"):
        alice.sql("SELECT district, count(CASE WHEN category = 'Golf' THEN 1 ELSE 0 END) AS x FROM card_usage GROUP BY 1")


SAFE_NOW = [
    # (what, query) each answered, where the gateway used to refuse
    ("statistics of checked cells", "WITH c AS (SELECT district, month(txn_date) AS m, count(*) AS n, sum(amount) AS s "
     "FROM card_usage GROUP BY ALL) SELECT corr(n, s) AS r, regr_slope(s, n) AS slope, stddev(s) AS sd FROM c"),
    ("strftime label", "SELECT strftime(txn_date, '%Y-%m') AS month, count(*) AS n FROM card_usage GROUP BY 1"),
    ("day and month names", "SELECT dayname(txn_date) AS day, monthname(txn_date) AS month, count(*) AS n "
     "FROM card_usage GROUP BY ALL"),
    ("not equal on a dimension", "SELECT district, count(*) AS n FROM card_usage WHERE category <> 'Golf' GROUP BY 1"),
    ("NOT IN on a dimension", "SELECT district, count(*) AS n FROM card_usage WHERE hour NOT IN (0, 1, 2) GROUP BY 1"),
    ("a function of a dimension", "SELECT count(*) AS n FROM card_usage WHERE upper(district) = 'JUNG-GU'"),
    ("OR within one column", "SELECT count(*) AS n FROM card_usage WHERE hour < 6 OR hour >= 22"),
    ("an aligned measure bound", "SELECT district, count(*) AS n FROM card_usage WHERE amount >= 100000 GROUP BY 1"),
]


@pytest.mark.parametrize("what,sql", SAFE_NOW, ids=[s[0] for s in SAFE_NOW])
def test_safe_forms_are_answered(alice, what, sql):
    result = alice.sql(sql)
    assert len(result) > 0 and result.pl().null_count().sum_horizontal()[0] < result.pl().width * len(result)


def test_negation_and_the_listed_rest_are_the_same_cells(alice):
    districts = alice.sql("SELECT district, count(*) AS n FROM card_usage GROUP BY 1").pl()["district"].to_list()
    others = ", ".join(f"'{d}'" for d in districts if d != "Jung-gu")
    listed = alice.sql(f"SELECT sum(amount) AS s FROM card_usage WHERE district IN ({others})").pl()
    negated = alice.sql("SELECT sum(amount) AS s FROM card_usage WHERE district <> 'Jung-gu'").pl()
    assert listed.equals(negated)


def test_error_bars_beside_the_values_for_any_shape(alice):
    one = alice.sql("SELECT sum(amount) AS total, count(*) AS n FROM card_usage")
    assert one.with_errors().columns == ["total", "±total", "n", "±n"]
    assert one.with_errors()["±n"][0] == 4, "a count moves by less than its rounding base"
    union = alice.sql("SELECT district AS k, sum(amount) AS total FROM card_usage GROUP BY 1 "
                      "UNION ALL SELECT category AS k, sum(amount) AS total FROM card_usage GROUP BY 1")
    bars = union.report.errors
    assert bars.columns == ["k", "measure", "half_width"] and bars.height == union.report.cells
    shown = union.with_errors()
    assert shown.columns == ["k", "total", "±total"] and shown["±total"].null_count() == 0
