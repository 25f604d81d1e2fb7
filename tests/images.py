"""Real images for the airlock's tests: the airlock decodes every figure and writes it again
from its pixels, so a test's figure must be one."""

from __future__ import annotations

import io
import zlib

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
