"""The Spark engine on a real standalone cluster: a master and two workers, each a process
of its own on 127.0.0.1, started here and stopped afterwards. The campus releases on it
exactly what it releases on DuckDB, and a lost executor costs a query at most, never the
service. Skip with ``-m "not spark"``."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

import campus
from campus.engines.standalone import LOOPBACK, local_cluster
from conftest import SPARK_TESTS, open_on_spark

pytestmark = pytest.mark.spark

QUESTIONS = [
    "SELECT district, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY district",
    "SELECT category, gender, count(DISTINCT card_id) AS cards, avg(amount) AS mean FROM card_usage GROUP BY ALL",
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """spark://127.0.0.1:<port> with two one-core workers; every process stopped afterwards."""
    pytest.importorskip("pyspark")
    with local_cluster(tmp_path_factory.mktemp("spark-logs"), workers=2) as started:
        yield started


@pytest.fixture(scope="module")
def engines(cluster, demo_data, tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    spark = open_on_spark(demo_data, state, spark_master=cluster.master, spark_conf=SPARK_TESTS | LOOPBACK)
    duck = campus.open(data_dir=demo_data, state_dir=state)
    yield duck, spark
    spark.close()
    duck.close()


def released(cx, sql: str):
    table = cx.session("alice", ["researchers"]).sql(sql).pl()
    return table.sort([c for c in table.columns if not table[c].dtype.is_numeric()])


def test_the_campus_runs_on_a_standalone_cluster_of_two_workers(engines, cluster):
    duck, spark = engines
    context = spark.engine.session.sparkContext
    assert context.master == cluster.master
    for sql in QUESTIONS:
        a, b = released(duck, sql), released(spark, sql)
        assert a.columns == b.columns and a.height == b.height
        for column in a.columns:
            assert a[column].cast(b[column].dtype, strict=False).to_list() == b[column].to_list(), (sql, column)
    assert len(cluster.executors()) == 2, "both workers ran executors for the campus"


def test_a_lost_executor_costs_at_most_the_query_and_the_next_is_answered(engines, cluster):
    duck, spark = engines
    sql = QUESTIONS[1]
    expected = released(spark, sql)
    outcome = []

    def ask():
        try:
            outcome.append(released(spark, sql))
        except Exception as e:
            outcome.append(e)

    asking = threading.Thread(target=ask)
    asking.start()
    time.sleep(0.5)
    os.kill(cluster.executors()[0], signal.SIGKILL)
    asking.join(120)
    assert not asking.is_alive() and len(outcome) == 1
    answer = outcome[0]
    if isinstance(answer, Exception):  # Spark may rerun the lost tasks, or give up: either way a reason
        assert isinstance(answer, campus.CampusError), answer
    else:
        assert answer.equals(expected)
    assert released(spark, sql).equals(expected), "the next query is answered, the same"
    assert released(duck, QUESTIONS[0]).equals(released(spark, QUESTIONS[0]))
