"""The DuckDB engine: one locked-down DuckDB per process, a cursor per query.

Locked down as the DuckDB security guide says: only the exact dataset files are
readable (``allowed_paths``), then external access is switched off, extensions are
neither installed nor loaded automatically, time, memory and temp-space limits are set,
and the configuration is locked so no query can undo any of it.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import tempfile
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlglot import exp

from ..errors import QueryRejected, QueryTimeout
from ..vocabulary.pseudonyms import DIGITS, INNER, OUTER
from . import Deadline, Limits, timed_out

# `Cursor.arrow(small=True)` fetches through the DB-API on purpose, and DuckDB warns that
# this copies the rows. Filtered here for the process (thread-safe), and again around the
# call for test runners that reset the filters after importing this module.
COPY_WARNING = "Arrow output on a DB-API result"
warnings.filterwarnings("ignore", COPY_WARNING, UserWarning, r"campus\.engines\.duckdb")


class DuckDBEngine:
    """The campus's DuckDB: reads the dataset files and nothing else."""

    name = dialect = "duckdb"

    def __init__(self, files: list[Path], limits: Limits = Limits(), temp_dir: Path | None = None):
        self.limits = limits
        self._temp = Path(temp_dir or tempfile.mkdtemp(prefix="campus-duckdb-"))
        self._db = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        self._lock = threading.Lock()
        paths = ", ".join(f"'{_quoted(Path(f).resolve())}'" for f in files)
        for statement in (
            f"SET temp_directory = '{_quoted(self._temp)}'",
            f"SET allowed_paths = [{paths}]",
            "SET enable_external_access = false",
            f"SET GLOBAL max_execution_time = {int(limits.seconds * 1000)}",
            f"SET memory_limit = '{limits.memory}'",
            f"SET max_temp_directory_size = '{limits.temp_space}'",
            f"SET threads = {limits.threads}",
            "SET lock_configuration = true",
        ):
            self._db.execute(statement)

    @contextmanager
    def cursor(self, deadline: Deadline | None = None):
        """A cursor of its own for one query (DuckDB connections are not thread-safe),
        interrupted at the `deadline` (the limit's seconds from now by default)."""
        with self._lock:
            cursor = self._db.cursor()
        try:
            yield Cursor(cursor, self.limits, deadline or Deadline(self.limits.seconds))
        finally:
            cursor.close()

    def close(self) -> None:
        self._db.close()

    # --- SQL as DuckDB writes it (used by the rewrite; no connection needed) -------------

    @staticmethod
    def scan(files: list[Path]) -> exp.Expression:
        """``read_parquet([...], hive_partitioning = false)`` as a table.

        >>> DuckDBEngine.scan([Path("/d/a.parquet")]).sql("duckdb")
        "READ_PARQUET(['/d/a.parquet'], hive_partitioning = FALSE)"
        """
        reader = exp.Anonymous(this="read_parquet", expressions=[
            exp.Array(expressions=[exp.Literal.string(str(f)) for f in files]),
            exp.EQ(this=exp.column("hive_partitioning"), expression=exp.false()),
        ])
        return exp.Table(this=reader)

    @staticmethod
    def cell_key(entity: exp.Expression, rows: exp.Expression) -> exp.Expression:
        """``md5_number_upper(concat_ws(':', entity, rows))``: DuckDB reads the digest's
        first 8 bytes little-endian, as `extractguard.noise.share` defines the share."""
        text = exp.Anonymous(this="concat_ws", expressions=[exp.Literal.string(":"), entity, rows])  # NULL skipped
        return exp.func("md5_number_upper", text, copy=False)

    @staticmethod
    def draw(entity: exp.Expression, dataset: str) -> exp.Expression:
        """``CAST(md5_number_upper(concat_ws(':', $noise_key, dataset, entity)) >> 11 AS DOUBLE) / 2**53``."""
        text = exp.Anonymous(this="concat_ws", expressions=[
            exp.Literal.string(":"), exp.Placeholder(this="noise_key"), exp.Literal.string(dataset), entity])
        bits = exp.BitwiseRightShift(this=exp.func("md5_number_upper", text, copy=False), expression=exp.Literal.number(11))
        return exp.Div(this=exp.cast(bits, "DOUBLE", copy=False), expression=exp.Literal.number(1 << 53))

    @staticmethod
    def pseudonym(value: exp.Expression) -> exp.Expression:
        """HMAC-SHA256 of the value's text from the key's pads (`campus.vocabulary.pseudonyms`):
        ``left(sha256(unhex($pseudonym_outer) || unhex(sha256(unhex($pseudonym_inner) ||
        encode(CAST(value AS VARCHAR))))), 32)``. ``encode`` takes the text's UTF-8 bytes as
        they are (a cast to BLOB would read escapes such as ``\\x00``).

        >>> DuckDBEngine.pseudonym(exp.column("card_id")).sql("duckdb")
        'LEFT(SHA256(UNHEX($pseudonym_outer) || UNHEX(SHA256(UNHEX($pseudonym_inner) || ENCODE(CAST(card_id AS TEXT))))), 32)'
        """
        text = exp.Encode(this=exp.cast(value, "VARCHAR", copy=False), charset=exp.Literal.string("UTF-8"))
        inner = hex_sha256(exp.DPipe(this=pseudonym_pad(INNER), expression=text, safe=True))
        outer = hex_sha256(exp.DPipe(this=pseudonym_pad(OUTER), expression=exp.Unhex(this=inner), safe=True))
        return exp.Left(this=outer, expression=exp.Literal.number(DIGITS))

    @staticmethod
    def typed(value: exp.Expression, campus_type: str) -> exp.Expression:
        """The campus's SQL is DuckDB's: its types are already these."""
        return exp.cast(value, exp.DataType.build(campus_type, dialect="duckdb"), copy=False)

    @staticmethod
    def top(value: exp.Expression, n: int, where: exp.Expression | None = None) -> exp.Expression:
        """``max(value, n) FILTER (WHERE where)``: DuckDB's list of the n largest, largest first."""
        largest = exp.Max(this=value, count=exp.Literal.number(n))
        return largest if where is None else exp.Filter(this=largest, expression=exp.Where(this=where))

    @staticmethod
    def data_version(files: list[Path]) -> str:
        """``files:`` and the sha256 of each local file's name, size and modification time."""
        digest = hashlib.sha256()
        for path in files:
            st = Path(path).stat()
            digest.update(f"{Path(path).name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        return "files:" + digest.hexdigest()

    @staticmethod
    def series(first, last, step: str, name: str, type_: str) -> exp.Expression:
        """``SELECT CAST(range AS type) AS name FROM range(first, last + step, step)``."""
        if step == "one":
            bounds = f"range({int(first)}, {int(last) + 1})"
        else:
            end = last + datetime.timedelta(days=1)
            bounds = f"range(TIMESTAMP '{first.isoformat()}', TIMESTAMP '{end.isoformat()}', INTERVAL 1 {step.upper()})"
        return exp.Subquery(
            this=exp.maybe_parse(f"SELECT CAST(range AS {type_}) AS {name} FROM {bounds}", dialect="duckdb"),
            alias=exp.TableAlias(this=exp.to_identifier("__domain")),
        )


class Cursor:
    def __init__(self, cursor: duckdb.DuckDBPyConnection, limits: Limits, deadline: Deadline):
        self._cursor = cursor
        self._limits = limits
        self._deadline = deadline

    def register(self, name: str, table: pa.Table) -> None:
        self._cursor.register(name, table)

    def arrow(self, sql: str, *, quiet: bool = False, small: bool = False, parameters: dict | None = None) -> pa.Table:
        """Run `sql`; DuckDB's own message is withheld when `quiet` (it could echo a value).

        A result known to be `small` (a table of cells) is fetched through ``execute``,
        which binds the query once; ``sql()`` binds it twice (once to describe a lazy
        relation, again to run it: 2 ms on the cells of a Parquet dataset), and its
        saving, one copy of the rows, is little on a table of one row per cell.
        """
        self._deadline()
        alarm = threading.Timer(max(self._deadline.remaining(), 0.0), self._cursor.interrupt)
        alarm.daemon = True
        alarm.start()
        try:
            if small:
                with warnings.catch_warnings():  # that it copies the rows: we know, they are few
                    warnings.filterwarnings("ignore", COPY_WARNING, UserWarning)
                    return self._cursor.execute(sql, parameters).to_arrow_table()
            return self._cursor.sql(sql, params=parameters).to_arrow_table()
        except duckdb.InterruptException:
            raise QueryTimeout(timed_out(self._deadline.seconds)) from None
        except duckdb.OutOfMemoryException:
            raise QueryRejected(
                f"the query needed more than the {self._limits.memory} of memory a query may use, with the others "
                "running now; narrow it (fewer keys, fewer months), or try again in a while"
            ) from None
        except duckdb.Error as e:
            if "max_execution_time" in str(e) or "Interrupted" in str(e):
                raise QueryTimeout(timed_out(self._deadline.seconds)) from None
            if quiet:
                raise QueryRejected(
                    "the aggregate could not be computed; tell the campus admins if the query looks right"
                ) from None
            raise QueryRejected(f"DuckDB could not run the query: {plain(e)}") from None
        finally:
            alarm.cancel()


def plain(error: Exception) -> str:
    """DuckDB's message without internals: its first line, with any file path, Parquet
    reader or gateway-made name replaced by what the researcher wrote about."""
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    first = re.sub(r"(?i)read_parquet\s*\(\s*\[.*?\]\s*(,[^)]*)?\)", "<dataset>", first)
    first = re.sub(r"'?(?:/[\w.\-=]+){2,}/?'?", "<file>", first)
    first = re.sub(r"__checked_\d+|__entity|__per_entity|__rows\b", "<checked cells>", first)
    return first


def hex_sha256(data: exp.Expression) -> exp.Expression:
    """SHA-256 of bytes, in lower-case hexadecimal (DuckDB's sha256, Spark's sha2(..., 256))."""
    return exp.SHA2(this=data, length=exp.Literal.number(256))


def pseudonym_pad(name: str) -> exp.Expression:
    """One of the pseudonym key's HMAC pads, a bound parameter, as bytes."""
    return exp.Unhex(this=exp.Placeholder(this=name))


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
