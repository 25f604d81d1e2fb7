"""The same guarded queries on DuckDB and on Spark, measured in one run.

    .venv/bin/python bench/engines.py [--scales 1 10] [--repeat 3] [--sf100]

For each scale, the queries of bench/gateway.py run through the gateway on

* DuckDB (the embedded default),
* Spark ``local[2]`` (one JVM, two cores), and
* a Spark standalone cluster of a master and two one-core workers on this machine,

and print the median seconds and each Spark time over DuckDB's. Starting Spark (the JVM,
the session, the first query's planning) is timed apart, once per engine: a service pays
it once. With ``--sf100`` it then builds SF100 (about 100M card transactions, one Parquet
file per month) if missing and queries it on Spark ``local[2]`` once per query, printing
the times and the JVM's peak memory.

Every engine gives the same cells (tests/test_spark.py holds them to it), so this measures
cost only. On a 2-core machine the cluster's workers share the cores with the driver:
its figures show the cost of the network path, not the gain of more machines.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import campus
from campus import catalog
from campus.settings import Settings
from campus.synth.build import build

from gateway import QUERIES, guarded_sql, timed

WARM = "SELECT district, count(*) AS n FROM card_usage GROUP BY district"


def once(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def data_at(scale: float, seed: int, settings: Settings) -> Path:
    data = settings.state_dir / "bench" / f"sf{scale:g}"
    print(f"SF{scale:g}: {data} (building if missing) ...", flush=True)
    build(catalog.load(settings.catalog_path), data, scale=scale, seed=seed)
    return data


def measure(data: Path, repeat: int, memory: str, **engine) -> tuple[float, dict[str, float]]:
    """Seconds to open the campus and answer a first query, then each query's median of
    `repeat` runs after a first (or, with no repeats, its first run alone)."""
    started = time.perf_counter()
    cx = campus.open(data_dir=data, state_dir=Path(tempfile.mkdtemp()), query_seconds=3600, query_memory=memory,
                     **engine)
    alice = cx.session("alice", ["researchers"])
    alice.sql(WARM)
    start = time.perf_counter() - started
    try:
        run = (lambda q: timed(lambda: alice.sql(guarded_sql(*q)), repeat)) if repeat else \
            (lambda q: once(lambda: alice.sql(guarded_sql(*q))))
        times = {}
        for name, q in QUERIES.items():
            times[name] = run(q)
            print(f"  {engine.get('spark_master', 'duckdb')} {data.name}: {name} {times[name]:.2f} s", flush=True)
        return start, times
    finally:
        if engine.get("engine") == "spark":
            PEAKS.append(jvm_peak(cx.engine))
        cx.close()


PEAKS: list[float] = []  # the Spark JVM's peak memory after each measure; one JVM serves every session


def jvm_peak(engine) -> float:
    """The peak resident memory of the session's JVM so far, in GB (Linux's VmHWM)."""
    pid = engine.session.sparkContext._gateway.proc.pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def table(scale: float, runs: dict[str, tuple[float, dict[str, float]]]) -> None:
    engines = list(runs)
    print(f"\nSF{scale:g}, median seconds (start-up: open the campus and answer a first query)")
    print(f"{'':48}" + "".join(f"{e:>17}" for e in engines) + "".join(f"{e + '/duckdb':>26}" for e in engines[1:]))
    print(f"{'start-up':48}" + "".join(f"{runs[e][0]:17.2f}" for e in engines))
    for name in QUERIES:
        cells = "".join(f"{runs[e][1][name]:17.3f}" for e in engines)
        ratios = "".join(f"{runs[e][1][name] / runs['duckdb'][1][name]:26.1f}" for e in engines[1:])
        print(f"{name:48}{cells}{ratios}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="*", default=[1.0, 10.0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", default="8GB", help="each engine's memory for queries (the Spark driver's heap)")
    parser.add_argument("--sf100", action="store_true", help="then SF100 on Spark local[2]")
    parser.add_argument("--no-cluster", action="store_true", help="skip the standalone cluster")
    args = parser.parse_args()
    settings = Settings()
    from campus.engines.standalone import LOOPBACK, local_cluster

    data = {scale: data_at(scale, args.seed, settings) for scale in args.scales}  # none: SF100 alone
    local = {"engine": "spark", "spark_master": "local[2]", "spark_conf": {}}
    runs: dict[float, dict] = {scale: {} for scale in args.scales}
    for scale in args.scales:
        runs[scale]["duckdb"] = measure(data[scale], args.repeat, args.memory)
        runs[scale]["spark local[2]"] = measure(data[scale], args.repeat, args.memory, **local)
    if not args.no_cluster:
        with local_cluster(Path(tempfile.mkdtemp()) / "spark-logs", workers=2, cores=1, memory="3g") as cluster:
            executor = {"spark.executor.memory": "2g"} | LOOPBACK
            for scale in args.scales:
                runs[scale]["spark 2 workers"] = measure(data[scale], args.repeat, args.memory, engine="spark",
                                                         spark_master=cluster.master, spark_conf=executor)
    for scale in args.scales:
        table(scale, runs[scale])

    if args.sf100:
        big = data_at(100, args.seed, settings)
        runs100 = {"spark local[2]": measure(big, 0, args.memory, **local)}
        print("\n(SF100: one run of each query, cold, on Spark alone)")
        table(100, runs100)
        print(f"\npeak memory: the Spark JVM {max(PEAKS):.1f} GB (driver heap {args.memory}); "
              f"this process (DuckDB, Python) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GB")


if __name__ == "__main__":
    main()
