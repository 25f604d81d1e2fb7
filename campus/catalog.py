"""The catalog: which datasets the campus holds, and what every column is.

Stewards write ``datasets/catalog.yaml``; this module validates it (the JSON Schema
beside it is generated from these models) and answers the questions every other part
asks: where a dataset's Parquet lives, which column is the protected entity, and what
role each column plays.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from extractguard.rules import Disclosure

from . import yamlfile
from .errors import ConfigError, DataMissing

Role = Literal["identifier", "quasi_identifier", "dimension", "measure", "time"]
Tier = Literal["open", "restricted", "sensitive"]
EngineName = Literal["duckdb", "spark"]  # campus.engines.ENGINES' names
Grain = Literal["second", "minute", "hour", "day", "week", "month", "quarter", "year"]
ColumnType = Literal[
    "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR", "DATE", "TIMESTAMP"
]
WHOLE_NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")
DAY_TYPES = ("DATE", "TIMESTAMP")
ENTITY_TYPES = ("VARCHAR", *WHOLE_NUMBER_TYPES)
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Bins(BaseModel):
    """How a measure may become a group key or a filter: in bins, never value by value.

    A key or filter bins the measure by ``width`` or a whole multiple of it
    (``floor(amount / 10000) * 10000``), or compares it with a multiple of ``width``
    (``amount >= 100000``). Values below ``bottom`` share the bin of ``bottom``, values at
    or above ``top`` the bin of ``top``: the extremes are never told apart.
    """

    model_config = ConfigDict(extra="forbid")

    width: float = Field(gt=0, description="The narrowest bin; keys and filters use it or a whole multiple of it.")
    bottom: float = Field(0, description="Values below share one bin with it (a bottom code).")
    top: float = Field(description="Values at or above share one bin with it (a top code).")

    @model_validator(mode="after")
    def _codes_on_the_grid(self):
        if self.bottom >= self.top:
            raise ValueError(f"bins: bottom {self.bottom:g} must be below top {self.top:g}")
        for name in ("bottom", "top"):
            if not aligned(getattr(self, name), self.width):
                raise ValueError(f"bins: {name} {getattr(self, name):g} must be a multiple of the width {self.width:g}")
        return self


def aligned(value: float, width: float) -> bool:
    """Whether `value` is a whole multiple of `width`, exactly as written in decimal.

    >>> aligned(1_000_000, 10_000), aligned(15_000, 10_000), aligned(0.3, 0.1), aligned(10000.0000001, 10000)
    (True, False, True, False)
    """
    return Decimal(str(value)) % Decimal(str(width)) == 0


class Contribution(BaseModel):
    """For differential privacy: what one entity's sum of a measure in one cell is clamped to."""

    model_config = ConfigDict(extra="forbid")

    lower: float = Field(description="A smaller per-entity sum counts as this.")
    upper: float = Field(description="A larger per-entity sum counts as this.")

    @model_validator(mode="after")
    def _ordered(self):
        if self.lower >= self.upper:
            raise ValueError(f"contribution: lower {self.lower:g} must be below upper {self.upper:g}")
        return self


class PrivacyBounds(BaseModel):
    """For differential privacy: how much one entity may contribute to a table; the rest
    of its rows are dropped (cells chosen by a keyed hash, never by value)."""

    model_config = ConfigDict(extra="forbid")

    cells_per_entity: int = Field(ge=1, description="Most cells of one table an entity counts in.")
    records_per_cell: int = Field(ge=1, description="Most records of an entity counted in one cell.")


COARSER_THAN_A_DAY = ("week", "month", "quarter", "year")


def start_of(grain: str, day: datetime.date) -> datetime.date:
    """The first day of the week (Monday), month, quarter or year holding `day`.

    >>> start_of("quarter", datetime.date(2025, 5, 17)), start_of("week", datetime.date(2025, 1, 1))
    (datetime.date(2025, 4, 1), datetime.date(2024, 12, 30))
    """
    if grain == "week":
        return day - datetime.timedelta(days=day.weekday())
    month = {"month": day.month, "quarter": (day.month - 1) // 3 * 3 + 1, "year": 1}[grain]
    return day.replace(month=month, day=1)


class Range(BaseModel):
    """Public values from `first` to `last`: whole numbers (of a column of whole numbers), or days (of a
    column of days or moments)."""

    model_config = ConfigDict(extra="forbid")

    first: datetime.date | int
    last: datetime.date | int

    @model_validator(mode="after")
    def _ordered(self):
        if type(self.first) is not type(self.last) or self.first > self.last:
            raise ValueError(f"domain: first {self.first} and last {self.last} must be of one kind, first <= last")
        return self


class Column(BaseModel):
    """One column: its SQL type, its role, and what it means."""

    model_config = ConfigDict(extra="forbid")

    type: ColumnType
    role: Role = Field(description="What the gateway lets a query do with the column.")
    description: str
    unit: str | None = None
    header: str | None = Field(
        None, description="The column's name in the files a steward loads (campus datasets add, append), where it "
                          "is not the column's own: 가맹점명, Card No.")
    grain: Grain | None = Field(None, description="For time columns: how fine a value is.")
    bins: Bins | None = Field(None, description="For measures: the bins a key or filter may put it in.")
    contribution: Contribution | None = Field(
        None, description="For measures: the per-entity, per-cell sum differential privacy clamps to.")
    domain: list[str | int] | Range | None = Field(
        None,
        description="Public values of a dimension, quasi-identifier or time column, known without the data (the "
        "25 districts, the months of the year covered). A table keyed by such columns shows a row for every value, "
        "so a withheld cell looks like an empty one. Every file loaded must hold only these values.",
    )
    redact: bool = Field(
        False, description="For free text that is no identifier: each personal value inside a text (a phone "
                           "number, an e-mail address, ...) is replaced by a marker such as ⟨phone⟩ before the "
                           "text is stored; the rest of the text is kept.")
    regions: dict[str, Annotated[list[str], Field(min_length=1)]] | None = Field(
        None, description="For a text column of areas (districts): the coarser regions they make up, each region "
                          "with the values it holds (Dosim-gwon: [Jongno-gu, Jung-gu, Yongsan-gu]). A grant's region "
                          "mask shows each value as its region; a column without regions cannot be masked so.")

    @model_validator(mode="after")
    def _fits_role(self):
        if self.role == "time" and self.grain is None:
            raise ValueError("a time column needs a grain (second, hour, day, month, ...)")
        if self.role != "time" and self.grain is not None:
            raise ValueError("only time columns have a grain")
        if (self.bins is not None or self.contribution is not None) and self.role != "measure":
            raise ValueError("only measures have bins and a contribution")
        if self.domain is not None and self.role not in ("dimension", "quasi_identifier", "time"):
            raise ValueError("only dimension, quasi_identifier and time columns have a public domain")
        if isinstance(self.domain, Range) and isinstance(self.domain.first, datetime.date) != (self.role == "time"):
            raise ValueError("a range of days is the domain of a time column; whole numbers of a dimension")
        if isinstance(self.domain, Range) and self.type not in (
                DAY_TYPES if isinstance(self.domain.first, datetime.date) else WHOLE_NUMBER_TYPES):
            raise ValueError(f"a range of days is the domain of a {' or '.join(DAY_TYPES)} column, and a range of "
                             f"whole numbers that of a {', '.join(WHOLE_NUMBER_TYPES)} column; this one is {self.type}: "
                             "list its public values instead")
        if self.redact and (self.type != "VARCHAR" or self.role == "identifier"):
            raise ValueError("only text (VARCHAR) that is no identifier is redacted; an identifier is stored as its "
                             "keyed hash")
        if self.redact and self.domain is not None:
            raise ValueError("a column with a public domain holds only its public values: nothing to redact")
        return self

    @model_validator(mode="after")
    def _regions_partition_the_values(self):
        if self.regions is None:
            return self
        if self.type != "VARCHAR" or self.role not in ("dimension", "quasi_identifier"):
            raise ValueError("only text (VARCHAR) dimension and quasi_identifier columns have regions")
        seen: dict[str, str] = {}
        for region, values in self.regions.items():
            for value in values:
                if value in seen:
                    raise ValueError(f"regions: {value} is in both {seen[value]} and {region}; a value lies in "
                                     "one region")
                seen[value] = region
        if isinstance(self.domain, list):
            unplaced = [v for v in self.domain if v not in seen]
            if unplaced:
                raise ValueError(f"regions: {', '.join(map(str, unplaced))} of the column's domain lie in no "
                                 "region; add each to its region")
            outside = [v for v in seen if v not in self.domain]
            if outside:
                raise ValueError(f"regions: {', '.join(outside)} are not of the column's domain; spell them as "
                                 "the domain does")
        return self

    def region_of(self) -> dict[str, str]:
        """Each value its regions name -> the region it lies in.

        >>> Column(type="VARCHAR", role="dimension", description="-",
        ...        regions={"Dosim-gwon": ["Jung-gu", "Jongno-gu"]}).region_of()
        {'Jung-gu': 'Dosim-gwon', 'Jongno-gu': 'Dosim-gwon'}
        """
        return {value: region for region, values in (self.regions or {}).items() for value in values}

    def public_range(self) -> tuple[datetime.date | int, datetime.date | int]:
        """The first and last of the public values of a column whose domain is a `Range`: a time column's
        first is the start of its grain's period (a month column's first is the first of the month).

        >>> Column(type="DATE", role="time", grain="month", description="-",
        ...        domain=Range(first="2025-01-15", last="2025-12-31")).public_range()
        (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
        """
        first, last = self.domain.first, self.domain.last
        if isinstance(first, datetime.date) and self.grain in COARSER_THAN_A_DAY:
            first = start_of(self.grain, first)
        return first, last


class Dataset(BaseModel):
    """A dataset as the steward describes it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", description="Filled in from the catalog key.")
    title: str
    description: str
    steward: str
    tier: Tier
    source: str = Field(
        description="Where its Parquet lives: a folder under the data location, an absolute path, or s3://bucket/prefix."
    )
    partitioned_by: str | None = Field(None, description="Files are split into one folder per value (month=2025-01).")
    columns: dict[str, Column]
    dropped: list[str] = Field(
        [], description="Columns of the files a steward loads that the loader reads past and never stores (free "
                        "text nobody needs), by their name in the file: 메모, Comments.")
    entity: str | None = Field(description="The column naming the person or firm the rules protect; null if none.")
    disclosure: Disclosure = Disclosure()
    privacy: PrivacyBounds | None = Field(
        None, description="Contribution bounds for differential privacy; grants with protection: dp need them.")
    engine: EngineName | None = Field(
        None, description="The engine that holds and reads this dataset (campus.engines); null: the campus's "
                          "own (CAMPUS_ENGINE). A query reads datasets of one engine.")

    @field_validator("source")
    @classmethod
    def _source_is_a_location(cls, source: str) -> str:
        if source.startswith("s3://"):
            if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[\w.\-/=]*)?", source):
                raise ValueError(f"{source!r} is not an s3://bucket/prefix location")
            return source
        if any(ch in source for ch in "*?[]{}") or ".." in Path(source).parts or "://" in source:
            raise ValueError(
                f"{source!r} is not a plain folder: use a folder under the data location, an absolute path or s3://"
            )
        return source

    @field_validator("columns")
    @classmethod
    def _column_names(cls, columns: dict[str, Column]) -> dict[str, Column]:
        bad = [name for name in columns if not NAME.match(name)]
        if bad:
            raise ValueError(f"column names must be lower_snake_case: {', '.join(bad)}")
        return columns

    @field_validator("dropped")
    @classmethod
    def _dropped_are_not_columns(cls, dropped: list[str], info: ValidationInfo) -> list[str]:
        kept = {name for column, spec in (info.data.get("columns") or {}).items() for name in (column, spec.header)}
        both = [name for name in dropped if name in kept]
        if both:
            raise ValueError(f"{both[0]!r} is also one of the columns (or a column's header); a column "
                             "is either stored or dropped")
        if len(set(dropped)) < len(dropped):
            raise ValueError("a file's column is named twice")
        return dropped

    @field_validator("entity")
    @classmethod
    def _entity_is_an_identifier(cls, entity: str | None, info: ValidationInfo) -> str | None:
        columns, tier = info.data.get("columns"), info.data.get("tier")
        if entity is None:
            if tier not in (None, "open"):
                raise ValueError(f"a {tier} dataset needs an entity column for the disclosure rules to count")
        elif columns is not None:
            if entity not in columns:
                raise ValueError(f"entity {entity!r} is not one of the dataset's columns")
            if columns[entity].role != "identifier":
                raise ValueError(f"entity column {entity!r} must have role identifier")
            if columns[entity].type not in ENTITY_TYPES:
                raise ValueError(f"entity column {entity!r} must be one of {', '.join(ENTITY_TYPES)}, whose text "
                                 "(hence cell key and noise) is the same in every engine")
        return entity

    def roles(self, role: Role) -> list[str]:
        """The names of the columns with `role`, in catalog order."""
        return [name for name, col in self.columns.items() if col.role == role]

    def location(self, data_dir: Path) -> Path | str:
        """The folder (or s3:// prefix) holding this dataset's Parquet."""
        if self.source.startswith("s3://"):
            return self.source
        return Path(data_dir) / self.source

    def files(self, data_dir: Path) -> list[Path]:
        """Every Parquet file of the dataset, sorted: of its current version if it was loaded by
        `campus datasets add`, else all under its folder; an error if there are none."""
        from .ingest.versions import files_of

        where = self.location(data_dir)
        if isinstance(where, str):
            raise DataMissing(f"{self.name}: reading from {where} needs the S3 data location configured")
        found = files_of(where) if where.is_dir() else []
        found = sorted(where.rglob("*.parquet") if found is None else found)
        if not found:
            raise DataMissing(
                f"{self.name}: no Parquet files in {where}; load its files with `campus datasets add {self.name} "
                "--from FILE`, or run `campus datasets build` to generate the demo data"
            )
        return found


class Catalog(BaseModel):
    """Every dataset of the campus, by name."""

    model_config = ConfigDict(extra="forbid")

    datasets: dict[str, Dataset]

    @model_validator(mode="after")
    def _name_datasets(self):
        for name, dataset in self.datasets.items():
            if not NAME.match(name):
                raise ValueError(f"dataset name {name!r} must be lower_snake_case")
            dataset.name = name
        return self

    def __getitem__(self, name: str) -> Dataset:
        try:
            return self.datasets[name]
        except KeyError:
            known = ", ".join(sorted(self.datasets))
            raise KeyError(f"no dataset {name!r}; the catalog has: {known}") from None

    def __iter__(self):
        return iter(self.datasets.values())


def load(path: Path) -> Catalog:
    """Read and validate a catalog file."""
    return yamlfile.load(path, Catalog)


def without(text: str, name: str) -> str:
    """The catalog's text without dataset `name`'s entry: its line under ``datasets:`` and every line
    indented deeper after it (a comment at the entries' own indent goes with the entry below it).

    >>> print(without("datasets:\\n  a:\\n    title: A\\n\\n  # b is...\\n  b:\\n    title: B\\n", "a"), end="")
    datasets:
      # b is...
      b:
        title: B
    >>> print(without("datasets:\\n  a:\\n    columns:\\n      b: {}\\n  b:\\n    title: B\\n", "b"), end="")
    datasets:
      a:
        columns:
          b: {}
    """
    lines = text.splitlines(keepends=True)
    top = next((i for i, line in enumerate(lines) if re.match(r"^datasets:\s*(#.*)?$", line)), len(lines))
    indent = next((len(line) - len(line.lstrip()) for line in lines[top + 1:]
                   if line.strip() and not line.lstrip().startswith("#")), 2)
    entry = re.compile(rf"^ {{{indent}}}{re.escape(name)}:\s*(#.*)?$")
    start = next((i for i in range(top + 1, len(lines)) if entry.match(lines[i])), None)
    if start is None:
        raise ConfigError(f"{name!r} is not found as an entry under datasets: in the catalog's text; remove the "
                          "entry by hand, then run this again to delete its data")
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return re.sub(r"\n\s*\Z", "\n", "".join(lines[:start] + lines[end:]))  # no blank lines left at the end


def json_schema() -> str:
    """The catalog's JSON Schema, for editors (published as datasets/catalog.schema.json)."""
    schema = Catalog.model_json_schema()
    schema["title"] = "Big Data Campus dataset catalog"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
