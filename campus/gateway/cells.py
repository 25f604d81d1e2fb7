"""Protected aggregates: the SELECT that aggregates an aggregates-only dataset.

The gateway never runs that SELECT as written. It takes it apart into

* the **cells**: group keys, filters and checked aggregates, computed by a query the
  gateway writes itself, with the safety statistics beside every cell (distinct
  entities, largest contributions per entity, a cell key for the noise); and
* the **rest**: the same SELECT over the checked cells, so that HAVING, ORDER BY,
  window functions and everything above only ever see released values.

>>> from campus.catalog import load
>>> from campus.settings import Settings
>>> from campus.gateway.analyse import analyse
>>> q = analyse("SELECT district AS d, sum(amount) AS total FROM card_usage GROUP BY 1 HAVING total > 5",
...             load(Settings().catalog_path))
>>> cells = split(q.uses[0], "checked_0")
>>> [k.expr.sql("duckdb") for k in cells.keys], [m.label for m in cells.measures]
(['card_usage.district'], ['sum(amount)'])
>>> cells.rest.sql("duckdb")
'SELECT card_usage.k0 AS d, card_usage.m0 AS total FROM checked_0 AS card_usage WHERE card_usage.m0 > 5'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from extractguard import Cells, Measure

from ..catalog import Dataset
from ..errors import QueryRejected
from .allowlist import CHECKED_AGGREGATE_CLASSES, COARSE_UNITS, TIME_COARSENINGS, TIME_COARSENING_CLASSES
from .analyse import DatasetUse, is_aggregate_call, walk_scope

GRAIN_ORDER = ["second", "minute", "hour", "day", "week", "month", "quarter", "year"]
ENTITY = "__entity"

# Scalar functions a group key may apply to keyable columns: total, so they cannot
# fail on a particular value and signal it through an error.
KEY_FUNCTIONS = (
    exp.Upper, exp.Lower, exp.Substring, exp.Left, exp.Right, exp.Concat, exp.DPipe, exp.Coalesce,
    exp.Case, exp.If, exp.EQ, exp.NEQ, exp.In, exp.And, exp.Or, exp.Not, exp.Paren, exp.Is,
    exp.Like, exp.Between, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Literal, exp.Null, exp.Boolean,
)


@dataclass
class Key:
    name: str
    expr: exp.Expression


@dataclass
class ProtectedAggregate:
    """The parts of one protected aggregate."""

    dataset: Dataset
    alias: str
    keys: list[Key]
    filters: list[exp.Expression]
    measures: list[Measure]
    columns: list[str]  # the measured columns the statistics are computed for
    rest: exp.Select
    checked_name: str
    labels: dict[str, str] = field(default_factory=dict)  # key name -> output name

    @property
    def cells(self) -> Cells:
        return Cells(
            keys=[k.name for k in self.keys], measures=self.measures, key_labels=self.labels, dataset=self.dataset.name
        )


def split(use: DatasetUse, checked_name: str) -> ProtectedAggregate:
    """Take a protected aggregate apart, or say why its shape cannot be checked."""
    select, dataset = use.select, use.dataset
    check_single_source(select, dataset)
    filters = [check_filter(f, dataset) for f in conjuncts(select.args.get("where"))]
    keys = [Key(f"k{i}", check_key(e, dataset)) for i, e in enumerate(group_expressions(select))]
    measures, columns, calls = [], [], {}
    for node in walk_scope(select):
        if isinstance(node, exp.AggFunc) and isinstance(node.parent, exp.Window):
            raise QueryRejected(
                f"window function {node.sql('duckdb')} over {dataset.name} rows is not allowed; aggregate first "
                "and use window functions on the result in an outer query"
            )
        if is_aggregate_call(node) and (call := node.sql("duckdb")) not in calls:
            measure = check_aggregate(node, dataset, columns, f"m{len(measures)}")
            calls[call] = measure
            measures.append(measure)
    rest = lift(select, use.alias, keys, calls, checked_name, dataset)
    labels = {k.name: label_of(k, select) for k in keys}
    return ProtectedAggregate(dataset, use.alias, keys, filters, measures, columns, rest, checked_name, labels)


def check_single_source(select: exp.Select, dataset: Dataset) -> None:
    if select.args.get("joins") or select.args.get("laterals"):
        raise QueryRejected(
            f"aggregate {dataset.name} on its own before joining it: put the aggregate in a CTE "
            "(WITH cells AS (SELECT ... GROUP BY ...)) and join the cells"
        )
    distinct = select.args.get("distinct")
    if distinct is not None and distinct.args.get("on"):
        raise QueryRejected(f"DISTINCT ON is not allowed in an aggregate over {dataset.name}")


def conjuncts(where: exp.Where | None) -> list[exp.Expression]:
    if where is None:
        return []
    return list(where.this.flatten() if isinstance(where.this, exp.And) else [where.this])


def group_expressions(select: exp.Select) -> list[exp.Expression]:
    group = select.args.get("group")
    if group is None:
        return []
    if group.args.get("all"):
        return [p.unalias() for p in select.expressions if not any(is_aggregate_call(n) for n in p.walk())]
    return list(group.expressions)


# --- filters ----------------------------------------------------------------------

FILTER_SHAPES = (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Between, exp.Is, exp.Like, exp.ILike)


def check_filter(condition: exp.Expression, dataset: Dataset) -> exp.Expression:
    """A filter is `term op constant`, where term is a dimension or coarsened time column."""
    inner = condition.unnest() if isinstance(condition, exp.Paren) else condition
    if isinstance(inner, exp.Not) and isinstance(inner.this, exp.Is):
        inner = inner.this
    if not isinstance(inner, FILTER_SHAPES):
        raise QueryRejected(
            f"the filter {condition.sql('duckdb')} is not allowed on {dataset.name}: filters must be conditions "
            "joined by AND (=, IN, BETWEEN, <, >, LIKE, IS NULL) on its dimension columns; OR, NOT and != "
            "can build trackers, so run separate queries instead"
        )
    term, constants = filter_parts(inner)
    check_filterable(term, dataset, condition)
    for constant in constants:
        if not is_constant(constant):
            raise QueryRejected(
                f"the filter {condition.sql('duckdb')} must compare with constants, not {constant.sql('duckdb')}"
            )
    return condition


def filter_parts(node: exp.Expression) -> tuple[exp.Expression, list[exp.Expression]]:
    if isinstance(node, exp.In):
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise QueryRejected(f"{node.sql('duckdb')}: IN takes a list of constants here, not a subquery")
        return node.this, list(node.expressions)
    if isinstance(node, exp.Between):
        return node.this, [node.args["low"], node.args["high"]]
    left, right = node.this, node.expression
    if is_constant(left) and not is_constant(right) and not isinstance(node, (exp.Is, exp.Like, exp.ILike)):
        return right, [left]
    return left, [right]


def column_of(node: exp.Column, dataset: Dataset):
    """The catalog column a reference inside the aggregate names; outer references are refused."""
    if node.name not in dataset.columns:
        raise QueryRejected(
            f"{node.sql('duckdb')} is not a column of {dataset.name}: an aggregate over {dataset.name} may use "
            "only its own columns and constants"
        )
    return dataset.columns[node.name]


def check_filterable(term: exp.Expression, dataset: Dataset, condition: exp.Expression) -> None:
    if isinstance(term, exp.Column):
        column = column_of(term, dataset)
        if column.role in ("dimension", "quasi_identifier"):
            return
        if column.role == "time" and coarse(column.grain):
            return
        raise QueryRejected(unusable(term.name, column, dataset, "filtered on"))
    if isinstance(term, (*TIME_COARSENING_CLASSES, exp.Cast)):
        check_time_coarsening(term, dataset)
        return
    raise QueryRejected(
        f"the filter {condition.sql('duckdb')} must test a column of {dataset.name} directly (or a time column "
        "coarsened to a day or more)"
    )


def is_constant(node: exp.Expression) -> bool:
    allowed = (exp.Literal, exp.Null, exp.Boolean, exp.Neg, exp.Cast, exp.DataType, exp.Interval, exp.Var, exp.Paren)
    return all(isinstance(n, allowed) for n in node.walk())


# --- group keys -------------------------------------------------------------------


def check_key(expr: exp.Expression, dataset: Dataset) -> exp.Expression:
    """A key groups by dimension columns, coarsened time, or binned measures."""
    if isinstance(expr, exp.Column):
        column = column_of(expr, dataset)
        if column.role in ("dimension", "quasi_identifier") or (column.role == "time" and coarse(column.grain)):
            return expr
        raise QueryRejected(unusable(expr.name, column, dataset, "grouped by"))
    if isinstance(expr, (*TIME_COARSENING_CLASSES, exp.Cast, exp.Extract)):
        check_time_coarsening(expr, dataset)
        return expr
    if is_bin(expr, dataset):
        return expr
    if isinstance(expr, exp.Hour) and time_column(expr.this, dataset):
        return expr
    if isinstance(expr, KEY_FUNCTIONS):
        for child in expr.iter_expressions():
            if not isinstance(child, (exp.Literal, exp.Null, exp.Boolean, exp.DataType, exp.Var)):
                check_key(child, dataset)
        return expr
    raise QueryRejected(
        f"cannot group {dataset.name} by {expr.sql('duckdb')}: group by its dimension columns, a time column "
        "coarsened with date_trunc('month', ...), or a binned measure such as floor(amount / 10000) * 10000"
    )


def check_time_coarsening(expr: exp.Expression, dataset: Dataset) -> None:
    what = expr.sql("duckdb")
    if isinstance(expr, exp.Cast):
        if not expr.to.is_type("date") or not time_column(expr.this, dataset):
            raise QueryRejected(f"{what}: only a cast of a time column to DATE coarsens it")
        return
    if isinstance(expr, exp.Extract):
        part = expr.this.name.lower()
        if part not in COARSE_UNITS | {"dow", "isodow", "doy", "hour", "dayofweek"} or not time_column(expr.expression, dataset):
            raise QueryRejected(f"{what}: extract a day or coarser part (day, week, month, quarter, year)")
        return
    unit = TIME_COARSENINGS[type(expr).__name__]
    if unit == "unit":
        unit = expr.args["unit"].name.lower() if expr.args.get("unit") is not None else ""
    if unit not in COARSE_UNITS or not time_column(expr.this, dataset):
        raise QueryRejected(f"{what}: coarsen a time column to a day or more (day, week, month, quarter, year)")


def time_column(node: exp.Expression, dataset: Dataset) -> bool:
    return isinstance(node, exp.Column) and column_of(node, dataset).role == "time"


def is_bin(expr: exp.Expression, dataset: Dataset) -> bool:
    """floor(measure / width) or floor(measure / width) * width, width a positive constant."""
    if isinstance(expr, exp.Mul) and isinstance(expr.this, exp.Floor) and positive_literal(expr.expression):
        expr = expr.this
    if not isinstance(expr, exp.Floor) or not isinstance(expr.this, exp.Div):
        return False
    column, width = expr.this.this, expr.this.expression
    return (
        isinstance(column, exp.Column)
        and column_of(column, dataset).role == "measure"
        and positive_literal(width)
    )


def positive_literal(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and node.is_number and float(node.this) > 0


def coarse(grain: str | None) -> bool:
    return grain is not None and GRAIN_ORDER.index(grain) >= GRAIN_ORDER.index("day")


# --- aggregates -------------------------------------------------------------------


def check_aggregate(call: exp.Expression, dataset: Dataset, columns: list[str], name: str) -> Measure:
    """Count, count distinct entities, sum and avg of measure columns; nothing else."""
    label = aggregate_label(call)
    if not isinstance(call, CHECKED_AGGREGATE_CLASSES):
        raise QueryRejected(
            f"{call.sql_name().lower()}() is not allowed on {dataset.name}: it can reveal one "
            f"{entity_word(dataset)}'s value; use count, sum or avg (or bin the values in GROUP BY)"
        )
    arg = call.this
    if isinstance(call, exp.Count):
        if isinstance(arg, exp.Star) or (isinstance(arg, exp.Literal) and not isinstance(arg, exp.Null)):
            return Measure(name, "rows", label)
        if isinstance(arg, exp.Distinct):
            target = arg.expressions[0] if len(arg.expressions) == 1 else None
            if isinstance(target, exp.Column) and target.name == dataset.entity:
                return Measure(name, "entities", label)
            raise QueryRejected(
                f"{call.sql('duckdb')}: on {dataset.name} only count(DISTINCT {dataset.entity}) is allowed "
                f"(it counts {entity_word(dataset)}s); group by the column instead"
            )
        if isinstance(arg, exp.Column) and column_of(arg, dataset).role != "identifier":
            return Measure(name, "values", label, measured(arg.name, columns))
    if isinstance(call, (exp.Sum, exp.Avg)) and isinstance(arg, exp.Column):
        column = column_of(arg, dataset)
        if column.role == "measure":
            integral = column.type in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")
            return Measure(name, call.sql_name().lower(), label, measured(arg.name, columns), integral)
        raise QueryRejected(f"{label}: {arg.name} is not a measure of {dataset.name}; sum or average a measure")
    raise QueryRejected(
        f"{call.sql('duckdb')}: on {dataset.name}, aggregate a column as it is (e.g. sum(amount)); "
        "compute with the results in an outer query"
    )


def aggregate_label(call: exp.Expression) -> str:
    """How the researcher would write the call: ``sum(amount)``."""
    plain = call.copy()
    for column in plain.find_all(exp.Column):
        column.set("table", None)
    text = plain.sql("duckdb")
    name = text.split("(", 1)[0]
    return name.lower() + text[len(name):]


def measured(column: str, columns: list[str]) -> str:
    """Note that the statistics need `column`; return its name."""
    if column not in columns:
        columns.append(column)
    return column


# --- the rest of the query, over the checked cells -------------------------------


def lift(select, alias, keys, calls, checked_name, dataset) -> exp.Select:
    """The SELECT rewritten to read the checked cells instead of the dataset's rows."""
    rest = select.copy()
    rest.set("where", None)
    rest.set("group", None)
    having = rest.args.get("having")
    rest.set("having", None)
    if having is not None:
        rest.set("where", exp.Where(this=having.this))
    checked = exp.Table(this=exp.to_identifier(checked_name)).as_(alias, copy=False)
    rest.set("from_", exp.From(this=checked))

    def replace(node: exp.Expression) -> exp.Expression:
        if is_aggregate_call(node) and (call := node.sql("duckdb")) in calls:
            return exp.column(calls[call].name, table=alias)
        for key in keys:
            if node == key.expr:
                return exp.column(key.name, table=alias)
        return node

    rest = rest.transform(replace, copy=False)
    produced = {k.name for k in keys} | {m.name for m in calls.values()}
    for column in rest.find_all(exp.Column):
        if column.table == alias and column.name not in produced:
            raise QueryRejected(
                f"{column.name} must be in GROUP BY or inside an aggregate in the aggregate over {dataset.name}"
            )
    return rest


def label_of(key: Key, select: exp.Select) -> str:
    for projection in select.expressions:
        if projection.unalias() == key.expr:
            return projection.alias_or_name
    return key.expr.sql("duckdb")


def unusable(name: str, column, dataset: Dataset, verb: str) -> str:
    dimension = next(iter(dataset.roles("dimension")), "a dimension column")
    if column.role == "identifier":
        return f"column {name} is an identifier: it cannot be {verb} on {dataset.name}; group by {dimension} instead"
    if column.role == "measure":
        return (
            f"column {name} is a measure: it cannot be {verb} directly on {dataset.name}; aggregate it with sum() or "
            f"avg(), or bin it: floor({name} / 10000) * 10000"
        )
    return (
        f"column {name} is exact to the {column.grain}: it cannot be {verb} as it is on {dataset.name}; "
        f"coarsen it to a day or more, e.g. date_trunc('day', {name})"
    )


def entity_word(dataset: Dataset) -> str:
    return (dataset.entity or "entity").removesuffix("_id").replace("_", " ")
