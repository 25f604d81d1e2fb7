"""The gateway's cost, measured in one run against raw DuckDB on the same files.

    .venv/bin/python bench/gateway.py [--scale 10] [--repeat 5]

Prints, for typical analyst queries on card_usage, the median time of

* the guarded query (analyse, decide, rewrite, execute, guard, record), against
* (a) hand-written DuckDB SQL computing the same aggregates and the same safety
  statistics (goal: guarded / hand-written <= 1.15), and
* (b) the raw unprotected aggregate (goal <= 2.5; exact distinct-entity counts cost
  more than a plain GROUP BY, and are never approximated).

The filtered queries' hand-written SQL applies the filter first; the gateway also counts
what each condition alone removes from each cell (campus/gateway/statistics.py), so it
reads every row the other conditions keep: their ratio is the cost of that statistic.

The guarded query is the same text every run, so after the first its analysis and
rewrite come from the gateway's memory (campus/gateway/cache.py): a few milliseconds
at most, against seconds of DuckDB at SF10. bench/service.py times cold and warm apart.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

import campus
from campus import catalog
from campus.settings import Settings
from campus.synth.build import build

QUERIES = {
    "spending by district and month": (
        ["district", "date_trunc('month', txn_date)"], "count(*) AS n, sum(amount) AS total",
    ),
    "cardholders and mean by category and age band": (
        ["category", "age_band"], "count(DISTINCT card_id) AS cards, avg(amount) AS mean",
    ),
    "spending by dong": (["dong"], "sum(amount) AS total"),
    "spending by category in one district": (
        ["category"], "count(*) AS n, sum(amount) AS total", "district = 'Jung-gu'",
    ),
    "spending by age band, night, not golf": (
        ["age_band"], "sum(amount) AS total", "category <> 'Golf' AND hour < 6",
    ),
}


def guarded_sql(keys, aggregates, where=None) -> str:
    return f"SELECT {', '.join(keys)}, {aggregates} FROM card_usage{filtered(where)} GROUP BY ALL"


def filtered(where: str | None) -> str:
    return f" WHERE {where}" if where else ""


def hand_written(keys, aggregates, files, where=None) -> str:
    """The same cells with the same safety statistics, as a person would write them (the
    filter applied first: no statistic of what each condition removes)."""
    k = ", ".join(f"{e} AS k{i}" for i, e in enumerate(keys))
    ks = ", ".join(f"k{i}" for i in range(len(keys)))
    counted = ("count(amount) AS c, ", "sum(c) AS count__amount, ") if "avg(amount)" in aggregates else ("", "")
    factor = ("floor(CASE WHEN d < 0.5 THEN 1 - (0.1 + 0.1 * (2 * d)) ELSE 1 + (0.1 + 0.1 * (2 * d - 1)) END "
              "* 1000000 + 0.5)::BIGINT")
    summed = ("sum(amount) AS s, (md5_number_upper(concat_ws(':', 'key', 'amount', card_id)) >> 11)::DOUBLE "
              "/ 9007199254740992 AS d, ",
              f"sum(s)::DOUBLE AS sum__amount, sum(s::DECIMAL(38, 6) * {factor})::DOUBLE / 1000000 AS noisy__amount, "
              "sum(s::DOUBLE * s::DOUBLE) AS squares__amount, max(abs(s), 2) AS top__amount, "
              "min(s) AS min__amount, max(s) AS max__amount, ") if "amount)" in aggregates else ("", "")
    return (
        f"SELECT {ks}, {counted[1]}{summed[1]}count(*) AS entities, sum(n) AS rows, "
        f"bit_xor(md5_number_upper(concat_ws(':', card_id, n))) AS cellkey FROM ("
        f"SELECT {k}, card_id, {counted[0]}{summed[0]}count(*) AS n "
        f"FROM read_parquet({files}, hive_partitioning=false){filtered(where)} GROUP BY ALL) GROUP BY ALL"
    )


def raw_sql(keys, aggregates, files, where=None) -> str:
    return (f"SELECT {', '.join(keys)}, {aggregates} FROM read_parquet({files}, hive_partitioning=false)"
            f"{filtered(where)} GROUP BY ALL")


def timed(run, repeat: int) -> float:
    run()  # warm the file cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, default=None, help="where to build (default: <state_dir>/bench/sf<scale>)")
    args = parser.parse_args()
    settings = Settings()
    data = args.data or settings.state_dir / "bench" / f"sf{args.scale:g}"
    print(f"data: {data} (SF{args.scale:g}, seed {args.seed}); building if missing ...", flush=True)
    build(catalog.load(settings.catalog_path), data, scale=args.scale, seed=args.seed)

    cx = campus.open(data_dir=data, state_dir=Path(tempfile.mkdtemp()))
    alice = cx.session("alice", ["researchers"])
    files = "[" + ", ".join(f"'{f}'" for f in cx.files(cx.catalog["card_usage"])) + "]"
    limits = cx.engine.limits  # the same threads and memory as the campus's own DuckDB
    raw = duckdb.connect(config={"threads": limits.threads, "memory_limit": limits.memory})
    rows = raw.sql(f"SELECT count(*) FROM read_parquet({files})").fetchall()[0][0]
    print(f"card_usage: {rows:,} rows; {args.repeat} runs each, median seconds\n")
    print(f"{'query':48} {'guarded':>8} {'hand':>8} {'raw':>8} {'g/hand':>7} {'g/raw':>7}")
    for name, (keys, aggregates, *where) in QUERIES.items():
        where = where[0] if where else None
        guarded = timed(lambda: alice.sql(guarded_sql(keys, aggregates, where)), args.repeat)
        hand = timed(lambda: raw.sql(hand_written(keys, aggregates, files, where)).to_arrow_table(), args.repeat)
        plain = timed(lambda: raw.sql(raw_sql(keys, aggregates, files, where)).to_arrow_table(), args.repeat)
        print(f"{name:48} {guarded:8.3f} {hand:8.3f} {plain:8.3f} {guarded / hand:7.2f} {guarded / plain:7.2f}")
    print("\ngoals: guarded/hand-written <= 1.15; guarded/raw <= 2.5 (reported; exact entity counts are not approximated)")
    cx.close()


if __name__ == "__main__":
    main()
