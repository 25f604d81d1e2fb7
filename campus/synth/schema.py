"""The generated columns as a table of the dataset's Arrow schema (`campus.storage`), so the
catalog and the generator cannot drift apart."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from ..errors import BuildError

# Arrow type -> (numpy type the generator's values are read as, the type of Arrow's buffer)
STORAGE = {
    "int8": (np.int8, np.int8),
    "int16": (np.int16, np.int16),
    "int32": (np.int32, np.int32),
    "int64": (np.int64, np.int64),
    "double": (np.float64, np.float64),
    "date32[day]": ("datetime64[D]", np.int32),
    "timestamp[us]": ("datetime64[us]", np.int64),
}


def table(schema: pa.Schema, columns: Mapping[str, np.ndarray | pa.Array]) -> pa.Table:
    """The generated columns as a table of `schema`; an error if they and the catalog disagree."""
    made, wanted = set(columns), set(schema.names)
    if made != wanted:
        raise BuildError(
            "the catalog and the demo-data generator disagree on the columns: "
            + "; ".join(filter(None, [
                _listed("in the catalog only", wanted - made),
                _listed("generated only", made - wanted),
            ]))
            + "; fix datasets/catalog.yaml or the dataset's module in campus/synth/"
        )
    arrays = [_array(columns[field.name], field) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _array(values: np.ndarray | pa.Array, field: pa.Field) -> pa.Array:
    """One generated column as Arrow of the catalog's type; an error naming the column if it cannot be."""
    if isinstance(values, pa.Array) and values.type == field.type:
        return values
    if isinstance(values, np.ndarray) and str(field.type) in STORAGE:
        try:
            return _from_numpy(values, field.type)
        except TypeError:  # a cast that would lose meaning, such as float to integer
            pass
    generated = values.type if isinstance(values, pa.Array) else values.dtype
    raise BuildError(
        f"column {field.name} is generated as {generated}, but the catalog says {field.type}; "
        "fix datasets/catalog.yaml or the dataset's module in campus/synth/"
    )


def _from_numpy(values: np.ndarray, type_: pa.DataType) -> pa.Array:
    """A numpy column (masked where values are missing) as Arrow, straight from its buffer.

    `pa.array` would do, but it imports pandas, which costs more than the data.
    """
    missing = np.ma.getmask(values)
    storage = STORAGE[str(type_)]
    data = np.ascontiguousarray(np.ma.getdata(values).astype(storage[0], casting="same_kind"))
    if storage[0] != storage[1]:
        data = data.view(np.int64).astype(storage[1])
    validity = None
    if missing is not np.ma.nomask and missing.any():
        validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
    return pa.Array.from_buffers(type_, len(data), [validity, pa.py_buffer(data)])


def _listed(label: str, names: set[str]) -> str:
    return f"{label}: {', '.join(sorted(names))}" if names else ""
