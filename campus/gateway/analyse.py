"""Analyse: what a query reads, and how.

``analyse`` parses one DuckDB SELECT, checks every node against the allow-lists,
resolves every column against the catalog, and returns each *use* of a dataset: the
table reference, the SELECT that reads it, the columns whose values it reads, and its
shape (``aggregates`` when that SELECT aggregates the dataset, ``rows`` otherwise).

>>> from campus.catalog import load
>>> from campus.settings import Settings
>>> q = analyse("SELECT district, sum(amount) FROM card_usage GROUP BY 1", load(Settings().catalog_path))
>>> [(u.dataset.name, u.columns, u.shape) for u in q.uses]
[('card_usage', ['amount', 'district'], 'aggregates')]
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cached_property

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema, Schema

from ..catalog import Catalog, Dataset
from ..errors import QueryRejected
from ..vocabulary.allowlist import STATEMENT_CLASSES, describe, is_allowed
from ..vocabulary.dialect import CAMPUS_SQL
from ..text import MAX_SQL, clean

logging.getLogger("sqlglot").setLevel(logging.ERROR)

Shape = str  # "aggregates" | "rows"


@dataclass
class DatasetUse:
    """One reference to a dataset in a query."""

    dataset: Dataset
    table: exp.Table
    alias: str
    scope: Scope
    column_nodes: list[exp.Column] = field(default_factory=list)

    @property
    def select(self) -> exp.Select | None:
        return self.scope.expression if isinstance(self.scope.expression, exp.Select) else None

    @cached_property
    def shape(self) -> Shape:
        """Decided once, from the SELECT as analysed (the rewrite replaces it later)."""
        return "aggregates" if self.select is not None and aggregates(self.select) else "rows"

    @property
    def columns(self) -> list[str]:
        """The columns whose values the query reads (counting distinct entities reads none)."""
        return sorted({c.name for c in self.column_nodes if not self._counts_entities(c)})

    def _counts_entities(self, column: exp.Column) -> bool:
        count = column.parent.parent if isinstance(column.parent, exp.Distinct) else None
        return (
            self.shape == "aggregates"
            and column.name == self.dataset.entity
            and isinstance(count, exp.Count)
            and len(column.parent.expressions) == 1
        )


@dataclass
class Query:
    """A parsed, checked and qualified query with every dataset use found."""

    sql: str
    tree: exp.Expression
    uses: list[DatasetUse]
    names: list[str] = field(default_factory=list)  # output column names as the researcher wrote them

    def output_names(self, produced: list[str]) -> list[str]:
        """The result's column names: the researcher's, where qualifying invented one."""
        written = self.names
        if len(written) != len(produced):
            return produced
        return [name if made.startswith("_col_") else made for name, made in zip(written, produced)]

    def fresh(self, catalog: Catalog) -> Query:
        """A copy to rewrite: the remembered query is shared and never changed, so a rewrite
        works on its own copy of the tree, its uses found again in the copy (no second parse)."""
        tree = self.tree.copy()
        copy = Query(self.sql, tree, find_uses(tree, catalog), list(self.names))
        if [(u.dataset.name, u.columns, u.shape) for u in copy.uses] != [
                (u.dataset.name, u.columns, u.shape) for u in self.uses]:
            raise RuntimeError(f"the copy of {self.sql!r} reads differently from the query remembered")
        return copy


def analyse(sql: str, catalog: Catalog, schema: Schema | None = None) -> Query:
    """Parse, check and qualify `sql`; raise QueryRejected with a reason if it can't run.

    `schema` is `schema_of(catalog)`, for a caller that keeps it between queries.
    """
    tree = parse(sql)
    check_syntax(tree, catalog)
    names = written_names(tree)
    tree = qualify_names(tree, catalog, schema)
    return Query(sql, tree, find_uses(tree, catalog), names)


def parse(sql: str) -> exp.Expression:
    """Exactly one SELECT statement (set operations and CTEs included)."""
    if not sql or not sql.strip():
        raise QueryRejected("the query is empty: write one SELECT statement")
    if len(sql) > MAX_SQL:
        raise QueryRejected(f"the query is {len(sql):,} characters; at most {MAX_SQL:,} are accepted: "
                            "shorten it (long IN lists can often be a GROUP BY)")
    try:
        clean(sql)
    except ValueError as e:
        raise QueryRejected(f"the query could not be read: {e}") from None
    try:
        statements = [s for s in sqlglot.parse(sql, read=CAMPUS_SQL) if s is not None]
    except ParseError as e:
        problem = parse_problem(e.errors[0]["description"] if e.errors else str(e))
        line = e.errors[0].get("line") if e.errors else None
        where = f" (line {line})" if line else ""
        raise QueryRejected(f"the query could not be parsed{where}: {problem}; check the SQL syntax") from None
    except SqlglotError as e:
        raise QueryRejected(f"the query could not be parsed: {parse_problem(str(e))}; check the SQL syntax") from None
    if len(statements) != 1:
        raise QueryRejected(f"send exactly one SELECT statement at a time (this text has {len(statements)})")
    statement = statements[0]
    if isinstance(statement, exp.Condition):  # an expression, not a statement: a misspelt keyword
        raise QueryRejected(
            f"the query could not be parsed: it must start with SELECT, WITH or FROM, not {sql.split()[0][:40]!r}"
        )
    if type(statement) not in STATEMENT_CLASSES:
        raise QueryRejected(f"only SELECT queries are allowed: {describe(statement)} is not")
    return statement


INCOMPLETE = {
    "Where": "WHERE has no condition", "Having": "HAVING has no condition", "Paren": "a parenthesis is empty",
    "Union": "UNION has no second SELECT", "Except": "EXCEPT has no second SELECT",
    "Intersect": "INTERSECT has no second SELECT", "Alias": "AS has no name",
}


def parse_problem(description: str) -> str:
    """The parser's complaint in a researcher's words, without the parser's own objects.

    >>> parse_problem("Required keyword: 'this' missing for <class 'sqlglot.expressions.query.Where'>")
    'WHERE has no condition'
    >>> parse_problem("Required keyword: 'expression' missing for <class 'sqlglot.expressions.core.Add'>")
    'an expression is incomplete (ADD)'
    >>> parse_problem("Error tokenizing 'SELECT 'ab'")
    'a quote is not closed'
    """
    missing = re.match(r"Required keyword: '\w+' missing for <class '[\w.]*?(\w+)'>", description)
    if missing:
        name = missing.group(1)
        return INCOMPLETE.get(name, f"an expression is incomplete ({name.upper()})")
    if description.startswith("Error tokenizing"):
        return "a quote is not closed"
    cleaned = re.sub(r"<[^<>]*(class|Token)[^<>]*>", "", description).strip()
    return cleaned.splitlines()[0] if cleaned else "it is not valid SQL"


def written_names(tree: exp.Expression) -> list[str]:
    """The output names as written: the alias, the column, or the expression's text."""
    first = tree
    while isinstance(first, exp.SetOperation):
        first = first.this
    if not isinstance(first, exp.Select) or any(isinstance(p, exp.Star) or p.find(exp.Star) and not p.find(exp.Count) for p in first.expressions):
        return []
    return [p.alias_or_name if isinstance(p, (exp.Alias, exp.Column)) else expression_text(p) for p in first.expressions]


def expression_text(node: exp.Expression) -> str:
    """``sum(amount)`` rather than sqlglot's ``SUM(amount)``."""
    text = node.sql(CAMPUS_SQL)
    return re.sub(r"\b([A-Z_]+)\(", lambda m: m.group(1).lower() + "(", text)


def check_syntax(tree: exp.Expression, catalog: Catalog) -> None:
    """Every node is allow-listed, and every table is a plain name."""
    for node in tree.walk():
        if not is_allowed(node):
            raise QueryRejected(f"{describe(node)} is not allowed in campus queries; the campus SQL guide lists what is (campus.guide())")
        if isinstance(node, exp.Table):
            check_table(node, catalog)


def check_table(table: exp.Table, catalog: Catalog) -> None:
    if not isinstance(table.this, exp.Identifier):
        raise QueryRejected(
            f"{describe(table.this)} reads outside the catalog; query the datasets by name: {known(catalog)}"
        )
    if table.args.get("db") or table.args.get("catalog"):
        raise QueryRejected(f"use the dataset's plain name, not {table.sql(CAMPUS_SQL)!r}: {known(catalog)}")


def schema_of(catalog: Catalog) -> Schema:
    """The catalog as sqlglot's schema (building it is a third of `qualify`'s time)."""
    mapping = {d.name: {name: col.type for name, col in d.columns.items()} for d in catalog}
    return MappingSchema(mapping, dialect=CAMPUS_SQL)


def qualify_names(tree: exp.Expression, catalog: Catalog, schema: Schema | None = None) -> exp.Expression:
    """Resolve every column to its table (stars expanded) against the catalog's schema."""
    schema = schema if schema is not None else schema_of(catalog)
    try:
        return qualify(tree, schema=schema, dialect=CAMPUS_SQL, validate_qualify_columns=True, identify=False)
    except OptimizeError as e:
        raise QueryRejected(f"{e}; campus.describe('<dataset>') lists a dataset's columns") from None
    except SqlglotError as e:
        raise QueryRejected(f"the query could not be analysed: {e}") from None


def find_uses(tree: exp.Expression, catalog: Catalog) -> list[DatasetUse]:
    """Every reference to a catalog dataset, with the columns read through it."""
    uses: dict[int, DatasetUse] = {}
    resolved: set[int] = set()
    scopes = traverse_scope(tree)
    for scope in scopes:
        for alias, (node, source) in scope.selected_sources.items():
            if isinstance(source, exp.Table):
                uses[id(source)] = DatasetUse(dataset_of(source, catalog), source, alias, scope)
        resolved.update(id(t) for t in scope.tables)
    for scope in scopes:
        for column in scope.columns:
            use = owner(column, scope, uses)
            if use is not None:
                use.column_nodes.append(column)
    for column in tree.find_all(exp.Column):
        if not column.table:
            owner(column, None, uses)
    stray = [t for t in tree.find_all(exp.Table) if id(t) not in resolved]
    if stray:
        raise QueryRejected(f"cannot tell what {stray[0].sql(CAMPUS_SQL)!r} refers to; name a dataset: {known(catalog)}")
    return list(uses.values())


def dataset_of(table: exp.Table, catalog: Catalog) -> Dataset:
    if table.name not in catalog.datasets:
        raise QueryRejected(f"there is no dataset {table.name!r}; the datasets are: {known(catalog)}")
    return catalog.datasets[table.name]


def owner(column: exp.Column, scope: Scope | None, uses: dict[int, DatasetUse]) -> DatasetUse | None:
    """The dataset use a column reads from, or None when it reads a CTE, subquery or alias."""
    if not column.table:
        if column.find_ancestor(exp.Order) is not None or isinstance(column.this, exp.Star):
            return None  # ORDER BY an output alias
        raise QueryRejected(
            f"cannot tell which column {column.name!r} is: whole-row references are not allowed; name the columns"
        )
    defining = scope
    while defining is not None and column.table not in defining.selected_sources:
        defining = defining.parent
    if defining is None:
        raise QueryRejected(f"cannot tell which table {column.table!r} is in {column.sql(CAMPUS_SQL)!r}")
    _, source = defining.selected_sources[column.table]
    return uses.get(id(source)) if isinstance(source, exp.Table) else None


def aggregates(select: exp.Select) -> bool:
    """Whether a SELECT aggregates its rows (GROUP BY, or an aggregate outside a window)."""
    if select.args.get("group"):
        return True
    return any(is_aggregate_call(node) for node in walk_scope(select))


def is_aggregate_call(node: exp.Expression) -> bool:
    return isinstance(node, exp.AggFunc) and not isinstance(node.parent, exp.Window)


def walk_scope(select: exp.Select):
    """The nodes of a SELECT's own clauses, not descending into subqueries."""
    for node in select.walk(prune=lambda n: n is not select and isinstance(n, (exp.Subquery, exp.Select))):
        if node is not select and isinstance(node, (exp.Subquery, exp.Select)):
            continue
        yield node


def known(catalog: Catalog) -> str:
    return ", ".join(sorted(catalog.datasets))
