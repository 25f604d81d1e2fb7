"""Shared fixtures: real demo data, a real campus over it, and raw DuckDB beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

import campus
from campus import catalog
from campus.settings import Settings
from campus.synth.build import build

SCALE, SEED = 0.1, 7


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """The three datasets at a tenth of SF1 (about 100,000 card transactions)."""
    out = tmp_path_factory.mktemp("data")
    build(catalog.load(Settings().catalog_path), out, scale=SCALE, seed=SEED)
    return out


@pytest.fixture(scope="session")
def cx(demo_data, tmp_path_factory):
    """The campus on the demo configuration, over the demo data."""
    opened = campus.open(data_dir=demo_data, state_dir=tmp_path_factory.mktemp("state"))
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def raw(demo_data):
    """Unprotected DuckDB over the same files: what the truth is."""
    con = duckdb.connect()
    for name in ("card_usage", "sales_by_location", "air_quality"):
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{demo_data}/{name}/**/*.parquet', hive_partitioning=false)"
        )
    yield con
    con.close()


SPARK_TESTS = {"spark.sql.shuffle.partitions": "4"}  # the demo data is small: a few partitions, not 200


def open_on_spark(demo_data: Path, state: Path, **settings) -> campus.Campus:
    """The campus on the Spark engine (``local[2]`` unless `settings` say otherwise); the test
    is skipped where Spark cannot run (no pyspark, no Java 17)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("no Java: the Spark engine needs Java 17 (scripts/bootstrap installs it)")
    settings = {"spark_master": "local[2]", "spark_conf": SPARK_TESTS} | settings
    return campus.open(data_dir=demo_data, state_dir=state, engine="spark", **settings)


ON_EVERY_ENGINE = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture(scope="module", params=ON_EVERY_ENGINE)
def campus_on(request, cx, demo_data, tmp_path_factory):
    """The demo campus on each engine in turn: DuckDB (the shared one), then Spark."""
    if request.param == "duckdb":
        yield cx
        return
    opened = open_on_spark(demo_data, tmp_path_factory.mktemp("spark-state"))
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def alice(cx):
    return cx.session("alice", ["researchers"])
