"""Rewrite: every dataset reference becomes a filtered, masked sub-select.

A rows-mode reference reads ``(SELECT <granted columns, masked> FROM <the engine's scan>
WHERE <row filter>)``, every identifier in it shown as its project's pseudonym
(`campus.vocabulary.pseudonyms`). A protected aggregate is replaced by its lifted SELECT over the
checked cells, and the cells are computed by ``statistics.statistics_sql`` from the same
masked source plus the entity column under a name no query can write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from ..catalog import Dataset
from ..errors import QueryRejected
from . import constant
from extractguard import Disclosure
from extractguard.cells import Stat

from ..vocabulary.casts import cast
from ..vocabulary.dialect import CAMPUS_SQL
from .cells import ENTITY, ProtectedAggregate


@dataclass(frozen=True)
class Coverage:
    """Stricter terms on some rows: the rows (column -> values), the thresholds on cells
    that may hold them, the masks on them, and whose terms they are."""

    rows: dict[str, list]
    masks: dict[str, str] = field(default_factory=dict)
    disclosure: Disclosure = field(default_factory=Disclosure)
    source: str = ""

    def condition(self) -> exp.Expression:
        """True for a row the terms cover, read from the raw columns."""
        tests = [exp.column(c).isin(*[literal(v) for v in values]) for c, values in sorted(self.rows.items())]
        return exp.and_(*tests) if len(tests) > 1 else tests[0]


@dataclass
class Grant:
    """What the policy decided for one dataset use: the obligations the rewrite applies."""

    mode: str
    columns: list[str]
    masks: dict[str, str] = field(default_factory=dict)
    row_filter: dict[str, list] = field(default_factory=dict)
    covered: list[Coverage] = field(default_factory=list)  # stricter terms on some rows


MASK_ORDER = {None: 0, "region": 1, "hidden": 2}


def source(dataset: Dataset, grant: Grant, table: exp.Expression, *, reads: list[str], entity: bool,
           engine) -> exp.Select:
    """The rows of `dataset` a grant lets a query read, masked and filtered, from `table`
    (the engine's scan of its files), as the `engine` writes them.

    Only the columns the query `reads` (and the grant shows) are projected. An identifier
    is shown only as its pseudonym (`masked`); the entity column the statistics count
    (`entity`) is the raw one, under a name no query can write.

    >>> from pathlib import Path
    >>> from campus.catalog import load
    >>> from campus.engines.duckdb import DuckDBEngine
    >>> from campus.settings import Settings
    >>> d = load(Settings().catalog_path)["card_usage"]
    >>> g = Grant("aggregates", ["district", "home_district"], {"home_district": "hidden"}, {"district": ["Jung-gu"]})
    >>> scan = DuckDBEngine.scan([Path("/d/a.parquet")])
    >>> source(d, g, scan, reads=["district", "home_district"], entity=True, engine=DuckDBEngine).sql("duckdb")
    "SELECT district, CAST(NULL AS TEXT) AS home_district, card_id AS __entity FROM READ_PARQUET(['/d/a.parquet'], hive_partitioning = FALSE) WHERE district IN ('Jung-gu')"
    """
    shown = [name for name in dataset.columns if name in grant.columns and name in reads]
    projections = [covered_mask(name, dataset, grant, engine) for name in shown]
    if entity:
        projections.append(exp.column(dataset.entity).as_(ENTITY, copy=False))
    if not projections:
        projections = [exp.Literal.number(1).as_("__row", copy=False)]
    # Every tree here is built fresh and used once, so the builders need not copy it (copy=False).
    select = exp.select(*projections, copy=False).from_(table, copy=False)
    for column, values in sorted(grant.row_filter.items()):
        select = select.where(exp.column(column).isin(*[literal(v) for v in values], copy=False), copy=False)
    return select


def covered_mask(name: str, dataset: Dataset, grant: Grant, engine) -> exp.Expression:
    """A column as the grant shows it, masked more strictly on the rows stricter terms cover."""
    mask = grant.masks.get(name)
    shown = masked(name, dataset, mask, engine)
    for coverage in grant.covered:
        stricter = coverage.masks.get(name)
        if MASK_ORDER[stricter] > MASK_ORDER[mask]:
            cases = exp.Case().when(coverage.condition(), masked(name, dataset, stricter, engine).unalias(), copy=False)
            shown = cases.else_(shown.unalias(), copy=False).as_(name, copy=False)
    return shown


def masked(name: str, dataset: Dataset, mask: str | None, engine) -> exp.Expression:
    """A column as a grant shows it: as it is, coarsened to its region, or hidden. An
    identifier is never as it is: unhidden, it is its pseudonym, as the `engine` computes it.

    >>> from campus.catalog import load
    >>> from campus.engines.duckdb import DuckDBEngine
    >>> from campus.settings import Settings
    >>> masked("card_id", load(Settings().catalog_path)["card_usage"], None, DuckDBEngine).sql("duckdb")[:45]
    'LEFT(SHA256(UNHEX($pseudonym_outer) || UNHEX('
    """
    column = exp.column(name)
    if mask is None and dataset.columns[name].role == "identifier":
        return engine.pseudonym(column).as_(name, copy=False)
    if mask is None:
        return column
    if mask == "region":
        return regional(name, dataset).as_(name, copy=False)
    if mask == "hidden":
        return exp.cast(exp.null(), dataset.columns[name].type, copy=False).as_(name, copy=False)
    raise ValueError(f"unknown mask {mask!r} on {dataset.name}.{name}")


def regional(name: str, dataset: Dataset) -> exp.Case:
    """Column `name` as the region its catalog entry's `regions` place each value in; null for a
    value no region holds. A column without regions cannot be shown by region.

    >>> from campus.catalog import load
    >>> from campus.settings import Settings
    >>> regional("district", load(Settings().catalog_path)["card_usage"]).sql()[:52]
    "CASE WHEN district = 'Dobong-gu' THEN 'Dongbuk-gwon'"
    """
    region_of = dataset.columns[name].region_of()
    if not region_of:
        raise QueryRejected(f"{dataset.name}.{name} has no regions to be shown by: a steward declares them on the "
                            "column in datasets/catalog.yaml (regions: {region: [district, ...]}) before a grant "
                            "masks it to regions")
    cases, column = exp.Case(), exp.column(name)
    for value, region in sorted(region_of.items()):  # eq copies the column: one per WHEN
        cases = cases.when(column.eq(exp.Literal.string(value)), exp.Literal.string(region), copy=False)
    return cases.else_(exp.null(), copy=False)


def literal(value) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def as_subquery(select: exp.Select, alias: str) -> exp.Subquery:
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def private_statistics_sql(aggregate: ProtectedAggregate, rows: exp.Select, bounds, max_cells: int,
                           engine) -> str:
    """The cells of an aggregate under differential privacy, each entity's contribution
    bounded (`extractguard.dp.Bounds`): an entity keeps its ``bounds.cells`` cells with
    the most records (ties broken by a draw keyed on the noise key and the cell's keys; a
    choice made from the entity's own records only, so one entity still moves at most that
    many cells), its records in a cell are counted up to ``bounds.records``, and its sum of
    a measure in a cell is clamped to the catalog's contribution."""
    if any(m.population for m in aggregate.measures):
        raise QueryRejected(
            f"under differential privacy, aggregate the rows of {aggregate.dataset.name} you want with WHERE "
            "(a sum or count over a condition, like sum(CASE WHEN ...), is not available)"
        )
    keys = [pinned(k.computed, aggregate.dataset, engine).as_(k.name, copy=False) for k in aggregate.keys]
    records = exp.Literal.number(bounds.records)
    per_entity = [as_(exp.column(ENTITY, table=aggregate.alias), ENTITY), as_(exp.Count(this=exp.Star()), "__rows")]
    cell = [as_(exp.Count(this=exp.Star()), Stat.ENTITIES),
            as_(cast(exp.Sum(this=exp.func("least", exp.column("__rows"), records.copy())), "BIGINT"), Stat.ROWS)]
    for name in sorted({m.column for m in aggregate.measures if m.column}):
        value = exp.column(name, table=aggregate.alias)
        lower, upper = bounds.clamp[name]
        per_entity += [as_(exp.Count(this=value), f"__count__{name}"), as_(exp.Sum(this=value.copy()), f"__sum__{name}")]
        clamped = exp.func("greatest", exp.Literal.number(lower),
                           exp.func("least", exp.Literal.number(upper), exp.column(f"__sum__{name}")))
        cell += [as_(cast(exp.Sum(this=exp.func("least", exp.column(f"__count__{name}"), records.copy())), "BIGINT"),
                     Stat.count(name)),
                 as_(cast(exp.Sum(this=clamped), "DOUBLE"), Stat.sum(name))]
    inner = exp.select(*keys, *per_entity, copy=False).from_(as_subquery(rows, aggregate.alias), copy=False)
    for condition in aggregate.filters:
        inner = inner.where(condition.copy(), copy=False)
    inner = inner.group_by(*[exp.column(k.name) for k in aggregate.keys], exp.column(ENTITY), copy=False)
    cell_of = exp.Anonymous(this="concat_ws", expressions=[
        exp.Literal.string(":"), *[exp.column(k.name) for k in aggregate.keys]]) if aggregate.keys else exp.Literal.string("")
    order = exp.Window(this=exp.RowNumber(), partition_by=[exp.column(ENTITY)],
                       order=exp.Order(expressions=[exp.Ordered(this=exp.column("__rows"), desc=True),
                                                    exp.Ordered(this=engine.draw(cell_of, "cells"))]))
    ranked = exp.select(exp.Star(), as_(order, "__rank"), copy=False).from_(as_subquery(inner, "__per_entity"),
                                                                           copy=False)
    outer = exp.select(*[exp.column(k.name) for k in aggregate.keys], *cell, copy=False)
    outer = outer.from_(as_subquery(ranked, "__ranked"), copy=False)
    outer = outer.where(exp.LTE(this=exp.column("__rank"), expression=exp.Literal.number(bounds.cells)), copy=False)
    if aggregate.keys:
        outer = outer.group_by(*[exp.column(k.name) for k in aggregate.keys], copy=False)
        outer = outer.limit(max_cells + 1, copy=False)
    return outer.sql(engine.dialect, copy=False)


def pinned(key: exp.Expression, dataset: Dataset, engine) -> exp.Expression:
    """A key as the engine computes it, held to the type the campus's SQL gives it (another
    engine's translation may differ: Spark's TRUNC gives a DATE where DuckDB's date_trunc
    gives a TIMESTAMP), so every engine releases the same keys."""
    if engine.dialect == CAMPUS_SQL:
        return key.copy()
    types = {name: column.type for name, column in dataset.columns.items()}
    return engine.typed(key.copy(), constant.type_of(key, types))


def covering(aggregate: ProtectedAggregate, coverage: Coverage, grant: Grant) -> exp.Expression:
    """Whether a cell may hold rows that stricter terms cover, from its keys and the grant alone.

    Never from the data: which cells hold covered rows must not depend on who is in
    them, or a cell's threshold would tell. A covered column that is a key (as it is,
    unmasked) decides by the key's value; a grant's row filter keeping none of the
    covered values rules the terms out; otherwise every cell may hold covered rows, and
    the terms bind it. The query's filters never rule terms out: a filter of low effect
    is not applied to a cell (statistics.py), so the cell may hold the rows it names.
    """
    tests = []
    for column, values in sorted(coverage.rows.items()):
        if grant.masks.get(column):
            continue
        key = next((k for k in aggregate.keys if isinstance(k.computed, exp.Column) and k.computed.name == column), None)
        if key is not None:
            tests.append(exp.column(key.name).isin(*[literal(v) for v in values]))
        elif column in grant.row_filter and not set(grant.row_filter[column]) & set(values):
            return exp.false()
    return exp.and_(*tests) if tests else exp.true()


def as_(node: exp.Expression, name: str) -> exp.Expression:
    """`node AS name`, for a node built fresh (not copied)."""
    return node.as_(name, copy=False)

