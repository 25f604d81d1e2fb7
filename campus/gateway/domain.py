"""Public domains: the key combinations a table shows, whatever the data holds.

A steward may declare a column's public values in the catalog (``domain``: the 25
districts, the merchant categories, the days of the year covered). When every key of
a protected aggregate is a function of one such column, the released table is
completed over the domain: one row for every combination, with no values where the
cell was left out by the rules or had no rows. Presence then says nothing, and a
researcher sees the withheld cells beside their public keys.

The domain is computed from constants only, never from the data, through the same
masks, row filter, filters and key expressions as the cells, so its keys are exactly
the keys the cells would have.

>>> from campus.catalog import load
>>> from campus.engines.duckdb import DuckDBEngine
>>> from campus.settings import Settings
>>> from campus.gateway.analyse import analyse
>>> from campus.gateway.cells import split
>>> from campus.gateway.rewrite import Grant
>>> q = analyse("SELECT gender, count(*) AS n FROM card_usage WHERE gender <> 'M' GROUP BY 1", load(Settings().catalog_path))
>>> print(domain_sql(split(q.uses[0], "c"), Grant("aggregates", ["gender"]), 100, DuckDBEngine))
SELECT * FROM (SELECT DISTINCT card_usage.gender AS k0 FROM (SELECT gender FROM (VALUES ('F'), ('M')) AS __domain(gender)) AS card_usage WHERE card_usage.gender <> 'M') AS __k0 LIMIT 101
"""

from __future__ import annotations

import datetime

from sqlglot import exp

from ..catalog import COARSER_THAN_A_DAY, Range
from .cells import Key, ProtectedAggregate, number
from .rewrite import Grant, literal, masked


def domain_sql(aggregate: ProtectedAggregate, grant: Grant, max_cells: int, engine) -> str | None:
    """A query over constants listing every public key combination (at most
    ``max_cells + 1`` rows), or None when some key has no public domain; in the
    `engine`'s SQL."""
    if not aggregate.keys:
        return None
    parts = []
    for key in aggregate.keys:
        part = key_domain(key, aggregate, grant, engine)
        if part is None:
            return None
        parts.append(exp.Subquery(this=part, alias=exp.TableAlias(this=exp.to_identifier(f"__{key.name}"))))
    select = exp.select("*").from_(parts[0], copy=False)
    for part in parts[1:]:
        select = select.join(part, join_type="cross", copy=False)
    return select.limit(max_cells + 1, copy=False).sql(engine.dialect)


def key_values_sql(aggregate: ProtectedAggregate, grant: Grant, engine) -> tuple[str | None, ...]:
    """Per key, a query over constants counting the values the key can take whatever the
    data holds, or None where it has neither public domain nor bins: its column's public
    values (or a measure's bins, `possible_values`) and null,
    through the masks and the row filter, narrowed only by the filters that select cells (a
    condition on a plain key column, always applied: statistics.selects); in the `engine`'s SQL.

    >>> from campus.catalog import load
    >>> from campus.engines.duckdb import DuckDBEngine
    >>> from campus.settings import Settings
    >>> from campus.gateway.analyse import analyse
    >>> from campus.gateway.cells import split
    >>> q = analyse("SELECT gender, dong, count(*) AS n FROM card_usage GROUP BY ALL", load(Settings().catalog_path))
    >>> counts = key_values_sql(split(q.uses[0], "c"), Grant("aggregates", ["gender", "dong"]), DuckDBEngine)
    >>> print(counts[0]); counts[1]
    SELECT COUNT(*) AS n FROM (SELECT DISTINCT card_usage.gender AS k0 FROM (SELECT gender FROM (SELECT gender FROM (VALUES ('F'), ('M')) AS __domain(gender) UNION ALL SELECT CAST(NULL AS TEXT) AS gender) AS __values) AS card_usage) AS __k0
    """
    counts = []
    for key in aggregate.keys:
        values = key_domain(key, aggregate, grant, engine, nulls=True)
        counts.append(None if values is None else exp.select(exp.Count(this=exp.Star()).as_("n"), copy=False).from_(
            exp.Subquery(this=values, alias=exp.TableAlias(this=exp.to_identifier(f"__{key.name}"))), copy=False
        ).sql(engine.dialect))
    return tuple(counts)


def key_domain(key: Key, aggregate: ProtectedAggregate, grant: Grant, engine, *,
               nulls: bool = False) -> exp.Select | None:
    """The distinct values of one key over its column's public values, or None. With
    `nulls`, what the key can take in any data: null among the values, and only the filters
    that select cells applied."""
    names = {c.name for c in key.computed.find_all(exp.Column)}
    if len(names) != 1:
        return None
    name = names.pop()
    column = aggregate.dataset.columns[name]
    raw = possible_values(name, column, engine) if nulls else (
        raw_values(name, column, engine) if column.domain is not None else None)
    if raw is None or name not in grant.columns or any(name in c.masks for c in grant.covered):
        return None
    values = exp.select(masked(name, aggregate.dataset, grant.masks.get(name), engine), copy=False).from_(raw, copy=False)
    if name in grant.row_filter:
        values = values.where(exp.column(name).isin(*[literal(v) for v in grant.row_filter[name]]), copy=False)
    select = exp.select(key.computed.copy().as_(key.name), copy=False).from_(
        exp.Subquery(this=values, alias=exp.TableAlias(this=exp.to_identifier(aggregate.alias))), copy=False
    ).distinct(copy=False)
    keyed = {k.computed.name for k in aggregate.keys if isinstance(k.computed, exp.Column)}
    for condition in aggregate.filters:
        if {c.name for c in condition.find_all(exp.Column)} <= ({name} & keyed if nulls else {name}):
            select = select.where(condition.copy(), copy=False)
    return select


MAX_BINS = 10_000  # a measure with more bins than this bounds nothing (its key may take up to the cell limit)


def possible_values(name: str, column, engine) -> exp.Expression | None:
    """Every value of a column that a key can tell apart, in any data: its public values, or
    a measure's bins (a key reads a measure only by its bin: `cells.check_bin`), and null;
    None when it has neither domain nor bins."""
    bins = column.bins
    if column.domain is not None:
        raw = raw_values(name, column, engine)
    elif bins is not None and (bins.top - bins.bottom) / bins.width <= MAX_BINS:
        raw = bin_values(name, bins)
    else:
        return None
    union = exp.union(exp.select(name, copy=False).from_(raw, copy=False),
                      exp.select(exp.cast(exp.null(), column.type).as_(name), copy=False), distinct=False)
    return exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("__values")))


def bin_values(name: str, bins) -> exp.Expression:
    """One value in each bin of a measure (its bottom and top codes are multiples of its
    width), as a one-column table.

    >>> from campus.catalog import Bins
    >>> bin_values("amount", Bins(width=10, bottom=10, top=30)).sql("duckdb")
    '(VALUES (10), (20), (30)) AS __domain(amount)'
    """
    steps = round((bins.top - bins.bottom) / bins.width)
    rows = [exp.Tuple(expressions=[number(bins.bottom + i * bins.width)]) for i in range(steps + 1)]
    return exp.Values(expressions=rows, alias=exp.TableAlias(this=exp.to_identifier("__domain"),
                                                             columns=[exp.to_identifier(name)]))


def raw_values(name: str, column, engine) -> exp.Expression:
    """The declared values as a one-column table named ``name``."""
    if isinstance(column.domain, Range):
        return range_of(name, column, engine)
    rows = [exp.Tuple(expressions=[literal(v)]) for v in column.domain]
    alias = exp.TableAlias(this=exp.to_identifier("__domain"), columns=[exp.to_identifier(name)])
    return exp.Values(expressions=rows, alias=alias)


def range_of(name: str, column, engine) -> exp.Expression:
    """Whole numbers from first to last; or every value of a time column's grain, a day at
    the finest for a date and an hour for a timestamp (a month column: each month's first day)."""
    first, last = column.public_range()
    if not isinstance(first, datetime.date):
        step = "one"
    elif column.grain in COARSER_THAN_A_DAY:
        step = column.grain
    else:
        step = "hour" if column.type == "TIMESTAMP" else "day"
    return engine.series(first, last, step, name, column.type)
