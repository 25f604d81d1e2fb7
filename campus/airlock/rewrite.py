"""What leaves is what the campus wrote: every file is rewritten from what was checked.

An uploaded file is never released as it came. Its content is read as the campus reads it
(a table's values, an image's pixels, a text's characters) and written anew by one fixed
writer; the rewritten bytes are what the checks read, what the content hash names, what
the reviewer sees and approves, and what the requester downloads. Whatever the upload
carried beside its content — Parquet schema or key-value metadata and extra row groups,
PNG text chunks and bytes after ``IEND``, EXIF and ICC profiles, a BOM, control characters
— is not in the file that leaves.

==========  ==================================================================================
kind        written as
==========  ==================================================================================
CSV, TSV    pyarrow's CSV writer: a header of every column, strings quoted, fractions exact (repr),
            ``\\n`` line ends
Parquet     pyarrow's Parquet writer: one row group, zstd, no schema or key-value metadata
PNG         Pillow, from the pixels alone (L, LA, RGB or RGBA; a palette is expanded)
JPEG        Pillow, from the pixels alone (L or RGB), quality 95: no EXIF, ICC or comments
text, md    UTF-8, NFC, ``\\n`` line ends, no trailing spaces, no control or format characters
==========  ==================================================================================

A cell of text that a spreadsheet would run as a formula (it begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return, as OWASP's CSV injection guidance lists) is
**neutralised**: written with a leading ``'``, so it is shown as the text it is. Column
names are treated the same. The checks report how many cells were (the "formulas" check).

A kind with no writer here cannot be released (`rewritten` refuses it).
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from PIL import Image

from .errors import InvalidExport

#: A cell a spreadsheet would run: OWASP's list of first characters.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA = r"^[=+\-@\t\r]"
NEUTRAL = "'"
MAX_PIXELS = 40_000_000  # an image of more pixels is refused: a figure needs far fewer
PARQUET_COMPRESSION = "zstd"
JPEG_QUALITY = 95
#: The pixel layouts an image is written in; any other is converted to the first that holds it.
IMAGE_MODES = {"PNG": ("L", "LA", "RGB", "RGBA"), "JPEG": ("L", "RGB")}


# --- tables -------------------------------------------------------------------------------------


def neutralised(table: pa.Table) -> tuple[pa.Table, int]:
    """`table` with every formula-like text cell and column name prefixed with ``'``, and how
    many cells were.

    >>> t, n = neutralised(pa.table({"=cmd": ["=1+2", "ok", "-x", None]}))
    >>> t.column_names, t.column(0).to_pylist(), n
    (["'=cmd"], ["'=1+2", 'ok', "'-x", None], 2)
    """
    names = [NEUTRAL + name if name.startswith(FORMULA_START) else name for name in table.column_names]
    columns, count = [], 0
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            formula = pc.fill_null(pc.match_substring_regex(column, FORMULA), False)
            count += pc.sum(formula).as_py() or 0
            prefixed = pc.binary_join_element_wise(pa.scalar(NEUTRAL, column.type), column, pa.scalar("", column.type))
            column = pc.if_else(formula, prefixed, column)
        columns.append(column)
    return pa.table(columns, names=names), count


def table_bytes(table: pa.Table, kind_name: str, delimiter: str = ",") -> bytes:
    """A checked table written by the campus's one writer for its kind."""
    sink = io.BytesIO()
    if kind_name == "Parquet":
        plain = pa.schema([pa.field(f.name, f.type, f.nullable) for f in table.schema])  # no field metadata
        pq.write_table(pa.Table.from_batches(table.to_batches(), plain).combine_chunks(), sink,
                       compression=PARQUET_COMPRESSION, row_group_size=max(table.num_rows, 1), store_schema=False,
                       write_page_index=False, write_page_checksum=False)
    else:
        pa_csv.write_csv(_floats_as_floats(table), sink, pa_csv.WriteOptions(delimiter=delimiter,
                                                                            quoting_style="needed"))
    return sink.getvalue()


def _floats_as_floats(table: pa.Table) -> pa.Table:
    """Fractional numbers written so they read back as such, exactly: 1.0 stays ``1.0`` (not ``1``,
    which reads back as a whole number), every float as its shortest exact form (Python's repr).

    >>> _floats_as_floats(pa.table({"x": [1.0, -0.0, None, 0.1]})).column(0).to_pylist()
    ['1.0', '-0.0', None, '0.1']
    """
    for i, column in enumerate(table.columns):
        if pa.types.is_floating(column.type):
            exact = pa.array([None if v is None else repr(v) for v in column.to_pylist()], pa.string())
            table = table.set_column(i, table.field(i).name, exact)
    return table


# --- images -------------------------------------------------------------------------------------


def image_bytes(kind_name: str, filename: str, content: bytes) -> bytes:
    """An image decoded and written again from its pixels alone (its first frame)."""
    pixels = decoded_image(kind_name, filename, content)
    fresh = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())  # nothing of the upload's info comes along
    sink = io.BytesIO()
    if kind_name == "PNG":
        fresh.save(sink, "PNG", compress_level=6)
    else:
        fresh.save(sink, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    return sink.getvalue()


def decoded_image(kind_name: str, filename: str, content: bytes) -> Image.Image:
    """The image's pixels (its first frame, from a PNG's pixel chunks alone), in a mode the
    kind can hold; `InvalidExport` if it does not decode whole, or is too large."""
    if kind_name == "PNG":
        content = pixel_chunks(content)
    try:
        with Image.open(io.BytesIO(content), formats=[kind_name]) as image:
            _check_pixels(filename, image.size)
            image.load()
            return _in_mode(image, IMAGE_MODES[kind_name]).copy()
    except InvalidExport:
        raise
    except Exception:  # whatever the decoder stumbled on, the file is refused (fail closed)
        raise InvalidExport(f"{filename} does not decode as a {kind_name} image (it may be damaged or cut short): "
                            "save the figure again, e.g. fig.savefig(path)") from None


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The chunks that make a PNG's pixels; the decoder never sees any other (text, profiles, private ones).
PIXEL_CHUNKS = (b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND")


def pixel_chunks(content: bytes) -> bytes:
    r"""A PNG with only the chunks its pixels are made of, up to ``IEND`` (nothing after it).

    >>> pixel_chunks(PNG_SIGNATURE + b"\0\0\0\1tEXtx1234" + b"\0\0\0\0IEND1234" + b"more")
    b'\x89PNG\r\n\x1a\n\x00\x00\x00\x00IEND1234'
    """
    kept, at = [PNG_SIGNATURE], len(PNG_SIGNATURE)
    while at + 12 <= len(content):
        length, kind = int.from_bytes(content[at:at + 4], "big"), content[at + 4:at + 8]
        end = at + 12 + length
        if kind in PIXEL_CHUNKS:
            kept.append(content[at:end])
        if kind == b"IEND":
            break
        at = end
    return b"".join(kept)


def _check_pixels(filename: str, size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise InvalidExport(f"{filename} is {width:,} × {height:,} pixels; the airlock takes images of up to "
                            f"{MAX_PIXELS:,} pixels: save the figure at a lower resolution")


def _in_mode(image: Image.Image, modes: tuple[str, ...]) -> Image.Image:
    """The image in a layout of `modes`: kept if it is one, else with colour (and alpha, if it has any)."""
    if image.mode in modes:
        return image
    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    wanted = "RGBA" if alpha and "RGBA" in modes else "RGB"
    return image.convert(wanted)


# --- text ---------------------------------------------------------------------------------------

#: What a text loses: control characters but tab and newline, and invisible format characters.
HIDDEN = {"Cc", "Cf", "Co", "Cs", "Cn"}


def text_bytes(content: bytes) -> bytes:
    """A text normalised: UTF-8 without BOM, NFC, ``\\n`` line ends, no trailing spaces, no control or
    invisible format characters (zero-width, direction marks), one newline at the end.

    >>> text_bytes("\\ufeffCafe\\u0301 \\r\\nzero\\u200bwidth\\t\\r\\n\\r\\n".encode())
    b'Caf\\xc3\\xa9\\nzerowidth\\n'
    """
    text = unicodedata.normalize("NFC", content.decode("utf-8").removeprefix("\ufeff"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in "\t\n" or unicodedata.category(c) not in HIDDEN)
    lines = [line.rstrip(" \t\u00a0\u3000") for line in text.split("\n")]
    return ("\n".join(lines).strip("\n") + "\n").encode("utf-8")


# --- every kind ---------------------------------------------------------------------------------


def rewritten(kind, filename: str, content: bytes, table: pa.Table | None = None) -> bytes:
    """The bytes that leave for a file of `kind`: `table` (its checked values) written anew, or
    the image's pixels or the text written anew; `InvalidExport` for a kind with no writer."""
    if kind.table:
        return table_bytes(table, kind.name, kind.delimiter)
    writer = WRITERS.get(kind.name)
    if writer is None:
        raise InvalidExport(f"{filename}: the airlock cannot write a {kind.name} file anew from what it checked, so it "
                            "cannot be released; export a table as CSV, a figure as PNG or a text as .txt")
    return writer(kind.name, filename, content)


def _text(_kind: str, _filename: str, content: bytes) -> bytes:
    return text_bytes(content)


#: The writer of each kind that is not a table.
WRITERS: dict[str, Callable[[str, str, bytes], bytes]] = {
    "PNG": image_bytes, "JPEG": image_bytes, "text": _text, "Markdown": _text}
