"""The gateway's promise as a property, over random aggregate queries.

Hypothesis writes aggregate queries over the two protected datasets: random keys
(dimensions, quasi-identifiers, coarsened time, time labels, binned measures, functions
of them), random filters (products of one-column conditions, negations included) and
random measures. For every row the gateway returns, raw DuckDB over the same files
computes the truth of its cell (over the rows the gateway answers for: a filter condition
affecting fewer than the threshold's entities of a cell is not applied to it). The
invariants:

* a row with a value is a cell with at least the threshold of distinct entities, and a
  sum or average shown passes the dominance and p-ratio rules on the raw data;
* a row without any value is a cell shown with its sums withheld (it has the threshold
  of entities), or has every key from a public domain declared in the catalog (the
  table was completed over it), so its presence reveals nothing;
* counts are within the rounding of the truth, and sums within the noise bound;
* every released number is a function of released numbers (an average is the released
  sum over the released count);
* a condition added to a query answers every cell where it affects fewer entities than
  the threshold exactly as the query without it (where it tips no other condition over
  or under the threshold).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campus import QueryRejected
from campus.synth.seoul import REGION_OF_DISTRICT
from extractguard import Disclosure, noise

RULES = Disclosure()  # the demo catalog's: its defaults

REGION = "CASE " + " ".join(f"WHEN home_district = '{d}' THEN '{r}'" for d, r in REGION_OF_DISTRICT.items()) + " END"
AMOUNT = "CASE WHEN amount < 0 THEN 0 WHEN amount >= 1000000 THEN 1000000 ELSE amount END"
SALES = "CASE WHEN sales_amount < 0 THEN 0 WHEN sales_amount >= 1000000000 THEN 1000000000 ELSE sales_amount END"

# Each key: (as the researcher writes it, as raw DuckDB computes it, public domain?)
KEYS = {
    "card_usage": [
        ("district", "district", True),
        ("dong", "dong", False),
        ("category", "category", True),
        ("age_band", "age_band", True),
        ("gender", "gender", True),
        ("home_district", "home_district", True),  # the raw view already shows regions
        ("hour", "hour", True),
        ("date_trunc('month', txn_date)", "date_trunc('month', txn_date)", True),
        ("dayname(txn_date)", "dayname(txn_date)", True),
        ("upper(district)", "upper(district)", True),
        ("floor(amount / 10000) * 10000", f"floor(({AMOUNT}) / 10000) * 10000", False),
        ("floor(amount / 100000) * 100000", f"floor(({AMOUNT}) / 100000) * 100000", False),
        ("amount >= 500000", f"({AMOUNT}) >= 500000", False),
    ],
    "sales_by_location": [
        ("district", "district", True),
        ("commercial_area", "commercial_area", False),
        ("industry", "industry", True),
        ("month", "month", True),
        ("floor(sales_amount / 100000000) * 100000000", f"floor(({SALES}) / 100000000) * 100000000", False),
        ("left(industry, 3)", "left(industry, 3)", True),
    ],
}
MEASURES = {
    "card_usage": ("card_id", "amount"),
    "sales_by_location": ("store_id", "sales_amount"),
}
FILTER_VALUES = {
    "card_usage": {
        "district": ["Jung-gu", "Gangnam-gu", "Mapo-gu", "Dobong-gu"],
        "category": ["Restaurants", "Golf", "Hotels", "Luxury goods", "Cafes and bakeries"],
        "age_band": ["20s", "70s"],
        "gender": ["F"],
        "hour": [3, 12, 23],
    },
    "sales_by_location": {
        "district": ["Gangnam-gu", "Jongno-gu", "Gangbuk-gu"],
        "industry": ["Korean restaurant", "General hospital", "Law office", "Coffee and beverage"],
    },
}


@st.composite
def conditions(draw, dataset: str) -> str:
    values = FILTER_VALUES[dataset]
    column = draw(st.sampled_from(sorted(values)))
    picked = draw(st.lists(st.sampled_from(values[column]), min_size=1, max_size=3, unique=True))
    text = ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in picked)
    shape = draw(st.sampled_from(["in", "not in", "eq", "neq"]))
    if shape in ("eq", "neq"):
        op = "=" if shape == "eq" else "<>"
        first = f"'{picked[0]}'" if isinstance(picked[0], str) else str(picked[0])
        return f"{column} {op} {first}"
    return f"{column} {'NOT IN' if shape == 'not in' else 'IN'} ({text})"


@st.composite
def queries(draw):
    dataset = draw(st.sampled_from(sorted(KEYS)))
    keys = draw(st.lists(st.sampled_from(KEYS[dataset]), min_size=0, max_size=3, unique_by=lambda k: k[0]))
    filters = draw(st.lists(conditions(dataset), max_size=2))
    entity, measure = MEASURES[dataset]
    wanted = draw(st.lists(st.sampled_from(["n", "people", "total", "mean"]), min_size=1, max_size=3, unique=True))
    return dataset, keys, filters, entity, measure, wanted


def guarded_sql(dataset, keys, filters, entity, measure, wanted) -> str:
    parts = [f"{k[0]} AS k{i}" for i, k in enumerate(keys)]
    parts += [{"n": "count(*) AS n", "people": f"count(DISTINCT {entity}) AS people",
               "total": f"sum({measure}) AS total", "mean": f"avg({measure}) AS mean"}[w] for w in wanted]
    where = f" WHERE {' AND '.join(filters)}" if filters else ""
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    return f"SELECT {', '.join(parts)} FROM {dataset}{where}{group}"


THRESHOLD = {"card_usage": 10, "sales_by_location": 20}  # the Gangnam association's terms may bind any sales cell


def selecting(keys, filters) -> tuple[list[str], list[str]]:
    """The filters on a column the query groups by as it is (they select cells), and the rest."""
    keyed = {k[0] for k in keys}
    return [f for f in filters if f.split()[0] in keyed], [f for f in filters if f.split()[0] not in keyed]


def truth_sql(dataset, keys, filters, entity, measure) -> str:
    """Per cell: distinct entities, rows, the sum, the largest per-entity sums, over the
    rows the gateway answers for: those passing every filter condition that selects cells
    (on a column grouped by), and every other one that affects the threshold's number of
    entities of the cell or more (a condition affects an entity with a row failing it
    alone). Written apart from the gateway's SQL, with DISTINCT counts and a join where the
    gateway uses windows."""
    raw_keys = [f"{k[1]} AS k{i}" for i, k in enumerate(keys)]
    names = [f"k{i}" for i in range(len(keys))]
    selectors, filters = selecting(keys, filters)
    fails = [f"NOT coalesce(({f}), false) AS x{j}" for j, f in enumerate(filters)]
    where = f" WHERE {' AND '.join(selectors)}" if selectors else ""
    parts = (f"SELECT {', '.join(raw_keys + [entity] + fails + ['count(*) AS r', f'sum({measure}) AS s'])} "
             f"FROM masked_{dataset}{where} GROUP BY ALL")
    if filters:
        alone = [" AND ".join(f"{'' if i == j else 'NOT '}x{i}" for i in range(len(filters))) for j in range(len(filters))]
        effects = ", ".join(f"count(DISTINCT {entity}) FILTER (WHERE {a}) AS e{j}" for j, a in enumerate(alone))
        by = f" GROUP BY {', '.join(names)}" if names else ""
        on = " AND ".join(f"p.{n} IS NOT DISTINCT FROM e.{n}" for n in names) or "true"
        applied = " AND ".join(f"NOT (x{j} AND e{j} >= {THRESHOLD[dataset]})" for j in range(len(filters)))
        parts = (f"SELECT p.* FROM ({parts}) p JOIN (SELECT {', '.join(names + [effects])} FROM ({parts}){by}) e "
                 f"ON {on} WHERE {applied}")
    inner = f"SELECT {', '.join(names + [entity, 'sum(r) AS r', 'sum(s) AS s'])} FROM ({parts}) GROUP BY ALL"
    outer_keys = ", ".join(names)
    select = ", ".join(names + ["count(*) AS entities", "sum(r) AS raw_rows", "CAST(sum(s) AS DOUBLE) AS raw_total",
                                "list_sort(list(CAST(abs(s) AS DOUBLE)), 'DESC') AS top"])
    group = f" GROUP BY {outer_keys}" if names else ""
    return f"SELECT {select} FROM ({inner}){group}"


@pytest.fixture(scope="module")
def truth(raw):
    raw.execute(f"CREATE OR REPLACE VIEW masked_card_usage AS SELECT * REPLACE ({REGION} AS home_district) FROM card_usage")
    raw.execute("CREATE OR REPLACE VIEW masked_sales_by_location AS SELECT * FROM sales_by_location")
    return raw


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries())
def test_every_row_shown_is_a_cell_the_rules_let_out(alice, truth, query):
    dataset, keys, filters, entity, measure, wanted = query
    try:
        result = alice.sql(guarded_sql(*query))
    except QueryRejected as e:
        raise AssertionError(f"{guarded_sql(*query)} was refused: {e.reason}") from None
    shown = result.pl()
    names = [f"k{i}" for i in range(len(keys))]
    cells = pl.from_arrow(truth.sql(truth_sql(dataset, keys, filters, entity, measure)).to_arrow_table())
    both = shown.join(cells, on=names, how="left", nulls_equal=True) if names else pl.concat(
        [shown, cells], how="horizontal")
    valued = both.filter(pl.any_horizontal([pl.col(w).is_not_null() for w in wanted]))
    assert (valued["entities"].fill_null(0) >= 10).all(), f"a row shown with fewer than 10 entities: {query}"
    if names and not all(k[2] for k in keys):
        empty = both.filter(pl.all_horizontal([pl.col(w).is_null() for w in wanted]))
        assert (empty["entities"].fill_null(0) >= 10).all(), (
            f"a row without values, of a small or empty cell, with a key outside a public domain: {query}")
    errors = result.report.errors.rename({label: f"k{i}" for i, label in enumerate(result.report.errors.columns[:-2])})
    bars = {(tuple(r[k] for k in names), r["measure"]): r["half_width"] for r in errors.iter_rows(named=True)}
    for row in valued.iter_rows(named=True):
        top = (row["top"] or []) + [0, 0]
        if row.get("total") is not None or row.get("mean") is not None:
            raw_total = row["raw_total"]
            assert top[0] + top[1] < 0.9 * raw_total, f"a dominated sum was shown: {query} {row}"
            assert raw_total - top[0] - top[1] >= 0.1 * top[0], f"a sum failing the p-ratio was shown: {query} {row}"
        if row.get("n") is not None:
            assert abs(row["n"] - row["raw_rows"]) < 5, "a count is within its rounding"
        if None not in (row.get("n"), row.get("total"), row.get("mean")):
            assert row["mean"] == pytest.approx(row["total"] / row["n"], rel=1e-12), (
                "an average is the released sum over the released count (one rounding per count of a cell)")
        if row.get("total") is not None:
            contributions = row["top"] or []  # every entity's contribution, in absolute value
            moved = abs(row["total"] - row["raw_total"])
            assert moved <= RULES.noise_at_most * sum(contributions) + 1, "a sum moves by at most noise_at_most"
            bar = bars.get((tuple(row[k] for k in names), "total"))
            least = 1.96 * noise.spread(RULES.noise_at_least, RULES.noise_at_most) * np.sqrt(sum(c * c for c in contributions)) * 0.999
            assert bar is not None and bar >= least, (
                "a released sum has an error bar at least its noise's 1.96 standard deviations")


def test_the_property_test_reaches_every_kind_of_outcome(alice):
    """The generator is not idle: it produces released rows, withheld rows and completions."""
    rows = alice.sql("SELECT district AS k0, category AS k1, count(*) AS n FROM card_usage "
                     "WHERE hour IN (3) GROUP BY 1, 2").pl()
    assert rows["n"].null_count() > 0 and rows["n"].is_not_null().sum() > 0


@st.composite
def pivots(draw):
    """Keys over card_usage and a one-column condition for a pivot column."""
    keys = draw(st.lists(st.sampled_from([k for k in KEYS["card_usage"] if k[2]]), min_size=1, max_size=2,
                         unique_by=lambda k: k[0]))
    return keys, draw(conditions("card_usage")), draw(st.sampled_from(["sum(amount)", "count(*)", "avg(amount)"]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pivot=pivots())
def test_a_pivot_column_is_the_filtered_query(alice, pivot):
    """Moving a one-column condition from WHERE into the aggregate changes nothing: the
    same cells, the same noise, the same withholding (so a pivot cannot average noise).
    Only the public rows without values may differ: WHERE narrows the domain."""
    keys, condition, measure = pivot
    names = [f"k{i}" for i in range(len(keys))]
    select = ", ".join(f"{k[0]} AS {n}" for k, n in zip(keys, names))
    group = ", ".join(str(i + 1) for i in range(len(keys)))
    function, argument = measure.rstrip(")").split("(")
    conditional = f"{function}(CASE WHEN {condition} THEN {'1' if argument == '*' else argument} END)"
    pivoted = alice.sql(f"SELECT {select}, {conditional} AS v FROM card_usage GROUP BY {group}").pl()
    filtered = alice.sql(f"SELECT {select}, {measure} AS v FROM card_usage WHERE {condition} GROUP BY {group}").pl()
    valued = [t.filter(pl.col("v").is_not_null()).sort(names) for t in (pivoted, filtered)]
    assert valued[0].equals(valued[1]), "the same cells are shown with the same values"


def effects_sql(dataset, keys, filters, extra, entity) -> str:
    """Per cell of `keys`: the extra condition's effect given `filters`, and each filter's
    effect with and without it (entities with a row that fails the condition alone)."""
    raw_keys = [f"{k[1]} AS k{i}" for i, k in enumerate(keys)]
    names = [f"k{i}" for i in range(len(keys))]
    selectors, filters = selecting(keys, filters)
    conditions = filters + [extra]
    fails = [f"NOT coalesce(({c}), false) AS x{j}" for j, c in enumerate(conditions)]
    where = f" WHERE {' AND '.join(selectors)}" if selectors else ""
    c = len(filters)

    def alone(j: int, among: list[int]) -> str:
        return " AND ".join(f"{'' if i == j else 'NOT '}x{i}" for i in among)

    measured = [f"count(DISTINCT {entity}) FILTER (WHERE {alone(c, list(range(c + 1)))}) AS extra"]
    for j in range(c):
        measured += [f"count(DISTINCT {entity}) FILTER (WHERE {alone(j, list(range(c + 1)))}) AS with_{j}",
                     f"count(DISTINCT {entity}) FILTER (WHERE {alone(j, list(range(c)))}) AS without_{j}"]
    group = f" GROUP BY {', '.join(names)}" if names else ""
    return (f"SELECT {', '.join(names + measured)} FROM (SELECT {', '.join(raw_keys + [entity] + fails)} "
            f"FROM masked_{dataset}{where}){group}")


@st.composite
def narrowed(draw):
    """An aggregate query (at most one filter) and an extra condition on another column, one
    the query does not group by (a condition on a column grouped by selects cells)."""
    dataset, keys, filters, entity, measure, wanted = draw(queries())
    filters = filters[:1]
    taken = {f.split()[0] for f in filters} | {k[0] for k in keys}
    extra = draw(conditions(dataset).filter(lambda c: c.split()[0] not in taken))
    return (dataset, keys, filters, entity, measure, wanted), extra


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=narrowed())
def test_a_condition_of_low_effect_answers_as_if_it_were_absent(alice, truth, case):
    """For random aggregate queries and a random extra condition: wherever the condition
    affects fewer entities of a cell than the threshold (none, or a few), the cell is
    answered exactly as without it: its presence, every value, and every error bar."""
    query, extra = case
    dataset, keys, filters, entity, measure, wanted = query
    names = [f"k{i}" for i in range(len(keys))]
    plain = alice.sql(guarded_sql(*query))
    narrower = alice.sql(guarded_sql(dataset, keys, filters + [extra], entity, measure, wanted))
    threshold = THRESHOLD[dataset]
    effects = pl.from_arrow(truth.sql(effects_sql(dataset, keys, filters, extra, entity)).to_arrow_table())
    low = effects.filter(pl.col("extra") < threshold)
    for j in range(len(selecting(keys, filters)[1])):  # a filter tipped across the threshold is another case
        low = low.filter((pl.col(f"with_{j}") >= threshold) == (pl.col(f"without_{j}") >= threshold))
    if not names:
        if low.height:
            assert narrower.pl().rows() == plain.pl().rows(), f"{case}: the one cell differs"
            assert narrower.report.errors.rows() == plain.report.errors.rows()
        return
    # Secondary suppression is the table's: a cell may be withheld beside another that changed,
    # so the cells compared are those shown with values in both answers.
    cells = low.select(names)
    ours, theirs = (r.pl().join(cells, on=names, how="semi", nulls_equal=True).drop_nulls() for r in (narrower, plain))
    both = ours.join(theirs, on=names, how="inner", nulls_equal=True, suffix="_plain")
    for w in wanted:
        assert (both[w] == both[f"{w}_plain"]).all(), f"{case}: {w} of a cell of low effect differs"
