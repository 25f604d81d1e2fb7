"""The Spark engine: the same statistics, bit for bit, on a Spark session (``local[*]`` by
default, or the master ``CAMPUS_SPARK_MASTER`` names).

Each statistic is written here deliberately, not translated from DuckDB's SQL: the cell
key's shares and the noise draws read the first 8 bytes of an MD5 digest little-endian
(`extractguard.noise.share`, `draw`) from Spark's hexadecimal ``md5``; the largest
contributions are a sorted list's head. Datasets are read from their Parquet files as
temporary views, one per file list.

A query's job group is cancelled from its deadline on, again every half second until it
returns (a job may start after one cancel). A first cut, not yet for production: the
session only refuses SQL on files; the analyser's rewrite is what keeps a researcher's SQL
from naming files or settings.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
from sqlglot import exp

from ..errors import QueryRejected, QueryTimeout
from . import Deadline, Limits, timed_out
from .duckdb import DuckDBEngine


VIEWS: dict[str, tuple[str, ...]] = {}  # view name -> the Parquet files it reads (named by `scan`)


def _le64(text: exp.Expression) -> exp.Expression:
    """The first 8 bytes of MD5(text), read little-endian, as a signed BIGINT."""
    digest = exp.func("md5", text)
    pairs = [exp.func("substr", digest.copy(), exp.Literal.number(i), exp.Literal.number(2)) for i in range(15, 0, -2)]
    swapped = exp.Anonymous(this="concat", expressions=pairs)
    number = exp.Anonymous(this="conv", expressions=[swapped, exp.Literal.number(16), exp.Literal.number(-10)])
    return exp.cast(number, "BIGINT")


class SparkEngine:
    """A Spark session reading the dataset files as views, and nothing else."""

    name = dialect = "spark"

    def __init__(self, files: list[Path], limits: Limits = Limits(), temp_dir: Path | None = None,
                 master: str = "local[*]", conf: dict[str, str] | None = None):
        from pyspark.sql import SparkSession

        self.limits = limits
        builder = (SparkSession.builder.master(master).appName("campus")
                   .config("spark.ui.enabled", "false")
                   .config("spark.sql.runSQLOnFiles", "false")  # no `parquet.`/path`` reads from SQL
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.sql.ansi.enabled", "false")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
        if temp_dir is not None:
            builder = builder.config("spark.local.dir", str(temp_dir))
        for key, value in (conf or {}).items():
            builder = builder.config(key, value)
        self.session = builder.getOrCreate()
        self._made: set[str] = set()
        self._lock = threading.Lock()

    @staticmethod
    def scan(files: list[Path]) -> exp.Expression:
        """The view over exactly these Parquet files, named by them (made when a cursor needs it).

        >>> SparkEngine.scan([Path("/d/a.parquet")]).sql("spark")
        '__files_277283dda492da41'
        """
        key = tuple(str(f) for f in files)
        name = "__files_" + hashlib.sha256("\0".join(key).encode()).hexdigest()[:16]
        VIEWS[name] = key
        return exp.Table(this=exp.to_identifier(name))

    def _views_of(self, sql: str) -> None:
        """Make the views `sql` reads (each over the files `scan` named it for), once."""
        with self._lock:
            for name in set(re.findall(r"__files_[0-9a-f]{16}", sql)) - self._made:
                self.session.read.parquet(*VIEWS[name]).createOrReplaceTempView(name)
                self._made.add(name)

    @staticmethod
    def cell_key(entity: exp.Expression, rows: exp.Expression) -> exp.Expression:
        """`extractguard.noise.share` in Spark: MD5's first 8 bytes, little-endian, signed."""
        return _le64(exp.Anonymous(this="concat_ws", expressions=[exp.Literal.string(":"), entity, rows]))

    @staticmethod
    def draw(entity: exp.Expression, column: str) -> exp.Expression:
        """`extractguard.noise.draw` in Spark, the noise key bound as ``:noise_key``."""
        text = exp.Anonymous(this="concat_ws", expressions=[
            exp.Literal.string(":"), exp.Placeholder(this="noise_key"), exp.Literal.string(column), entity])
        bits = exp.Anonymous(this="shiftrightunsigned", expressions=[_le64(text), exp.Literal.number(11)])
        return exp.Div(this=exp.cast(bits, "DOUBLE"), expression=exp.Literal.number(1 << 53))

    @staticmethod
    def typed(value: exp.Expression, campus_type: str) -> exp.Expression:
        """Cast to Spark's type for a DuckDB type: a TIMESTAMP (no time zone) is TIMESTAMP_NTZ."""
        spark_type = {"TIMESTAMP": "TIMESTAMP_NTZ", "VARCHAR": "STRING"}.get(campus_type, campus_type)
        return exp.cast(value, exp.DataType.build(spark_type, dialect="spark"), copy=False)

    @staticmethod
    def top(value: exp.Expression, n: int) -> exp.Expression:
        """``slice(sort_array(collect_list(value), false), 1, n)``: the n largest, largest first."""
        ordered = exp.Anonymous(this="sort_array", expressions=[exp.Anonymous(this="collect_list", expressions=[value]),
                                                                 exp.false()])
        return exp.Anonymous(this="slice", expressions=[ordered, exp.Literal.number(1), exp.Literal.number(n)])

    @staticmethod
    def series(first, last, step: str, name: str, type_: str) -> exp.Expression:
        """``SELECT CAST(col AS type) AS name FROM explode(sequence(first, last, interval))``."""
        if step == "one":
            bounds = f"sequence({int(first)}, {int(last)})"
        elif step == "hour":
            end = datetime.datetime.combine(last, datetime.time(23)).isoformat(sep=" ")
            bounds = f"sequence(TIMESTAMP '{first.isoformat()} 00:00:00', TIMESTAMP '{end}', INTERVAL 1 HOUR)"
        else:
            bounds = f"sequence(DATE '{first.isoformat()}', DATE '{last.isoformat()}', INTERVAL 1 {step.upper()})"
        return exp.Subquery(
            this=exp.maybe_parse(f"SELECT CAST(v AS {type_}) AS {name} FROM (SELECT explode({bounds}) AS v)",
                                 dialect="spark"),
            alias=exp.TableAlias(this=exp.to_identifier("__domain")),
        )

    data_version = staticmethod(DuckDBEngine.data_version)  # local files: names, sizes and times

    @contextmanager
    def cursor(self, deadline: Deadline | None = None):
        yield Cursor(self.session, self.limits, deadline or Deadline(self.limits.seconds), self._views_of)

    def close(self) -> None:
        self.session.stop()


class Cursor:
    """One query's work on the session: its own job group, cancelled at the deadline."""

    def __init__(self, session, limits: Limits, deadline: Deadline, views_of=lambda sql: None):
        self._session, self._limits, self._deadline, self._views_of = session, limits, deadline, views_of
        self._group = f"campus-{id(self)}"

    def register(self, name: str, table: pa.Table) -> None:
        self._session.createDataFrame(table).createOrReplaceTempView(name)  # Arrow as it is: no pandas copy

    def arrow(self, sql: str, *, quiet: bool = False, small: bool = False, parameters: dict | None = None) -> pa.Table:
        self._deadline()
        self._views_of(sql)
        context = self._session.sparkContext
        context.setJobGroup(self._group, "a campus query", interruptOnCancel=True)
        done = threading.Event()

        def cancel_from_the_deadline_on() -> None:  # again and again: jobs may start after a cancel
            if not done.wait(max(self._deadline.remaining(), 0.0)):
                while not done.wait(0.5):
                    context.cancelJobGroup(self._group)

        alarm = threading.Thread(target=cancel_from_the_deadline_on, daemon=True)
        alarm.start()
        try:
            return self._session.sql(sql, args=parameters or None).toArrow()
        except Exception as e:  # Spark's errors are JVM exceptions wrapped in several classes
            if self._deadline.remaining() <= 0:
                raise QueryTimeout(timed_out(self._deadline.seconds)) from None
            if quiet:
                raise QueryRejected(
                    "the aggregate could not be computed; tell the campus admins if the query looks right") from None
            raise QueryRejected(f"Spark could not run the query: {str(e).splitlines()[0][:300]}") from None
        finally:
            done.set()
