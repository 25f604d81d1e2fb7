"""How a dataset is stored: Parquet files of the catalog's columns in their Arrow types,
written with one set of options, each file known by its sha256. The demo generator
(`campus.synth`) and the loader (`campus.ingest`) both write through this.

>>> from campus import catalog
>>> from campus.settings import Settings
>>> air = catalog.load(Settings().catalog_path)["air_quality"]
>>> arrow_schema(air).field("measured_at").type
TimestampType(timestamp[us])
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa

from .catalog import Dataset

ARROW_TYPES = {
    "BOOLEAN": pa.bool_(),
    "TINYINT": pa.int8(),
    "SMALLINT": pa.int16(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
}
#: Parquet writer options, fixed, so a file's bytes depend only on its data and the pyarrow
#: version; the group keys (dimensions, quasi-identifiers) get a dictionary (`writer_options`).
WRITER = {
    "compression": "zstd",
    "compression_level": 3,
    "write_statistics": True,
    "version": "2.6",
    "data_page_size": 1 << 20,
}


def arrow_schema(dataset: Dataset) -> pa.Schema:
    """The dataset's columns, in catalog order, with the Arrow type of each SQL type."""
    return pa.schema([pa.field(name, ARROW_TYPES[column.type]) for name, column in dataset.columns.items()])


def writer_options(dataset: Dataset) -> dict:
    """`WRITER`, with a dictionary for the group keys; identifiers, measures and times, nearly all
    distinct, are written plain, which is faster and smaller."""
    return {**WRITER, "use_dictionary": dataset.roles("dimension") + dataset.roles("quasi_identifier")}


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
