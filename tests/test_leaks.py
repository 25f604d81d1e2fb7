"""Routes by which microdata could leave the aggregate gateway, each tried and closed.

Each attack is tried the ways a researcher can ask: an in-process query, the same as an
export (``action="export"``), and over HTTP through the data service with the notebook
client. Ground truth comes from raw DuckDB over the same Parquet; every test asserts
that nothing individual is recovered, never merely that a query was refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pytest

from campus import CampusError, Denied, QueryRejected
from campus.client import Client
from campus.service.auth import TokenAuthenticator
from campus.service.server import app_for
from campus.service.tokens import TokenStore
from campus.synth.seoul import DISTRICT_NAMES, MERCHANT_CATEGORIES

pytest_plugins = ["service_fixtures"]

CATEGORIES = [c.name for c in MERCHANT_CATEGORIES]


@dataclass
class Asker:
    """One way of asking the gateway: returns the table and report, or raises a refusal."""

    name: str
    ask: object

    def __call__(self, sql: str):
        result = self.ask(sql)
        return result.pl(), result.report


@pytest.fixture(scope="module")
def http_alice(cx, serve):
    """alice's notebook client, talking to the data service over cx (the same campus)."""
    tokens = TokenStore(cx.audit.engine)
    with serve(app_for(cx, TokenAuthenticator(tokens, cx.policy))) as url:
        client = Client(url, tokens.issue("alice", audit=cx.audit, by="tests").token, progress=False)
        yield client
        client.close()


@pytest.fixture(scope="module", params=["query", "export", "http"])
def ask(request, alice):
    if request.param == "query":
        return Asker("query", alice.sql)
    if request.param == "export":
        return Asker("export", lambda sql: alice.sql(sql, action="export"))
    return Asker("http", request.getfixturevalue("http_alice").sql)


def refused(ask, sql: str) -> CampusError:
    with pytest.raises((Denied, QueryRejected)) as e:
        ask(sql)
    return e.value


@pytest.fixture(scope="module")
def loners(raw):
    """Cardholders alone in their (dong, month) cell of some category, with their one purchase."""
    rows = raw.sql(
        """
        WITH cells AS (
            SELECT dong, month(txn_date) AS month, category, count(DISTINCT card_id) AS cards, count(*) AS n,
                   any_value(card_id) AS card_id, any_value(amount) AS amount, any_value(age_band) AS age_band,
                   any_value(gender) AS gender, any_value(hour) AS hour
            FROM card_usage GROUP BY ALL)
        SELECT * FROM cells WHERE cards = 1 AND n = 1 ORDER BY hash(dong, month, category) LIMIT 12
        """
    ).pl()
    assert rows.height >= 8
    return rows.to_dicts()


# --- 1. the whole table as records, through fine keys and a measure "bin" ---------


def test_a_measure_at_full_precision_is_never_a_key(ask):
    for sql in (
        "SELECT dong, hour, floor(amount / 1) AS amount, count(*) AS n FROM card_usage GROUP BY ALL",
        "SELECT dong, amount, count(*) AS n FROM card_usage GROUP BY ALL",
        "SELECT dong, floor(amount / 5000) * 5000 AS a, count(*) AS n FROM card_usage GROUP BY ALL",
        "SELECT dong, amount // 1 AS a, count(*) AS n FROM card_usage GROUP BY ALL",
        "SELECT dong, round(amount, -4) AS a, count(*) AS n FROM card_usage GROUP BY ALL",
        "SELECT dong, CASE WHEN amount > 24615 THEN 1 ELSE 0 END AS a, count(*) AS n FROM card_usage GROUP BY ALL",
        "SELECT dong, amount + 0 AS a, count(*) AS n FROM card_usage GROUP BY ALL",
        "SELECT commercial_area, floor(sales_amount / 1) AS s, count(*) AS n FROM sales_by_location GROUP BY ALL",
        "SELECT industry, sales_count AS c, count(*) AS n FROM sales_by_location GROUP BY ALL",
        "SELECT industry, floor(amount_21_24 / 7) AS c, count(*) AS n FROM sales_by_location GROUP BY ALL",
    ):
        assert "measure" in refused(ask, sql).reason or "binned" in refused(ask, sql).reason


def test_fine_keys_with_declared_bins_give_no_records(ask, raw):
    """The finding's query, with the bins the catalog allows, for one district and month:
    no row shown is a cell of fewer than 10 cardholders, so no row is a transaction."""
    where = "district = 'Jung-gu' AND month(txn_date) = 3"
    keys = "txn_date, hour, dong, category, age_band, gender, home_district, floor(amount / 10000) * 10000"
    shown, report = ask(f"SELECT {keys} AS band, count(*) AS n FROM card_usage WHERE {where} GROUP BY ALL")
    transactions = raw.sql(f"SELECT count(*) FROM card_usage WHERE {where}").fetchall()[0][0]
    assert transactions > 300
    assert shown.height == 0 and report.suppressed == 0, "every such cell is small, and none is shown"


# --- 2. a known person looked up by their quasi-identifiers --------------------------


def test_a_known_person_cannot_be_looked_up(ask, loners, raw):
    """A loner's quasi-identifiers as filters, their amount's band as the key. A condition that
    changes a band by fewer than ten cardholders is not applied to it, so a band answers for
    ten cardholders or more (most for all of the band's rows, the loner's band as any other),
    never for the loner alone."""
    from test_properties import AMOUNT, REGION, truth_sql

    raw.execute(f"CREATE OR REPLACE VIEW masked_card_usage AS SELECT * REPLACE ({REGION} AS home_district) "
                "FROM card_usage")
    band = ("floor(amount / 10000) * 10000", f"floor(({AMOUNT}) / 10000) * 10000", False)
    for v in loners[:6]:
        filters = [f"dong = '{v['dong']}'", f"month(txn_date) = {v['month']}", f"category = '{v['category']}'",
                   f"age_band = '{v['age_band']}'", f"gender = '{v['gender']}'", f"hour = {v['hour']}"]
        sql = (f"SELECT {band[0]} AS band, count(*) AS n, sum(amount) AS spent FROM card_usage "
               f"WHERE {' AND '.join(filters)} GROUP BY 1")
        shown, report = ask(sql)
        truth = pl.from_arrow(raw.sql(truth_sql("card_usage", [band], filters, "card_id", "amount")).to_arrow_table())
        answered = shown.join(truth.rename({"k0": "band"}), on="band", how="left")
        assert (answered["entities"].fill_null(0) >= 10).all(), "every band shown answers for ten cardholders or more"
        large = truth.filter(pl.col("entities") >= 10).height
        assert shown.height >= 0.5 * large > 0, "the loner's band is shown as any other, never alone"
        assert str(v["amount"]) not in repr(report)


# --- 3. exact store revenue --------------------------------------------------------------


def test_a_store_revenue_is_not_a_key_and_a_dominated_sum_is_withheld(ask, raw):
    truth = raw.sql(
        "SELECT district, industry, month, count(*) AS stores, max(sales_amount) / sum(sales_amount) AS top "
        "FROM sales_by_location GROUP BY ALL"
    ).pl()
    shown, report = ask(
        "SELECT district, industry, month, floor(sales_amount / 1000000) * 1000000 AS band, count(*) AS n, "
        "sum(sales_amount) AS s FROM sales_by_location GROUP BY ALL"
    )
    assert shown.height == 0 or (shown["n"] >= 10).all()
    cells, _ = ask("SELECT district, industry, month, count(*) AS n, sum(sales_amount) AS s FROM sales_by_location "
                   "GROUP BY ALL")
    both = cells.join(truth, on=["district", "industry", "month"], how="left")
    assert (both.filter(pl.col("n").is_not_null())["stores"] >= 10).all()
    assert both.filter(pl.col("top") >= 0.9)["s"].null_count() == both.filter(pl.col("top") >= 0.9).height


def test_every_measure_as_a_key_is_refused_not_a_store_record(ask):
    measures = ["sales_amount", "sales_count", "weekday_amount", "weekend_amount", "amount_00_06", "amount_06_11",
                "amount_11_14", "amount_14_17", "amount_17_21", "amount_21_24"]
    keys = ", ".join(f"floor({m} / 1) AS {m}" for m in measures)
    refused(ask, f"SELECT district, {keys}, count(*) AS n FROM sales_by_location GROUP BY ALL")


# --- 4. extremes although max() is refused -----------------------------------------------


def test_the_largest_bin_shown_is_no_closer_than_the_top_code(ask, raw):
    shown, _ = ask(
        "WITH bands AS (SELECT district, floor(amount / 10000) * 10000 AS band, count(*) AS n FROM card_usage "
        "GROUP BY ALL) SELECT district, max(band) AS largest FROM bands GROUP BY district"
    )
    truth = raw.sql(
        "SELECT district, floor(least(amount, 1000000) / 10000) * 10000 AS largest, count(DISTINCT card_id) AS cards "
        "FROM card_usage GROUP BY ALL"
    ).pl()
    both = shown.join(truth, on=["district", "largest"], how="left")
    assert both.height == shown.height == len(DISTRICT_NAMES)
    assert (both["largest"] <= 1_000_000).all(), "values at or above the top code share one bin"
    assert (both["cards"] >= 10).all(), "the largest bin shown holds at least 10 cardholders"


# --- 5. membership: did anyone spend exactly X? -------------------------------------------


def test_membership_of_an_exact_value_cannot_be_asked(ask, loners):
    v = loners[0]
    for sql in (
        f"SELECT district, floor(amount / 1) = {v['amount']} AS spent, count(*) AS n FROM card_usage GROUP BY ALL",
        f"SELECT district, count(*) AS n FROM card_usage WHERE amount = {v['amount']} GROUP BY 1",
        f"SELECT district, count(*) AS n FROM card_usage WHERE amount >= {v['amount']} GROUP BY 1",
        f"SELECT district, count(*) AS n FROM card_usage WHERE amount BETWEEN {v['amount']} AND {v['amount']} "
        "GROUP BY 1",
    ):
        if v["amount"] % 10000 == 0 and ">=" in sql:
            continue  # an aligned bound is a union of bins: allowed, and covered below
        refused(ask, sql)


def test_presence_of_a_public_key_row_does_not_depend_on_the_data(ask):
    """A table keyed by public domains has every combination, whoever is in the cells."""
    for hour in (3, 12):
        shown, report = ask(
            f"SELECT district, category, count(*) AS n FROM card_usage WHERE hour = {hour} GROUP BY ALL"
        )
        assert shown.height == len(DISTRICT_NAMES) * len(CATEGORIES)
        assert set(shown["district"]) == set(DISTRICT_NAMES) and set(shown["category"]) == set(CATEGORIES)


def test_a_month_column_is_completed_over_months_not_days(ask, raw):
    """The domain of a column with a month grain is its months (each month's first day)."""
    shown, _ = ask("SELECT month, count(*) AS n FROM sales_by_location GROUP BY month")
    months = {m for (m,) in raw.sql("SELECT DISTINCT month FROM sales_by_location").fetchall()}
    assert shown.height == 12 and {d.day for d in shown["month"]} == {1}
    assert months <= set(shown["month"])


# --- 6. the report and HAVING name or select withheld cells ---------------------------------


def test_the_report_never_names_a_small_cell(ask, raw):
    keys = "dong, category"
    small = raw.sql(
        f"SELECT {keys} FROM card_usage WHERE district = 'Gangbuk-gu' GROUP BY ALL HAVING count(DISTINCT card_id) < 10"
    ).fetchall()
    assert small, "there are small cells to hide"
    shown, report = ask(
        f"SELECT {keys}, count(*) AS n, sum(amount) AS total FROM card_usage WHERE district = 'Gangbuk-gu' GROUP BY ALL"
    )
    text = repr(report) + " ".join(report.withheld["cell"].to_list())
    for dong, category in small:
        assert f"dong={dong} category={category}" not in text
    assert not set(small) & set(shown.select("dong", "category").iter_rows())


def test_nothing_above_the_aggregate_tells_withheld_from_absent(ask):
    inner = "SELECT dong, category, count(*) AS n FROM card_usage WHERE district = 'Gangbuk-gu' GROUP BY ALL"
    for outer in (
        f"SELECT * FROM ({inner}) WHERE n IS NULL",
        f"SELECT dong, category FROM ({inner}) GROUP BY ALL HAVING count(*) = 0 OR max(n) IS NULL",
        f"SELECT count(*) AS rows FROM ({inner}) WHERE n IS NULL",
        f"SELECT * FROM ({inner}) QUALIFY row_number() OVER () > 0 AND n IS NULL",
    ):
        shown, _ = ask(outer)
        assert shown.height == 0 or shown.row(0)[0] == 0, f"{outer} found a withheld cell"
    shown, _ = ask(inner.replace("GROUP BY ALL", "GROUP BY ALL HAVING count(*) IS NULL"))
    assert shown.height == 0


# --- 8 and 9. limits and errors --------------------------------------------------------------


def test_refusals_carry_no_internals(ask, demo_data):
    for sql in (
        "SELECT (",
        "SELECT district FROM card_usage WHERE",
        "SELECT CAST(station AS INTEGER) AS s FROM air_quality",
        "SELECT station, pm25 / 0 AS x FROM air_quality",
        "SELECT district, count(*) AS n, sum(amount) AS n FROM card_usage GROUP BY 1",
        "SELECT no_such_column FROM air_quality",
    ):
        try:
            ask(sql)
        except CampusError as e:
            for internal in (str(demo_data), ".parquet", "read_parquet", "__checked", "__entity", "<class", "Token("):
                assert internal.lower() not in e.reason.lower(), f"{sql!r}: {e.reason}"


def test_two_output_columns_with_one_name_are_refused(ask):
    reason = refused(ask, "SELECT district, count(*) AS n, sum(amount) AS n FROM card_usage GROUP BY 1").reason
    assert "more than one column named n" in reason


# --- 7. stricter terms follow the data ------------------------------------------------------


@pytest.fixture(scope="module")
def stores(raw):
    """Distinct stores per (district, industry), and per industry outside and inside Gangnam-gu."""
    return raw.sql(
        "SELECT district, industry, count(DISTINCT store_id) AS stores FROM sales_by_location GROUP BY ALL"
    ).pl()


@pytest.mark.parametrize("who,project", [("alice", None), ("bob", None), ("alice", "gangnam-retail")])
def test_the_strictest_terms_bind_gangnam_cells_whoever_asks(cx, raw, stores, who, project):
    """The Gangnam association's 20-store minimum binds every Gangnam cell, for members of
    the project and everyone else, whatever project the request names."""
    session = cx.session(who, ["researchers"], project)
    shown = session.sql(
        "SELECT district, industry, count(DISTINCT store_id) AS n, sum(sales_amount) AS s FROM sales_by_location "
        "GROUP BY ALL"
    ).pl().filter(pl.col("n").is_not_null())
    both = shown.join(stores, on=["district", "industry"])
    assert (both.filter(pl.col("district") == "Gangnam-gu")["stores"] >= 20).all()
    assert (both["stores"] >= 10).all()
    small = stores.filter((pl.col("district") == "Gangnam-gu") & pl.col("stores").is_between(10, 19))
    assert small.height > 0, "there are Gangnam cells of 10 to 19 stores to protect"
    if project is None:
        others = both.filter(pl.col("district") != "Gangnam-gu")
        assert others["stores"].min() < 20, "elsewhere the general terms still apply: nothing was lost"
    whole = session.sql("SELECT industry, count(DISTINCT store_id) AS n FROM sales_by_location GROUP BY 1").pl()
    truth = raw.sql("SELECT industry, count(DISTINCT store_id) AS stores FROM sales_by_location GROUP BY 1").pl()
    assert (whole.filter(pl.col("n").is_not_null()).join(truth, on="industry")["stores"] >= 20).all(), (
        "a cell that may hold Gangnam rows is bound by the terms, whatever else it holds")


def test_which_cells_the_stricter_terms_bind_does_not_depend_on_the_data(alice):
    """Outside Gangnam-gu (by key or by filter) the general threshold applies, decided from
    the query alone; a cell that may hold Gangnam rows is bound whether or not it does."""
    outside = alice.sql("SELECT industry, count(DISTINCT store_id) AS n FROM sales_by_location "
                        "WHERE district <> 'Gangnam-gu' GROUP BY 1")
    assert any("fewer than 20 distinct stores are not shown" in n for n in outside.report.notes), "a filter may not apply"
    anywhere = alice.sql("SELECT industry, count(DISTINCT store_id) AS n FROM sales_by_location GROUP BY 1")
    assert any("fewer than 20 distinct stores are not shown" in n for n in anywhere.report.notes)
    by_district = alice.sql("SELECT district, count(DISTINCT store_id) AS n FROM sales_by_location GROUP BY 1")
    assert any("(20 where stricter terms bind)" in n for n in by_district.report.notes)
