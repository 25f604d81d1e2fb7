"""What SQL the gateway accepts: allow-lists, never deny-lists.

Every node of a parsed query must be of a class named here, and every function must
be listed by its sqlglot class or, for functions sqlglot does not model, by its DuckDB
name. Anything else (PIVOT, COPY, table functions, lambdas, method calls, COLUMNS(...),
``#1``, placeholders, settings) is rejected before DuckDB sees the query. Names are
checked against sqlglot when this module is imported, so a typo cannot silently allow
nothing or everything.
"""

from __future__ import annotations

from sqlglot import exp

STATEMENTS = ("Select", "Union", "Intersect", "Except")

SYNTAX = """
    Select From Join Where Group Having Qualify Order Ordered Limit Offset Distinct
    With CTE Subquery Union Intersect Except Values Tuple TableAlias Table Alias
    Column Identifier Star Literal Boolean Null Paren Var Interval DataType Cast TryCast
    And Or Not Xor EQ NEQ GT GTE LT LTE Is In Between Like ILike Exists
    Add Sub Mul Div IntDiv Mod Neg BitwiseAnd BitwiseOr DPipe
    Case If Window WindowSpec IgnoreNulls Bracket Array
""".split()

# Scalar and window functions allowed anywhere; aggregates are in AGGREGATES.
FUNCTIONS = """
    Abs Ceil Floor Round Sqrt Ln Log Exp Pow Sign Greatest Least Coalesce Nullif
    Lower Upper Length Substring Trim Concat ConcatWs Replace Left Right StrPosition
    Initcap Pad Contains StartsWith Trunc
    DateTrunc TimestampTrunc TimeToStr Extract Year Quarter Month Week Day DayOfWeek
    DayOfWeekIso DayOfYear DayOfMonth WeekOfYear Hour Dayname Monthname DateAdd DateSub
    DateDiff TsOrDsToDate Date
    DateFromParts LastDay MakeInterval
    RowNumber Rank DenseRank PercentRank CumeDist Ntile Lag Lead FirstValue LastValue
""".split()

# Aggregates allowed over rows a session may see (rows-mode data, checked cells).
AGGREGATES = """
    Count Sum Avg Min Max Median Stddev StddevSamp StddevPop Variance VariancePop
    CountIf PercentileCont PercentileDisc Quantile Corr CovarSamp CovarPop
    RegrSlope RegrIntercept RegrR2 RegrCount RegrAvgx RegrAvgy RegrSxx RegrSyy RegrSxy
    Skewness Kurtosis
""".split()

# DuckDB functions sqlglot parses as Anonymous, by lower-case name.
NAMED_FUNCTIONS = {"minute", "yearweek", "date_part", "datepart", "round_even", "log2", "ends_with"}

# On aggregates-only data, the aggregates whose cells the guard can check.
CHECKED_AGGREGATES = ("Count", "Sum", "Avg")  # and count_if, as count(CASE WHEN ... THEN 1 END)

# Functions that coarsen a time column to a period of at least a day, by the period.
TIME_COARSENINGS = {
    "DateTrunc": "unit", "TimestampTrunc": "unit", "Year": "year", "Quarter": "quarter",
    "Month": "month", "Week": "week", "WeekOfYear": "week", "DayOfWeek": "day", "DayOfWeekIso": "day",
    "DayOfYear": "day", "DayOfMonth": "day", "TsOrDsToDate": "day", "Date": "day",
}
COARSE_UNITS = {"day", "week", "month", "quarter", "year"}


def _classes(names: list[str]) -> tuple[type, ...]:
    unknown = [name for name in names if not isinstance(getattr(exp, name, None), type)]
    if unknown:
        raise ImportError(f"allow-list names no sqlglot expression: {', '.join(unknown)}")
    return tuple(getattr(exp, name) for name in names)


STATEMENT_CLASSES = _classes(list(STATEMENTS))
SYNTAX_CLASSES = _classes(SYNTAX)
FUNCTION_CLASSES = _classes(FUNCTIONS)
AGGREGATE_CLASSES = _classes(AGGREGATES)
CHECKED_AGGREGATE_CLASSES = _classes(list(CHECKED_AGGREGATES))
TIME_COARSENING_CLASSES = _classes(list(TIME_COARSENINGS))
ALLOWED_CLASSES = frozenset(SYNTAX_CLASSES + FUNCTION_CLASSES + AGGREGATE_CLASSES)


def is_allowed(node: exp.Expression) -> bool:
    """Whether `node` may appear in a query at all (its context is checked elsewhere).

    >>> import sqlglot
    >>> is_allowed(sqlglot.parse_one("sum(amount)", read="duckdb"))
    True
    >>> is_allowed(sqlglot.parse_one("query('SELECT 1')", read="duckdb"))
    False
    """
    if isinstance(node, exp.Anonymous):
        return node.name.lower() in NAMED_FUNCTIONS
    return type(node) in ALLOWED_CLASSES


def describe(node: exp.Expression) -> str:
    """How a researcher would name `node`: the function name or the SQL keyword."""
    if isinstance(node, exp.Anonymous):
        return f"{node.name}()"
    if isinstance(node, exp.Func):
        return f"{node.sql_name().lower()}()"
    return {
        "Command": "this statement", "PositionalColumn": "positional column #n",
        "Dot": "method-call syntax (x.f())", "Columns": "COLUMNS(...)", "Lambda": "lambda functions",
        "Placeholder": "parameters ($1, ?)", "Pivot": "PIVOT/UNPIVOT", "TableSample": "USING SAMPLE",
        "Lateral": "LATERAL", "Unnest": "UNNEST", "Struct": "struct literals", "RawString": "$$ strings",
        "Rollup": "ROLLUP", "Cube": "CUBE", "GroupingSets": "GROUPING SETS",
    }.get(type(node).__name__, type(node).__name__.upper())
