"""A new file profiled, and the catalog entry proposed for it.

The profile holds statistics only, never a value: per column its type (the narrowest
catalog type every value reads as; else one all but a few values read as, those few lines
to be fixed or left out: `campus.ingest.badlines`), missing values, distinct values, how unique they
are, and which kinds of identifying values it holds. From it a role is proposed for each
column, failing towards caution (a column that might identify someone is proposed an
identifier), with the entity, the tier and, for a small set of values each shared by
many entities, the public domain. The steward reads the proposal as a diff of the
catalog and edits it; nothing is loaded until the entry is in the catalog.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ..airlock.table_rules import COUNT_WORDS, MEASURE_WORDS, words_of
from ..catalog import NAME
from .. import catalog as catalog_module
from ..errors import ConfigError, LoadRefused
from ..identifiers import FREE_TEXT, Findings, identifying, named_like_a_person, person_names
from .convert import MISSING, read
from .source import Source, batches, header, lenient_batches

CANDIDATES = ("DATE", "TIMESTAMP", "BIGINT", "DOUBLE", "BOOLEAN")  # the first every value reads as; else VARCHAR
FEW = 0.05  # a type all values but this share read as (one at least, and under half) is the column's, but for them
GIVEN_UP = 100  # a type more values than FEW's share and this many are not is no longer counted (a text column)
QUASI_WORDS = ("age", "gender", "sex", "birth", "born", "zip", "postal", "postcode", "home", "residence",
               "nationality", "성별", "연령", "나이", "생년", "거주", "우편")
ID_WORDS = ("id", "no", "number", "key", "번호", "아이디")
ENTITY_WORDS = ("card", "customer", "person", "holder", "member", "patient", "user", "store", "shop", "merchant",
                "firm", "company", "business", "household", "카드", "고객", "회원", "가맹점", "점포", "사업자")
#: Columns named for how to reach a person, or for free text that may say anything of one: proposed
#: identifiers (never shown, stored as keyed hashes) whatever their values look like.
CONTACT_WORDS = ("phone", "mobile", "email", "contact", "address", "resident", "연락처", "전화", "휴대폰", "이메일",
                 "주소", "주민")
FREE_TEXT_WORDS = ("remarks", "notes", "memo", "comment", "비고", "메모", "특이사항")
BIRTH_WORDS = ("birth", "born", "dob", "birthday", "생년월일", "생일", "출생", "생년")
PLACE_WORDS = ("lat", "lon", "lng", "latitude", "longitude", "gps", "coord", "위도", "경도", "좌표")
KOREA_LATITUDES, KOREA_LONGITUDES = (33.0, 39.0), (124.0, 132.0)
ADULT = 15  # days whose median is this many years ago are birthdays, not events
EXACT_DECIMALS = 5  # a coordinate to this many decimals places someone within a metre or so
MANY = 1000  # values of a column named after people or firms (merchant, customer) that make it name each one
SMALL_DOMAIN = 30  # at most this many values are proposed as a public domain
DOMAIN_ENTITIES = 10  # ... and only if every value is shared by at least this many entities (or rows)


@dataclass
class ColumnProfile:
    """Statistics of one column of a file: no value of it."""

    header: str
    name: str
    rows: int = 0
    missing: int = 0
    distinct: int = 0
    failed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CANDIDATES, 0))  # type -> values not of it
    first_of_month: bool = True
    whole_hours: bool = True
    fits_32_bits: bool = True
    decimals: int = 0  # the most digits after the point of a number
    low: float | None = None  # the least and the greatest number
    high: float | None = None
    median_year: int | None = None  # of the days or moments

    @property
    def quasi(self) -> str:
        """Why the column, though a time or a measure by its type, says who someone is: '' if it does not."""
        if self.type in ("DATE", "TIMESTAMP") and (_has(self.words, BIRTH_WORDS) or (
                self.median_year is not None and self.median_year <= datetime.date.today().year - ADULT)):
            return "birth dates: coarsen them to a year or an age band in the file, or declare the column"
        if self.type == "DOUBLE" and self.decimals >= EXACT_DECIMALS and (
                _has(self.words, PLACE_WORDS) or self._within(KOREA_LATITUDES) or self._within(KOREA_LONGITUDES)):
            return (f"exact coordinates ({self.decimals} decimals place a person within metres): round them to 3 "
                    "decimals or a grid cell in the file, or declare the column")
        return ""

    def _within(self, bounds: tuple[float, float]) -> bool:
        return self.low is not None and bounds[0] <= self.low and self.high <= bounds[1]

    @property
    def words(self) -> list[str]:
        return words_of(self.name) + [self.header]

    @property
    def type(self) -> str:
        """The narrowest type every value reads as; else the one all but a few do (`but_for`); else VARCHAR."""
        exact = [t for t, n in self.failed.items() if n == 0]
        return exact[0] if exact else (self.but_for[0] if self.but_for else "VARCHAR")

    @property
    def but_for(self) -> tuple[str, int] | None:
        """(type, how many values are not of it), when no type fits every value but one fits all but a few."""
        if 0 in self.failed.values():
            return None
        few = max(1.0, FEW * self.present)
        return next(((t, n) for t, n in self.failed.items() if n <= few and 2 * n < self.present), None)

    @property
    def present(self) -> int:
        return self.rows - self.missing

    @property
    def uniqueness(self) -> float:
        return self.distinct / self.present if self.present else 0.0


@dataclass
class Profile:
    """A file's columns, profiled; the domain of each small column fit to publish."""

    rows: int
    columns: list[ColumnProfile]
    findings: Findings = field(default_factory=Findings)  # identifying values, by column name
    domains: dict[str, list] = field(default_factory=dict)

    def roles(self) -> dict[str, str]:
        return {c.name: role_of(c, self.rows, self.findings) for c in self.columns}

    def typed_but_for(self) -> list[ColumnProfile]:
        """The columns of a type but for a few lines, which load only once those are fixed or left out."""
        return [c for c in self.columns if c.but_for]


def profile(sources: list[Source], progress: Callable[[int, str], None] | None = None,
            lenient: bool = False) -> Profile:
    """Read every file through (all must have the first one's columns) and profile its columns;
    `progress(rows read, file)` after each batch. `lenient`: lines that are no row (see
    `source.lenient_batches`) are left out, not refused."""
    names = header(sources[0])
    for source in sources[1:]:
        if header(source) != names:
            raise LoadRefused(f"{source.name} has other columns than {sources[0].name}; profile files of one layout")
    columns, findings = [ColumnProfile(name, column_name(name, i)) for i, name in enumerate(names)], Findings()
    misfits = {c.name: Findings() for c in columns}  # identifying values among those no candidate type reads
    with tempfile.TemporaryDirectory(prefix="campus-profile-") as spill:
        db = duckdb.connect(config={"temp_directory": spill, "memory_limit": "1GB"})  # the rest spills
        db.execute("CREATE TABLE t (" + ", ".join(f'"c{i}" VARCHAR' for i in range(len(names))) + ")")
        for source in sources:
            for batch in (b for b, _, _ in lenient_batches(source)) if lenient else batches(source):
                _observe(columns, batch, findings, misfits)
                renamed = pa.Table.from_batches([batch]).rename_columns([f"c{i}" for i in range(len(names))])
                db.register("batch", renamed)
                db.execute("INSERT INTO t SELECT * FROM batch")
                db.unregister("batch")
                if progress:
                    progress(columns[0].rows, source.name)
        rows = db.execute("SELECT count(*) FROM t").fetchone()[0]
        if rows == 0:
            raise LoadRefused(f"{sources[0].name} has a header but no rows: nothing to profile")
        _count(db, columns)
        for column in columns:
            if not column.but_for:  # else they are on the lines to fix or leave out: not the column's
                findings.merge(misfits[column.name])
        result = Profile(rows, columns, findings)
        result.domains = _domains(db, result)
    return result


#: Korean headers as Seoul's files write them, and the names proposed for them.
GLOSSARY = {
    "카드번호": "card_no", "고객번호": "customer_no", "회원번호": "member_no", "가맹점번호": "merchant_no",
    "가맹점명": "merchant_name", "가맹점": "merchant", "상호명": "store_name", "업종": "industry", "업종명": "industry",
    "거래일시": "txn_time", "거래일자": "txn_date", "승인일시": "txn_time", "일자": "date", "날짜": "date",
    "기준년월": "month", "기준일자": "date", "시간대": "hour", "시간": "hour", "금액": "amount", "이용금액": "amount",
    "매출액": "sales_amount", "매출금액": "sales_amount", "매출건수": "sales_count", "건수": "count",
    "연령대": "age_band", "연령": "age", "나이": "age", "성별": "gender", "자치구": "district", "행정동": "dong",
    "주소": "address", "전화번호": "phone", "휴대폰번호": "mobile", "이메일": "email", "성명": "name",
    "이름": "name", "주민등록번호": "resident_no", "측정소": "station", "측정일시": "measured_at",
    "상권": "commercial_area", "상권명": "commercial_area", "거주지": "home_district", "연락처": "contact",
    "비고": "remarks",
}


def column_name(header_name: str, index: int) -> str:
    """The catalog name proposed for a file's column: lower_snake_case (from the glossary for
    Korean headers), else ``column_<n>``.

    >>> column_name("Sales Amount (KRW)", 0), column_name("가맹점명", 3), column_name("비고", 1), column_name("특기", 2)
    ('sales_amount_krw', 'merchant_name', 'remarks', 'column_3')
    """
    if header_name.strip() in GLOSSARY:
        return GLOSSARY[header_name.strip()]
    snake = re.sub(r"[^0-9a-z]+", "_", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", header_name).lower()).strip("_")
    return snake if NAME.match(snake) else f"column_{index + 1}"


def _observe(columns: list[ColumnProfile], batch: pa.RecordBatch, findings: Findings,
             misfits: dict[str, Findings]) -> None:
    """What one batch says of each column's type and identifying values (`misfits`: of the values no
    type still counted reads, kept apart)."""
    for column, text in zip(columns, batch.columns):
        column.rows += len(text)
        typed, misfit = {}, None
        for sql_type in list(column.failed):
            result = read(text, sql_type)
            if result.bad is not None:
                column.failed[sql_type] += pc.sum(result.bad).as_py()
                if column.failed[sql_type] > FEW * column.rows + GIVEN_UP:
                    del column.failed[sql_type]
                    continue
                misfit = result.bad if misfit is None else pc.and_(misfit, result.bad)
                result = read(pc.if_else(result.bad, pa.scalar(None, pa.string()), text), sql_type)
            else:
                misfit = pa.array([False] * len(text))
            typed[sql_type] = result.values
        values, nothing = read(text, "VARCHAR").values, pa.scalar(None, pa.string())
        if misfit is None or not pc.any(misfit).as_py():
            findings.add(column.name, pl.from_arrow(values), text=True)
        else:
            findings.add(column.name, pl.from_arrow(pc.if_else(misfit, nothing, values)), text=True)
            misfits[column.name].add(column.name, pl.from_arrow(pc.if_else(misfit, values, nothing)), text=True)
        _shape(column, typed)


def _shape(column: ColumnProfile, typed: dict[str, pa.Array]) -> None:
    """Whether the days are all firsts of a month, the moments whole hours, the numbers 32-bit
    (`typed`: the batch's values in each type they all read as)."""
    for kind in ("DATE", "TIMESTAMP", "BIGINT"):
        if kind not in typed:
            continue
        values = typed[kind].drop_null()
        if not len(values):
            continue
        if kind == "DATE":
            column.first_of_month &= pc.all(pc.equal(pc.day(values), 1)).as_py()
        elif kind == "TIMESTAMP":
            column.whole_hours &= pc.all(pc.equal(pc.add(pc.minute(values), pc.second(values)), 0)).as_py()
        else:
            bounds = pc.min_max(values)
            column.fits_32_bits &= -2**31 <= bounds["min"].as_py() and bounds["max"].as_py() < 2**31


def _count(db, columns: list[ColumnProfile]) -> None:
    missing = "', '".join(MISSING)
    for i, column in enumerate(columns):
        present = f"NULLIF(trim(c{i}), '')"
        number = f"TRY_CAST({present} AS DOUBLE)"
        (column.missing, column.distinct, column.decimals, column.median_year, column.low,
         column.high) = db.execute(
            f"SELECT count(*) FILTER (WHERE trim(coalesce(c{i}, '')) IN ('{missing}')), "
            f"count(DISTINCT {present}), coalesce(max(length(regexp_extract({present}, '\\.([0-9]+)$', 1))), 0), "
            f"year(median(TRY_CAST(left({present}, 10) AS DATE))), min({number}), max({number}) FROM t").fetchone()


# --- the proposal ----------------------------------------------------------------------------------


def role_of(column: ColumnProfile, rows: int, findings: Findings) -> str:
    """The role proposed for a column, most cautious first.

    >>> role_of(ColumnProfile("연락처", "contact", rows=50, distinct=2), 50, Findings())
    'identifier'
    >>> role_of(ColumnProfile("비고", "remarks", rows=50, distinct=2), 50, Findings())
    'identifier'
    """
    words = column.words
    if (findings.found(column.name) or named_like_a_person(column.header)
            or _has(words, CONTACT_WORDS + FREE_TEXT_WORDS)  # how to reach a person; what free text may say
            or (_has(words, ID_WORDS) and column.distinct > SMALL_DOMAIN)
            or (_has(words, ENTITY_WORDS) and column.distinct > MANY)  # a firm's or a person's own code or name
            or (column.type == "VARCHAR" and rows >= 20 and column.uniqueness >= 0.5)):
        return "identifier"
    if column.quasi:
        return "quasi_identifier"
    if column.type in ("DATE", "TIMESTAMP"):
        return "time"
    if _has(words, QUASI_WORDS):
        return "quasi_identifier"
    if column.type == "DOUBLE" or (column.type == "BIGINT" and (
            _has(words, tuple(MEASURE_WORDS | COUNT_WORDS)) or column.distinct > 100)):
        return "measure"
    return "dimension"


def _has(words: list[str], vocabulary: tuple[str, ...]) -> bool:
    return any(w in vocabulary or any(v in w for v in vocabulary if len(v) > 3 or not v.isascii()) for w in words)


def entity_of(columns: list[ColumnProfile], roles: dict[str, str]) -> str | None:
    """The identifier naming the person or firm: named like one, else the least unique (an entity has
    many rows; a transaction id is unique)."""
    identifiers = [c for c in columns if roles[c.name] == "identifier"]
    if not identifiers:
        return None
    named = [c for c in identifiers if _has(words_of(c.name) + [c.header], ENTITY_WORDS)]
    return min(named or identifiers, key=lambda c: c.uniqueness).name


def _domains(db, result: Profile) -> dict[str, list]:
    """The values of each small dimension or quasi-identifier, if every one is shared by many entities.
    Without an entity to count, no values are proposed: how many rows hold a value says nothing of
    how many people it would name (twenty staff names on many rows each), so the steward declares it."""
    roles = result.roles()
    entity = entity_of(result.columns, roles)
    if entity is None:
        return {}
    who = f"c{[c.name for c in result.columns].index(entity)}"
    domains = {}
    for i, column in enumerate(result.columns):
        if (roles[column.name] not in ("dimension", "quasi_identifier") or column.quasi
                or not 0 < column.distinct <= SMALL_DOMAIN
                or column.but_for):  # its values hold the few lines' too
            continue
        counts = db.execute(f"SELECT trim(c{i}), count(DISTINCT {who}) FROM t WHERE NULLIF(trim(c{i}), '') "
                            f"IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall()
        values = [v for v, _ in counts]
        if all(n >= DOMAIN_ENTITIES for _, n in counts) and not _personal(values):
            domains[column.name] = [int(v) for v in values] if column.type == "BIGINT" else values
    return domains


def _personal(values: list[str]) -> bool:
    """Whether any of a small column's values is someone's details (a name, a number): never proposed
    as a public domain, whatever the share."""
    series = pl.Series(values, dtype=pl.String)
    return bool(identifying(series) or person_names(series))


def proposed_entry(name: str, result: Profile, sources: list[Source], steward: str) -> str:
    """The catalog entry for dataset `name`, as YAML lines to append under ``datasets:``."""
    roles = result.roles()
    entity = entity_of(result.columns, roles)
    quasi = any(r == "quasi_identifier" for r in roles.values())
    tier = "open" if entity is None else ("sensitive" if quasi else "restricted")
    times = [c for c in result.columns if roles[c.name] == "time"]
    today = datetime.date.today().isoformat()
    files = ", ".join(s.name for s in sources)
    lines = [
        f"  {name}:",
        f"    title: {name.replace('_', ' ').capitalize()}",
        "    description: >-",
        f"      Loaded from {files} ({result.rows:,} rows, profiled {today}). Say what one row is.",
        f"    steward: {_scalar(steward)}",
        f"    tier: {tier}" + ("  # no identifier found: check that no row describes a person or firm"
                             if tier == "open" else ""),
        f"    source: {name}",
    ]
    if times:
        lines.append("    partitioned_by: month")
    lines.append(f"    entity: {entity or 'null'}")
    lines.append("    columns:")
    for column in result.columns:
        said = "; ".join(filter(None, (result.findings.said(column.name), column.quasi, _free_text(column, result))))
        lines.append(f"      {column.name}: {_column_yaml(column, roles[column.name], result)}  # "
                     f"{column.missing:,} missing, {column.distinct:,} distinct ({column.uniqueness:.0%} unique)"
                     + (f"; {said}" if said else "") + _but_for(column))
    return "\n".join(lines) + "\n"


def _free_text(column: ColumnProfile, result: Profile) -> str:
    if FREE_TEXT not in result.findings.found(column.name):
        return ""
    return ("kept only as keyed hashes as proposed; to keep the text with personal data taken out: type: VARCHAR, "
            "role: dimension, redact: true; if nobody needs it: take it out and list its header under dropped:")


def _but_for(column: ColumnProfile) -> str:
    if not column.but_for:
        return ""
    sql_type, bad = column.but_for
    return (f"; {bad:,} line{'s are' if bad > 1 else ' is'} not of this type: fix {'them' if bad > 1 else 'it'} "
            "or load with --skip-bad-lines (--check lists them)")


def _column_yaml(column: ColumnProfile, role: str, result: Profile) -> str:
    sql_type = "VARCHAR" if role == "identifier" else column.type
    if sql_type == "BIGINT" and column.fits_32_bits:
        sql_type = "INTEGER"
    spec = {"type": sql_type, "role": role, "description": f"From the file's column {column.header}."}
    if column.header != column.name:
        spec["header"] = column.header
    if role == "time":
        spec["grain"] = ("month" if column.first_of_month else "day") if sql_type == "DATE" else (
            "hour" if column.whole_hours else "second")
    if column.name in result.domains:
        spec["domain"] = result.domains[column.name]
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in spec.items()) + "}"


def _scalar(value) -> str:
    """A value in YAML's flow style: plain words bare, other text quoted."""
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def catalog_with(catalog_path: Path, entry: str) -> tuple[str, catalog_module.Catalog]:
    """The catalog's text with `entry` added at the end of its datasets, and that catalog: validated
    like the file itself."""
    text = Path(catalog_path).read_text(encoding="utf-8")
    new = text.rstrip("\n") + "\n\n" + entry
    with tempfile.TemporaryDirectory() as folder:
        proposed = Path(folder) / "catalog.yaml"
        proposed.write_text(new, encoding="utf-8")
        try:
            return new, catalog_module.load(proposed)
        except ConfigError as e:
            raise ConfigError(f"the proposed entry does not validate ({e.reason}); edit it by hand") from None


def diff(catalog_path: Path, new: str, root: Path) -> str:
    """`new` as a unified diff of the catalog, for `git apply` after editing."""
    old = Path(catalog_path).read_text(encoding="utf-8")
    try:
        shown = Path(catalog_path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        shown = Path(catalog_path).name
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        f"a/{shown}", f"b/{shown}"))
