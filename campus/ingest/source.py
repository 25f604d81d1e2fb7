"""A file a steward loads: what kind it is, how its text is encoded, and its rows in batches.

CSV (plain or gzip) and Parquet are read; the kind is told by the file's first bytes and
must agree with its name. CSV text is UTF-8 (a byte-order mark is dropped) or, failing
that, CP949, as Korean spreadsheets save it; the whole file is checked before a row is
read, so a file is never half read in the wrong encoding (read leniently, for
`campus.ingest.badlines`, the encoding fewest lines break in is taken, and those lines are
told). Values come out as text, for
`campus.ingest.convert` to read into the catalog's types; a Parquet file's columns are
turned into text the same way, so both kinds are held to the same rules.

Errors name the file and a line (CSV) or row (Parquet), never a value.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import LoadRefused
from .badlines import BadLine, Kind
from ..identifiers import personal_headers
from ..storage import sha256_of

KINDS = {".csv": "CSV", ".csv.gz": "CSV", ".tsv": "CSV", ".parquet": "Parquet"}
SEPARATORS = (",", "\t", ";", "|")
ENCODINGS = ("utf-8", "cp949")
BATCH_BYTES = 8 << 20  # CSV read at once: a batch of rows
BATCH_ROWS = 1 << 18  # Parquet rows read at once
CHUNK = 1 << 22
NOT_TEXT = re.compile("[\udc80-\udcff]")  # a byte no encoding read, as Python's surrogateescape keeps it


@dataclass(frozen=True)
class Source:
    """A file to load, read once through to check it: its kind, encoding, size and sha256."""

    path: Path
    kind: str  # CSV or Parquet
    compressed: bool
    encoding: str | None  # CSV only
    bytes: int
    sha256: str
    delimiter: str = ","  # CSV only: told from the header line

    @property
    def name(self) -> str:
        return self.path.name

    def where(self, row: int) -> str:
        """Where data row `row` (0-based) is, as the steward finds it: a CSV line, a Parquet row."""
        if self.kind == "Parquet":
            return f"{self.name} row {row + 1:,}"
        return f"{self.name} line {line_of_row(self, row):,}"


def open_source(path: Path, encoding: str | None = None, *, lenient: bool = False) -> Source:
    """Check `path` is a file of a kind the campus reads, in a readable encoding; refuse it otherwise
    (`lenient`: a CSV some lines of which are not text in any encoding is taken, for `lenient_batches` to
    tell them)."""
    path = Path(path)
    if not path.is_file():
        raise LoadRefused(f"{path}: no such file; give the path of a CSV, CSV.gz or Parquet file")
    suffix = ".csv.gz" if path.name.lower().endswith(".csv.gz") else path.suffix.lower()
    if suffix not in KINDS:
        raise LoadRefused(f"{path.name}: the campus loads .csv, .csv.gz, .tsv and .parquet files; save it as one of "
                          "those (from a spreadsheet: CSV UTF-8)")
    size = path.stat().st_size
    if size == 0:
        raise LoadRefused(f"{path.name} is empty (0 bytes): nothing to load; check the export that made it")
    with open(path, "rb") as f:
        head = f.read(4)
    kind, compressed = KINDS[suffix], suffix == ".csv.gz"
    _agrees_with_name(path, head, kind, compressed)
    if kind == "Parquet":
        return Source(path, kind, False, None, size, sha256_of(path))
    digest, found = _read_text_through(path, compressed, encoding, lenient)
    source = Source(path, kind, compressed, found, size, digest)
    return replace(source, delimiter=_delimiter(source))


def _delimiter(source: Source) -> str:
    """The separator the header line uses most: a comma, a tab, a semicolon or a bar."""
    with _text(source) as text:
        first = text.readline()
    counts = {sep: first.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])  # a comma when none is there
    return best if counts[best] else ","


def _agrees_with_name(path: Path, head: bytes, kind: str, compressed: bool) -> None:
    is_parquet, is_gzip = head == b"PAR1", head[:2] == b"\x1f\x8b"
    if kind == "Parquet" and not is_parquet:
        raise LoadRefused(f"{path.name} is named .parquet but is not a Parquet file; rename it to what it is")
    if kind == "CSV" and is_parquet:
        raise LoadRefused(f"{path.name} is a Parquet file named like a CSV; rename it to .parquet")
    if compressed != is_gzip:
        raise LoadRefused(f"{path.name} is {'not ' if compressed else ''}gzip-compressed but named "
                          f"{'.csv.gz' if compressed else '.csv'}; rename it to what it is")


def _read_text_through(path: Path, compressed: bool, encoding: str | None, lenient: bool) -> tuple[str, str]:
    """The file's sha256 and text encoding, after reading it all: every byte must decode (`lenient`: or
    the encoding fewest lines break in is taken), and the quotes must pair (a file cut off inside a
    quoted value does not)."""
    candidates = [encoding] if encoding else list(ENCODINGS)
    for candidate in candidates:
        try:
            codecs.lookup(candidate)
        except LookupError:
            raise LoadRefused(f"{candidate!r} is not an encoding Python knows; try utf-8 or cp949") from None
    digest, decoders = hashlib.sha256(), {c: codecs.getincrementaldecoder(c)("strict") for c in candidates}
    quotes, lines, bad_line = 0, 1, {}
    with _opened(path, compressed) as f:
        while block := f.read(CHUNK):
            digest.update(block)
            quotes += block.count(b'"')
            for candidate, decoder in list(decoders.items()):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as e:
                    bad_line[candidate] = lines + block.count(b"\n", 0, e.start)
                    del decoders[candidate]
            lines += block.count(b"\n")
    for candidate, decoder in list(decoders.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            bad_line[candidate] = lines
            del decoders[candidate]
    if not decoders and lenient:
        decoders = {min(candidates, key=lambda c: _lines_not_text(path, compressed, c)): None}
    if not decoders:
        tried = ", ".join(f"{c} (line {bad_line[c]:,})" for c in candidates)
        raise LoadRefused(f"{path.name} cannot be read as text in {tried}; save it as UTF-8, or name its encoding "
                          "with --encoding (`--check` lists every such line, `--skip-bad-lines` leaves them out)")
    if quotes % 2:
        raise LoadRefused(f"{path.name} has a quoted value that never closes (an odd number of \" marks): the file "
                          "may be cut short, or quotes inside values are not doubled; export it again")
    found = next(iter(decoders))
    return digest.hexdigest(), "utf-8-sig" if found == "utf-8" else found


def _lines_not_text(path: Path, compressed: bool, encoding: str) -> int:
    """How many lines hold bytes that are not text in `encoding` (no multi-byte character holds a line break
    in UTF-8 or CP949)."""
    with _opened(path, compressed) as f:
        return sum(1 for line in f if not _decodes(line, encoding))


def _decodes(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _opened(path: Path, compressed: bool):
    return gzip.open(path, "rb") if compressed else open(path, "rb")


# --- rows ------------------------------------------------------------------------------------------


def header(source: Source) -> list[str]:
    """The file's column names, as written (spaces around them dropped); refused if one is itself
    an identifying value (a table pivoted by phone number or card), which no message may repeat."""
    if source.kind == "Parquet":
        names = [field.name for field in _flat(source)]
    else:
        with _text(source) as text:
            first = next(csv.reader(text, delimiter=source.delimiter), None)
        if not first or not any(name.strip() for name in first):
            raise LoadRefused(f"{source.name} has no header line; its first line must name the columns")
        names = [name.strip() for name in first]
        if any(NOT_TEXT.search(name) for name in names):
            raise LoadRefused(f"{source.name}: the header line holds bytes that are not text in "
                              f"{source.encoding.removesuffix('-sig')}; name the columns in plain text, or name the "
                              "file's encoding with --encoding")
    _unique(source, names)
    for place in personal_headers(names)[:1]:
        raise LoadRefused(f"{source.name}: the name of column {place} looks like someone's details (a name, a "
                          "number, an address); a file whose header holds people's details cannot be loaded: name "
                          "the columns for what they hold")
    return names


def batches(source: Source) -> Iterator[pa.RecordBatch]:
    """The file's rows in batches, every column as text; blank lines are skipped."""
    names = header(source)
    yield from (_parquet_batches if source.kind == "Parquet" else _csv_batches)(source, names)


def _csv_batches(source: Source, names: list[str]) -> Iterator[pa.RecordBatch]:
    read = pacsv.ReadOptions(block_size=BATCH_BYTES, encoding=_arrow_encoding(source), column_names=names,
                             skip_rows=1)
    parse = pacsv.ParseOptions(newlines_in_values=True, delimiter=source.delimiter)
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                   quoted_strings_can_be_null=False)
    stream = pa.input_stream(source.path, compression="gzip" if source.compressed else None)
    try:
        yield from pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid:
        raise LoadRefused(_parse_problem(source, len(names))) from None  # Arrow's message quotes the line
    finally:
        stream.close()


def _parse_problem(source: Source, columns: int) -> str:
    """What is wrong with a CSV Arrow could not parse, found again line by line (the error path only)."""
    with _text(source) as text:
        reader = csv.reader(text, delimiter=source.delimiter)
        try:
            next(reader, None)
            for fields in reader:
                if fields and len(fields) != columns:
                    return (f"{source.name} line {reader.line_num:,} has {len(fields)} fields where the header names "
                            f"{columns}: a missing or extra separator, or a value with a separator that is not "
                            "quoted; fix that line and load again (`--check` lists every bad line, "
                            "`--skip-bad-lines` leaves them out)")
        except csv.Error:
            return (f"{source.name} line {reader.line_num + 1:,} cannot be read as CSV (a stray quote, or a value "
                    f"over {BATCH_BYTES >> 20} MB); fix that line and load again")
    return (f"{source.name} cannot be read as CSV (a line over {BATCH_BYTES >> 20} MB?); check it opens in a "
            "spreadsheet, export it again and load it")


def lenient_batches(source: Source) -> Iterator[tuple[pa.RecordBatch, pa.Array, list[BadLine]]]:
    """The file read through leniently: its rows in batches as `batches` gives them, each row's line
    (CSV) or row (Parquet) number beside it, and the lines that are no row (a wrong number of fields,
    bytes that are not text in the file's encoding), left out and told; it never stops at one."""
    names = header(source)
    if source.kind == "Parquet":
        start = 1
        for batch in _parquet_batches(source, names):
            yield batch, pa.array(range(start, start + batch.num_rows), pa.int64()), []
            start += batch.num_rows
        return
    yield from _csv_lines(source, names)


def _csv_lines(source: Source, names: list[str]) -> Iterator[tuple[pa.RecordBatch, pa.Array, list[BadLine]]]:
    """Python's CSV reader (which agrees with Arrow's), line by line, bytes not text kept as surrogates."""
    good, numbers, bad = [], [], []
    with _text(source) as text:
        reader = csv.reader(text, delimiter=source.delimiter)
        next(reader, None)
        before = reader.line_num
        try:
            for fields in reader:
                line, before = before + 1, reader.line_num
                if not fields:
                    continue
                if len(fields) != len(names) or NOT_TEXT.search("".join(fields)):
                    bad.append(BadLine(line, *_problem(fields, len(names), source)))
                    continue
                good.append(fields)
                numbers.append(line)
                if len(numbers) >= BATCH_ROWS:
                    yield _batch(good, names), pa.array(numbers, pa.int64()), bad
                    good, numbers, bad = [], [], []
        except csv.Error:
            raise LoadRefused(f"{source.name} line {reader.line_num + 1:,} cannot be read as CSV (a value over "
                              f"{BATCH_BYTES >> 20} MB?); fix that line and load again") from None
    yield _batch(good, names), pa.array(numbers, pa.int64()), bad


def _problem(fields: list[str], expected: int, source: Source) -> tuple[Kind, str]:
    if len(fields) != expected:
        return Kind.FIELD_COUNT, f"{len(fields)} fields where the header names {expected}"
    return Kind.UNDECODABLE, f"bytes that are not text in {source.encoding.removesuffix('-sig')}"


def _batch(good: list[list[str]], names: list[str]) -> pa.RecordBatch:
    columns = zip(*good) if good else [[] for _ in names]
    return pa.record_batch([pa.array(values, pa.string()) for values in columns], names=names)


def _parquet_batches(source: Source, names: list[str]) -> Iterator[pa.RecordBatch]:
    try:
        for batch in pq.ParquetFile(source.path).iter_batches(batch_size=BATCH_ROWS):
            yield pa.record_batch([_as_text(column) for column in batch.columns], names=names)
    except (pa.ArrowException, OSError):
        raise LoadRefused(f"{source.name} is a damaged Parquet file; write it again and load it") from None


def _flat(source: Source) -> pa.Schema:
    """The Parquet file's schema, if it is readable and flat."""
    try:
        schema = pq.read_schema(source.path)
    except (pa.ArrowException, OSError):
        raise LoadRefused(f"{source.name} is a damaged Parquet file; write it again and load it") from None
    nested = [f.name for f in schema if pa.types.is_nested(f.type) or pa.types.is_binary(f.type)]
    if nested:
        raise LoadRefused(f"{source.name}: column {nested[0]!r} holds lists, structures or bytes; the campus loads "
                          "flat tables of text, numbers and moments: flatten it first")
    return schema


def _as_text(column: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(column.type):
        return pc.strftime(column, format="%Y-%m-%d %H:%M:%S")
    return column.cast(pa.string())


def _unique(source: Source, names: list[str]) -> None:
    seen = [n for i, n in enumerate(names) if n in names[:i]]
    if seen:
        raise LoadRefused(f"{source.name} names the column {seen[0]!r} twice; give each column its own name")
    if any(not n for n in names):
        raise LoadRefused(f"{source.name} has a column without a name in its header; name it or remove it")


def _arrow_encoding(source: Source) -> str:
    return "utf8" if source.encoding in ("utf-8", "utf-8-sig") else source.encoding


def _text(source: Source):
    """The CSV's text, for Python's reader (the error path, `lenient_batches`), which reads values as long as
    Arrow's; a byte that is not text is kept as a surrogate (`NOT_TEXT`), for a lenient reading to tell."""
    csv.field_size_limit(max(csv.field_size_limit(), BATCH_BYTES))
    return io.TextIOWrapper(_opened(source.path, source.compressed), encoding=source.encoding or "utf-8-sig",
                            newline="", errors="surrogateescape")


def line_of_row(source: Source, row: int) -> int:
    """The line on which data row `row` (0-based, blank lines skipped) starts: counted again through the
    file with Python's CSV reader, which agrees with Arrow's on quoted line breaks (the error path only)."""
    with _text(source) as text:
        reader = csv.reader(text, delimiter=source.delimiter)
        next(reader, None)
        seen, before = -1, reader.line_num
        try:
            for fields in reader:
                if fields:
                    seen += 1
                    if seen == row:
                        return before + 1
                before = reader.line_num
        except csv.Error:  # Arrow read it, so Python's reader should: say where it stopped
            raise LoadRefused(f"{source.name} line {reader.line_num + 1:,} cannot be read as CSV; fix that line "
                              "and load again") from None
    return before
