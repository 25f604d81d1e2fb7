"""A query's result on the wire, and back: the table, its report, notes and decisions.

Two forms, chosen by the request's ``Accept`` header:

* ``application/vnd.apache.arrow.stream`` (the default, and what the client asks for):
  one Arrow IPC stream. The table's types survive exactly, and the rest of the
  `Result` rides in the stream's schema metadata under the key ``campus`` as JSON
  ``{"report": {...}, "notes": [...], "decisions": [...]}``: one response, one parse,
  nothing in headers (whose size proxies limit).
* ``application/json``: ``{"columns": [{"name", "type"}], "rows": [[...], ...],
  "report": {...}, "notes": [...], "decisions": [...]}`` for curl and small results;
  dates and timestamps as ISO strings, decimals as strings, NaN as null.

A report is ``{"cells": n, "summary": "...", "notes": [...], "withheld": [{"aggregate",
"cell", "measure", "rule", "reason"}, ...], "errors": [{<keys>, "measure", "half_width"},
...], "measures": {<column>: {"kind", "unit", "rounded"}}}``; the error bars' keys come
back with the types of the table's columns of the same names.

>>> from extractguard import Report
>>> table = pa.table({"district": ["Jung-gu"], "n": [120]})
>>> back = from_arrow(to_arrow(Result(table, Report(cells=1), ["a note"], [{"dataset": "card_usage"}])))
>>> back.table.equals(table), back.report.cells, back.notes, back.decisions
(True, 1, ['a note'], [{'dataset': 'card_usage'}])
"""

from __future__ import annotations

import datetime
import decimal
import json
import math

import polars as pl
import pyarrow as pa

from extractguard import Report
from extractguard.report import WITHHELD_SCHEMA, Measured, errors_frame

from ..gateway.result import Result

ARROW = "application/vnd.apache.arrow.stream"
JSON = "application/json"
METADATA_KEY = b"campus"


def report_json(report: Report) -> dict:
    return {
        "cells": report.cells,
        "summary": report.summary(),
        "notes": list(report.notes),
        "withheld": report.withheld.to_dicts(),
        "errors": [{k: _finite(v) for k, v in row.items()} for row in report.errors.to_dicts()],
        "measures": report.measures_json(),
    }


def report_from_json(data: dict, table: pa.Table | None = None) -> Report:
    withheld = pl.DataFrame(data.get("withheld") or [], schema=WITHHELD_SCHEMA)
    errors = errors_frame([pl.DataFrame(data["errors"], infer_schema_length=None)] if data.get("errors") else [])
    if table is not None:
        types = pl.from_arrow(table.slice(0, 0)).schema
        errors = errors.with_columns(_typed(pl.col(c), errors.schema[c], types[c]) for c in errors.columns
                                     if c in types and c not in ("measure", "half_width"))
    return Report(cells=int(data.get("cells", 0)), withheld=withheld, notes=list(data.get("notes", [])),
                  errors=errors.with_columns(pl.col("half_width").cast(pl.Float64)),
                  measures={name: Measured.of(m) for name, m in (data.get("measures") or {}).items()})


def extras(result: Result) -> dict:
    """Everything of a result but its table, as JSON-able data."""
    return {"report": report_json(result.report), "notes": list(result.notes), "decisions": result.decisions}


def to_arrow(result: Result) -> bytes:
    """The result as one Arrow IPC stream, the rest in the schema metadata."""
    metadata = dict(result.table.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(extras(result), default=str).encode()
    table = result.table.replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_arrow(data: bytes) -> Result:
    """The `Result` an Arrow IPC stream from `to_arrow` carries."""
    table = pa.ipc.open_stream(data).read_all()
    metadata = dict(table.schema.metadata or {})
    rest = json.loads(metadata.pop(METADATA_KEY, b"{}"))
    table = table.replace_schema_metadata(metadata or None)
    return Result(table, report_from_json(rest.get("report", {}), table), rest.get("notes", []),
                  rest.get("decisions", []))


def to_json(result: Result) -> bytes:
    """The result as a JSON envelope (columns, rows, report, notes, decisions)."""
    table = result.table
    document = {
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
        "rows": [[_finite(v) for v in row.values()] for row in table.to_pylist()],
        **extras(result),
    }
    return json.dumps(document, default=_plain, allow_nan=False, separators=(",", ":")).encode()


def _typed(column: pl.Expr, sent: pl.DataType, wanted: pl.DataType) -> pl.Expr:
    """A key column of the error bars back in its table's type (JSON carried days as text)."""
    if sent == pl.String and wanted == pl.Date:
        return column.str.to_date(strict=False)
    if sent == pl.String and isinstance(wanted, pl.Datetime):
        return column.str.to_datetime(strict=False).cast(wanted, strict=False)
    return column.cast(wanted, strict=False)


def wants_json(accept: str | None) -> bool:
    """Whether an Accept header asks for JSON rather than Arrow."""
    accept = (accept or "").lower()
    return JSON in accept and ARROW not in accept


def _finite(value):
    """NaN and infinities have no JSON form: they travel as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _plain(value):
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
