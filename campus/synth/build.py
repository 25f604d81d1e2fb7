"""Build the demo data: every month of every dataset as Parquet, the same bytes for the same seed.

The layout is the catalog's: ``<out>/<source>/month=2025-01/part-0.parquet`` for the 12
months of 2025, and beside the datasets the manifest ``<out>/_build.json``::

    {"datasets": {"card_usage": {"generator": "1", "seed": 42, "scale": 1.0, "rows": 1000412,
                                 "writer": "pyarrow 26.0.1",
                                 "files": {"month=2025-01/part-0.parquet":
                                           {"rows": 81234, "bytes": 1923456, "sha256": "..."}}}}}

The rule for rebuilding: a dataset is built again when its seed, scale or generator
version differ from the manifest's, or one of its files is missing or has changed size;
otherwise it is left alone, so a second build with the same arguments returns at once.
A dataset is written into a hidden sibling folder and renamed into place, and the
manifest forgets it before and records it after, so an interrupted build never leaves a
half dataset that the manifest calls complete.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from ..catalog import Catalog, Dataset
from . import air_quality, card_usage, sales_by_location
from ..errors import BuildError
from .partition import MONTHS, ROW_GROUP_ROWS, Month
from ..storage import arrow_schema, sha256_of, writer_options

VERSION = "1"  # bump whenever the same seed and scale would give different data
MANIFEST = "_build.json"
MAX_SCALE = 1000
WORKERS = min(2, os.cpu_count() or 1)  # months written at once; memory grows with it
class Recipe(Protocol):
    """A dataset's generator: what lasts the year, then each month from it."""

    DATASET: int  # the dataset's place in the seed

    def population(self, seed: int, scale: float) -> Any: ...

    def partition(self, schema: pa.Schema, population: Any, month: Month) -> Iterator[pa.Table]: ...


RECIPES: dict[str, Recipe] = {
    "card_usage": card_usage,
    "sales_by_location": sales_by_location,
    "air_quality": air_quality,
}

Progress = Callable[[int, int, str], None]
"""Called after each partition with (partitions done, partitions to build, what was just written)."""


@dataclass
class Built:
    """What a build did: the datasets it wrote, those already up to date, those it cannot make."""

    out_dir: Path
    seed: int
    scale: float
    written: dict[str, int] = field(default_factory=dict)  # dataset -> rows
    up_to_date: dict[str, int] = field(default_factory=dict)
    not_generated: list[str] = field(default_factory=list)  # in the catalog, but no recipe


def build(
    catalog: Catalog,
    out_dir: Path,
    scale: float = 1.0,
    seed: int = 42,
    progress: Progress | None = None,
    only: str | None = None,
) -> Built:
    """Write the datasets of `catalog` (or just `only`) under `out_dir`, skipping those already built."""
    _check_arguments(seed, scale)
    out_dir, scale = Path(out_dir), float(scale)
    datasets, not_generated = _chosen(catalog, only)
    result = Built(out_dir, seed, scale, not_generated=not_generated)
    with _sole_builder(out_dir):
        manifest = _read_manifest(out_dir)
        stale = [d for d in datasets if not _is_current(manifest.get(d.name), _location(d, out_dir), seed, scale)]
        result.up_to_date = {d.name: manifest[d.name]["rows"] for d in datasets if d not in stale}
        tick = _counter(progress, total=len(stale) * len(MONTHS))
        for dataset in stale:
            result.written[dataset.name] = _replace_dataset(dataset, out_dir, manifest, seed, scale, tick)
    return result


def _replace_dataset(
    dataset: Dataset, out_dir: Path, manifest: dict, seed: int, scale: float, tick: Callable[[str], None]
) -> int:
    """Build one dataset in place of the old, the manifest forgetting it meanwhile; its rows."""
    manifest.pop(dataset.name, None)
    _write_manifest(out_dir, manifest)
    files = _build_dataset(dataset, _location(dataset, out_dir), seed, scale, tick)
    rows = sum(f["rows"] for f in files.values())
    manifest[dataset.name] = {
        "generator": VERSION, "seed": seed, "scale": scale, "rows": rows, "writer": f"pyarrow {pa.__version__}",
        "files": files,
    }
    _write_manifest(out_dir, manifest)
    return rows


def _counter(progress: Progress | None, total: int) -> Callable[[str], None]:
    """A `tick(what)` to call after each partition; it reports to `progress`."""
    done = 0

    def tick(what: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, what)

    return tick


@contextmanager
def _sole_builder(out_dir: Path) -> Iterator[None]:
    """Hold the folder's build lock: two builds writing one folder would mix their files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".build.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(
                f"another build is writing to {out_dir}; wait for it to finish, or build elsewhere with --out"
            ) from None
        yield


def _check_arguments(seed: int, scale: float) -> None:
    if not isinstance(seed, int) or seed < 0:
        raise BuildError(f"seed {seed!r} is not a whole number >= 0; pick one such as 42")
    if not (isinstance(scale, int | float) and math.isfinite(scale) and 0 < scale <= MAX_SCALE):
        raise BuildError(
            f"scale {scale!r} is out of range; use a number above 0 and at most {MAX_SCALE}"
            " (1 = one million card transactions)"
        )


def _chosen(catalog: Catalog, only: str | None) -> tuple[list[Dataset], list[str]]:
    """The datasets to build, and the catalog's datasets that have no recipe."""
    if only is not None:
        if only not in catalog.datasets:
            raise BuildError(f"no dataset {only!r}; the catalog has: {', '.join(sorted(catalog.datasets))}")
        if only not in RECIPES:
            raise BuildError(
                f"there is no synthetic recipe for {only!r}; put its Parquet in place yourself, "
                f"or build one of: {', '.join(sorted(RECIPES))}"
            )
        return [catalog[only]], []
    datasets = [d for d in catalog if d.name in RECIPES]
    return datasets, sorted(d.name for d in catalog if d.name not in RECIPES)


def _location(dataset: Dataset, out_dir: Path) -> Path:
    where = dataset.location(out_dir)
    if isinstance(where, str):
        raise BuildError(f"{dataset.name} lives at {where}; build it into a local folder with --out and upload it")
    return where


def _is_current(entry: dict | None, location: Path, seed: int, scale: float) -> bool:
    """Whether the manifest's entry is for this seed, scale and version, and every file is still there."""
    if not entry or (entry.get("generator"), entry.get("seed"), entry.get("scale")) != (VERSION, seed, scale):
        return False
    files = entry.get("files", {})
    return len(files) == len(MONTHS) and all(
        (location / name).is_file() and (location / name).stat().st_size == meta["bytes"]
        for name, meta in files.items()
    )


def _build_dataset(dataset: Dataset, location: Path, seed: int, scale: float, tick: Callable[[str], None]) -> dict:
    """Write every month into a hidden sibling folder, then swap it into `location`; the files written.

    Months are written by `WORKERS` threads (numpy and the Parquet writer release the
    GIL); each month is its own file from its own random stream, so the bytes do not
    depend on the order. If anything fails, or the user interrupts, the months not yet
    started are cancelled and the hidden folder removed.
    """
    recipe = RECIPES[dataset.name]
    schema = arrow_schema(dataset)
    options = writer_options(dataset)
    staging = location.with_name(f".{location.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    population = recipe.population(seed, scale)

    def write(month: Month) -> tuple[str, int]:
        name = f"month={month.label}/part-0.parquet"
        return name, _write_parquet(staging / name, schema, recipe.partition(schema, population, month), options)

    files = {}
    pool = ThreadPoolExecutor(WORKERS)
    try:
        for name, rows in pool.map(write, MONTHS):
            files[name] = {"rows": rows, "bytes": (staging / name).stat().st_size, "sha256": sha256_of(staging / name)}
            tick(f"{dataset.name} {name.split('/')[0]}: {rows:,} rows")
        _swap_into_place(staging, location)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(staging, ignore_errors=True)
    return files


def _write_parquet(path: Path, schema: pa.Schema, tables: Iterable[pa.Table], options: dict) -> int:
    """Write the tables as one Parquet file; the number of rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with pq.ParquetWriter(path, schema, **options) as writer:
        for chunk in tables:
            writer.write_table(chunk, row_group_size=ROW_GROUP_ROWS)
            rows += chunk.num_rows
            del chunk  # else it stays alive while the next chunk is made
    return rows


def _swap_into_place(staging: Path, location: Path) -> None:
    old = location.with_name(f".{location.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if location.exists():
        location.rename(old)
    staging.rename(location)
    shutil.rmtree(old, ignore_errors=True)


def _read_manifest(out_dir: Path) -> dict:
    try:
        return json.loads((out_dir / MANIFEST).read_text())["datasets"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        return {}


def _write_manifest(out_dir: Path, datasets: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps({"datasets": datasets}, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, out_dir / MANIFEST)
