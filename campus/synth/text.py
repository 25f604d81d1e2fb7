"""Identifiers and labels as Arrow strings, made without a Python loop over rows.

>>> numbered("T2501", np.array([0, 42]), width=6).to_pylist()
['T2501000000', 'T2501000042']
>>> hexed("C", np.array([255], dtype=np.uint64)).to_pylist()
['C00000000000000ff']
>>> labels(("F", "M"), np.array([1, 0, 1])).to_pylist()
['M', 'F', 'M']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def numbered(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """`prefix` followed by each number, zero-padded to `width` digits."""
    rest = np.array(numbers, dtype=np.int64)
    if rest.size and not 0 <= rest.min() <= rest.max() < 10**width:
        raise ValueError(f"numbers must be 0 to {10**width - 1} to fit {width} digits")
    digits = np.empty((len(rest), width), dtype=np.uint8)
    for place in range(width - 1, -1, -1):  # a pass per digit, not per row
        rest, digit = np.divmod(rest, 10)
        digits[:, place] = digit + ord("0")
    return _strings(prefix, digits)


def hexed(prefix: str, keys: np.ndarray) -> pa.Array:
    """`prefix` followed by each 64-bit key as 16 hex digits."""
    keys = np.asarray(keys, dtype=np.uint64)
    digits = np.empty((len(keys), 16), dtype=np.uint8)
    for place in range(16):
        digits[:, place] = HEX_DIGITS[(keys >> np.uint64(60 - 4 * place)) & np.uint64(0xF)]
    return _strings(prefix, digits)


def labels(names: Sequence[str], codes: np.ndarray) -> pa.Array:
    """The name of each code (an index into `names`)."""
    indices = np.ascontiguousarray(codes, dtype=np.int32)
    return strings(names).take(pa.Array.from_buffers(pa.int32(), len(indices), [None, pa.py_buffer(indices)]))


def strings(names: Sequence[str]) -> pa.Array:
    """A few Python strings as an Arrow array (built from buffers: `pa.array` would import pandas)."""
    encoded = [name.encode("utf-8") for name in names]
    offsets = np.cumsum([0] + [len(b) for b in encoded], dtype=np.int32)
    return pa.StringArray.from_buffers(len(encoded), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded)))


def scrambled(numbers: np.ndarray, key: int) -> np.ndarray:
    """A keyed one-to-one mixing of 64-bit numbers (SplitMix64's finalizer): distinct in, distinct out."""
    x = np.asarray(numbers, dtype=np.uint64) ^ np.uint64(key)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _strings(prefix: str, chars: np.ndarray) -> pa.Array:
    """Fixed-width ASCII strings: `prefix` + each row of the uint8 matrix `chars`."""
    rows = len(chars)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    body = np.hstack([np.broadcast_to(head, (rows, len(head))), chars])
    width = body.shape[1]
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(body)))
