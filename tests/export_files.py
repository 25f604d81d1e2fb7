"""Files for the airlock's tests: real images (the airlock decodes every figure and writes it
again from its pixels, so a test's figure must be one) and tables of cells."""

from __future__ import annotations

import io
import zlib

import pyarrow as pa
from PIL import Image


def png(n: int = 0, size: tuple[int, int] = (8, 8)) -> bytes:
    """A flat PNG whose colour comes from `n`: different `n`, different pixels."""
    sink = io.BytesIO()
    Image.new("RGB", size, (n % 256, n // 256 % 256, n // 65536 % 256)).save(sink, "PNG")
    return sink.getvalue()


def jpeg(n: int = 0, size: tuple[int, int] = (8, 8)) -> bytes:
    sink = io.BytesIO()
    Image.new("RGB", size, (n % 256, 128, 64)).save(sink, "JPEG")
    return sink.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: length, type, data, CRC."""
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def with_hidden(image: bytes, text: bytes, trailing: bytes) -> bytes:
    """A PNG with a tEXt chunk of `text` before its IEND and `trailing` bytes after it."""
    end = image.rindex(b"IEND") - 4
    return image[:end] + chunk(b"tEXt", b"Comment\0" + text) + image[end:] + trailing


def aggregate(rows: int) -> pa.Table:
    """A table of counts by district and month, `rows` cells of it, every count releasable."""
    return pa.table({"district": [f"district-{i // 12}" for i in range(rows)],
                     "month": [i % 12 + 1 for i in range(rows)], "cards": [20 + 5 * (i % 9) for i in range(rows)]})
