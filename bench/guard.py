"""The guard's cost as tables grow, measured in one run against the engine's own work.

    .venv/bin/python bench/guard.py [--scale 1]

For aggregates of card_usage with more and more cells, prints the time raw DuckDB takes
to compute the cells with their safety statistics, the time ``extractguard.check`` takes
to decide and release them (cell rules, magnitude rules, secondary suppression, noise),
and their ratio. The guard should grow about linearly with the cells, so the ratio stays
about flat; secondary suppression used to grow with the square of the cells (about 670 s
for 312,000 cells).
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


if __name__ == "__main__":
    main()
