"""The Spark engine: the same statistics, bit for bit, on a Spark session (``local[*]`` by
default, or the master ``CAMPUS_SPARK_MASTER`` names).

Each statistic is written here deliberately, not translated from DuckDB's SQL: the cell
key's shares and the noise draws read the first 8 bytes of an MD5 digest little-endian
(`extractguard.noise.share`, `draw`) from Spark's hexadecimal ``md5``; the largest
contributions are a sorted list's head. The rest of a query is written in `CampusSpark`,
Spark's SQL with DuckDB's meaning. Datasets are read from their Parquet files (local
paths, or ``s3a://`` with the Hadoop S3A connector on the classpath) as global temporary
views, one per file list; each query has a session of its own for its checked cells.

Locked down in three layers. The analyser's allow-list and rewrite are what a
researcher's SQL passes; only the rewritten SQL is ever sent here. The session has no
SQL on files, an in-memory catalog and the campus's own settings, which
``CAMPUS_SPARK_CONF`` cannot change (`locked`). And every statement is checked again
before Spark sees it (`runnable`): one query, reading only this engine's views and the
query's own checked cells, calling only the functions the campus allows or writes itself.
A query's job group is cancelled from its deadline on, again every half second until it
returns; a session whose JVM died (out of memory, killed) is started anew for the next
query.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark

from ..errors import ConfigError, QueryRejected, QueryTimeout
from ..vocabulary.allowlist import ALLOWED_CLASSES
from ..vocabulary.casts import WHOLE, cast
from ..vocabulary.pseudonyms import DIGITS, INNER, OUTER
from . import Deadline, Limits, timed_out
from .duckdb import DuckDBEngine, hex_sha256, pseudonym_pad


LEFTOVERS = 20  # half-seconds a timed-out query's job group is cancelled again after it returned
GLOBAL = "global_temp"  # Spark's database of views every session of the engine reads
VIEWS: dict[str, tuple[str, ...]] = {}  # view name -> the Parquet files it reads (named by `scan`)

# What the campus writes beyond the researcher's allow-list: its statistics (the sorted
# largest contributions, the cell key: md5, conv, shiftrightunsigned, bit_xor), the
# pseudonyms of rows of people (sha2, unhex, encode), the series of a public domain, and
# Spark's names for allowed functions (CampusSpark: bround for round_even, weekday for
# isodow, ...).
WRITTEN = tuple(getattr(exp, name) for name in (
    "ArrayAgg", "ArraySlice", "ArraySort", "BitwiseXorAgg", "Explode", "GenerateSeries", "MD5", "TimeStrToTime",
    "EndsWith", "Minute", "Typeof", "SHA2", "Unhex", "Encode"))
WRITTEN_NAMES = {"conv", "shiftrightunsigned", "bround", "weekday", "make_date"}


class CampusSpark(Spark):
    """Spark's SQL written with the meaning the campus's SQL (DuckDB's) gives each construct.

    sqlglot's translation keeps Spark's own meaning where the two differ: `/` on decimals
    stays decimal, ``log(x)`` is natural, days of the week count from 1 or from Monday,
    names of days and months are abbreviated, a cast to an integer truncates. Here each is
    written as DuckDB means it (tests/test_spark.py holds every allowed function to
    DuckDB's answers); what has no faithful translation is refused with a reason.
    """

    class Generator(Spark.Generator):
        TRANSFORMS = {
            **Spark.Generator.TRANSFORMS,
            exp.Div: lambda self, e: f"{_as_double(self, e.this)} / {_as_double(self, e.expression)}",
            exp.Log: lambda self, e: (f"LOG({self.sql(e, 'this')}, {self.sql(e, 'expression')})" if e.expression
                                      else f"LOG10({self.sql(e, 'this')})"),
            exp.DayOfWeek: lambda self, e: _day_of_week(self, e.this, "dow"),
            exp.DayOfWeekIso: lambda self, e: _day_of_week(self, e.this, "isodow"),
            exp.Week: lambda self, e: f"WEEKOFYEAR({self.sql(e, 'this')})",
            exp.Dayname: lambda self, e: f"DATE_FORMAT({self.sql(e, 'this')}, 'EEEE')",
            exp.Monthname: lambda self, e: f"DATE_FORMAT({self.sql(e, 'this')}, 'MMMM')",
            exp.Extract: lambda self, e: _part(self, e.this.name, e.expression),
            exp.Anonymous: lambda self, e: _named(self, e),
            exp.IntDiv: lambda self, e: _refuse("`//` (integer division)", "floor(a / b)"),
            exp.Cast: lambda self, e: _cast(self, e),
            exp.DateAdd: lambda self, e: _shifted(self, e, "+"),
            exp.DateSub: lambda self, e: _shifted(self, e, "-"),
            exp.Trunc: lambda self, e: _truncated(self, e),
            exp.WithinGroup: lambda self, e: _percentile(self, e.this, e.expression),
            exp.PercentileCont: lambda self, e: _percentile(self, e, exp.Order(expressions=[e.this.copy()])),
            exp.PercentileDisc: lambda self, e: _percentile(self, e, exp.Order(expressions=[e.this.copy()])),
            exp.Quantile: lambda self, e: _percentile(self, exp.PercentileDisc(this=e.this, expression=e.args["quantile"]),
                                                      exp.Order(expressions=[e.this.copy()])),
            exp.Skewness: lambda self, e: _sample_moment(self, e.this, "skewness"),
            exp.Kurtosis: lambda self, e: _sample_moment(self, e.this, "kurtosis"),
        }


# A date part of DuckDB's EXTRACT and date_part as Spark computes it; any other is refused.
PARTS = {"year": "YEAR", "quarter": "QUARTER", "month": "MONTH", "week": "WEEK", "day": "DAY", "doy": "DOY",
         "dayofyear": "DOY", "hour": "HOUR", "minute": "MINUTE"}
INTEGERS = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT}


def _refuse(what: str, instead: str) -> str:
    raise QueryRejected(f"{what} is not available where the data is on the Spark engine; write {instead} instead")


def _as_double(generator, operand: exp.Expression) -> str:
    if isinstance(operand, exp.Div) or isinstance(operand, exp.Cast) and operand.to.this == exp.DataType.Type.DOUBLE:
        return generator.sql(operand)  # already a DOUBLE
    return generator.sql(exp.cast(operand.copy(), "DOUBLE"))


def _day_of_week(generator, value: exp.Expression, part: str) -> str:
    """DuckDB's dow counts Sunday as 0, isodow Monday as 1 (Spark's DAYOFWEEK: Sunday 1)."""
    day = generator.sql(value)
    return f"(DAYOFWEEK({day}) - 1)" if part == "dow" else f"(WEEKDAY({day}) + 1)"


def _part(generator, part: str, value: exp.Expression) -> str:
    part = part.lower()
    if part in ("dow", "isodow"):
        return _day_of_week(generator, value, part)
    if part == "yearweek":
        return f"(EXTRACT(YEAROFWEEK FROM {generator.sql(value)}) * 100 + WEEKOFYEAR({generator.sql(value)}))"
    if part not in PARTS:
        _refuse(f"the date part {part!r}", "one of " + ", ".join(sorted(PARTS | {"dow": 0, "isodow": 0})))
    return f"EXTRACT({PARTS[part]} FROM {generator.sql(value)})"


def _named(generator, call: exp.Anonymous) -> str:
    """DuckDB's functions sqlglot does not model (campus/vocabulary/allowlist.py: NAMED_FUNCTIONS)."""
    name, args = call.name.lower(), call.expressions
    if name in ("date_part", "datepart"):
        if not (isinstance(args[0], exp.Literal) and args[0].is_string):
            _refuse(f"{name} with a computed part", f"{name}('year', ...)")
        return _part(generator, args[0].name, args[1])
    if name == "yearweek":
        return _part(generator, "yearweek", args[0])
    if name == "round_even":
        return f"BROUND({', '.join(generator.sql(a) for a in args)})"
    return Spark.Generator.anonymous_sql(generator, call)


def _cast(generator, node: exp.Cast) -> str:
    """A cast to an integer rounds in DuckDB (half to even from DOUBLE, half away from zero
    from DECIMAL); Spark's truncates. Spark is told which by the value's type."""
    if node.to.this in INTEGERS and not isinstance(node.this, exp.Literal) and not node.meta.get(WHOLE):
        value, to = generator.sql(node, "this"), generator.sql(node, "to")
        return (f"CASE WHEN TYPEOF({value}) IN ('double', 'float') THEN CAST(BROUND({value}) AS {to}) "
                f"WHEN TYPEOF({value}) LIKE 'decimal%' THEN CAST(ROUND({value}) AS {to}) "
                f"ELSE CAST({value} AS {to}) END")  # Spark folds TYPEOF: one branch is left
    return Spark.Generator.cast_sql(generator, node)


def _shifted(generator, shift: exp.Expression, sign: str) -> str:
    """``date_add(d, INTERVAL n unit)`` as ``d + INTERVAL n unit``, which Spark takes for any unit."""
    by = shift.expression
    if not isinstance(by, exp.Interval):
        by = exp.Interval(this=exp.Literal.string(by.name if isinstance(by, exp.Literal) else by.sql()),
                          unit=exp.var((shift.unit.name if shift.unit is not None else "DAY").upper()))
        if not isinstance(shift.expression, exp.Literal):
            _refuse("a date shifted by a computed number", "d + INTERVAL 3 DAY")
    return f"({generator.sql(shift, 'this')} {sign} {generator.sql(by)})"


def _percentile(generator, kind: exp.Expression, order: exp.Order) -> str:
    """Exact percentiles, as ``PERCENTILE_CONT|DISC(q) WITHIN GROUP (ORDER BY ...)`` (sqlglot's
    translation would approximate them). DuckDB's quantile(x, q) is the discrete one."""
    q = kind.expression if kind.args.get("expression") is not None else kind.this
    if not isinstance(q, exp.Literal) or q.is_string:
        _refuse("a percentile of a computed or listed fraction", "percentile_cont(0.5) WITHIN GROUP (ORDER BY x)")
    name = "PERCENTILE_CONT" if isinstance(kind, exp.PercentileCont) else "PERCENTILE_DISC"
    return f"{name}({generator.sql(q)}) WITHIN GROUP ({generator.sql(order).strip()})"


def _sample_moment(generator, value: exp.Expression, moment: str) -> str:
    """DuckDB's skewness and kurtosis are the sample's (bias-corrected); Spark's the population's."""
    x, n = generator.sql(value), f"COUNT({generator.sql(value)})"
    if moment == "skewness":
        return f"(SKEWNESS({x}) * SQRT({n} * ({n} - 1)) / ({n} - 2))"
    return f"((({n} + 1) * KURTOSIS({x}) + 6) * ({n} - 1) / (({n} - 2) * ({n} - 3)))"


def _truncated(generator, trunc: exp.Trunc) -> str:
    """DuckDB's trunc(x[, digits]): toward zero, keeping `digits` decimals."""
    value = generator.sql(trunc, "this")
    if trunc.args.get("decimals") is None:
        return Spark.Generator.cast_sql(generator, exp.Cast(this=trunc.this.copy(), to=exp.DataType.build("BIGINT")))
    digits = generator.sql(trunc, "decimals")
    return f"CASE WHEN {value} >= 0 THEN FLOOR({value}, {digits}) ELSE CEIL({value}, {digits}) END"


def locked(limits: Limits, temp_dir: Path | None, local: bool) -> dict[str, str]:
    """The session settings the lockdown rests on; no pass-through setting may change them.
    A `local` session listens on loopback only."""
    return {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.runSQLOnFiles": "false",  # no `parquet.`/path`` reads from SQL
        "spark.sql.catalogImplementation": "in-memory",  # no Hive metastore, no warehouse folder
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",  # DuckDB's meaning of casts and overflow
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.memory": _jvm_size(limits.memory),
        **({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"} if local else {}),
        **({"spark.local.dir": str(temp_dir)} if temp_dir is not None else {}),
    }


def _jvm_size(size: str) -> str:
    """DuckDB's '4GB' as the JVM's '4g'."""
    number, unit = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", size.upper()).groups()
    return f"{number}{(unit or 'b').lower()}"


def runnable(sql: str, readable: set[str]) -> str:
    """`sql` if it is one query reading only `readable` tables (and its own CTEs), calling
    only functions the campus allows or writes; else a refusal. The last check before Spark."""
    try:
        statements = sqlglot.parse(sql, read="spark")
    except sqlglot.errors.SqlglotError:
        raise QueryRejected("the campus could not read back the SQL it wrote for Spark, so it was not run; "
                            "tell the campus admins") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise QueryRejected("the Spark engine runs one SELECT query at a time, and nothing else")
    tree = statements[0]
    own = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = f"{table.db}.{table.name}" if table.db else table.name
        if table.catalog or not isinstance(table.this, exp.Identifier) or name not in readable | own:
            raise QueryRejected(f"the Spark engine reads only the campus's datasets, not {table.sql('spark')}")
    for node in tree.walk():
        if isinstance(node, exp.Anonymous) and node.name.lower() not in WRITTEN_NAMES:
            raise QueryRejected(f"the Spark engine does not run {node.name}(...) for the campus")
        if isinstance(node, exp.Func) and not isinstance(node, exp.Anonymous) \
                and type(node) not in ALLOWED_CLASSES and not isinstance(node, WRITTEN):
            raise QueryRejected(f"the Spark engine does not run {node.key}(...) for the campus")
    return sql


def _le64(text: exp.Expression) -> exp.Expression:
    """The first 8 bytes of MD5(text), read little-endian, as a signed BIGINT."""
    digest = exp.func("md5", text)
    pairs = [exp.func("substr", digest.copy(), exp.Literal.number(i), exp.Literal.number(2)) for i in range(15, 0, -2)]
    swapped = exp.Anonymous(this="concat", expressions=pairs)
    number = exp.Anonymous(this="conv", expressions=[swapped, exp.Literal.number(16), exp.Literal.number(-10)])
    return cast(number, "BIGINT")


class SparkEngine:
    """A Spark session reading the dataset files as views, and nothing else."""

    name, dialect = "spark", "campusspark"  # CampusSpark, registered by sqlglot under its name

    def __init__(self, files: list[Path], limits: Limits = Limits(), temp_dir: Path | None = None,
                 master: str = "local[*]", conf: dict[str, str] | None = None):
        self.limits = limits
        self.files = {_spark_path(f) for f in files}
        lockdown = locked(limits, temp_dir, local=master.startswith("local"))
        overridden = sorted(set(conf or {}) & set(lockdown))
        if overridden:
            raise ConfigError(f"CAMPUS_SPARK_CONF may not set {', '.join(overridden)}: the Spark lockdown rests on it")
        self._settings = {"spark.master": master, "spark.app.name": "campus", **(conf or {}), **lockdown}
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        """A Spark session with the campus's settings, and no views yet."""
        from pyspark.sql import SparkSession

        builder = SparkSession.builder
        for key, value in self._settings.items():
            builder = builder.config(key, value)
        self.session = builder.getOrCreate()
        self.session.sparkContext.setLogLevel("FATAL")  # Spark logs every refusal with its stack; the campus
        logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)  # reports the reason itself
        self._made: set[str] = set()

    def _restart(self) -> None:
        """Start a new JVM and session after the old one died."""
        from pyspark import SparkContext
        from pyspark.sql import SparkSession

        try:
            self.session.stop()
        except Exception:  # the JVM is gone: stopping it only tidies the Python side
            pass
        SparkContext._gateway = SparkContext._jvm = SparkContext._active_spark_context = None
        SparkSession._instantiatedSession = SparkSession._activeSession = None
        self._start()

    @staticmethod
    def scan(files: list[Path]) -> exp.Expression:
        """The view over exactly these Parquet files, named by them (made when a cursor needs it).

        >>> SparkEngine.scan([Path("/d/a.parquet")]).sql("spark")
        'global_temp.__files_277283dda492da41'
        """
        key = tuple(str(f) for f in files)
        name = "__files_" + hashlib.sha256("\0".join(key).encode()).hexdigest()[:16]
        VIEWS[name] = key
        return exp.Table(this=exp.to_identifier(name), db=exp.to_identifier(GLOBAL))

    def _views_of(self, sql: str) -> set[str]:
        """The views `sql` reads, made once each over the files `scan` named it for; a
        refusal for files this engine does not hold."""
        names = set(re.findall(r"__files_[0-9a-f]{16}", sql))
        with self._lock:
            for name in names - self._made:
                files = [_spark_path(f) for f in VIEWS.get(name, ("?",))]
                if not set(files) <= self.files:
                    raise QueryRejected("the Spark engine reads only the files of the datasets it holds")
                try:
                    self.session.read.parquet(*files).createOrReplaceGlobalTempView(name)
                except Exception as e:
                    raise QueryRejected(unreadable(files, e)) from None
                self._made.add(name)
        return {f"{GLOBAL}.{name}" for name in names}

    @staticmethod
    def cell_key(entity: exp.Expression, rows: exp.Expression) -> exp.Expression:
        """`extractguard.noise.share` in Spark: MD5's first 8 bytes, little-endian, signed."""
        return _le64(exp.Anonymous(this="concat_ws", expressions=[exp.Literal.string(":"), entity, rows]))

    @staticmethod
    def draw(entity: exp.Expression, dataset: str) -> exp.Expression:
        """`extractguard.noise.draw` in Spark, the noise key bound as ``:noise_key``."""
        text = exp.Anonymous(this="concat_ws", expressions=[
            exp.Literal.string(":"), exp.Placeholder(this="noise_key"), exp.Literal.string(dataset), entity])
        bits = exp.Anonymous(this="shiftrightunsigned", expressions=[_le64(text), exp.Literal.number(11)])
        return exp.Div(this=exp.cast(bits, "DOUBLE"), expression=exp.Literal.number(1 << 53))

    @staticmethod
    def pseudonym(value: exp.Expression) -> exp.Expression:
        """`campus.vocabulary.pseudonyms.pseudonym` in Spark: ``left(sha2(concat(unhex(:pseudonym_outer),
        unhex(sha2(concat(unhex(:pseudonym_inner), encode(CAST(value AS STRING), 'UTF-8')), 256))), 256), 32)``."""
        text = exp.Encode(this=exp.cast(value, "STRING", copy=False), charset=exp.Literal.string("UTF-8"))
        inner = hex_sha256(exp.Concat(expressions=[pseudonym_pad(INNER), text]))
        outer = hex_sha256(exp.Concat(expressions=[pseudonym_pad(OUTER), exp.Unhex(this=inner)]))
        return exp.Left(this=outer, expression=exp.Literal.number(DIGITS))

    @staticmethod
    def typed(value: exp.Expression, campus_type: str) -> exp.Expression:
        """Cast to Spark's type for a DuckDB type: a TIMESTAMP (no time zone) is TIMESTAMP_NTZ."""
        spark_type = {"TIMESTAMP": "TIMESTAMP_NTZ", "VARCHAR": "STRING"}.get(campus_type, campus_type)
        return exp.cast(value, exp.DataType.build(spark_type, dialect="spark"), copy=False)

    @staticmethod
    def top(value: exp.Expression, n: int, where: exp.Expression | None = None) -> exp.Expression:
        """``slice(sort_array(collect_list(value) FILTER (WHERE where), false), 1, n)``: the n
        largest, largest first (the filter belongs to the aggregate: Spark refuses it on slice)."""
        values = exp.Anonymous(this="collect_list", expressions=[value])
        if where is not None:
            values = exp.Filter(this=values, expression=exp.Where(this=where))
        ordered = exp.Anonymous(this="sort_array", expressions=[values, exp.false()])
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
        with self._lock:
            if not alive(self.session):
                self._restart()
        yield Cursor(self.session.newSession(), self.limits, deadline or Deadline(self.limits.seconds), self._views_of)

    def close(self) -> None:
        self.session.stop()


class Cursor:
    """One query's work on a session of its own (its checked cells are its own views) and its
    own job group, cancelled at the deadline."""

    def __init__(self, session, limits: Limits, deadline: Deadline, views_of=lambda sql: set()):
        self._session, self._limits, self._deadline, self._views_of = session, limits, deadline, views_of
        self._group = f"campus-{uuid.uuid4().hex}"  # never reused, unlike id()
        self._registered: set[str] = set()

    def register(self, name: str, table: pa.Table) -> None:
        self._session.createDataFrame(table).createOrReplaceTempView(name)  # Arrow as it is: no pandas copy
        self._registered.add(name)

    def arrow(self, sql: str, *, quiet: bool = False, small: bool = False, parameters: dict | None = None) -> pa.Table:
        self._deadline()
        runnable(sql, self._views_of(sql) | self._registered)
        context = self._session.sparkContext
        context.setJobGroup(self._group, "a campus query", interruptOnCancel=True)
        done = threading.Event()

        def cancel_from_the_deadline_on() -> None:
            """Again and again, and for a while after the query gave up: jobs may start after
            a cancel (a broadcast's, on a thread of its own)."""
            if done.wait(max(self._deadline.remaining(), 0.0)):
                return
            while not done.wait(0.5):
                if not cancel():
                    return
            for _ in range(LEFTOVERS):
                if not cancel():
                    return
                time.sleep(0.5)

        def cancel() -> bool:
            """Cancel the query's jobs; False once the session is stopped (nothing is left to cancel)."""
            try:
                context.cancelJobGroup(self._group)
                return True
            except Exception:  # py4j's error for a stopped context, or a JVM gone
                return False

        alarm = threading.Thread(target=cancel_from_the_deadline_on, daemon=True)
        alarm.start()
        try:
            return self._session.sql(sql, args=parameters or None).toArrow()
        except Exception as e:  # Spark's errors are JVM exceptions wrapped in several classes
            if self._deadline.remaining() <= 0:
                raise QueryTimeout(timed_out(self._deadline.seconds)) from None
            if not alive(self._session):
                raise QueryRejected(
                    "the Spark engine stopped while running the query (out of memory, or killed); it starts again "
                    "for the next query: try again, and narrow the query if it happens again") from None
            if quiet:
                raise QueryRejected(
                    "the aggregate could not be computed; tell the campus admins if the query looks right") from None
            raise QueryRejected(f"Spark could not run the query: {reason_of(e)}") from None
        finally:
            done.set()


def unreadable(files: list[str], error: Exception) -> str:
    """Why Spark could not open a dataset's files, and what the admins can do."""
    first = reason_of(error)
    if any(f.startswith("s3a://") for f in files) and "S3AFileSystem" in first:
        return ("the Spark engine cannot read S3 here: the Hadoop S3A connector (hadoop-aws and the AWS SDK bundle "
                "of Spark's Hadoop version) must be on Spark's classpath; tell the campus admins")
    return f"the Spark engine could not read the dataset's files ({first}); tell the campus admins"


def reason_of(error: Exception) -> str:
    """The first line of what Spark said: the Java exception's own, not py4j's wrapper."""
    java = getattr(error, "java_exception", None)
    text = str(java.toString()) if java is not None else str(error)
    return (text.strip().splitlines() or [type(error).__name__])[0][:300]


def alive(session) -> bool:
    """Whether the session's JVM still answers."""
    try:
        return not session.sparkContext._jsc.sc().isStopped()
    except Exception:  # py4j cannot reach the JVM
        return False


def _spark_path(file) -> str:
    """A dataset file as Spark reads it: s3:// through the S3A connector, else the local path."""
    text = str(file)
    return "s3a://" + text[len("s3://"):] if text.startswith("s3://") else text
