"""How fast the demo data builds, and in how much memory.

    .venv/bin/python bench/datasets.py [--scales 1 10] [--out DIR] [--seed 42]

Each dataset at each scale is built fresh, in its own subprocess, so its peak memory
(maximum resident set, interpreter and libraries included) is its own. Prints wall and
CPU seconds (CPU above wall means the two build threads overlapped; below, that other
work shared the machine), rows per second, peak MB and the size on disk per dataset,
and overall per scale. Scale 100
(about 100 million card transactions) runs only when asked: ``--scales 100``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATASETS = ("card_usage", "sales_by_location", "air_quality")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10], help="scale factors (default: 1 10)")
    parser.add_argument("--out", type=Path, help="folder to build in (a fresh temporary folder inside it is used)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return measure_one(args.out, args.scales[0], args.seed, args.only)
    print(f"{'scale':>6} {'dataset':<18} {'rows':>12} {'seconds':>8} {'cpu s':>7} {'rows/s':>11} {'peak MB':>8} {'disk MB':>8}")
    for scale in args.scales:
        bench_scale(scale, args.seed, args.out)


def bench_scale(scale: float, seed: int, out: Path | None) -> None:
    """Build every dataset at `scale` into a fresh folder, one subprocess each, and print the figures."""
    if out:
        out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"campus-bench-sf{scale:g}-", dir=out))
    try:
        results = [run_child(folder, scale, seed, name) for name in DATASETS]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for r in results:
        print_row(scale, **r)
    total = {key: sum(r[key] for r in results) for key in ("rows", "seconds", "cpu", "disk_mb")}
    print_row(scale, "all", **total, peak_mb=max(r["peak_mb"] for r in results))


def run_child(folder: Path, scale: float, seed: int, name: str) -> dict:
    command = [sys.executable, __file__, "--child", "--out", str(folder), "--scales", str(scale),
               "--seed", str(seed), "--only", name]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_one(folder: Path, scale: float, seed: int, name: str) -> None:
    """In the subprocess: build one dataset and print its figures as JSON."""
    from campus import catalog
    from campus.settings import Settings
    from campus.synth import build

    cat = catalog.load(Settings().catalog_path)
    start, cpu = time.perf_counter(), _cpu_seconds()
    built = build(cat, folder, scale=scale, seed=seed, only=name)
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    disk = sum(f.stat().st_size for f in (folder / cat[name].source).rglob("*.parquet"))
    print(json.dumps({
        "dataset": name,
        "rows": built.written[name],
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KB on Linux
        "disk_mb": disk / 2**20,
    }))


def print_row(scale: float, dataset: str, rows: int, seconds: float, cpu: float, peak_mb: float, disk_mb: float) -> None:
    figures = f"{rows:>12,} {seconds:>8.2f} {cpu:>7.2f} {rows / seconds:>11,.0f} {peak_mb:>8.0f} {disk_mb:>8.1f}"
    print(f"{scale:>6g} {dataset:<18} {figures}", flush=True)


def _cpu_seconds() -> float:
    """CPU time of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
