"""The casts the campus writes itself, marked so no engine rounds them.

A researcher's cast of a fraction to a whole number rounds on DuckDB; an engine that
would truncate rounds it first (`campus.engines.spark`). The statistics' own casts, of
whole numbers or to DOUBLE, have nothing to round, and carry the mark `WHOLE` that says so.

>>> from sqlglot import exp
>>> made = cast(exp.column("n"), "BIGINT")
>>> made.sql("duckdb"), made.meta[WHOLE]
('CAST(n AS BIGINT)', True)
"""

from __future__ import annotations

from sqlglot import exp

WHOLE = "campus_whole"  # a cast's meta: the campus wrote it of a value with nothing to round


def cast(node: exp.Expression, to: str) -> exp.Expression:
    """`CAST(node AS to)`, `to` a plain type name (built, not parsed): the statistics' own casts,
    of whole numbers or to DOUBLE, which no engine need round (`WHOLE`)."""
    made = exp.cast(node, exp.DataType.Type[to], copy=False)
    made.meta[WHOLE] = True
    return made
