"""The Spark engine on a real standalone cluster: a master and two workers, each a process
of its own on 127.0.0.1, started here and stopped afterwards. The campus releases on it
exactly what it releases on DuckDB. Skip with ``-m "not spark"``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

import campus
from service_fixtures import free_port

pytestmark = pytest.mark.spark

QUESTIONS = [
    "SELECT district, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY district",
    "SELECT category, gender, count(DISTINCT card_id) AS cards, avg(amount) AS mean FROM card_usage GROUP BY ALL",
]


def spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(spark_class()), *args], stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """spark://127.0.0.1:<port> with two one-core workers; every process stopped afterwards."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("no Java: the Spark engine needs Java 17 (scripts/bootstrap installs it)")
    logs = tmp_path_factory.mktemp("spark-logs")
    port = free_port()
    processes = [start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                        "--webui-port", str(free_port())], logs / "master.log")]
    try:
        deadline = time.monotonic() + 60
        while not listening(port):
            assert time.monotonic() < deadline and processes[0].poll() is None, (logs / "master.log").read_text()
            time.sleep(0.2)
        for i in range(2):
            processes.append(start(["org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
                                    "--host", "127.0.0.1", "--cores", "1", "--memory", "1g",
                                    "--webui-port", str(free_port()), "--work-dir", str(logs / f"work-{i}")],
                                   logs / f"worker-{i}.log"))
        yield f"spark://127.0.0.1:{port}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def engines(cluster, demo_data, tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    duck = campus.open(data_dir=demo_data, state_dir=state)
    spark = campus.open(data_dir=demo_data, state_dir=state, engine="spark", spark_master=cluster)
    yield duck, spark
    spark.close()
    duck.close()


def test_the_campus_runs_on_a_standalone_cluster_of_two_workers(engines, cluster):
    duck, spark = engines
    context = spark.engine.session.sparkContext
    assert context.master == cluster
    for sql in QUESTIONS:
        a, b = (cx.session("alice", ["researchers"]).sql(sql).pl() for cx in engines)
        keys = [c for c in a.columns if not a[c].dtype.is_numeric()]
        a, b = a.sort(keys), b.sort(keys)
        assert a.columns == b.columns and a.height == b.height
        for column in a.columns:
            assert a[column].cast(b[column].dtype, strict=False).to_list() == b[column].to_list(), (sql, column)
    executors = context._jsc.sc().getExecutorMemoryStatus().size() - 1  # less the driver
    assert executors == 2, "both workers ran executors for the campus"
