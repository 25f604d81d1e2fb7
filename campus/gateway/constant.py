"""Constants, computed once before any data is read.

A constant in a key or filter (``DATE '2025-03-01'``, ``CAST('7' AS INTEGER)``) must
not fail while DuckDB reads the data: DuckDB evaluates it only when some row reaches
it, so an error would tell whether such a row exists. Each is computed here first, on
a DuckDB that holds no data; one that fails is refused with a reason.

>>> import sqlglot
>>> check(sqlglot.parse_one("DATE '2025-03-01'", read="duckdb"), "not a day")
>>> check(sqlglot.parse_one("DATE '2025-13-45'", read="duckdb"), "not a day")
Traceback (most recent call last):
campus.errors.QueryRejected: not a day
"""

from __future__ import annotations

import threading

import duckdb
from sqlglot import exp

from ..errors import QueryRejected
from ..vocabulary.dialect import CAMPUS_SQL

_scratch = None
_lock = threading.Lock()


def _connection() -> duckdb.DuckDBPyConnection:
    """An empty DuckDB that reads nothing (no files, no extensions, no settings)."""
    global _scratch
    with _lock:
        if _scratch is None:
            _scratch = duckdb.connect(
                config={"enable_external_access": False, "autoinstall_known_extensions": False,
                        "autoload_known_extensions": False, "lock_configuration": True}
            )
        return _scratch.cursor()


def check(node: exp.Expression, reason: str) -> None:
    """Compute `node`, a constant expression; refuse the query with `reason` if it fails."""
    cursor = _connection()
    try:
        cursor.execute(f"SELECT {node.sql(CAMPUS_SQL)}").fetchall()
    except duckdb.Error:
        raise QueryRejected(reason) from None
    finally:
        cursor.close()


def type_of(node: exp.Expression, types: dict[str, str]) -> str:
    """The SQL type the campus's SQL gives `node` over columns of these `types`: each column
    read as a NULL of its type, on the empty DuckDB (so another engine can be held to it).

    >>> type_of(exp.maybe_parse("date_trunc('month', d)", dialect="duckdb"), {"d": "DATE"})
    'TIMESTAMP'
    """
    typed = node.transform(lambda n: exp.cast(exp.Null(), types[n.name]) if isinstance(n, exp.Column) else n)
    return value(exp.select(exp.func("typeof", typed)))


def value(query: exp.Expression):
    """The single value a query over constants computes (its first column of its first row)."""
    cursor = _connection()
    try:
        return cursor.execute(query.sql(CAMPUS_SQL)).fetchall()[0][0]
    finally:
        cursor.close()
