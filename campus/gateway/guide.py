"""The campus SQL guide: what a query may say, written from the allow-lists themselves.

Refusals point here. The guide is generated from the lists the gateway checks against
(``allowlist``, ``cells``) and from the catalog (bins, public domains), so it cannot
drift from what is enforced: ``campus sql-guide --write`` writes ``docs/sql-guide.md``,
and a test fails when that file is out of date. In a notebook, ``campus.guide()``.
"""

from __future__ import annotations

import re

from sqlglot import exp

from ..catalog import Catalog, Range
from ..vocabulary import allowlist
from ..vocabulary.dialect import CAMPUS_SQL
from . import cells

GUIDE_PATH = "docs/sql-guide.md"


def render(catalog: Catalog) -> str:
    """The guide as Markdown."""
    parts = [INTRO, statements(), protected(catalog), keys(catalog), filters(), domains(catalog), everywhere(), NEVER]
    return "\n\n".join(p.strip() for p in parts) + "\n"


INTRO = """
# The campus SQL guide

*Generated from the gateway's allow-lists and the catalog by `campus guide --write`;
do not edit by hand.*

Queries are DuckDB SQL. The gateway checks every part of a query against the lists
below before DuckDB sees it; anything not listed is refused with a reason. On datasets
you may see only as aggregates, it computes the cells of your aggregate itself, checks
them against the disclosure rules, and runs the rest of your query (HAVING, ORDER BY,
joins, window functions, outer queries) over the checked cells only.
"""


def statements() -> str:
    return f"""
## Statements

One statement per request: {words(allowlist.STATEMENTS)} (with CTEs, subqueries and
`VALUES`). No settings, files, extensions, `PIVOT`, `COPY`, `ATTACH`, `CREATE` or
parameters.
"""


def protected(catalog: Catalog) -> str:
    rows = "\n".join(
        f"| `{d.name}` | {d.entity} | {d.disclosure.min_entities} | {d.disclosure.max_cells:,} |"
        for d in catalog if d.entity
    )
    return f"""
## Aggregates over protected datasets

| dataset | protected entity | fewest entities per cell | most cells per aggregate |
|---|---|---|---|
{rows}

The aggregate that reads a protected dataset may use only these aggregates:

* `count(*)`, `count(column)`, `count(DISTINCT <entity>)` (the entity column, nothing else);
* `sum(measure)` and `avg(measure)` of a measure column as it is;
* any of these over the rows where a one-column condition holds, the pivot idiom:
  `sum(CASE WHEN category = 'Golf' THEN amount END)`, `sum(IF(hour < 6, amount, 0))`,
  `count_if(gender = 'F')`. Each gives exactly the cells (and noise) of the same
  aggregate filtered by its condition.

Never `min`, `max`, `median`,
`mode`, `string_agg`, `list` or any other aggregate that can reveal one entity's value;
compute with checked cells in an outer query instead. No joins or windows over the
protected rows: aggregate first (in a CTE), then join or rank the cells.

A cell with fewer entities than the threshold is **not shown at all**, nor are the cells
that would let a table's totals reveal it, and the report never names them. A sum or
average is withheld (null) in a shown cell when the top contributors dominate it; the
report names those. Counts are randomly rounded, sums carry seeded noise, and every
released value has a 95% error bar (`result.report.errors`, `result.with_errors()`); a
result shows each value as `value ± half-width`, to the precision its bar allows, and
counts (whose only protection is rounding) without one.
"""


def keys(catalog: Catalog) -> str:
    coarsenings = ", ".join(sorted({f"`{sql_name(name)}`" for name in allowlist.TIME_COARSENINGS}))
    labels = ", ".join(f"`{sql_name(c.__name__)}`" for c in cells.TIME_LABELS)
    named = {sql_name(c.__name__) for c in cells.KEY_FUNCTIONS if issubclass(c, exp.Func)} - {"and", "or", "case", "if"}
    functions = ", ".join(f"`{name}`" for name in sorted(named))
    operators = ", ".join(f"`{op}`" for op in ("=", "<>", "<", "<=", ">", ">=", "IN", "BETWEEN", "LIKE", "ILIKE",
                                                    "IS NULL", "AND", "OR", "NOT", "CASE", "||"))
    directives = " ".join(f"`%{d}`" for d in sorted(cells.DATE_DIRECTIVES - {"%"}))
    binned = "\n".join(
        f"| `{d.name}.{name}` | {c.bins.width:,.0f} | below {c.bins.bottom:,.0f} | {c.bins.top:,.0f} and above |"
        for d in catalog for name, c in d.columns.items() if c.bins is not None
    )
    return f"""
## Group keys

A key of a protected aggregate is built from:

* **dimension and quasi-identifier columns**, as they are;
* **time columns coarsened to a day or more**: {coarsenings},
  `extract`/`date_part` of a day or coarser part, `hour(...)`; and the labels {labels}
  (`strftime` with the day-or-coarser directives {directives} only);
* **measures, only in their bins**: `floor(m / w) * w`, `floor(m / w)`, `m // w` with `w`
  the declared width or a whole multiple of it. Values beyond the codes share one bin:

| measure | narrowest bin | bottom code | top code |
|---|---|---|---|
{binned}

* **total functions** of those, which cannot fail on any value: {functions}, and {operators}.

Keys are well-typed by construction: text is compared with quoted text, numbers with
numbers, dates with a day such as `'2025-03-01'` or `DATE '2025-03-01'`. Every constant
is computed before the data is read; one that fails is refused.
"""


def filters() -> str:
    return """
## Filters

`WHERE` is a conjunction (`AND`) of conditions, each on **one column**, written with the
same terms as keys: `district = 'Jung-gu'`, `upper(district) IN ('JUNG-GU', 'MAPO-GU')`,
`category <> 'Golf'`, `hour NOT IN (0, 1, 2)`, `hour < 6 OR hour >= 22`,
`date_trunc('month', txn_date) = '2025-03-01'`, `home_district IS NOT NULL`. A condition
on one column is a set of that column's values, as an `IN` list is, so negation and `OR`
within a column are fine. A condition over two columns (`dong = 'X' OR category = 'Y'`)
is refused: such conditions are how trackers are built.

A measure is filtered only through its bins: `amount >= 100000` and `amount < 500000`
with bounds that are multiples of the bin width, or a bin expression
(`floor(amount / 10000) * 10000 = 50000`). Not `amount = x`, `amount > x` or `BETWEEN`.
"""


def domains(catalog: Catalog) -> str:
    rows = []
    for d in catalog:
        for name, c in d.columns.items():
            if c.domain is None:
                continue
            shown = f"{c.domain.first} to {c.domain.last}" if isinstance(c.domain, Range) else f"{len(c.domain)} values"
            rows.append(f"| `{d.name}.{name}` | {shown} |")
    table = "\n".join(rows)
    return f"""
## Public domains

When every key of an aggregate is a function of one column with a public domain, the
result has a row for **every** value of the domain (within your filters): a row with no
values is a cell that was withheld or had no rows, and no one can tell which. The data
hold no other values of such a column: a file holding one is refused when it is loaded.

| column | public values |
|---|---|
{table}
"""


def everywhere() -> str:
    functions = sorted({sql_name(f) for f in allowlist.FUNCTIONS} | set(allowlist.NAMED_FUNCTIONS))
    aggregates = sorted({sql_name(a) for a in allowlist.AGGREGATES})
    return f"""
## Everywhere else

Over open data (rows you may read) and over checked cells (outer queries, CTEs above an
aggregate), these are allowed:

* **syntax** (as sqlglot names it): {words(allowlist.SYNTAX)};
* **functions**: {words(functions)};
* **aggregates**: {words(aggregates)}, so statistics of checked cells such as
  `corr`, `regr_slope` or `stddev` work in an outer query.
"""


NEVER = """
## Never

Identifier columns (card numbers, store ids, transaction ids) are never shown, grouped
by, filtered on or computed with in an aggregate; exact timestamps never become keys; a
query never reaches files, settings, extensions or other databases. Where a project's
grant gives rows of people (in sealed sessions only), each identifier is shown only as
the project's pseudonym: 32 hexadecimal digits, the same for the same id in every query
of the project, unrelated to the id and to other projects' pseudonyms.
"""


# Functions whose DuckDB form is not a call of one name (sqlglot writes them otherwise).
WRITTEN = {"Concat": "concat", "ConcatWs": "concat_ws", "Initcap": "initcap", "DateAdd": "date_add",
           "DateSub": "date_sub", "TsOrDsToDate": "CAST(x AS DATE)", "Date": "date", "MakeInterval": "to_days",
           "RegrR2": "regr_r2"}


def sql_name(name: str) -> str:
    """How a DuckDB query writes the function sqlglot calls `name`: ``TimeToStr`` is ``strftime``.

    >>> sql_name("TimeToStr"), sql_name("DayOfWeekIso"), sql_name("Select")
    ('strftime', 'isodow', 'Select')
    """
    node = getattr(exp, name, None)
    if not (isinstance(node, type) and issubclass(node, exp.Func)):
        return name
    if name in WRITTEN:
        return WRITTEN[name]
    args = {k: exp.Literal.string("month") if k == "unit" else exp.column("x") for k, req in node.arg_types.items() if req}
    try:
        called = re.match(r"^([A-Za-z_0-9]+)\(", node(**args).sql(CAMPUS_SQL))
    except (TypeError, ValueError, AttributeError):  # a node that needs more than columns to be written
        called = None
    return called.group(1).lower() if called else node.sql_names()[0].lower()


def words(names) -> str:
    return ", ".join(f"`{name}`" for name in names)
