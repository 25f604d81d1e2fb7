"""How fast a steward's CSV loads, against DuckDB's own COPY of the same file, and in how much memory.

    .venv/bin/python bench/ingest.py [--rows 10000000] [--out DIR]

Writes a CSV of card transactions (`--rows`, as a card company sends them: a card
number, a merchant, a category, a moment, an amount, an age band, a gender), then, each
in a subprocess of its own so its peak memory (maximum resident set) is its own:

- **campus**: `campus.ingest.load` as `campus datasets append` runs it: the file read
  through (encoding, quotes, sha256), every value checked against the catalog's type,
  every undeclared column scanned for identifying values, the card numbers replaced by
  their keyed hash, written as monthly Parquet and made a version;
- **duckdb**: ``COPY (FROM read_csv(file)) TO 'out.parquet'``: DuckDB's own conversion,
  with none of those checks, on all the machine's cores.

Prints seconds, rows per second, peak MB for each, and the campus/duckdb ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATASET = {
    "name": "bench_cards", "title": "Bench cards", "description": "-", "steward": "bench", "tier": "sensitive",
    "source": "bench_cards", "partitioned_by": "month", "entity": "card_no",
    "columns": {
        "card_no": {"type": "VARCHAR", "role": "identifier", "description": "-"},
        "merchant": {"type": "VARCHAR", "role": "dimension", "description": "-"},
        "category": {"type": "VARCHAR", "role": "dimension", "description": "-"},
        "txn_time": {"type": "TIMESTAMP", "role": "time", "grain": "second", "description": "-"},
        "amount": {"type": "BIGINT", "role": "measure", "description": "-"},
        "age_band": {"type": "VARCHAR", "role": "quasi_identifier", "description": "-"},
        "gender": {"type": "VARCHAR", "role": "quasi_identifier", "description": "-"},
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--out", type=Path, help="folder to work in (a fresh temporary folder inside it is used)")
    parser.add_argument("--child", choices=["campus", "duckdb"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.file, args.out)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="campus-bench-ingest-", dir=args.out))
    try:
        file = folder / "cards.csv"
        started = time.perf_counter()
        write_file(file, args.rows)
        print(f"{args.rows:,} rows, {file.stat().st_size / 1e6:,.0f} MB of CSV written in "
              f"{time.perf_counter() - started:.1f} s")
        results = {name: run_child(name, file, folder / name) for name in ("duckdb", "campus")}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{'':<8} {'seconds':>8} {'rows/s':>12} {'peak MB':>8}")
    for name, r in results.items():
        print(f"{name:<8} {r['seconds']:>8.1f} {args.rows / r['seconds']:>12,.0f} {r['peak_mb']:>8,.0f}")
    c, d = results["campus"], results["duckdb"]
    print(f"campus / duckdb: time {c['seconds'] / d['seconds']:.2f}x, peak memory {c['peak_mb'] / d['peak_mb']:.2f}x")


def write_file(file: Path, rows: int) -> None:
    """The CSV, written by DuckDB from a seeded series (the same rows for the same --rows)."""
    import duckdb

    duckdb.execute("SELECT setseed(0.42)")
    duckdb.execute(f"""
        COPY (SELECT 'C' || lpad(CAST(hash(i) % 2000000 AS VARCHAR), 7, '0') AS card_no,
                     'M' || CAST(hash(i * 7) % 50000 AS VARCHAR) AS merchant,
                     ['Restaurants', 'Cafes and bakeries', 'Convenience stores', 'Pharmacies'][1 + i % 4] AS category,
                     TIMESTAMP '2025-01-01' + to_seconds(CAST(hash(i * 3) % 31536000 AS BIGINT)) AS txn_time,
                     CAST(1000 * (1 + hash(i * 5) % 900) AS BIGINT) AS amount,
                     ['20s', '30s', '40s', '50s', '60s', '70s'][1 + i % 6] AS age_band,
                     ['F', 'M'][1 + i % 2] AS gender
              FROM range({rows}) AS t(i))
        TO '{file}' (FORMAT csv, HEADER true)""")


def run_child(name: str, file: Path, out: Path) -> dict:
    command = [sys.executable, __file__, "--child", name, "--file", str(file), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"the {name} run failed ({process.returncode}): {output}")
    return json.loads(output) | {"peak_mb": usage.ru_maxrss / 1024}


def child(name: str, file: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if name == "duckdb":
        import duckdb

        duckdb.execute(f"COPY (FROM read_csv('{file}')) TO '{out / 'out.parquet'}' (FORMAT parquet)")
    else:
        from campus.catalog import Dataset
        from campus.ingest.load import load
        from campus.ingest.source import open_source

        load(Dataset(**DATASET), [open_source(file)], out, os.urandom(32), action="add")
    print(json.dumps({"seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
