"""The catalog: which datasets the campus holds, and what every column is.

Stewards write ``datasets/catalog.yaml``; this module validates it (the JSON Schema
beside it is generated from these models) and answers the questions every other part
asks: where a dataset's Parquet lives, which column is the protected entity, and what
role each column plays.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from . import yamlfile
from .errors import DataMissing

Role = Literal["identifier", "quasi_identifier", "dimension", "measure", "time"]
Tier = Literal["open", "restricted", "sensitive"]
Grain = Literal["second", "minute", "hour", "day", "week", "month", "quarter", "year"]
ColumnType = Literal[
    "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR", "DATE", "TIMESTAMP"
]
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Column(BaseModel):
    """One column: its SQL type, its role, and what it means."""

    model_config = ConfigDict(extra="forbid")

    type: ColumnType
    role: Role = Field(description="What the gateway lets a query do with the column.")
    description: str
    unit: str | None = None
    grain: Grain | None = Field(None, description="For time columns: how fine a value is.")

    @model_validator(mode="after")
    def _time_has_grain(self):
        if self.role == "time" and self.grain is None:
            raise ValueError("a time column needs a grain (second, hour, day, month, ...)")
        if self.role != "time" and self.grain is not None:
            raise ValueError("only time columns have a grain")
        return self


class Disclosure(BaseModel):
    """The disclosure rules' parameters for a dataset; grants may only tighten them."""

    model_config = ConfigDict(extra="forbid")

    min_entities: int = Field(10, ge=1, description="Fewest distinct entities a released cell may have.")
    dominance_n: int = Field(2, ge=1, description="N of the N-K dominance rule: the top N contributors...")
    dominance_k: float = Field(0.9, gt=0, le=1, description="...may not hold this share of a cell's total.")
    p_ratio: float = Field(0.10, ge=0, le=1, description="A cell fails if (total - top1 - top2) / top1 is below this.")
    rounding_base: int = Field(5, ge=1, description="Released counts are rounded to a multiple of this.")


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
    entity: str | None = Field(description="The column naming the person or firm the rules protect; null if none.")
    disclosure: Disclosure = Disclosure()

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
        """Every Parquet file of the dataset, sorted; an error if there are none."""
        where = self.location(data_dir)
        if isinstance(where, str):
            raise DataMissing(f"{self.name}: reading from {where} needs the S3 data location configured")
        found = sorted(where.rglob("*.parquet")) if where.is_dir() else []
        if not found:
            raise DataMissing(
                f"{self.name}: no Parquet files in {where}; run `campus datasets build` to generate the demo data"
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


def json_schema() -> str:
    """The catalog's JSON Schema, for editors (published as datasets/catalog.schema.json)."""
    schema = Catalog.model_json_schema()
    schema["title"] = "Big Data Campus dataset catalog"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
