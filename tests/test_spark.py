"""The Spark engine gives the same answers as DuckDB, bit for bit: the same cells, the
same withholding, the same noise (the cell key and the noise draws are defined without
any engine's hash). Skip with ``-m "not spark"``."""

from __future__ import annotations

import datetime
import decimal
import math
import shutil
import time
from pathlib import Path

import pytest

import campus
from campus.errors import ConfigError, QueryTimeout
from campus.settings import PROJECT_ROOT
from conftest import open_on_spark
from test_attacks import SPARK_ESCAPES
from campus.engines.spark import SparkEngine, runnable
from campus.vocabulary.pseudonyms import parameters, project_key, pseudonym
from sqlglot import exp

pytestmark = pytest.mark.spark

QUESTIONS = [
    "SELECT district, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY district",
    "SELECT category, age_band, count(DISTINCT card_id) AS cards, avg(amount) AS mean FROM card_usage GROUP BY ALL",
    "SELECT district, date_trunc('month', txn_date) AS month, sum(amount) AS total FROM card_usage "
    "WHERE category <> 'Golf' GROUP BY ALL",
    "SELECT strftime(txn_date, '%Y-%m') AS ym, hour, count(*) AS n FROM card_usage WHERE district = 'Mapo-gu' "
    "GROUP BY ALL",
    "SELECT dong, sum(amount) AS total FROM card_usage WHERE district = 'Jung-gu' GROUP BY dong",
    "SELECT industry, sum(sales_amount) AS sales FROM sales_by_location GROUP BY industry",
    "SELECT sum(amount) AS total, count(*) AS n FROM card_usage WHERE hour < 6",
]


def utility_workload() -> list[str]:
    """The analysts' queries of bench/utility.py (windows, pivots, bins, both datasets)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("utility", PROJECT_ROOT / "bench" / "utility.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [sql.format(entities="") for _, sql in module.WORKLOAD]


@pytest.fixture(scope="module")
def engines(demo_data, tmp_path_factory):
    """Two campuses over the same data and state (so the same noise and pseudonym secrets):
    DuckDB and Spark, each answering sealed sessions (the demo project's rows of people)."""
    state = tmp_path_factory.mktemp("state")
    spark = open_on_spark(demo_data, state, sessions_sealed=True)
    duck = campus.open(data_dir=demo_data, state_dir=state, sessions_sealed=True)
    yield duck, spark
    spark.close()
    duck.close()


@pytest.mark.parametrize("sql", QUESTIONS + utility_workload())
def test_spark_releases_exactly_what_duckdb_releases(engines, sql):
    duck, spark = (cx.session("alice", ["researchers"]).sql(sql) for cx in engines)
    a, b = duck.pl().sort(duck.pl().columns), spark.pl().sort(spark.pl().columns)  # same rows: same order
    assert a.columns == b.columns and a.height == b.height
    for column in a.columns:
        assert a[column].cast(b[column].dtype, strict=False).to_list() == b[column].to_list(), column
    assert duck.report.withheld.sort("cell", "measure").equals(spark.report.withheld.sort("cell", "measure"))


def test_spark_shows_a_projects_pseudonyms_exactly_as_duckdb(engines):
    """Rows of people in the demo project: each card and merchant is the same pseudonym on both engines."""
    sql = "SELECT card_id, merchant_id, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY ALL"
    duck, spark = (cx.session("alice", ["researchers"], "gangnam-retail").sql(sql).pl() for cx in engines)
    assert duck.height > 1000 and duck["card_id"].str.len_chars().to_list() == [32] * duck.height
    assert sorted(duck.cast({"total": float}).rows()) == sorted(spark.cast({"total": float}).rows())


@pytest.mark.parametrize("value", ["", "C000123", "서울 강남구", "a\\x00b", "it's", "\\", "😀", 12345, -7])
def test_spark_computes_the_pseudonym_definition(engines, value):
    _, spark = engines
    secret = spark.gateway.pseudonym_secret
    sql = "SELECT " + SparkEngine.pseudonym(exp.Placeholder(this="value")).sql(SparkEngine.dialect) + " AS p"
    with spark.engine.cursor() as cursor:
        got = cursor.arrow(sql, parameters={"value": value, **parameters(secret, "north")}).column("p")[0].as_py()
    assert got == pseudonym(project_key(secret, "north"), value)


def test_the_spark_session_refuses_sql_on_files(engines, demo_data):
    _, spark = engines
    files = sorted((demo_data / "card_usage").rglob("*.parquet"))
    with spark.engine.cursor() as cursor, pytest.raises(campus.QueryRejected):
        cursor.arrow(f"SELECT count(*) FROM parquet.`{files[0]}`")


def test_a_query_past_its_deadline_is_cancelled_and_the_session_stays_up(engines, demo_data):
    from campus.engines import Deadline

    _, spark = engines
    card_usage = spark.engine.scan(spark.files(spark.catalog["card_usage"])).sql("spark")
    started = time.monotonic()
    with spark.engine.cursor(Deadline(2.0)) as cursor, pytest.raises(QueryTimeout):
        cursor.arrow(f"SELECT count(*) FROM {card_usage} a CROSS JOIN {card_usage} b")
    assert time.monotonic() - started < 30, "the job group was cancelled at the deadline"
    with spark.engine.cursor() as cursor:
        assert cursor.arrow("SELECT 1 AS one").to_pylist() == [{"one": 1}]


# What a query must never do on Spark, said straight to the engine: the last check
# (`runnable`) refuses it even if it got past the analyser, and Spark never runs it.
NEVER = SPARK_ESCAPES + [
    "RESET",
    "DESCRIBE FUNCTION reflect",
    "SELECT * FROM global_temp.__files_0000000000000000",
    "SELECT input_file_name() AS f FROM {card_usage}",
    "SELECT * FROM {card_usage} a JOIN json.`/etc` b ON true",
]


@pytest.mark.parametrize("sql", NEVER)
def test_the_spark_engine_runs_only_campus_queries_over_its_own_views(engines, sql):
    _, spark = engines
    card_usage = spark.engine.scan(spark.files(spark.catalog["card_usage"])).sql("spark")
    with spark.engine.cursor() as cursor, pytest.raises(campus.QueryRejected):
        cursor.arrow(sql.format(card_usage=card_usage))
    session = spark.engine.session
    assert session.conf.get("spark.sql.runSQLOnFiles") == "false"
    assert "leaked" not in {t.name for t in session.catalog.listTables()}


def test_pass_through_settings_cannot_undo_the_lockdown(demo_data, tmp_path):
    from campus.engines.spark import SparkEngine

    with pytest.raises(ConfigError, match="spark.sql.runSQLOnFiles"):
        SparkEngine([], conf={"spark.sql.runSQLOnFiles": "true"})


def test_a_string_that_ends_in_a_backslash_stays_a_string_on_spark(engines):
    """DuckDB's '\\' is one backslash; Spark would read it as an escape unless written for Spark."""
    sql = "SELECT district, count(*) AS n FROM card_usage WHERE dong = 'x\\' OR dong <> '' GROUP BY district"
    a, b = (cx.session("alice", ["researchers"]).sql(sql).pl().sort("district") for cx in engines)
    assert a.height > 0 and a.equals(b)


def demo_root(folder: Path, **datasets: dict) -> Path:
    """A copy of the demo configuration whose catalog entries are updated by `datasets`."""
    import yaml

    for part in ("datasets", "policies", "hub"):
        shutil.copytree(PROJECT_ROOT / part, folder / part)
    path = folder / "datasets" / "catalog.yaml"
    catalog = yaml.safe_load(path.read_text())
    for name, changes in datasets.items():
        catalog["datasets"][name].update(changes)
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False))
    return folder


def test_a_dataset_on_s3_is_read_by_spark_only_and_a_missing_connector_is_a_reason(demo_data, tmp_path):
    on_s3 = {"source": "s3://campus-demo/air_quality"}
    with pytest.raises(ConfigError, match="engine: spark"):
        campus.open(demo_root(tmp_path / "a", air_quality=on_s3), data_dir=demo_data, state_dir=tmp_path / "state")
    root = demo_root(tmp_path / "b", air_quality=on_s3 | {"engine": "spark"})
    cx = campus.open(root, data_dir=demo_data, state_dir=tmp_path / "state")
    try:
        assert cx.engine_names() == ["duckdb", "spark"]
        with pytest.raises(campus.QueryRejected, match="S3A connector"):
            cx.session("alice", ["researchers"]).sql("SELECT station, pm25 FROM air_quality")
        assert cx.session("alice", ["researchers"]).sql("SELECT count(*) AS n FROM card_usage").pl()["n"][0] > 0
    finally:
        cx.close()


def test_each_dataset_is_read_by_the_engine_its_catalog_entry_names(engines, demo_data, tmp_path):
    duck, _ = engines
    root = demo_root(tmp_path / "root", air_quality={"engine": "spark"})
    cx = campus.open(root, data_dir=demo_data, state_dir=duck.settings.state_dir)  # the same noise secret
    try:
        assert cx.engine_names() == ["duckdb", "spark"]
        assert cx.engines["spark"].files == {str(f) for f in cx.files(cx.catalog["air_quality"])}
        alice, before = cx.session("alice", ["researchers"]), duck.session("alice", ["researchers"])
        for sql, engine in ((QUESTIONS[0], "duckdb"),
                            ("SELECT station, count(*) AS n, max(pm25) AS top FROM air_quality GROUP BY station", "spark")):
            keys = sql.split()[1].rstrip(",")
            mine = alice.sql(sql).pl().sort(keys)
            assert cx.audit.events(limit=1)[0]["detail"]["engine"] == engine
            assert mine.equals(before.sql(sql).pl().sort(keys))
        with pytest.raises(campus.QueryRejected, match="card_usage on duckdb; air_quality on spark"):
            alice.sql("SELECT c.district, count(*) AS n FROM card_usage c JOIN air_quality a "
                      "ON c.district = a.district GROUP BY c.district")
    finally:
        cx.close()


def test_a_spark_session_that_died_mid_query_is_a_reason_and_the_next_query_is_answered(engines):
    """Last in this module: it kills the JVM under the shared Spark campus."""
    import threading

    from campus.engines import Deadline

    duck, spark = engines
    sql = QUESTIONS[0]
    before = spark.session("alice", ["researchers"]).sql(sql).pl().sort("district")
    card_usage = spark.engine.scan(spark.files(spark.catalog["card_usage"])).sql("spark")
    failures = []

    def runaway():
        try:
            with spark.engine.cursor(Deadline(120)) as cursor:
                cursor.arrow(f"SELECT count(*) FROM {card_usage} a CROSS JOIN {card_usage} b")
        except Exception as e:
            failures.append(e)

    running = threading.Thread(target=runaway)
    running.start()
    time.sleep(3)
    spark.engine.session.sparkContext._gateway.proc.kill()  # the JVM, as the OOM killer would
    running.join(60)
    assert not running.is_alive() and len(failures) == 1
    assert isinstance(failures[0], campus.QueryRejected) and "starts again" in failures[0].reason
    after = spark.session("alice", ["researchers"]).sql(sql).pl().sort("district")
    assert after.equals(before)


# Every function and operator the campus allows, as a researcher writes it, over a few rows
# that reach the edges (negative halves, leap days, year ends, Sundays): Spark must give
# DuckDB's answer, or the query is refused with a reason (never a different answer).
SCALARS = """
abs(x)|ceil(x)|floor(x)|round(x)|round(x, 1)|round_even(x, 0)|trunc(x)|trunc(x, 1)|sign(x)|sqrt(abs(x))
ln(abs(x) + 1)|log(abs(x) + 1)|log(2, abs(x) + 1)|log2(abs(x) + 1)|exp(x / 100)|pow(x, 2)|x / 3|x % 3|x // 3
greatest(x, 3)|least(x, 3)|coalesce(NULL, x)|nullif(x, 3)|CAST(x AS INTEGER)|CAST(x AS BIGINT)|CAST(x AS VARCHAR)
lower(s)|upper(s)|length(s)|substring(s, 2, 3)|trim(s)|concat(s, 'x')|concat_ws('-', s, s)|replace(s, 'a', 'b')
left(s, 2)|right(s, 2)|strpos(s, 'a')|lpad(s, 8, '*')|rpad(s, 8, '*')|contains(s, 'a')|starts_with(s, 'a')
ends_with(s, 'a')|s || 'z'|s LIKE 'a%'|s ILIKE 'A%'
date_trunc('month', d)|date_trunc('week', ts)|date_trunc('quarter', d)|date_trunc('year', ts)
date_trunc('hour', ts)|date_trunc('day', ts)|strftime(d, '%Y-%m')|strftime(ts, '%Y-%m-%d %H:%M')
extract(year FROM d)|extract(month FROM ts)|extract(hour FROM ts)|extract(dow FROM d)|extract(isodow FROM d)
extract(week FROM d)|extract(doy FROM d)|year(d)|quarter(d)|month(d)|week(d)|day(d)|dayofweek(d)|isodow(d)
dayofyear(d)|dayofmonth(d)|weekofyear(d)|hour(ts)|minute(ts)|dayname(d)|monthname(d)|yearweek(d)
date_part('dow', d)|date_part('isodow', d)|date_part('year', d)|datepart('month', d)
d + INTERVAL 3 DAY|d - INTERVAL 1 MONTH|date_add(d, INTERVAL 1 MONTH)|date_add(d, INTERVAL 3 DAY)
date_diff('day', d, DATE '2025-12-31')|date_diff('month', d, DATE '2025-12-31')|datediff('week', d, DATE '2025-12-31')
CAST(ts AS DATE)|make_date(2025, 1, 31)|last_day(d)|CASE WHEN x > 0 THEN 'p' ELSE 'n' END
"""
AGGREGATES = """
count(*)|count(x)|sum(x)|avg(x)|min(x)|max(x)|median(x)|stddev(x)|stddev_samp(x)|stddev_pop(x)|variance(x)
var_pop(x)|count_if(x > 0)|quantile_cont(x, 0.25)|percentile_cont(0.5) WITHIN GROUP (ORDER BY x)
percentile_disc(0.5) WITHIN GROUP (ORDER BY x)|percentile_cont(0.3) WITHIN GROUP (ORDER BY x DESC)
percentile_disc(0.3) WITHIN GROUP (ORDER BY x DESC)|quantile(x, 0.5)|quantile_disc(x, 0.3)|quantile_cont(x, 0.7)|quantile_cont(n, 0.7)|median(n)|corr(x, n)|covar_samp(x, n)|covar_pop(x, n)|regr_slope(x, n)
regr_intercept(x, n)|regr_r2(x, n)|regr_count(x, n)|regr_avgx(x, n)|regr_avgy(x, n)|regr_sxx(x, n)
regr_syy(x, n)|regr_sxy(x, n)|skewness(x)|kurtosis(x)
"""
EDGES = [(-2.5, 1, "abc", "2025-01-05", "2025-01-05 13:45:00"), (3.5, 4, "Bad", "2025-03-31", "2025-12-31 23:59:00"),
         (0.5, 9, " a ", "2024-02-29", "2024-02-29 00:00:00"), (10.0, 16, "xyz", "2025-06-01", "2025-06-01 07:30:00"),
         (-0.5, 2, "", "2025-12-28", "2025-12-28 12:00:00")]
EDGE_ROWS = "(VALUES {}) AS t(x, n, s, d, ts)".format(", ".join(
    f"(CAST({x} AS DOUBLE), {n}, '{s}', DATE '{d}', TIMESTAMP '{t}')" for x, n, s, d, t in EDGES))  # measures are
# DOUBLE or whole numbers in the catalog (DuckDB interpolates DECIMAL percentiles at the column's scale)


def calls(text: str) -> list[str]:
    """The expressions of a list written with ``|`` between them."""
    return [call.strip() for call in text.replace("\n", "|").split("|") if call.strip()]


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (float, decimal.Decimal)) or isinstance(b, (float, decimal.Decimal)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, datetime.date) and isinstance(b, datetime.date):  # a DATE on one side, a TIMESTAMP on the other
        as_time = lambda v: v if isinstance(v, datetime.datetime) else datetime.datetime.combine(v, datetime.time())
        return as_time(a).replace(tzinfo=None) == as_time(b).replace(tzinfo=None)
    return a == b


@pytest.mark.parametrize("expression", calls(SCALARS) + calls(AGGREGATES))
def test_every_allowed_function_means_on_spark_what_it_means_on_duckdb(engines, expression):
    import duckdb
    import sqlglot

    from campus.vocabulary.dialect import CAMPUS_SQL

    _, spark = engines
    sql = f"SELECT {expression} AS v FROM {EDGE_ROWS}"
    want = [row[0] for row in duckdb.sql(sql).fetchall()]
    try:
        written = sqlglot.transpile(sql, read=CAMPUS_SQL, write=spark.engine.dialect)[0]
    except campus.QueryRejected as refused:  # no faithful translation: a reason, never another answer
        assert "Spark" in refused.reason
        return
    runnable(written, readable=set())  # the engine's last check takes what its dialect writes
    got = [row[0] for row in spark.engine.session.sql(written).collect()]
    assert len(got) == len(want) and all(same(a, b) for a, b in zip(want, got)), (written, want, got)
