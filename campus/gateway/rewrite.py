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
        projections.append(exp.column(dataset.entity).as_(ENTITY, copy=False))
    if not projections:
        projections = [exp.Literal.number(1).as_("__row", copy=False)]
    reader = exp.Anonymous(
        this="read_parquet",
        expressions=[
            exp.Array(expressions=[exp.Literal.string(str(f)) for f in files]),
            exp.EQ(this=exp.column("hive_partitioning"), expression=exp.false()),
        ],
    )
    # Every tree here is built fresh and used once, so the builders need not copy it (copy=False).
    select = exp.select(*projections, copy=False).from_(exp.Table(this=reader), copy=False)
    for column, values in sorted(grant.row_filter.items()):
        select = select.where(exp.column(column).isin(*[literal(v) for v in values], copy=False), copy=False)
    return select


def masked(name: str, dataset: Dataset, mask: str | None) -> exp.Expression:
    """A column as a grant shows it: as it is, coarsened to its region, or hidden."""
    column = exp.column(name)
    if mask is None:
        return column
    if mask == "region":
        cases = exp.Case()
        for district, region in sorted(REGION_OF_DISTRICT.items()):  # eq copies the column: one per WHEN
            cases = cases.when(column.eq(exp.Literal.string(district)), exp.Literal.string(region), copy=False)
        return cases.else_(exp.null(), copy=False).as_(name, copy=False)
    if mask == "hidden":
        return exp.cast(exp.null(), dataset.columns[name].type, copy=False).as_(name, copy=False)
    raise ValueError(f"unknown mask {mask!r} on {dataset.name}.{name}")


def literal(value) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def as_subquery(select: exp.Select, alias: str) -> exp.Subquery:
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def statistics_sql(aggregate: ProtectedAggregate, rows: exp.Select, top_n: int, max_cells: int) -> str:
    """The query computing every cell with its safety statistics, in one DuckDB pass.

    Rows are first summed per entity within each cell; the cell then counts entities,
    adds their contributions and keeps the largest ``top_n`` of them. At most
    ``max_cells + 1`` cells come back: one more than the limit says the aggregate is
    too fine, without computing the rest.

    Only the keys and filters come from the query (copied); every other node is built
    here and used once, so no builder copies (``copy=False``) and the SQL is generated
    from the tree itself.
    """
    alias = aggregate.alias
    keys = [k.computed.copy().as_(k.name, copy=False) for k in aggregate.keys]
    per_entity = [as_(exp.column(ENTITY, table=alias), ENTITY), as_(exp.Count(this=exp.Star()), "__rows")]
    cell = [
        as_(exp.Count(this=exp.Star()), "entities"),
        as_(cast(exp.Sum(this=exp.column("__rows")), "BIGINT"), "rows"),
        as_(exp.func("bit_xor", exp.func("hash", exp.column(ENTITY), exp.column("__rows"), copy=False), copy=False),
            "cellkey"),
    ]
    counted = {m.column for m in aggregate.measures if m.kind in ("values", "avg")}
    summed = {m.column for m in aggregate.measures if m.kind in ("sum", "avg")}
    for name in aggregate.columns:
        value = exp.column(name, table=alias)
        if name in counted:
            per_entity += [as_(exp.Count(this=value), f"__count__{name}")]
            cell += [as_(cast(exp.Sum(this=exp.column(f"__count__{name}")), "BIGINT"), f"count__{name}")]
        if name in summed:
            per_entity += [as_(exp.Sum(this=value), f"__sum__{name}")]
            s = f"__sum__{name}"
            cell += [
                as_(cast(exp.Sum(this=exp.column(s)), "DOUBLE"), f"sum__{name}"),
                as_(exp.Max(this=exp.Abs(this=exp.column(s)), count=exp.Literal.number(top_n)), f"top__{name}"),
                as_(exp.Min(this=exp.column(s)), f"min__{name}"),
                as_(exp.Max(this=exp.column(s)), f"max__{name}"),
            ]
    inner = exp.select(*keys, *per_entity, copy=False).from_(as_subquery(rows, alias), copy=False)
    for condition in aggregate.filters:
        inner = inner.where(condition.copy(), copy=False)
    inner = inner.group_by(*[exp.column(k.name) for k in aggregate.keys], exp.column(ENTITY), copy=False)
    outer = exp.select(*[exp.column(k.name) for k in aggregate.keys], *cell, copy=False)
    outer = outer.from_(as_subquery(inner, "__per_entity"), copy=False)
    if aggregate.keys:
        outer = outer.group_by(*[exp.column(k.name) for k in aggregate.keys], copy=False)
        outer = outer.limit(max_cells + 1, copy=False)
    return outer.sql("duckdb", copy=False)  # the tree's last use: the generator may change it


def as_(node: exp.Expression, name: str) -> exp.Expression:
    """`node AS name`, for a node built fresh (not copied)."""
    return node.as_(name, copy=False)


def cast(node: exp.Expression, to: str) -> exp.Expression:
    """`CAST(node AS to)`, `to` a plain type name (built, not parsed)."""
    return exp.cast(node, exp.DataType.Type[to], copy=False)
