"""The rules a table from a file is held to, one function each (`TABLE_RULES`), and what they read.

Each column of the table gets a role from its name, then its type (`role_of`): an
**identifier** (named like a catalog identifier or entity column), a **count** (n, cards,
stores, ... or a whole number not named otherwise), a **statistic** (mean, total, share,
an error bar ``±n``), a **measure** (amount, pm25, the catalog's measures) or a **key**
(district, month, a label). The rules read the roles:

==================  ==============================================================  =================
rule                what it looks for                                                outcome
==================  ==============================================================  =================
identifier_columns  a column named like a catalog identifier or entity column        refuse
identifier_values   e-mails, phone, card, resident or business numbers, addresses,   refuse (half the
                    plates, IP addresses anywhere in a value (campus.identifiers)   values), flag
pseudonym_values    values shaped like the campus's pseudonyms (any column)          refuse
unique_codes        text of any column, or a whole-number key not named as one,      refuse
                    distinct in 95% of many rows, holding codes or whole numbers
                    that do not merely number the rows
sparse_keys         a key (text, date, whole-number key, number of few values)       refuse
                    with more distinct values than half the rows that still
                    repeats, or keys distinct together in nearly every row yet
                    filling under 1% of the combinations of their values
row_level           no count or statistic column that tells anything (every count    refuse above
                    0 or 1, or the same value in every row)                          row_level_rows,
                                                                                      flag below
small_counts        counts with 0 < n < min_entities                                 flag
rounding            counts that are not multiples of rounding_base                   flag
==================  ==============================================================  =================

Names only ever add suspicion: the rules that find row-level data (pseudonym_values,
unique_codes on text, sparse_keys, row_level's constant counts) read the values, so a
pseudonym column renamed ``card_group`` or a count of 100 on every row is found whatever
the columns are called. Every `Check` names columns and counts rows; none holds a value
of the table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl
import pyarrow as pa

from extractguard.rules import Disclosure

from ..vocabulary.pseudonyms import DIGITS
from ..identifiers import identifying

Outcome = Literal["pass", "flag", "refuse"]
Role = Literal["identifier", "count", "statistic", "measure", "key"]

EXPORT_INSTEAD = "export the aggregate table with campus.export(sql, name), which the gateway checks"


# --- what a table is held to, and what a rule says -------------------------------------------------


@dataclass(frozen=True)
class OutputRules:
    """What a file is held to: the disclosure thresholds, the catalog's column names, the limits."""

    min_entities: int = Disclosure().min_entities
    rounding_base: int = Disclosure().rounding_base
    datasets: tuple[str, ...] = ()  # the datasets the thresholds come from
    identifiers: frozenset[str] = frozenset()  # `squash`ed names of the catalog's identifier and entity columns
    catalog_roles: Mapping[str, str] = field(default_factory=dict)  # `squash`ed name -> catalog role
    max_rows: int = 10_000  # a table file of more rows is refused: more than a reviewer reads, page by page
    max_columns: int = 1_000
    row_level_rows: int = 100  # more rows and no count or statistic: row-level, refused (fewer: flagged)

    @property
    def threshold(self) -> str:
        """Where the threshold comes from, in words."""
        where = f" (the strictest of {', '.join(self.datasets)}, which you may use)" if self.datasets else ""
        return f"{self.min_entities}{where}"


@dataclass(frozen=True)
class Check:
    """One check's outcome: a sentence, the columns it concerns, how many rows offend (never values)."""

    name: str
    outcome: Outcome
    reason: str
    columns: tuple[str, ...] = ()
    rows: int = 0

    def as_dict(self) -> dict:
        return {"name": self.name, "outcome": self.outcome, "reason": self.reason, "columns": list(self.columns),
                "rows": self.rows}


# --- what each column is --------------------------------------------------------------------------------


COUNT_WORDS = frozenset({
    "n", "count", "counts", "cnt", "num", "number", "freq", "frequency", "people", "persons", "person",
    "individuals", "cards", "cardholders", "holders", "stores", "shops", "merchants", "firms", "businesses",
    "entities", "customers", "users", "households", "patients", "residents", "visitors", "visits", "members",
    "transactions", "txns", "records", "obs", "observations", "cases", "respondents", "employees", "workers"})
STATISTIC_WORDS = frozenset({
    "mean", "avg", "average", "sum", "total", "totals", "median", "sd", "std", "stddev", "se", "var", "variance",
    "min", "max", "share", "pct", "percent", "percentage", "rate", "ratio", "per", "prop", "proportion", "quantile",
    "percentile", "iqr", "q1", "q3", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "ci", "lower", "upper"})
MEASURE_WORDS = frozenset({
    "amount", "spending", "spend", "sales", "revenue", "price", "cost", "value", "won", "krw", "income", "pm10",
    "pm25", "o3", "no2", "co", "so2"})
KEY_WORDS = frozenset({
    "year", "quarter", "month", "week", "day", "date", "weekday", "dow", "hour", "minute", "time", "age", "band",
    "group", "rank", "level", "category", "type", "class", "bin", "decile", "quintile", "region", "district",
    "area", "zone", "station"})
CODE_WORDS = frozenset({"id", "key", "code", "no"})  # a name ending in one names a code: region_id, zip_code
ROW_NUMBER_WORDS = frozenset({"unnamed", "index", "row", "rownum"})  # pandas' index, written with the table
KOREAN_COUNT = ("건수", "인원", "명수", "개수", "횟수", "카드수", "점포수", "매장수")
KOREAN_STATISTIC = ("평균", "합계", "중위", "비율", "총액")


def squash(name: str) -> str:
    """A column name as compared with the catalog's: lower case, letters and digits only.

    >>> squash("Card ID"), squash("card_id"), squash("CARD-ID")
    ('cardid', 'cardid', 'cardid')
    """
    return re.sub(r"[^0-9a-z]+", "", name.lower())


def words_of(name: str) -> list[str]:
    """A column name's words.

    >>> words_of("nCards"), words_of("mean_pm25"), words_of("count(*)")
    (['n', 'cards'], ['mean', 'pm25'], ['count'])
    """
    return re.findall(r"[a-z]+\d*|\d+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower())


def role_of(name: str, dtype: pl.DataType, rules: OutputRules) -> Role:
    """What a column of an output is, from its name (the catalog's, then words) and then its type.

    >>> rules = OutputRules(identifiers=frozenset({"cardid"}), catalog_roles={"hour": "dimension", "amount": "measure"})
    >>> [role_of(n, t, rules) for n, t in [("Card ID", pl.String), ("n_cards", pl.Int64), ("±n", pl.Float64),
    ...  ("mean_amount", pl.Float64), ("hour", pl.Int8), ("amount", pl.Int64), ("region_id", pl.Int64),
    ...  ("spending", pl.Int64), ("x", pl.Int32), ("y", pl.Float64), ("label", pl.String)]]
    ['identifier', 'count', 'statistic', 'statistic', 'key', 'measure', 'key', 'measure', 'count', 'measure', 'key']
    """
    squashed, words = squash(name), words_of(name)
    if squashed and squashed in rules.identifiers:
        return "identifier"
    if squashed in rules.catalog_roles:
        return "measure" if rules.catalog_roles[squashed] == "measure" else "key"
    if name.startswith("±") or any(w in STATISTIC_WORDS for w in words) or any(k in name for k in KOREAN_STATISTIC):
        return "statistic"
    if words and (words[-1] in CODE_WORDS or words[0] in ROW_NUMBER_WORDS):
        return "key"
    if any(w in COUNT_WORDS for w in words) or any(k in name for k in KOREAN_COUNT):
        return "count"
    if any(w in MEASURE_WORDS for w in words):
        return "measure"
    if any(w in KEY_WORDS for w in words):
        return "key"
    if dtype.is_integer():
        return "count"
    return "measure" if dtype.is_float() or dtype.is_decimal() else "key"


@dataclass(frozen=True)
class Output:
    """A table from a file, with each column's role: what `TABLE_RULES` read."""

    frame: pl.DataFrame
    roles: dict[str, Role]

    @classmethod
    def of(cls, table: pa.Table, rules: OutputRules) -> "Output":
        frame = pl.from_arrow(table)
        return cls(frame, {name: role_of(name, frame[name].dtype, rules) for name in frame.columns})

    @property
    def rows(self) -> int:
        return self.frame.height

    def columns(self, *roles: Role) -> list[str]:
        return [name for name, role in self.roles.items() if role in roles]


def _names(columns) -> str:
    return ", ".join(columns)


# --- the rules a table is held to ------------------------------------------------------------------------


def identifier_columns(output: Output, rules: OutputRules) -> Check:
    """A column named like an identifier or entity column of the catalog (card_id, store_id, ...)
    is refused whatever it holds: identifiers never leave the campus.

    >>> rules = OutputRules(identifiers=frozenset({"cardid"}))
    >>> identifier_columns(Output.of(pa.table({"Card ID": ["C1"], "n": [25]}), rules), rules).columns
    ('Card ID',)
    """
    found = output.columns("identifier")
    if found:
        return Check("identifier columns", "refuse",
                     f"{_names(found)} {'is' if len(found) == 1 else 'are'} named like an identifier column of the "
                     f"catalog, and identifiers never leave the campus: drop {'it' if len(found) == 1 else 'them'}, "
                     f"or {EXPORT_INSTEAD}", tuple(found))
    return Check("identifier columns", "pass", "no column is named like an identifier column of the catalog")


def identifier_values(output: Output, rules: OutputRules) -> Check:
    """Text, or whole numbers of a key, shaped like e-mails, phone, card or resident registration
    numbers: refused when they are half a column's values or more, flagged when some are.

    >>> table = pa.table({"who": ["a@b.kr", "c@d.kr", "none"], "n": [25, 30, 35]})
    >>> check = identifier_values(Output.of(table, OutputRules()), OutputRules())
    >>> check.outcome, check.columns, check.rows
    ('refuse', ('who',), 2)
    """
    refused, flagged = [], []
    for name in output.frame.columns:
        values = _as_text(output.frame[name], output.roles[name])
        if values is None or values.len() == 0:
            continue
        for finding in identifying(values)[:1]:
            (refused if 2 * finding.count >= values.len() else flagged).append(
                (name, finding.what, finding.count, values.len()))
    if refused:
        return Check("identifying values", "refuse", _identifying(refused) + ": values that identify people never "
                     f"leave the campus; drop the {'column' if len(refused) == 1 else 'columns'}, or {EXPORT_INSTEAD}",
                     tuple(n for n, *_ in refused), max(m for _, _, m, _ in refused))
    if flagged:
        return Check("identifying values", "flag", _identifying(flagged) + ": the reviewer checks what they are",
                     tuple(n for n, *_ in flagged), max(m for _, _, m, _ in flagged))
    return Check("identifying values", "pass", "no values look like e-mails, phone, card, resident or business "
                 "numbers, addresses, plates or IP addresses")


def _as_text(series: pl.Series, role: Role) -> pl.Series | None:
    """The values to match: any text; whole numbers only of a key (a count or a sum is no card number)."""
    series = series.drop_nulls()
    if series.dtype == pl.String:
        return series.str.strip_chars()
    return series.cast(pl.String) if series.dtype.is_integer() and role in ("key", "identifier") else None


def _identifying(found: list) -> str:
    return "; ".join(f"{matching:,} of {total:,} values of {name} look like {what}"
                     for name, what, matching, total in found)


#: How a pseudonym looks (`campus.vocabulary.pseudonyms`: the same shape for every dataset and project).
PSEUDONYM = rf"^[0-9a-fA-F]{{{DIGITS}}}$"
DISTINCT = 0.95  # a column, or the keys together, distinct in this share of rows identifies them
SPARSE = 0.01  # keys whose rows fill less than this share of their combinations are records, not cells


def pseudonym_values(output: Output, rules: OutputRules) -> Check:
    """Text shaped like the campus's pseudonyms (32 hexadecimal digits: how a rows session shows an
    identifier of any dataset), in a column of any name: refused, even one.

    >>> table = pa.table({"card_group": ["035542320a152969df0a513cd6bfee9c", "Gangnam-gu"], "n": [25, 30]})
    >>> check = pseudonym_values(Output.of(table, OutputRules()), OutputRules())
    >>> check.outcome, check.columns, check.rows
    ('refuse', ('card_group',), 1)
    """
    found = []
    for name in output.frame.columns:
        column = output.frame[name]
        if column.dtype == pl.String:
            matching = int(column.str.strip_chars().str.contains(PSEUDONYM).fill_null(False).sum())
            if matching:
                found.append((name, matching))
    if found:
        said = "; ".join(f"{matching:,} values of {name}" for name, matching in found)
        return Check("pseudonym values", "refuse", f"{said} look like the campus's pseudonyms of identifiers (32 "
                     f"hexadecimal digits), which name people's records: drop them, or {EXPORT_INSTEAD}",
                     tuple(n for n, _ in found), max(m for _, m in found))
    return Check("pseudonym values", "pass", "no values look like the campus's pseudonyms")


CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
DATE = r"^\d{4}[-/.]?\d{2}([-/.]?\d{2})?([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$"


def unique_codes(output: Output, rules: OutputRules) -> Check:
    """A column of text, whatever its name, or a whole-number key not named as a known key (the
    catalog's, or year, district, ...), that is distinct in 95% of `row_level_rows` rows or more,
    and holds codes (letters and digits, 4 or more digits, not dates) or whole numbers that do
    not merely number the rows: a column like that identifies rows, an identifier under another
    name.

    >>> table = pa.table({"c": [f"C{i:08d}" for i in range(100)], "n": [25] * 100})
    >>> unique_codes(Output.of(table, OutputRules()), OutputRules()).outcome
    'refuse'
    """
    found = []
    text = [name for name in output.frame.columns if output.frame[name].dtype == pl.String]
    for name in text + [n for n in output.columns("key") if n not in text and not _known_key(n, rules)]:
        values = output.frame[name].drop_nulls()
        if values.len() < rules.row_level_rows or values.n_unique() < DISTINCT * values.len():
            continue
        if values.dtype == pl.String:
            codes = values.str.contains(CODE) & (values.str.count_matches(r"\d") >= 4) & ~values.str.contains(DATE)
            identifies = codes.sum() >= 0.9 * values.len()
        else:
            identifies = values.dtype.is_integer() and values.max() - values.min() + 1 != values.len()
        if identifies:
            found.append((name, values.n_unique(), values.len()))
    if found:
        said = "; ".join(f"{name} has {distinct:,} distinct values in {rows:,} rows" for name, distinct, rows in found)
        return Check("unique codes", "refuse", f"{said}: a code unique to nearly every row identifies the rows (an "
                     f"identifier under another name); drop it, or {EXPORT_INSTEAD}",
                     tuple(n for n, *_ in found), max(rows for *_, rows in found))
    return Check("unique codes", "pass", "no column holds codes unique to nearly every row")


def _known_key(name: str, rules: OutputRules) -> bool:
    return squash(name) in rules.catalog_roles or any(w in KEY_WORDS for w in words_of(name))


def sparse_keys(output: Output, rules: OutputRules) -> Check:
    """More than `row_level_rows` rows whose keys (text, dates and whole-number keys, and numbers
    of few values, whatever they are called) say each row is a record, not a cell of a table of
    counts: a key with more distinct values than half the rows that still repeats (a card and
    its few transactions: in a table of cells each value of a key repeats once for every value
    of the other keys), or keys distinct together in 95% of the rows that fill under 1% of the
    combinations of their values (a card and an amount). Refused.

    >>> table = pa.table({"card_group": [f"g{i % 180}" for i in range(200)], "spend_band": list(range(200)),
    ...                   "n": [25 + i % 3 for i in range(200)]})
    >>> sparse_keys(Output.of(table, OutputRules()), OutputRules()).outcome
    'refuse'
    >>> cells = pa.table({"district": [f"d{i // 12}" for i in range(300)], "month": [i % 12 for i in range(300)],
    ...                   "n": [25 + i % 7 for i in range(300)]})
    >>> sparse_keys(Output.of(cells, OutputRules()), OutputRules()).outcome
    'pass'
    """
    keys, rows = _keys(output), output.rows
    if rows <= rules.row_level_rows or not keys:
        return Check("sparse keys", "pass", "the keys are a table's cells, not one row per record")
    distinct = {k: output.frame[k].n_unique() for k in keys}
    repeating = [k for k in keys if rows / 2 < distinct[k] < DISTINCT * rows]
    if repeating:
        said = "; ".join(f"{k} has {distinct[k]:,} distinct values in {rows:,} rows" for k in repeating)
        return Check("sparse keys", "refuse", f"{said}: a value that repeats in a row or two is a person's or thing's "
                     f"records, not a cell of a table, whatever the column is called; {EXPORT_INSTEAD}",
                     tuple(repeating), rows)
    together = output.frame.select(keys).n_unique()
    combinations = math.prod(float(d) for d in distinct.values())
    if together >= DISTINCT * rows and rows < SPARSE * combinations:
        return Check("sparse keys", "refuse", f"{_names(keys)} together are distinct in {together:,} of {rows:,} rows "
                     f"yet fill only {rows / combinations:.2%} of the combinations of their values: each row is one "
                     f"record, whatever the columns are called; {EXPORT_INSTEAD}", tuple(keys), rows)
    return Check("sparse keys", "pass", "the keys are a table's cells, not one row per record")


def _keys(output: Output) -> list[str]:
    """The columns that say which cell a row is: besides counts and statistics, text, dates and
    times, booleans, numbers of a key, and any number with few values (at most 5% of the rows, or 20)."""
    frame = output.frame
    few = max(20, output.rows // 20)
    return [name for name in frame.columns if output.roles[name] not in ("count", "statistic") and (
        not frame[name].dtype.is_numeric() or output.roles[name] == "key" or frame[name].n_unique() <= few)]


def row_level(output: Output, rules: OutputRules) -> Check:
    """A table with no count or statistic column that tells anything of its rows (counts all 0
    or 1, or counts and statistics the same in every row) has a row per person or record:
    refused above `row_level_rows` rows, flagged at or below.

    >>> table = pa.table({"district": ["a"] * 101, "amount": list(range(101))})
    >>> row_level(Output.of(table, OutputRules()), OutputRules()).outcome
    'refuse'
    >>> table = pa.table({"card_group": [f"g{i}" for i in range(101)], "n": [100] * 101})
    >>> row_level(Output.of(table, OutputRules()), OutputRules()).outcome
    'refuse'
    """
    counts, statistics = output.columns("count"), output.columns("statistic")
    ones = [c for c in counts if (_numbers(output, c) <= 1).all()]
    constant = [c for c in counts + statistics if c not in ones and output.rows > 1
                and _numbers(output, c).drop_nulls().n_unique() <= 1]
    if output.rows == 0 or len(ones) + len(constant) < len(counts + statistics):
        return Check("row-level data", "pass", f"{output.rows:,} rows of aggregates ({_names(counts + statistics)})"
                     if output.rows else "the table has no rows")
    why = "; ".join(filter(None, [
        f"every count in {_names(ones)} is 0 or 1, so each row is one person or record" if ones else "",
        f"{_names(constant)} {'holds' if len(constant) == 1 else 'hold'} the same value in every row, so "
        f"{'it tells' if len(constant) == 1 else 'they tell'} nothing of the rows" if constant else "",
    ])) or "there is no count column (n, count, cards, stores, ...) or statistic (mean, total, ...)"
    ones = ones + constant
    if output.rows > rules.row_level_rows:
        return Check("row-level data", "refuse", f"{output.rows:,} rows, and {why}: that is row-level data; "
                     f"{EXPORT_INSTEAD}, or add the count of entities behind each row", tuple(ones), output.rows)
    return Check("row-level data", "flag", f"{why}: the reviewer checks how many entities stand behind each row",
                 tuple(ones), output.rows)


def small_counts(output: Output, rules: OutputRules) -> Check:
    """Counts above 0 and below the threshold (min_entities) may single people out: flagged,
    with how many rows hold them (zeros are not small counts).

    >>> check = small_counts(Output.of(pa.table({"district": ["a", "b", "c"], "n": [3, 0, 40]}), OutputRules()),
    ...                      OutputRules())
    >>> check.outcome, check.columns, check.rows
    ('flag', ('n',), 1)
    """
    hits = {c: (_numbers(output, c) > 0) & (_numbers(output, c) < rules.min_entities) for c in output.columns("count")}
    found, rows = _offending(hits, output.rows)
    if found:
        return Check("small counts", "flag", f"{_rows_hold(rows)} counts from 1 to {rules.min_entities - 1} in "
                     f"{_names(found)}, below the disclosure threshold of {rules.threshold}: withhold them or combine "
                     f"categories, or {EXPORT_INSTEAD}", tuple(found), rows)
    return Check("small counts", "pass", f"every count in {_names(hits)} is 0 or at least {rules.min_entities}"
                 if hits else "no count columns to check")


def rounding(output: Output, rules: OutputRules) -> Check:
    """The campus rounds the counts it releases to multiples of rounding_base: counts that are not
    multiples were not released that way (they may be unrounded counts made in the notebook).

    >>> rounding(Output.of(pa.table({"district": ["a", "b"], "n": [25, 41]}), OutputRules()), OutputRules()).rows
    1
    """
    base = rules.rounding_base
    hits = {c: _numbers(output, c) % base != 0 for c in output.columns("count")} if base > 1 else {}
    found, rows = _offending(hits, output.rows)
    if found:
        return Check("rounding", "flag", f"{_rows_hold(rows)} counts in {_names(found)} that are not multiples of "
                     f"{base}, as the campus's released counts are: the reviewer checks they are not unrounded "
                     "counts", tuple(found), rows)
    return Check("rounding", "pass", f"every count is a multiple of {base}" if hits else "no counts to check")


def _numbers(output: Output, name: str) -> pl.Series:
    """A column as numbers, nulls kept (text: all null, so no rule fires on it)."""
    column = output.frame[name]
    if column.dtype.is_integer() or column.dtype.is_float():
        return column
    if column.dtype.is_decimal():
        return column.cast(pl.Float64)
    return pl.Series(name, [None] * output.rows, dtype=pl.Float64)


def _rows_hold(rows: int) -> str:
    return "1 row holds" if rows == 1 else f"{rows:,} rows hold"


def _offending(hits: dict[str, pl.Series], rows: int) -> tuple[list[str], int]:
    """The columns with a hit, and how many rows have a hit in any of them."""
    found = [name for name, hit in hits.items() if hit.fill_null(False).any()]
    if not found:
        return [], 0
    return found, int(pl.DataFrame({n: hits[n].fill_null(False) for n in found}).select(
        pl.any_horizontal(pl.all())).to_series().sum())


#: The rules a table is held to, in order.
TABLE_RULES: tuple[Callable[[Output, OutputRules], Check], ...] = (
    identifier_columns, identifier_values, pseudonym_values, unique_codes, sparse_keys, row_level, small_counts,
    rounding)
