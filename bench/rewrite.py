"""What the airlock's rewrite costs per megabyte: every exported file is written anew.

    .venv/bin/python bench/rewrite.py [--megabytes 8] [--repeat 3]

Builds a table of counts by district and month (as CSV and as Parquet with metadata and
many row groups) and a PNG of noise (so it does not compress: its bytes are its pixels),
each of about `--megabytes` MB, and times `checks.written_anew` on each (read, formulas
neutralised, written by the campus's writer; for an image, decoded and encoded from its
pixels) and `checks.check_file` (the rewrite, the rules on what it wrote), the best of
`--repeat` runs. Prints one line a kind: its megabytes, seconds and MB/s, and for a table
its rows a second (a Parquet file's megabytes are compressed: its rows are the CSV's).
"""

from __future__ import annotations

import argparse
import io
import os
import time

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from PIL import Image

from campus.airlock.checks import OutputRules, check_file, kind_of, written_anew

MB = 1 << 20


def table(megabytes: float) -> pa.Table:
    """Counts by district, month and category, about `megabytes` MB as CSV (some 24 bytes a row)."""
    rows = min(int(megabytes * MB / 24), OutputRules().max_rows * 100)
    return pa.table({"district": [f"district-{i // 120 % 424}" for i in range(rows)],
                     "month": [i % 12 + 1 for i in range(rows)], "category": [f"c{i // 12 % 10}" for i in range(rows)],
                     "cards": [20 + 5 * (i % 97) for i in range(rows)]})


def files(megabytes: float) -> dict[str, bytes]:
    whole = table(megabytes)
    csv, parquet, png = io.BytesIO(), io.BytesIO(), io.BytesIO()
    pa_csv.write_csv(whole, csv)
    pq.write_table(whole.replace_schema_metadata({"note": "x" * 1000}), parquet, row_group_size=10_000)
    side = int((megabytes * MB / 3) ** 0.5)
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(png, "PNG")
    return {"table.csv": csv.getvalue(), "table.parquet": parquet.getvalue(), "figure.png": png.getvalue()}


def best(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rules = OutputRules(max_rows=10**9)  # the bench times the rewrite beyond what the airlock takes
    rows = table(args.megabytes).num_rows
    print(f"{'file':<16}{'MB':>8}{'rewrite s':>11}{'MB/s':>9}{'checked s':>11}{'MB/s':>9}{'rows/s':>12}")
    for name, content in files(args.megabytes).items():
        size = len(content) / MB
        rewrite = best(args.repeat, lambda: written_anew(kind_of(name), name, content, rules))
        checked = best(args.repeat, lambda: check_file(name, content, rules))
        per_second = f"{rows / rewrite:>12,.0f}" if name.startswith("table") else f"{'-':>12}"
        print(f"{name:<16}{size:>8.2f}{rewrite:>11.3f}{size / rewrite:>9.1f}{checked:>11.3f}{size / checked:>9.1f}"
              f"{per_second}")


if __name__ == "__main__":
    main()
