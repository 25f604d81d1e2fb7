"""The automatic output checks on a file from the workspace, before it becomes an export request.

A query's table is checked by the gateway as it runs again; a file was made in the notebook,
so the airlock looks at the file itself (as SACRO's ACRO and OpenSAFELY's output checkers do):

1. its **kind**: the extension must be on the allow-list `FILE_KINDS` (CSV, TSV, Parquet, PNG,
   JPEG, text, Markdown); anything else is refused, saying why (`NOT_ALLOWED`: PDF, SVG and
   HTML can carry scripts, attachments or hidden layers a reviewer does not see);
2. its **content against the kind**: an image must decode (Pillow, its pixels loaded), a Parquet
   file's footer and schema parse (pyarrow), CSV, TSV and text be strict UTF-8, so a zip named
   ``.csv``, a text named ``.png`` or a PNG signature followed by anything else is refused;
3. a **table** (CSV, TSV, Parquet) is parsed with pyarrow (at most `OutputRules.max_rows` rows
   and `max_columns` columns of plain types) and held to `table_rules.TABLE_RULES`:
   identifier columns and identifying values, unique codes and row-level data are refused;
   small and unrounded counts are flagged for the reviewer;
4. a **figure or a text** gets no automatic check: its report says a reviewer must look at it.
   A text that holds a table is refused: saved as ``.csv`` it is checked like one.

Before the rules run, the file is **rewritten** (`rewrite`): a table from its values (formula
cells neutralised), an image from its pixels, a text normalised. The rules read the rewritten
file, parsed again, and `FileReport.content` is what is stored, shown, approved and released:
what the checks read is what leaves, byte for byte.

The thresholds are the strictest of the datasets the requester may use (`rules_for`): a file
could hold counts from any of them. A refusal raises `InvalidExport` naming the rules, the
columns and what to do instead; flags travel in the report (`FileReport.document`, stored
with the request) to the reviewer. Reports and reasons name columns and count rows: they
never hold a value of the file (parser messages, which quote rows, are not passed on).
"""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import reduce
from pathlib import PurePath

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from campus.policy import PolicyRequest
from extractguard.rules import Disclosure

from . import rewrite
from .errors import InvalidExport
from .table_rules import EXPORT_INSTEAD, TABLE_RULES, Check, Outcome, Output, OutputRules, squash

SEVERITY: dict[str, int] = {"pass": 0, "flag": 1, "refuse": 2}
NO_AUTOMATIC_CHECK = "no automatic check: a reviewer must look at it"


# --- what a file is held to ---------------------------------------------------------------------------


def rules_for(catalog, policy, requester, project: str | None) -> OutputRules:
    """The rules for `requester`'s files: the strictest thresholds of the datasets with an entity
    that they may use (their grants' and every stricter term's), or of every such dataset of
    the catalog when they may use none, or the policy cannot say."""
    protected = [d for d in catalog if d.entity]
    used, terms = [], []
    for dataset in protected:
        decision = policy.ask(PolicyRequest(user=requester.name, groups=list(requester.groups), project=project,
                                            dataset=dataset.name))
        if decision.allow or decision.failed:
            used.append(dataset.name)
            terms += [dataset.disclosure, decision.disclosure, *(b.disclosure for b in decision.binding)]
    terms = [t for t in terms if t is not None] or [d.disclosure for d in protected] or [Disclosure()]
    strictest = reduce(Disclosure.strictest, terms)
    identifiers = {squash(c) for d in catalog for c in d.roles("identifier")} | {
        squash(d.entity) for d in catalog if d.entity}
    roles = {squash(name): column.role for d in catalog for name, column in d.columns.items()}
    return OutputRules(
        min_entities=int(strictest.min_entities), rounding_base=int(strictest.rounding_base), datasets=tuple(used),
        identifiers=frozenset(identifiers), catalog_roles=roles)


# --- the report ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileReport:
    """What the checks found in one file; `document` is what the request stores."""

    kind: "FileKind"
    checks: tuple[Check, ...]
    rows: int | None = None
    columns: tuple[str, ...] = ()
    rules: OutputRules | None = None
    content: bytes = field(default=b"", repr=False)  # the file as the campus rewrote it: what leaves

    @property
    def outcome(self) -> Outcome:
        return max((c.outcome for c in self.checks), key=SEVERITY.__getitem__, default="pass")

    @property
    def summary(self) -> str:
        if not self.kind.table:
            return f"{self.kind.name}: {NO_AUTOMATIC_CHECK}"
        flagged = [c.name for c in self.checks if c.outcome == "flag"]
        found = f"{len(flagged)} flagged for the reviewer ({', '.join(flagged)})" if flagged else "nothing flagged"
        return f"{self.kind.name}, {self.rows:,} rows × {len(self.columns)} columns checked: {found}"

    def document(self) -> dict:
        out = {"checked": "table" if self.kind.table else "none", "kind": self.kind.name, "outcome": self.outcome,
               "summary": self.summary, "checks": [c.as_dict() for c in self.checks]}
        if self.kind.table and self.rules is not None:
            out |= {"rows": self.rows, "columns": list(self.columns), "thresholds": {
                "min_entities": self.rules.min_entities, "rounding_base": self.rules.rounding_base,
                "datasets": list(self.rules.datasets)}}
        return out

    def check_nothing_refused(self, filename: str) -> "FileReport":
        """This report, unless a check refused the file: then `InvalidExport` with every reason."""
        refused = [c.reason for c in self.checks if c.outcome == "refuse"]
        if refused:
            raise InvalidExport(f"{filename} cannot leave the campus: " + "; ".join(refused))
        return self


# --- the kinds of file ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileKind:
    """A kind of file the airlock takes: its extensions and media type, and how its content is known."""

    name: str
    extensions: tuple[str, ...]
    media_type: str
    magic: bytes = b""  # how its content starts (nothing: it is UTF-8 text)
    trailer: bytes = b""  # how its content ends
    table: bool = False  # parsed and held to TABLE_RULES
    delimiter: str = ","

    @property
    def text(self) -> bool:
        return not self.magic


#: The allow-list: a file of any other kind is refused.
FILE_KINDS: tuple[FileKind, ...] = (
    FileKind("CSV", ("csv",), "text/csv", table=True),
    FileKind("TSV", ("tsv",), "text/tab-separated-values", table=True, delimiter="\t"),
    FileKind("Parquet", ("parquet",), "application/vnd.apache.parquet", magic=b"PAR1", trailer=b"PAR1", table=True),
    FileKind("PNG", ("png",), "image/png", magic=b"\x89PNG\r\n\x1a\n"),
    FileKind("JPEG", ("jpg", "jpeg"), "image/jpeg", magic=b"\xff\xd8\xff"),
    FileKind("text", ("txt",), "text/plain"),
    FileKind("Markdown", ("md",), "text/markdown"),
)
ALLOWED = ", ".join(f".{e}" for k in FILE_KINDS for e in k.extensions)
#: Why some kinds people ask for are not on the list.
NOT_ALLOWED = {
    "pdf": "a PDF can carry attachments, scripts and hidden layers that a reviewer does not see: export a figure "
           "as PNG or JPEG and a table as CSV",
    "svg": "an SVG can carry scripts and hidden elements: export the figure as PNG",
    "html": "an HTML page can carry scripts and hidden elements: export a figure as PNG and a table as CSV",
    "htm": "an HTML page can carry scripts and hidden elements: export a figure as PNG and a table as CSV",
    "xlsx": "a spreadsheet can hide sheets, rows and formulas: save each table as CSV",
    "xls": "a spreadsheet can hide sheets, rows and formulas: save each table as CSV",
    "zip": "an archive's contents cannot be checked: export each file on its own",
    "gz": "an archive's contents cannot be checked: export each file on its own",
    "ipynb": "a notebook holds its outputs and their data: export the tables (campus.export) and figures (PNG)",
}
#: What content is, by how it starts: named in a refusal of a file that is not what its name says.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"PAR1", "a Parquet file"),
    (b"PK\x03\x04", "a zip archive (or an Office document)"), (b"%PDF-", "a PDF"), (b"\x1f\x8b", "a gzip archive"),
    (b"GIF8", "a GIF image"), (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"), (b"7z\xbc\xaf", "a 7z archive"), (b"ARROW1", "an Arrow file"),
)
CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # not text (tab, newlines and form feed are)
#: An unquoted empty field is no value; a quoted one ("") is empty text: so a table written again reads the same.
EMPTY = pa_csv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False)
TEXT_TABLE_ROWS = 10  # a text holding a table of more rows is refused: as .csv it would be checked
TEXT_BYTES = 256 * 1024  # a longer text is refused: the review page shows a text whole, and this much reads


def kind_of(filename: str) -> FileKind:
    """The kind a file's name says, from the allow-list; `InvalidExport` for any other.

    >>> kind_of("figure.PNG").name, kind_of("table.csv").media_type
    ('PNG', 'text/csv')
    """
    extension = PurePath(filename).suffix.lower().removeprefix(".")
    for kind in FILE_KINDS:
        if extension in kind.extensions:
            return kind
    why = NOT_ALLOWED.get(extension, "the airlock takes only files it knows how to check")
    what = f"a .{extension} file" if extension else "a file without an extension"
    raise InvalidExport(f"{filename} is {what}, which cannot be exported: {why}. The airlock takes {ALLOWED}")


def what_it_is(content: bytes) -> str | None:
    """What the content is, by its first bytes, if it is a kind of binary file we can name.

    >>> what_it_is(b"PK\\x03\\x04..."), what_it_is(b"district,n")
    ('a zip archive (or an Office document)', None)
    """
    return next((name for magic, name in SIGNATURES if content.startswith(magic)), None)


def check_content(kind: FileKind, filename: str, content: bytes) -> Check:
    """The content is what the name says: UTF-8 text, or a file of the kind that decodes whole
    (an image's pixels, a Parquet file's footer and schema); its first bytes alone prove nothing."""
    if kind.text:
        return _check_text(kind, filename, content)
    if not content.startswith(kind.magic):
        actually = what_it_is(content) or ("text" if not CONTROL.search(content[:4096]) else "something else")
        raise InvalidExport(f"{filename} is named as {kind.name} but holds {actually}: save it as {kind.name}, or "
                            "give it the extension of what it holds")
    if not content.endswith(kind.trailer):
        raise InvalidExport(f"{filename} is not a whole {kind.name} file (it ends too soon, or is damaged): write it "
                            "again")
    DECODERS[kind.name](kind.name, filename, content)
    return Check("file kind", "pass", f"{kind.name}, as its name says: {DECODED[kind.name]}")


def _check_text(kind: FileKind, filename: str, content: bytes) -> Check:
    actually = what_it_is(content)
    if actually:
        raise InvalidExport(f"{filename} is named as {kind.name} but holds {actually}: give it the extension of "
                            "what it holds")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidExport(f"{filename} is not UTF-8 text (byte {e.start:,} is not): save it as UTF-8, e.g. "
                            "to_csv(path, encoding='utf-8') or write_csv(path)") from None
    if CONTROL.search(content):
        raise InvalidExport(f"{filename} holds control characters, so it is not {kind.name} text: export text, or "
                            "give the file the extension of what it holds")
    return Check("file kind", "pass", f"{kind.name}, UTF-8 text as its name says")


# --- reading a table -----------------------------------------------------------------------------------


def read_table(kind: FileKind, filename: str, content: bytes, rules: OutputRules = OutputRules()) -> pa.Table:
    """The file's table, with plain columns of unique names; `InvalidExport` saying why not.

    A parser's own message is never passed on: it quotes the rows it stumbled on.
    """
    max_rows, max_columns = rules.max_rows, rules.max_columns
    table = _read_parquet(filename, content, max_rows, max_columns) if kind.name == "Parquet" else \
        _read_delimited(kind, filename, content)
    _check_size(filename, table.num_rows, table.num_columns, max_rows, max_columns)
    return _plain(filename, _named(filename, table))


def _read_delimited(kind: FileKind, filename: str, content: bytes) -> pa.Table:
    try:
        return pa_csv.read_csv(io.BytesIO(content), read_options=pa_csv.ReadOptions(block_size=_one_block(content)),
                               parse_options=pa_csv.ParseOptions(delimiter=kind.delimiter), convert_options=EMPTY)
    except Exception as e:  # whatever the reader stumbled on, the file is refused (fail closed)
        ragged = re.search(r"Expected (\d+) columns, got (\d+)", str(e))
        why = (f"a row has {ragged.group(2)} fields where the header has {ragged.group(1)}" if ragged
               else "it has no header row" if "Empty CSV" in str(e) else "its rows do not parse")
        raise InvalidExport(f"{filename} does not parse as {kind.name}: {why}. Write it with a header row and one "
                            f"field per column in every row (a field holding the delimiter is quoted)") from None


def _one_block(content: bytes) -> int:
    """A block size reading the whole file at once, so column types are inferred from all of it."""
    return max(len(content) + 1, 1 << 20)


def _read_parquet(filename: str, content: bytes, max_rows: int, max_columns: int) -> pa.Table:
    with _parquet_refused(filename):
        parquet = pq.ParquetFile(io.BytesIO(content))
        meta = parquet.metadata
        _check_size(filename, meta.num_rows, meta.num_columns, max_rows, max_columns)
        unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if unpacked > 64 * len(content) + (64 << 20):
            raise InvalidExport(f"{filename} unpacks to {unpacked:,} bytes, far more than it holds: write it with "
                                "ordinary compression, or export a smaller table")
        return parquet.read()


def _parquet_schema(_kind: str, filename: str, content: bytes) -> pa.Schema:
    """The schema in a Parquet file's footer; `InvalidExport` if it does not parse."""
    with _parquet_refused(filename):
        return pq.ParquetFile(io.BytesIO(content)).schema_arrow


@contextmanager
def _parquet_refused(filename: str):
    """Whatever the Parquet reader stumbles on refuses the file (fail closed), without its message."""
    try:
        yield
    except InvalidExport:
        raise
    except Exception:
        raise InvalidExport(f"{filename} does not parse as Parquet (it may be damaged or encrypted): write it again, "
                            "e.g. with df.write_parquet(path)") from None


def _check_size(filename: str, rows: int, columns: int, max_rows: int, max_columns: int) -> None:
    if rows > max_rows:
        raise InvalidExport(f"{filename} has {rows:,} rows; the airlock checks tables of up to {max_rows:,}, and one "
                            f"bigger is row-level data in all but name: {EXPORT_INSTEAD}")
    if columns > max_columns:
        raise InvalidExport(f"{filename} has {columns:,} columns; the airlock checks tables of up to {max_columns:,}: "
                            "export fewer columns, or the aggregate table with campus.export(sql, name)")


def _named(filename: str, table: pa.Table) -> pa.Table:
    """Every column named, and once: an unnamed one (pandas' index) is called "unnamed column N"."""
    names = [name or f"unnamed column {i + 1}" for i, name in enumerate(table.column_names)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidExport(f"{filename} has more than one column named {', '.join(map(repr, repeated))}: give each "
                            "column a name of its own")
    return table.rename_columns(names)


def _plain(filename: str, table: pa.Table) -> pa.Table:
    """Dictionary columns decoded; nested or binary columns refused (they cannot be checked)."""
    for i, (name, type_) in enumerate(zip(table.column_names, table.schema.types)):
        if pa.types.is_dictionary(type_):
            table = table.set_column(i, name, table.column(i).cast(type_.value_type))
            type_ = type_.value_type
        if not _is_plain(type_):
            raise InvalidExport(f"{filename}: column {name!r} holds {type_}, which the airlock cannot check: export "
                                "numbers, text, dates and times only (no lists, structs or raw bytes)")
    return table


def _is_plain(type_: pa.DataType) -> bool:
    t = pa.types
    return any(test(type_) for test in (t.is_integer, t.is_floating, t.is_decimal, t.is_string, t.is_large_string,
                                        t.is_boolean, t.is_date, t.is_timestamp, t.is_time, t.is_null))


def holds_a_table(content: bytes) -> bool:
    """Whether a text's lines read as a table of 2 or more columns and more than `TEXT_TABLE_ROWS` rows.

    >>> holds_a_table(b"\\n".join([b"a,b"] + [b"1,2"] * 11)), holds_a_table(b"A sentence, with a comma.\\nNo more")
    (True, False)
    """
    whole = pa_csv.ReadOptions(block_size=_one_block(content))
    for delimiter in (",", "\t", ";", "|"):
        try:
            table = pa_csv.read_csv(io.BytesIO(content), read_options=whole,
                                    parse_options=pa_csv.ParseOptions(delimiter=delimiter))
        except Exception:  # not a table with this delimiter
            continue
        if table.num_columns >= 2 and table.num_rows > TEXT_TABLE_ROWS:
            return True
    return False


# --- the whole check -----------------------------------------------------------------------------------


def check_file(filename: str, content: bytes, rules: OutputRules) -> FileReport:
    """Check a file against its kind, rewrite it (`rewrite`) and hold the rewritten file, for a
    table, to `TABLE_RULES`; `InvalidExport` if anything refuses it (every refusing rule's
    reason), else the report for the reviewer, with the rewritten file as its `content`."""
    kind = kind_of(filename)
    checks = [check_content(kind, filename, content)]
    if not kind.table:
        if kind.text and holds_a_table(content):
            raise InvalidExport(f"{filename} holds a table of more than {TEXT_TABLE_ROWS} rows: save it as .csv, "
                                f"so the airlock checks it, or {EXPORT_INSTEAD}")
        released = written_anew(kind, filename, content, rules)[0]
        if kind.text and len(released) > TEXT_BYTES:
            raise InvalidExport(f"{filename} is longer than the {TEXT_BYTES // 1024} KiB a reviewer is shown whole: "
                                f"split it into shorter texts, or {EXPORT_INSTEAD}")
        checks += [Check("rewritten", "pass", REWRITTEN[kind.name]), Check("reviewer", "flag", NO_AUTOMATIC_CHECK)]
        return FileReport(kind, tuple(checks), content=released)
    released, formulas = written_anew(kind, filename, content, rules)
    table = read_table(kind, filename, released, rules)  # the rules read what leaves
    output = Output.of(table, rules)
    checks += [formula_cells(formulas), *(rule(output, rules) for rule in TABLE_RULES)]
    report = FileReport(kind, tuple(checks), output.rows, tuple(table.column_names), rules, released)
    return report.check_nothing_refused(filename)


def written_anew(kind: FileKind, filename: str, content: bytes,
                 rules: OutputRules = OutputRules()) -> tuple[bytes, int]:
    """The file as it leaves (`rewrite`): a table read and written anew with its formula cells
    neutralised (and how many were), an image from its pixels, a text normalised. A table that
    does not read back with the values it was written from is refused (fail closed)."""
    if not kind.table:
        return rewrite.rewritten(kind, filename, content), 0
    table, formulas = rewrite.neutralised(read_table(kind, filename, content, rules))
    written = rewrite.rewritten(kind, filename, content, table)
    if read_table(kind, filename, written, rules).to_pylist() != table.to_pylist():
        raise InvalidExport(f"{filename} cannot be written again with the same values (a table of one column with "
                            f"empty rows, or values {kind.name} cannot hold as they are): save it as Parquet, or add "
                            "a column, and export it again")
    return written, formulas


#: How each binary kind is decoded before its name is believed, and what that proved (for the report).
DECODERS = {"PNG": rewrite.decoded_image, "JPEG": rewrite.decoded_image, "Parquet": _parquet_schema}
DECODED = {"PNG": "its pixels decode", "JPEG": "its pixels decode", "Parquet": "its footer and schema parse"}

#: What the rewrite of each kind that is not a table left out, for the report.
REWRITTEN = {
    "PNG": "written again from its pixels alone: no text chunks, metadata or bytes after the image",
    "JPEG": "written again from its pixels alone: no EXIF, ICC profile or comments",
    "text": "normalised: UTF-8, NFC, Unix line ends, no control or invisible characters, no trailing spaces",
    "Markdown": "normalised: UTF-8, NFC, Unix line ends, no control or invisible characters, no trailing spaces",
}


def formula_cells(count: int) -> Check:
    """Text cells a spreadsheet would run as formulas leave neutralised (``'`` before them): flagged."""
    if count:
        return Check("formulas", "flag", f"{count:,} text cell{'s' if count != 1 else ''} began like a spreadsheet "
                     "formula (=, +, -, @, a tab or carriage return) and leave with a ' before them, so a spreadsheet "
                     "shows them as text", rows=count)
    return Check("formulas", "pass", "no text cell begins like a spreadsheet formula")
