"""Engines: what reads the data. The gateway knows an engine only through `Engine`.

An engine is one module here: it says its SQL dialect, how a dataset's files are read
(`scan`), the per-entity cell key and the largest contributions the statistics need
(`cell_key`, `top`), an identifier as its project's pseudonym in rows of people
(`pseudonym`), how a public domain's series of values is written (`series`), what
version of a dataset's files it reads (`data_version`, for an export's provenance), and
it runs SQL locked down to the dataset files, with one deadline per query, taking the
checked cells back as Arrow (`cursor`). A dataset's catalog entry names the engine that
holds it (`engine:`); ``CAMPUS_ENGINE`` is the campus's own, for the rest.

>>> open_engine("oracle", [], Limits())
Traceback (most recent call last):
campus.errors.ConfigError: CAMPUS_ENGINE=oracle is not an engine of the campus; choose one of: duckdb, spark
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Protocol

import pyarrow as pa
from sqlglot import exp

from ..errors import ConfigError, QueryTimeout

ENGINES = {"duckdb": "campus.engines.duckdb:DuckDBEngine", "spark": "campus.engines.spark:SparkEngine"}


@dataclass(frozen=True)
class Limits:
    seconds: float = 120.0
    memory: str = "4GB"
    temp_space: str = "8GB"
    threads: int = 2


class Deadline:
    """One time limit over the whole query: analysis, statistics, the guard and the rest.

    Called, it raises `QueryTimeout` once the time is up (the guard calls it between
    steps); an engine's cursor given it cancels the engine's work at the deadline.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def __call__(self) -> None:
        if self.remaining() <= 0:
            raise QueryTimeout(timed_out(self.seconds))


def timed_out(seconds: float) -> str:
    return (
        f"the query ran over the {seconds:g} s limit and was cancelled; narrow it (fewer months, fewer groups) "
        "or aggregate in steps"
    )


class Cursor(Protocol):
    def arrow(self, sql: str, *, quiet: bool = False, small: bool = False, parameters: dict | None = None) -> pa.Table:
        """Run `sql` (the engine's dialect) with its bound `parameters`; a refusal with a
        reason, never internals."""

    def register(self, name: str, table: pa.Table) -> None:
        """Make `table` (checked cells) readable by the rest of this query under `name`."""


class Engine(Protocol):
    name: str
    dialect: str  # sqlglot's name for the engine's SQL
    limits: Limits

    def scan(self, files: list[Path]) -> exp.Expression:
        """A table expression reading exactly these Parquet files."""

    def cell_key(self, entity: exp.Expression, rows: exp.Expression) -> exp.Expression:
        """One entity's share of a cell key, bit-for-bit `extractguard.noise.share` (the
        cell's key is the XOR of the shares), so every engine gives a cell the same noise."""

    def draw(self, entity: exp.Expression, dataset: str) -> exp.Expression:
        """An entity's secret number in [0, 1) in `dataset` (one for all its measures there),
        bit-for-bit `extractguard.noise.draw` with the noise key as the bound parameter ``noise_key``."""

    def pseudonym(self, value: exp.Expression) -> exp.Expression:
        """An identifier as its project's pseudonym, bit-for-bit `campus.vocabulary.pseudonyms.pseudonym`
        with the key's HMAC pads as the bound parameters ``pseudonym_inner`` and ``pseudonym_outer``."""

    def typed(self, value: exp.Expression, campus_type: str) -> exp.Expression:
        """`value` cast to the engine's type for a type of the campus's SQL (DuckDB's names)."""

    def top(self, value: exp.Expression, n: int, where: exp.Expression | None = None) -> exp.Expression:
        """The `n` largest values of a cell (of its rows `where` holds), largest first, as a list."""

    def series(self, first, last, step: str, name: str, type_: str) -> exp.Expression:
        """A one-column table `name` of `type_`: `first` to `last` by `step` (hour, day, one)."""

    def data_version(self, files: list[Path]) -> str:
        """A fingerprint of the files as the engine would read them now."""

    def cursor(self, deadline: Deadline | None = None) -> AbstractContextManager[Cursor]:
        """A cursor for one query, cancelled at `deadline`."""

    def close(self) -> None: ...


def open_engine(name: str, files: list[Path], limits: Limits, temp_dir: Path | None = None, **options) -> Engine:
    """The engine `name` over the dataset files (`options` are its own settings, such as
    Spark's master); a ConfigError naming the choices if unknown."""
    if name not in ENGINES:
        raise ConfigError(f"CAMPUS_ENGINE={name} is not an engine of the campus; choose one of: "
                          f"{', '.join(sorted(ENGINES))}")
    module, _, cls = ENGINES[name].partition(":")
    return getattr(import_module(module), cls)(files, limits, temp_dir=temp_dir, **options)
