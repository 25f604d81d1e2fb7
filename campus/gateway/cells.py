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

import re
from dataclasses import dataclass, field

from sqlglot import exp

from extractguard import Cells, Measure

from ..catalog import Dataset, aligned
from ..errors import QueryRejected
from ..vocabulary.allowlist import CHECKED_AGGREGATE_CLASSES, COARSE_UNITS, TIME_COARSENINGS, TIME_COARSENING_CLASSES
from ..vocabulary.dialect import CAMPUS_SQL
from . import constant
from .analyse import DatasetUse, is_aggregate_call, walk_scope

GRAIN_ORDER = ["second", "minute", "hour", "day", "week", "month", "quarter", "year"]
ENTITY = "__entity"

# Scalar functions a key or filter may apply to keyable terms: total, so they cannot
# fail on a particular value and signal it through an error.
KEY_FUNCTIONS = (
    exp.Upper, exp.Lower, exp.Substring, exp.Left, exp.Right, exp.Trim, exp.Concat, exp.DPipe, exp.Coalesce,
    exp.Case, exp.If, exp.EQ, exp.NEQ, exp.In, exp.And, exp.Or, exp.Not, exp.Paren, exp.Is,
    exp.Like, exp.ILike, exp.Between, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Literal, exp.Null, exp.Boolean,
)
# Time labels of a day or coarser that read as text: strftime with date directives only,
# dayname, monthname.
TIME_LABELS = (exp.TimeToStr, exp.Dayname, exp.Monthname)
DATE_DIRECTIVES = set("aAwdbBhmyYjUWVGguxe") | {"-d", "-m", "-j", "%"}


@dataclass
class Key:
    name: str
    expr: exp.Expression  # as written: the rest of the query refers to it so
    computed: exp.Expression | None = None  # as the statistics compute it (measures coded into their bins)

    def __post_init__(self):
        if self.computed is None:
            self.computed = self.expr


@dataclass
class ProtectedAggregate:
    """The parts of one protected aggregate."""

    dataset: Dataset
    alias: str
    keys: list[Key]
    filters: list[exp.Expression]  # as the statistics compute them
    measures: list[Measure]
    columns: list[str]  # the measured columns the statistics are computed for
    rest: exp.Select
    checked_name: str
    labels: dict[str, str] = field(default_factory=dict)  # key name -> output name
    written_filters: list[exp.Expression] = field(default_factory=list)  # as written, for the public domain
    conditions: list[exp.Expression] = field(default_factory=list)  # population p's condition is conditions[p - 1]
    outputs: dict[str, str] = field(default_factory=dict)  # measure name -> the output column showing it

    @property
    def cells(self) -> Cells:
        return Cells(keys=[k.name for k in self.keys], measures=self.measures, key_labels=self.labels,
                     dataset=self.dataset.name, measure_labels=self.outputs, signature=self.signature,
                     conditions=len(self.filters) + len(self.conditions))

    @property
    def signature(self) -> str:
        """What defines the cells, as the statistics compute them: keys, filters, conditions."""
        parts = [[k.computed.sql(CAMPUS_SQL) for k in self.keys], sorted(f.sql(CAMPUS_SQL) for f in self.filters),
                 [c.sql(CAMPUS_SQL) for c in self.conditions]]
        return repr(parts)


def split(use: DatasetUse, checked_name: str) -> ProtectedAggregate:
    """Take a protected aggregate apart, or say why its shape cannot be checked."""
    select, dataset = use.select, use.dataset
    check_single_source(select, dataset)
    check_own_columns(select, use.alias, dataset)
    written = conjuncts(select.args.get("where"))
    filters = [check_filter(f, dataset) for f in written]
    keys = [Key(f"k{i}", e, check_key(e, dataset)) for i, e in enumerate(group_expressions(select))]
    measures, columns, calls, conditions = [], [], {}, []
    for node in walk_scope(select):
        if isinstance(node, exp.AggFunc) and isinstance(node.parent, exp.Window):
            raise QueryRejected(
                f"window function {node.sql(CAMPUS_SQL)} over {dataset.name} rows is not allowed; aggregate first "
                "and use window functions on the result in an outer query"
            )
        if is_aggregate_call(node) and (call := node.sql(CAMPUS_SQL)) not in calls:
            measure = check_aggregate(node, dataset, columns, f"m{len(measures)}", conditions)
            calls[call] = measure
            measures.append(measure)
    rest = lift(select, use.alias, keys, calls, checked_name, dataset)
    labels = {k.name: label_of(k, select) for k in keys}
    outputs = {calls[p.unalias().sql(CAMPUS_SQL)].name: p.alias_or_name for p in select.expressions
               if p.unalias().sql(CAMPUS_SQL) in calls}
    return ProtectedAggregate(
        dataset, use.alias, keys, filters, measures, columns, rest, checked_name, labels, written, conditions, outputs
    )


def check_single_source(select: exp.Select, dataset: Dataset) -> None:
    if select.args.get("joins") or select.args.get("laterals"):
        raise QueryRejected(
            f"aggregate {dataset.name} on its own before joining it: put the aggregate in a CTE "
            "(WITH cells AS (SELECT ... GROUP BY ...)) and join the cells"
        )
    distinct = select.args.get("distinct")
    if distinct is not None and distinct.args.get("on"):
        raise QueryRejected(f"DISTINCT ON is not allowed in an aggregate over {dataset.name}")


def check_own_columns(select: exp.Select, alias: str, dataset: Dataset) -> None:
    """Filters, keys and aggregates read the dataset's own columns, never an outer query's."""
    clauses = [select.args.get("where"), select.args.get("group")]
    clauses += [node for node in walk_scope(select) if is_aggregate_call(node)]
    for clause in filter(None, clauses):
        for column in clause.find_all(exp.Column):
            if column.table != alias:
                raise QueryRejected(
                    f"{column.sql(CAMPUS_SQL)} is not a column of {dataset.name}: an aggregate over {dataset.name} may "
                    "use only its own columns and constants (compare with constants, not an outer query's columns)"
                )


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


def check_filter(condition: exp.Expression, dataset: Dataset) -> exp.Expression:
    """A filter is a conjunction of conditions, each on one column: a product of sets.

    Each condition joined by AND may test one column in any way a key may use it
    (``upper(district) = 'JUNG-GU'``, ``category <> 'Golf'``, ``hour IN (7, 8) OR hour
    = 9``): that is the same as listing the column's values it keeps, which IN already
    allows. A condition over two columns (``dong = 'X' OR category = 'Y'``) is not a
    product of sets, and is how trackers are built, so it is refused. Returns the
    condition as the statistics compute it.
    """
    named = sorted({c.name for c in condition.find_all(exp.Column)})
    if len(named) > 1:
        raise QueryRejected(
            f"the filter {condition.sql(CAMPUS_SQL)} tests {' and '.join(named)} together: on {dataset.name} each "
            "condition joined by AND must test one column (OR, NOT and != across columns can build trackers); "
            "split it, or run separate queries"
        )
    kind = check_term(condition, dataset)
    if kind not in ("bool", "null"):
        raise QueryRejected(
            f"the filter {condition.sql(CAMPUS_SQL)} is not a condition: compare the column with a value "
            "(=, IN, BETWEEN, <, >, LIKE, IS NULL)"
        )
    return coded(condition, dataset)


# --- group keys and the terms of filters --------------------------------------------


def check_key(expr: exp.Expression, dataset: Dataset) -> exp.Expression:
    """A key groups by dimension columns, coarsened time, or binned measures; returns it
    as the statistics compute it (measures coded into their bins)."""
    check_term(expr, dataset)
    return coded(expr, dataset)


def check_term(expr: exp.Expression, dataset: Dataset) -> str:
    """Check a key or a filter condition, and say what kind of value it has.

    Terms are built of keyable columns (dimensions, quasi-identifiers, time coarsened
    to a day or more, measures only in their declared bins), constants and total
    functions, and are well-typed by construction: text is compared with text, numbers
    with numbers. No value in the data can then make a term fail, so an error never
    tells whether a value exists. The kinds: ``text``, ``number``, ``time``, ``bool``,
    ``null``, and ``literal`` (a string constant, which DuckDB reads as the type of
    what it is compared with, once, before it reads any row).
    """
    if isinstance(expr, exp.Paren):
        return check_term(expr.this, dataset)
    if is_constant(expr):
        if not isinstance(expr, (exp.Literal, exp.Null, exp.Boolean)):
            constant.check(expr, f"{expr.sql(CAMPUS_SQL)} is not a value DuckDB can compute")
        return constant_kind(expr)
    if isinstance(expr, exp.Column):
        column = column_of(expr, dataset)
        if column.role in ("dimension", "quasi_identifier") or (column.role == "time" and coarse(column.grain)):
            return KIND_OF_TYPE[column.type]
        raise QueryRejected(unusable(expr.name, column, dataset, "used in a key or filter"))
    if (measure := measure_comparison(expr, dataset)) is not None:
        return measure
    if isinstance(expr, (*TIME_COARSENING_CLASSES, exp.Cast, exp.Extract, *TIME_LABELS)) or is_date_part(expr):
        return check_time_coarsening(expr, dataset)
    if isinstance(expr, exp.Hour) and time_column(expr.this, dataset):
        return "number"
    if (binned := check_bin(expr, dataset)) is not None:
        return binned
    if isinstance(expr, KEY_FUNCTIONS):
        return function_kind(expr, dataset)
    raise QueryRejected(
        f"cannot group or filter {dataset.name} by {expr.sql(CAMPUS_SQL)}: use its dimension columns, a time column "
        "coarsened with date_trunc('month', ...), or a binned measure such as floor(amount / 10000) * 10000 "
        "(the campus SQL guide lists what keys and filters may use: campus.guide())"
    )


KIND_OF_TYPE = {
    "BOOLEAN": "bool", "TINYINT": "number", "SMALLINT": "number", "INTEGER": "number", "BIGINT": "number",
    "DOUBLE": "number", "VARCHAR": "text", "DATE": "time", "TIMESTAMP": "time",
}
KIND_WORDS = {"literal": "quoted text", "bool": "condition", "time": "date"}
TEXT_FUNCTIONS = (exp.Upper, exp.Lower, exp.Substring, exp.Left, exp.Right, exp.Trim, exp.Concat, exp.DPipe)
COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def function_kind(expr: exp.Expression, dataset: Dataset) -> str:
    """The kind of a total function's value, its arguments checked."""
    children = [child for child in expr.iter_expressions() if not isinstance(child, exp.DataType)]
    kinds = [check_term(child, dataset) for child in children]
    if isinstance(expr, TEXT_FUNCTIONS):
        return "text"  # casting anything to text never fails
    if isinstance(expr, (exp.And, exp.Or, exp.Not)):
        for kind in kinds:
            require(kind in ("bool", "null"), expr, "AND, OR and NOT join conditions")
        return "bool"
    if isinstance(expr, (*COMPARISONS, exp.In, exp.Between)):
        same_kind(kinds, expr, children)
        return "bool"
    if isinstance(expr, (exp.Like, exp.ILike)):
        for kind in kinds:
            require(kind in ("text", "literal", "null"), expr, "LIKE compares text with text")
        return "bool"
    if isinstance(expr, exp.Is):
        return "bool"
    if isinstance(expr, (exp.Case, exp.If)):
        return case_kind(expr, dataset)
    if isinstance(expr, exp.Coalesce):
        return same_kind(kinds, expr, children)
    raise QueryRejected(f"{expr.sql(CAMPUS_SQL)} is not allowed in a key or filter")  # a class listed but not typed


def case_kind(expr: exp.Expression, dataset: Dataset) -> str:
    """CASE / IF: conditions are conditions, and every value has one kind."""
    if isinstance(expr, exp.If):
        conditions, values = [expr.this], [expr.args.get("true"), expr.args.get("false")]
    else:
        if expr.this is not None:
            raise QueryRejected(f"{expr.sql(CAMPUS_SQL)}: write CASE WHEN <condition> THEN ..., not CASE <value> WHEN")
        conditions = [w.this for w in expr.args.get("ifs") or []]
        values = [w.args.get("true") for w in expr.args.get("ifs") or []] + [expr.args.get("default")]
    for condition in conditions:
        require(check_term(condition, dataset) in ("bool", "null"), expr, "CASE WHEN takes a condition")
    values = [v for v in values if v is not None]
    return same_kind([check_term(v, dataset) for v in values], expr, values)


def same_kind(kinds: list[str], expr: exp.Expression, nodes: list[exp.Expression]) -> str:
    """The one kind of these values. A string constant fits text, time when it is a day
    DuckDB reads as one, and a number when it is a small whole number (checked here, so
    that it cannot fail on the data; small, since the column may be a TINYINT)."""
    real = {k for k in kinds if k not in ("null", "literal")}
    if len(real) > 1 or ("literal" in kinds and real - {"text", "time", "number"}):
        raise QueryRejected(
            f"{expr.sql(CAMPUS_SQL)} mixes kinds of values ({', '.join(sorted(set(KIND_WORDS.get(k, k) for k in kinds) - {'null'}))}): compare text "
            "with text in quotes, numbers with numbers, dates with DATE '2025-01-01'"
        )
    for kind, node in zip(kinds, nodes):
        if kind == "literal" and real == {"time"}:
            constant.check(exp.cast(node.copy(), "DATE"), f"{node.sql(CAMPUS_SQL)} is not a day (write '2025-03-01')")
            constant.check(exp.cast(node.copy(), "TIMESTAMP"), f"{node.sql(CAMPUS_SQL)} is not a day")
        if kind == "literal" and real == {"number"}:
            constant.check(exp.cast(node.copy(), "TINYINT"), f"{node.sql(CAMPUS_SQL)} is not a small whole number: write numbers without quotes")
    return real.pop() if real else ("literal" if "literal" in kinds else "null")


def require(condition: bool, expr: exp.Expression, rule: str) -> None:
    if not condition:
        raise QueryRejected(f"{expr.sql(CAMPUS_SQL)}: {rule}")


def constant_kind(node: exp.Expression) -> str:
    while isinstance(node, (exp.Paren, exp.Neg)):
        node = node.this
    if isinstance(node, exp.Null):
        return "null"
    if isinstance(node, exp.Boolean):
        return "bool"
    if isinstance(node, exp.Cast):
        if node.to.is_type(*exp.DataType.TEMPORAL_TYPES):
            return "time"
        if node.to.is_type(*exp.DataType.TEXT_TYPES):
            return "text"
        return "bool" if node.to.is_type("boolean") else "number"
    if isinstance(node, exp.Literal):
        return "literal" if node.is_string else "number"
    return "time" if isinstance(node, exp.Interval) else "literal"


def check_time_coarsening(expr: exp.Expression, dataset: Dataset) -> str:
    """A time column coarsened to a day or more; returns the kind of the result."""
    what = expr.sql(CAMPUS_SQL)
    if isinstance(expr, exp.Cast):
        if not expr.to.is_type("date") or not time_column(expr.this, dataset):
            raise QueryRejected(f"{what}: only a cast of a time column to DATE coarsens it")
        return "time"
    if isinstance(expr, exp.Extract) or is_date_part(expr):
        part, of = (expr.this, expr.expression) if isinstance(expr, exp.Extract) else expr.expressions
        if part.name.lower() not in COARSE_UNITS | {"dow", "isodow", "doy", "hour", "dayofweek"} or not time_column(of, dataset):
            raise QueryRejected(f"{what}: extract a day or coarser part (day, week, month, quarter, year)")
        return "number"
    if isinstance(expr, TIME_LABELS):
        if not time_column(expr.this, dataset):
            raise QueryRejected(f"{what}: label a time column of {dataset.name}")
        if isinstance(expr, exp.TimeToStr):
            check_date_format(expr)
        return "text"
    unit = TIME_COARSENINGS[type(expr).__name__]
    if unit == "unit":
        unit = expr.args["unit"].name.lower() if expr.args.get("unit") is not None else ""
    if unit not in COARSE_UNITS or not time_column(expr.this, dataset):
        raise QueryRejected(f"{what}: coarsen a time column to a day or more (day, week, month, quarter, year)")
    return "time" if type(expr).__name__ in ("DateTrunc", "TimestampTrunc", "TsOrDsToDate", "Date") else "number"


def check_date_format(expr: exp.TimeToStr) -> None:
    """strftime with directives of a day or coarser only (%Y, %m, %d, %a, %b, %j, %W, ...)."""
    form = expr.args.get("format")
    text = form.name if isinstance(form, exp.Literal) and form.is_string else None
    directives = re.findall(r"%(-?.)", text or "")
    if text is None or any(d not in DATE_DIRECTIVES for d in directives):
        raise QueryRejected(
            f"{expr.sql(CAMPUS_SQL)}: strftime may label a day or coarser (%Y, %m, %d, %a, %b, %j, %W), "
            "not hours, minutes or seconds; use hour(...) as a separate key"
        )


def is_date_part(expr: exp.Expression) -> bool:
    return isinstance(expr, exp.Anonymous) and expr.name.lower() in ("date_part", "datepart") and len(expr.expressions) == 2


def time_column(node: exp.Expression, dataset: Dataset) -> bool:
    return isinstance(node, exp.Column) and column_of(node, dataset).role == "time"


# --- measures, only in their bins ------------------------------------------------------


def check_bin(expr: exp.Expression, dataset: Dataset) -> str | None:
    """floor(measure / width) [* width] or measure // width [* width], width a multiple of
    the measure's declared bin width; None when `expr` is not a bin at all."""
    if isinstance(expr, exp.Mul) and isinstance(expr.this, (exp.Floor, exp.IntDiv)) and positive_literal(expr.expression):
        expr = expr.this
    if isinstance(expr, exp.Floor) and isinstance(expr.this, exp.Div) and not expr.args.get("decimals"):
        column, width = expr.this.this, expr.this.expression
    elif isinstance(expr, exp.IntDiv):
        column, width = expr.this, expr.expression
    else:
        return None
    if not isinstance(column, exp.Column) or column_of(column, dataset).role != "measure" or not positive_literal(width):
        return None
    bins = declared_bins(column, dataset)
    if not aligned(width.this, bins.width):
        raise QueryRejected(
            f"{expr.sql(CAMPUS_SQL)}: {column.name} is binned by {bins.width:g} or a whole multiple of it, e.g. "
            f"floor({column.name} / {bins.width:g}) * {bins.width:g}"
        )
    return "number"


def measure_comparison(expr: exp.Expression, dataset: Dataset) -> str | None:
    """``measure >= c`` or ``measure < c``, c a multiple of the bin width: a union of bins.

    ``>`` and ``<=`` are not: the value c itself would sit on the other side, and two
    such filters would differ by exactly the entities with the value c.
    """
    if not isinstance(expr, COMPARISONS):
        return None
    left, right, cls = expr.this, expr.expression, type(expr)
    if is_constant(left) and isinstance(right, exp.Column):
        left, right = right, left
        cls = {exp.GT: exp.LT, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.LTE: exp.GTE}.get(cls, cls)
    if not isinstance(left, exp.Column) or column_of(left, dataset).role != "measure":
        return None
    bins = declared_bins(left, dataset)
    value = constant_number(right)
    if cls not in (exp.GTE, exp.LT) or value is None or not aligned(value, bins.width):
        raise QueryRejected(
            f"the filter {expr.sql(CAMPUS_SQL)}: {left.name} is a measure; compare it as {left.name} >= c or "
            f"{left.name} < c with c a multiple of {bins.width:g}, or bin it: floor({left.name} / {bins.width:g}) * "
            f"{bins.width:g}"
        )
    return "bool"


def declared_bins(column: exp.Column, dataset: Dataset):
    bins = dataset.columns[column.name].bins
    if bins is None:
        raise QueryRejected(
            f"{column.name} is a measure of {dataset.name} with no bins declared: it can only be aggregated "
            f"(sum, avg, count); ask the steward {dataset.steward} to declare bins for it"
        )
    return bins


def constant_number(node: exp.Expression) -> float | None:
    negative = isinstance(node, exp.Neg)
    node = node.this if negative else node
    if isinstance(node, exp.Literal) and node.is_number:
        return -float(node.this) if negative else float(node.this)
    return None


def coded(expr: exp.Expression, dataset: Dataset) -> exp.Expression:
    """`expr` as the statistics compute it: every measure replaced by its value within
    the bottom and top codes, so the extremes share one bin."""

    def code(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.name in dataset.columns and dataset.columns[node.name].bins:
            bins = dataset.columns[node.name].bins
            return (
                exp.Case()
                .when(exp.LT(this=node.copy(), expression=number(bins.bottom)), number(bins.bottom), copy=False)
                .when(exp.GTE(this=node.copy(), expression=number(bins.top)), number(bins.top), copy=False)
                .else_(node.copy(), copy=False)
            )
        return node

    return expr.copy().transform(code, copy=False)


def number(value: float) -> exp.Literal:
    return exp.Literal.number(int(value) if float(value).is_integer() else value)


def positive_literal(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and node.is_number and float(node.this) > 0


def column_of(node: exp.Column, dataset: Dataset):
    """The catalog column a reference inside the aggregate names; outer references are refused."""
    if node.name not in dataset.columns:
        raise QueryRejected(
            f"{node.sql(CAMPUS_SQL)} is not a column of {dataset.name}: an aggregate over {dataset.name} may use "
            "only its own columns and constants"
        )
    return dataset.columns[node.name]


def is_constant(node: exp.Expression) -> bool:
    allowed = (exp.Literal, exp.Null, exp.Boolean, exp.Neg, exp.Cast, exp.DataType, exp.Interval, exp.Var, exp.Paren)
    return all(isinstance(n, allowed) for n in node.walk())


def coarse(grain: str | None) -> bool:
    return grain is not None and GRAIN_ORDER.index(grain) >= GRAIN_ORDER.index("day")


# --- aggregates -------------------------------------------------------------------


def check_aggregate(call: exp.Expression, dataset: Dataset, columns: list[str], name: str,
                    conditions: list[exp.Expression] | None = None) -> Measure:
    """Count, count distinct entities, sum and avg of measure columns; nothing else.

    An aggregate of the rows where a condition holds (``sum(CASE WHEN category = 'Golf'
    THEN amount END)``, ``count_if(hour < 6)``) counts a population of the cell: the
    condition is checked as a filter, and the population is checked as cells of its own.
    """
    label = aggregate_label(call)
    call, population = unconditional(call, dataset, conditions if conditions is not None else [])
    measure = classify(call, dataset, columns, name, label)
    return Measure(measure.name, measure.kind, label, measure.column, measure.integral, population, measure.unit)


def unconditional(call: exp.Expression, dataset: Dataset, conditions: list[exp.Expression]):
    """The aggregate without its condition, and the population the condition names (0: none)."""
    if isinstance(call, exp.CountIf):
        return exp.Count(this=exp.Star()), population(call.this, dataset, conditions)
    if not isinstance(call, CHECKED_AGGREGATE_CLASSES):
        return call, 0
    arg = call.this
    inner = arg.expressions[0] if isinstance(arg, exp.Distinct) and len(arg.expressions) == 1 else arg
    case = conditional(inner)
    if case is None:
        return call, 0
    condition, value, otherwise = case
    if otherwise is not None and not (isinstance(call, exp.Sum) and otherwise.is_number and float(otherwise.this) == 0):
        raise QueryRejected(
            f"{call.sql(CAMPUS_SQL)}: write the condition without ELSE (CASE WHEN ... THEN {value.sql(CAMPUS_SQL)} END), "
            "so that the rows outside it are not counted"
        )
    value = value.copy()
    rebuilt = call.copy()
    if isinstance(arg, exp.Distinct):
        rebuilt.set("this", exp.Distinct(expressions=[value]))
    else:
        rebuilt.set("this", value)
    return rebuilt, population(condition, dataset, conditions)


def conditional(node: exp.Expression):
    """(condition, value, else) of ``CASE WHEN c THEN v [ELSE e] END`` or ``IF(c, v, e)``; None otherwise."""
    if isinstance(node, exp.Case) and node.this is None and len(node.args.get("ifs") or []) == 1:
        when = node.args["ifs"][0]
        otherwise = node.args.get("default")
        return when.this, when.args["true"], None if isinstance(otherwise, exp.Null) else otherwise
    if isinstance(node, exp.If):
        otherwise = node.args.get("false")
        return node.this, node.args["true"], None if isinstance(otherwise, exp.Null) else otherwise
    return None


def population(condition: exp.Expression, dataset: Dataset, conditions: list[exp.Expression]) -> int:
    """The number of the population where `condition` holds (checked as a filter)."""
    coded_condition = check_filter(condition, dataset)
    text = [c.sql(CAMPUS_SQL) for c in conditions]
    if coded_condition.sql(CAMPUS_SQL) not in text:
        conditions.append(coded_condition)
        return len(conditions)
    return text.index(coded_condition.sql(CAMPUS_SQL)) + 1


def classify(call: exp.Expression, dataset: Dataset, columns: list[str], name: str, label: str) -> Measure:
    """What an aggregate without condition measures."""
    if not isinstance(call, CHECKED_AGGREGATE_CLASSES):
        raise QueryRejected(
            f"{call.sql_name().lower()}() is not allowed on {dataset.name}: it can reveal one "
            f"{entity_word(dataset)}'s value; use count, sum or avg (or bin the values in GROUP BY)"
        )
    arg = call.this
    if isinstance(call, exp.Count):
        if isinstance(arg, exp.Star) or (isinstance(arg, (exp.Literal, exp.Boolean)) and not isinstance(arg, exp.Null)):
            return Measure(name, "rows", label)
        if isinstance(arg, exp.Distinct):
            target = arg.expressions[0] if len(arg.expressions) == 1 else None
            if isinstance(target, exp.Column) and target.name == dataset.entity:
                return Measure(name, "entities", label)
            raise QueryRejected(
                f"{call.sql(CAMPUS_SQL)}: on {dataset.name} only count(DISTINCT {dataset.entity}) is allowed "
                f"(it counts {entity_word(dataset)}s); group by the column instead"
            )
        if isinstance(arg, exp.Column) and column_of(arg, dataset).role != "identifier":
            return Measure(name, "values", label, measured(arg.name, columns))
    if isinstance(call, (exp.Sum, exp.Avg)) and isinstance(arg, exp.Column):
        column = column_of(arg, dataset)
        if column.role == "measure":
            integral = column.type in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")
            return Measure(name, call.sql_name().lower(), label, measured(arg.name, columns), integral,
                           unit=column.unit)
        raise QueryRejected(f"{label}: {arg.name} is not a measure of {dataset.name}; sum or average a measure")
    raise QueryRejected(
        f"{call.sql(CAMPUS_SQL)}: on {dataset.name}, aggregate a column as it is (e.g. sum(amount)); "
        "compute with the results in an outer query"
    )


def aggregate_label(call: exp.Expression) -> str:
    """How the researcher would write the call: ``sum(amount)``."""
    plain = call.copy()
    for column in plain.find_all(exp.Column):
        column.set("table", None)
    text = plain.sql(CAMPUS_SQL)
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
        if is_aggregate_call(node) and (call := node.sql(CAMPUS_SQL)) in calls:
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
    return key.expr.sql(CAMPUS_SQL)


def unusable(name: str, column, dataset: Dataset, verb: str) -> str:
    dimension = next(iter(dataset.roles("dimension")), "a dimension column")
    if column.role == "identifier":
        return f"column {name} is an identifier: it cannot be {verb} on {dataset.name}; group by {dimension} instead"
    if column.role == "measure":
        width = f"{column.bins.width:g}" if column.bins else None
        binned = f", or bin it: floor({name} / {width}) * {width}" if width else ""
        return f"column {name} is a measure: it cannot be {verb} directly on {dataset.name}; aggregate it with sum() or avg(){binned}"
    return (
        f"column {name} is exact to the {column.grain}: it cannot be {verb} as it is on {dataset.name}; "
        f"coarsen it to a day or more, e.g. date_trunc('day', {name})"
    )


def entity_word(dataset: Dataset) -> str:
    return (dataset.entity or "entity").removesuffix("_id").replace("_", " ")
