"""Rewrite: every dataset reference becomes a filtered, masked sub-select.

A rows-mode reference reads ``(SELECT <granted columns, masked> FROM read_parquet([...])
WHERE <row filter>)``. A protected aggregate is replaced by its lifted SELECT over the
checked cells, and the cells are computed by ``statistics_sql`` from the same masked
source plus the entity column under a name no query can write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlglot import exp

from ..catalog import Dataset
from ..synth.seoul import REGION_OF_DISTRICT
from .cells import ENTITY, ProtectedAggregate


@dataclass
class Grant:
    """What the policy decided for one dataset use: the obligations the rewrite applies."""

    mode: str
    columns: list[str]
    masks: dict[str, str] = field(default_factory=dict)
    row_filter: dict[str, list] = field(default_factory=dict)


def source(dataset: Dataset, grant: Grant, files: list[Path], *, reads: list[str], entity: bool) -> exp.Select:
    """The rows of `dataset` a grant lets a query read, masked and filtered.

    Only the columns the query `reads` (and the grant shows) are projected.

    >>> from campus.catalog import load
    >>> from campus.settings import Settings
    >>> d = load(Settings().catalog_path)["card_usage"]
    >>> g = Grant("aggregates", ["district", "home_district"], {"home_district": "hidden"}, {"district": ["Jung-gu"]})
    >>> source(d, g, [Path("/d/a.parquet")], reads=["district", "home_district"], entity=True).sql("duckdb")
    "SELECT district, CAST(NULL AS TEXT) AS home_district, card_id AS __entity FROM READ_PARQUET(['/d/a.parquet'], hive_partitioning = FALSE) WHERE district IN ('Jung-gu')"
    """
    shown = [name for name in dataset.columns if name in grant.columns and name in reads]
    projections = [masked(name, dataset, grant.masks.get(name)) for name in shown]
    if entity:
        projections.append(exp.column(dataset.entity).as_(ENTITY))
    if not projections:
        projections = [exp.Literal.number(1).as_("__row")]
    reader = exp.Anonymous(
        this="read_parquet",
        expressions=[
            exp.Array(expressions=[exp.Literal.string(str(f)) for f in files]),
            exp.EQ(this=exp.column("hive_partitioning"), expression=exp.false()),
        ],
    )
    select = exp.select(*projections).from_(exp.Table(this=reader))
    for column, values in sorted(grant.row_filter.items()):
        select = select.where(exp.column(column).isin(*[literal(v) for v in values]))
    return select


def masked(name: str, dataset: Dataset, mask: str | None) -> exp.Expression:
    """A column as a grant shows it: as it is, coarsened to its region, or hidden."""
    column = exp.column(name)
    if mask is None:
        return column
    if mask == "region":
        cases = exp.Case()
        for district, region in sorted(REGION_OF_DISTRICT.items()):
            cases = cases.when(column.eq(exp.Literal.string(district)), exp.Literal.string(region))
        return cases.else_(exp.null()).as_(name)
    if mask == "hidden":
        return exp.cast(exp.null(), dataset.columns[name].type).as_(name)
    raise ValueError(f"unknown mask {mask!r} on {dataset.name}.{name}")


def literal(value) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def as_subquery(select: exp.Select, alias: str) -> exp.Subquery:
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def statistics_sql(aggregate: ProtectedAggregate, rows: exp.Select, top_n: int) -> str:
    """The query computing every cell with its safety statistics, in one DuckDB pass.

    Rows are first summed per entity within each cell; the cell then counts entities,
    adds their contributions and keeps the largest ``top_n`` of them.
    """
    alias = aggregate.alias
    keys = [k.expr.copy().as_(k.name) for k in aggregate.keys]
    per_entity = [exp.column(ENTITY, table=alias).as_(ENTITY), exp.Count(this=exp.Star()).as_("__rows")]
    cell = [
        exp.Count(this=exp.Star()).as_("entities"),
        cast("sum(__rows)", "BIGINT").as_("rows"),
        exp.func("bit_xor", exp.func("hash", exp.column(ENTITY), exp.column("__rows"))).as_("cellkey"),
    ]
    counted = {m.column for m in aggregate.measures if m.kind in ("values", "avg")}
    summed = {m.column for m in aggregate.measures if m.kind in ("sum", "avg")}
    for name in aggregate.columns:
        value = exp.column(name, table=alias)
        if name in counted:
            per_entity += [exp.Count(this=value).as_(f"__count__{name}")]
            cell += [cast(f"sum(__count__{name})", "BIGINT").as_(f"count__{name}")]
        if name in summed:
            per_entity += [exp.Sum(this=value).as_(f"__sum__{name}")]
            s = f"__sum__{name}"
            cell += [
                cast(f"sum({s})", "DOUBLE").as_(f"sum__{name}"),
                exp.maybe_parse(f"max(abs({s}), {top_n})", dialect="duckdb").as_(f"top__{name}"),
                exp.maybe_parse(f"min({s})", dialect="duckdb").as_(f"min__{name}"),
                exp.maybe_parse(f"max({s})", dialect="duckdb").as_(f"max__{name}"),
            ]
    inner = exp.select(*keys, *per_entity).from_(as_subquery(rows, alias))
    for condition in aggregate.filters:
        inner = inner.where(condition.copy())
    inner = inner.group_by(*[exp.column(k.name) for k in aggregate.keys], exp.column(ENTITY))
    outer = exp.select(*[exp.column(k.name) for k in aggregate.keys], *cell).from_(as_subquery(inner, "__per_entity"))
    if aggregate.keys:
        outer = outer.group_by(*[exp.column(k.name) for k in aggregate.keys])
    return outer.sql("duckdb")


def cast(sql: str, to: str) -> exp.Expression:
    return exp.cast(exp.maybe_parse(sql, dialect="duckdb"), to)
