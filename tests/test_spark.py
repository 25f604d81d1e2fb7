"""The Spark engine gives the same answers as DuckDB, bit for bit: the same cells, the
same withholding, the same noise (the cell key and the noise draws are defined without
any engine's hash). Skip with ``-m "not spark"``."""

from __future__ import annotations

import shutil
import time

import pytest

import campus
from campus.errors import QueryTimeout

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


@pytest.fixture(scope="module")
def engines(demo_data, tmp_path_factory):
    """Two campuses over the same data and state (so the same noise secret): DuckDB and Spark."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("no Java: the Spark engine needs Java 17 (scripts/bootstrap installs it)")
    state = tmp_path_factory.mktemp("state")
    duck = campus.open(data_dir=demo_data, state_dir=state)
    spark = campus.open(data_dir=demo_data, state_dir=state, engine="spark", spark_master="local[2]")
    yield duck, spark
    spark.close()
    duck.close()


@pytest.mark.parametrize("sql", QUESTIONS)
def test_spark_releases_exactly_what_duckdb_releases(engines, sql):
    duck, spark = (cx.session("alice", ["researchers"]).sql(sql) for cx in engines)
    keys = [c for c in duck.pl().columns if duck.pl()[c].dtype.is_numeric() is False]
    a, b = duck.pl().sort(keys or duck.pl().columns), spark.pl().sort(keys or spark.pl().columns)
    assert a.columns == b.columns and a.height == b.height
    for column in a.columns:
        assert a[column].cast(b[column].dtype, strict=False).to_list() == b[column].to_list(), column
    assert duck.report.withheld.sort("cell", "measure").equals(spark.report.withheld.sort("cell", "measure"))


def test_the_spark_session_refuses_sql_on_files(engines, demo_data):
    _, spark = engines
    files = sorted((demo_data / "card_usage").rglob("*.parquet"))
    with spark.engine.cursor() as cursor, pytest.raises(campus.QueryRejected):
        cursor.arrow(f"SELECT count(*) FROM parquet.`{files[0]}`")


def test_a_query_past_its_deadline_is_cancelled_and_the_session_stays_up(engines):
    from campus.engines import Deadline

    _, spark = engines
    started = time.monotonic()
    with spark.engine.cursor(Deadline(2.0)) as cursor, pytest.raises(QueryTimeout):
        cursor.arrow("SELECT count(*) FROM range(100000000) a CROSS JOIN range(100000) b")
    assert time.monotonic() - started < 30, "the job group was cancelled at the deadline"
    with spark.engine.cursor() as cursor:
        assert cursor.arrow("SELECT 1 AS one").to_pylist() == [{"one": 1}]
