"""The guard's cost as tables grow, measured in one run against the engine's own work.

    .venv/bin/python bench/guard.py [--scale 1]

For aggregates of card_usage with more and more cells, prints the time raw DuckDB takes
to compute the cells with their safety statistics, the time ``extractguard.check`` takes
to decide and release them (cell rules, magnitude rules, secondary suppression, noise),
and their ratio. The guard should grow about linearly with the cells, so the ratio stays
about flat; secondary suppression used to grow with the square of the cells (about 670 s
for 312,000 cells). Then synthetic tables of 10^5 and 10^6 cells (three keys, a heavy
share of small cells, so secondary suppression has much to do) time the guard alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import duckdb

from campus import catalog
from campus.settings import Settings
from campus.synth.build import build
from extractguard import Cells, Disclosure, Measure, check

KEYS = [
    ["district", "category"],
    ["dong", "category", "month(txn_date)"],
    ["district", "dong", "category", "hour", "gender"],
    ["district", "dong", "category", "hour", "gender", "age_band"],
]


def statistics_sql(keys: list[str], files: str) -> str:
    k = ", ".join(f"{e} AS k{i}" for i, e in enumerate(keys))
    ks = ", ".join(f"k{i}" for i in range(len(keys)))
    return (
        f"SELECT {ks}, count(*) AS entities, sum(n)::BIGINT AS rows, bit_xor(hash(card_id, n)) AS cellkey, "
        f"sum(s)::DOUBLE AS sum__amount, max(abs(s), 2) AS top__amount, min(s) AS min__amount, max(s) AS max__amount "
        f"FROM (SELECT {k}, card_id, count(*) AS n, sum(amount) AS s FROM read_parquet({files}) GROUP BY ALL) GROUP BY ALL"
    )


def timed(run, repeat: int):
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    data = settings.state_dir / "bench" / f"sf{args.scale:g}"
    build(catalog.load(settings.catalog_path), data, scale=args.scale, seed=42)
    files = "[" + ", ".join(f"'{f}'" for f in sorted(Path(data, "card_usage").rglob("*.parquet"))) + "]"
    con = duckdb.connect(config={"threads": 2})
    print(f"SF{args.scale:g}; median of {args.repeat} runs, seconds\n")
    print(f"{'keys':55} {'cells':>9} {'engine':>8} {'guard':>8} {'guard/engine':>13}")
    for keys in KEYS:
        engine, stats = timed(lambda: con.sql(statistics_sql(keys, files)).to_arrow_table(), args.repeat)
        cells = Cells([f"k{i}" for i in range(len(keys))],
                      [Measure("m0", "rows", "count(*)"), Measure("m1", "sum", "sum(amount)", "amount", True)])
        guard, _ = timed(lambda: check(stats, cells, Disclosure(), secret=1), args.repeat)
        print(f"{', '.join(keys):55} {stats.num_rows:9,} {engine:8.3f} {guard:8.3f} {guard / engine:13.2f}")
    print(f"\n{'synthetic cells':55} {'cells':>9} {'guard':>8} {'per 10^5 cells':>15}")
    for cells_wanted in (100_000, 1_000_000):
        stats, cells = synthetic(cells_wanted)
        guard, _ = timed(lambda: check(stats, cells, Disclosure(), secret=1), args.repeat)
        print(f"{'3 keys, 40% of cells small':55} {stats.num_rows:9,} {guard:8.3f} {guard / cells_wanted * 1e5:15.3f}")


def synthetic(n: int):
    """n cells over three keys with made-up statistics: 40% below the threshold."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(1)
    side = round(n ** (1 / 3)) + 1
    index = rng.permutation(side ** 3)[:n]
    entities = np.where(rng.random(n) < 0.4, rng.integers(1, 10, n), rng.integers(10, 500, n))
    sums = rng.lognormal(12, 1.5, n) * entities
    top = np.stack([sums * rng.uniform(0.05, 0.6, n), sums * rng.uniform(0.01, 0.3, n)], axis=1)
    stats = pa.table({
        "k0": index // side ** 2, "k1": (index // side) % side, "k2": index % side, "entities": entities,
        "rows": entities * 3, "cellkey": rng.integers(0, 2 ** 63, n).astype(np.uint64), "sum__amount": sums,
        "top__amount": pa.array(top.tolist(), pa.list_(pa.float64())), "min__amount": sums / entities / 3,
        "max__amount": top[:, 0],
    })
    measures = [Measure("m0", "rows", "count(*)"), Measure("m1", "sum", "sum(amount)", "amount", True)]
    return stats, Cells(["k0", "k1", "k2"], measures)


if __name__ == "__main__":
    main()
