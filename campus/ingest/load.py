"""Load a steward's files into a dataset as a new version, or refuse them whole.

Every file is held to the dataset's catalog entry: the same columns (named as the entry
or its ``header`` says, and those it lists as ``dropped``, which are read past and never
stored), each value of the column's type and, where the column declares a public
``domain``, one of its public values (a file that holds others is refused, saying how
many, never which). A ``redact: true`` column of free text is kept with each personal
value inside a text replaced by a marker (``⟨phone numbers⟩``) before it is scanned and
written. Columns not declared
identifiers are scanned, every value, for personal data in every form files carry it
(`campus.identifiers`): numbers, addresses and names, masked or in a note, and free text
not declared. Any such column refuses the load, naming it and how many; declared identifiers are
replaced by their keyed hash (`intake_key`, held by the data service) before a byte
is written, so the raw values never reach the data location.

With `skip_bad_lines`, the lines that are no row of the table (`campus.ingest.badlines`)
are left out instead of refusing the file, and listed, by number and reason, in a report
written beside the version (``bad-lines-v<n>.txt``); `check` finds them without writing.

The rows are written as new Parquet files, one per month of the dataset's first time
column, and become a version only when `Versions.commit` renames the manifest: a load
that is refused, fails or is killed leaves the previous version as it was.
"""

from __future__ import annotations

import datetime
import getpass
import os
import threading
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlglot import exp

from ..catalog import Column, Dataset, Range
from ..engines.duckdb import DuckDBEngine
from ..errors import LoadRefused
from ..vocabulary.pseudonyms import pads
from ..identifiers import Findings, named_like_a_person, redacted
from ..storage import arrow_schema, writer_options
from .badlines import Report, leave_out
from .convert import EXPECTED, read
from .source import Source, batches, header, lenient_batches
from .versions import FILE, Version, Versions, bad_lines_name, file_name, sync_folder

Progress = Callable[[int, str], None]  # (rows read so far, what is being read)
NOT_SCANNED = ("measure", "time", "identifier")  # numbers and moments are no names; identifiers are hashed
WORKERS = min(2, os.cpu_count() or 1)
IN_FLIGHT = WORKERS + 1  # batches read ahead of the writer: memory grows with it


def load(dataset: Dataset, sources: list[Source], data_dir: Path, key: bytes, *, action: str,
         loaded_by: str | None = None, progress: Progress | None = None, skip_bad_lines: bool = False) -> Version:
    """Load `sources` into `dataset` as its next version (action ``add`` for the first, ``append`` after);
    `skip_bad_lines`: without the bad lines, reported in the version's `bad_lines_name` (sources opened
    leniently)."""
    _loadable(dataset)
    location = Path(dataset.location(data_dir))
    versions = Versions(location)
    with versions.lock():
        current = versions.current()
        if action == "add" and current is not None:
            raise LoadRefused(f"{dataset.name} already has data (version {current.number}); add a new period "
                              f"with `campus datasets append {dataset.name} --from FILE`")
        if action == "append" and current is None:
            raise LoadRefused(f"{dataset.name} has no data yet; load its first files with "
                              f"`campus datasets add {dataset.name} --from FILE`")
        _only_ours(location, versions)
        versions.sweep()
        number = versions.next_number()
        writer, hasher = PartitionWriter(location, dataset, number), Hasher(dataset, key)
        reports = [_report_of(source) if skip_bad_lines else None for source in sources]
        try:
            loaded = [_load_file(dataset, source, writer, hasher, progress, report)
                      for source, report in zip(sources, reports)]
            new_files = writer.close()
        except BaseException:
            writer.discard()
            raise
        if skip_bad_lines:
            (location / bad_lines_name(number)).write_text("".join(r.full() for r in reports), encoding="utf-8")
        version = Version(
            number=number, action=action, files=sorted([*(current.files if current else []), *new_files]),
            rows=sum(s["rows"] for s in loaded), loaded_by=loaded_by or getpass.getuser(),
            at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), sources=loaded)
        versions.commit(version)
    return version


def check(dataset: Dataset, sources: list[Source], progress: Progress | None = None) -> list[Report]:
    """Every bad line of each of `sources` (opened leniently) against `dataset`'s entry, and what would
    refuse the file even without them; nothing is written."""
    _loadable(dataset)
    reports = []
    for source in sources:
        report = _report_of(source)
        try:
            _load_file(dataset, source, Counted(), None, progress, report)
        except LoadRefused as e:
            report.refused = e.reason
        reports.append(report)
    return reports


def _report_of(source: Source) -> Report:
    return Report(source.name, "row" if source.kind == "Parquet" else "line")


class Counted:
    """Where `check` writes: nowhere; it counts the rows."""

    rows = 0

    def write(self, table: pa.Table) -> None:
        self.rows += table.num_rows


def _only_ours(location: Path, versions: Versions) -> None:
    """Refuse a folder holding Parquet a load did not write (the demo data, files put there by hand):
    a version would hide them, and the sweep of a killed load's files would remove them."""
    if versions.exists():
        return
    theirs = [p for p in location.rglob("*.parquet") if not FILE.fullmatch(p.name)]
    if theirs:
        raise LoadRefused(f"{location} already holds Parquet files not loaded by `campus datasets add` "
                          f"({theirs[0].relative_to(location)}, perhaps the demo data); load under another dataset "
                          "name (its `source` folder), or move those files away first")


def _loadable(dataset: Dataset) -> None:
    if str(dataset.source).startswith("s3://"):
        raise LoadRefused(f"{dataset.name} lives on S3 ({dataset.source}); load into a local folder and upload it")
    hashed = [name for name in dataset.roles("identifier") if dataset.columns[name].type != "VARCHAR"]
    if hashed:
        raise LoadRefused(f"identifier column {hashed[0]} of {dataset.name} is {dataset.columns[hashed[0]].type}; "
                          "identifiers are stored as their keyed hash, text: give it type: VARCHAR in the catalog")


def _load_file(dataset: Dataset, source: Source, writer: "PartitionWriter | Counted", hasher: "Hasher | None",
               progress: Progress | None, report: Report | None) -> dict:
    """Check, hash and write one file's rows (with a `report`, those of its good lines); what the version
    records of it.

    Batches are checked and hashed `IN_FLIGHT` at a time by `WORKERS` threads (Arrow,
    polars and DuckDB release the GIL) and written in the file's order.
    """
    in_file = header(source)
    names = columns_in(dataset, in_file, source)
    scanned = [c for c, col in dataset.columns.items() if col.role not in NOT_SCANNED or
               (col.role == "measure" and col.type == "VARCHAR")]
    domains = public_domains(dataset)
    findings, outside, rows = Findings(), Outside(), 0

    def check(batch: pa.RecordBatch, before: int) -> tuple[pa.Table, Findings, Outside]:
        table = with_text_redacted(dataset, typed(dataset, names, batch, source, before))
        found, out = Findings(), Outside()
        for column, domain in domains.items():
            out.add(column, table.column(column), domain)
        for column in scanned:
            found.add(column, pl.from_arrow(table.column(column)), dataset.columns[column].type == "VARCHAR")
        return (hasher(table) if hasher else table), found, out

    def finish(future) -> None:
        table, found, out = future.result()
        findings.merge(found)
        outside.merge(out)
        writer.write(table)
        if progress:
            progress(writer.rows, source.name)

    pool, pending = ThreadPoolExecutor(WORKERS), deque()
    try:
        for batch in _rows(dataset, names, source, report):
            pending.append(pool.submit(check, batch, rows))
            rows += batch.num_rows
            if len(pending) >= IN_FLIGHT:
                finish(pending.popleft())
        while pending:
            finish(pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    refusals = [_identifying(findings, dataset), _outside_domains(outside)]
    if any(refusals):
        raise LoadRefused(f"{source.name} {'. It also '.join(r for r in refusals if r)}; nothing was loaded")
    if rows == 0:
        raise LoadRefused(f"{source.name} has a header but no rows: nothing to load; check the export that made it")
    loaded = {"name": source.name, "sha256": source.sha256, "rows": rows}
    dropped = [name for name in in_file if name in dataset.dropped]
    return {**loaded, **({"dropped": dropped} if dropped else {}),
            **({} if report is None else {"skipped": len(report.lines())})}


def _identifying(findings: Findings, dataset: Dataset) -> str:
    """Why the file is refused for values that identify people (the free text of a ``redact: true`` column
    aside: it was redacted); '' if it holds none."""
    problems = findings.problems(frozenset(column for column, spec in dataset.columns.items() if spec.redact))
    return "" if not problems else (
        f"holds values that identify people: {'; '.join(problems)}. Declare such a column role: identifier in the "
        "catalog (its values are then stored as keyed hashes); or, for free text, redact: true (each personal value "
        "in it is replaced by a marker); or, if nobody needs it, take it out of the entry's columns and list its "
        "name in the file under the entry's dropped: (read past, never stored), or remove it from the file")


def _outside_domains(outside: "Outside") -> str:
    """Why the file is refused for values outside their columns' public domains; '' if it holds none."""
    problems = outside.problems()
    return "" if not problems else (
        f"holds values outside their column's public domain (the catalog's domain:): {'; '.join(problems)}. Correct "
        "the file; or, if those values are public too, widen the column's domain in the catalog")


def _rows(dataset: Dataset, names: dict[str, str], source: Source, report: Report | None):
    """The file's batches; with a `report`, read leniently and without their bad lines, which go to it."""
    if report is None:
        yield from batches(source)
        return
    columns = {column: (names[column], spec.type) for column, spec in dataset.columns.items()}
    for batch, numbers, bad in lenient_batches(source):
        yield leave_out(report, columns, batch, numbers, bad)


def columns_in(dataset: Dataset, names: list[str], source: Source) -> dict[str, str]:
    """For each catalog column, its name in the file; refused if the file has a column too few or too many."""
    wanted = {column: spec.header or column for column, spec in dataset.columns.items()}
    missing = [f"{column}" + (f" ({name!r} in the file)" if name != column else "")
               for column, name in wanted.items() if name not in names]
    extra = [name for name in names if name not in wanted.values() and name not in dataset.dropped]
    if missing:
        raise LoadRefused(f"{source.name} has no column {', '.join(missing)}, which the catalog's entry for "
                          f"{dataset.name} names; load a file with every column, or change the entry")
    if extra:
        raise LoadRefused(f"{source.name} has the column{'s' if len(extra) > 1 else ''} "
                          f"{', '.join(repr(n) for n in extra)}, which the catalog's entry for {dataset.name} does "
                          "not name; add it to the entry with its role, or, if nobody needs it, list it under the "
                          "entry's dropped: (read past, never stored), or remove it from the file")
    people = [name for column, name in wanted.items() if named_like_a_person(name) and
              dataset.columns[column].role != "identifier"]
    if people:
        raise LoadRefused(f"{source.name}: column {people[0]!r} is named like people's names; declare it role: "
                          "identifier in the catalog (stored as keyed hashes), or, if nobody needs it, take it out "
                          "of the entry's columns and list it under dropped: (read past, never stored)")
    return wanted


def typed(dataset: Dataset, names: dict[str, str], batch: pa.RecordBatch, source: Source, before: int) -> pa.Table:
    """The batch's text in the catalog's types; refused at the first value that is not of its column's type."""
    arrays = []
    for column, spec in dataset.columns.items():
        result = read(batch.column(names[column]), spec.type)
        if result.first_bad is not None:
            raise LoadRefused(f"{source.where(before + result.first_bad)}: column {column} should hold "
                              f"{EXPECTED[spec.type]}, and this value does not; correct the file (or the column's "
                              "type in the catalog) and load again; nothing was loaded (`--check` lists every bad "
                              "line, `--skip-bad-lines` leaves them out)")
        arrays.append(result.values)
    return pa.Table.from_arrays(arrays, schema=arrow_schema(dataset))


def with_text_redacted(dataset: Dataset, table: pa.Table) -> pa.Table:
    """`table` with the personal values inside each text of a ``redact: true`` column replaced by markers
    (`campus.identifiers.redacted`): what is scanned and stored of it."""
    for column in [column for column, spec in dataset.columns.items() if spec.redact]:
        index = table.schema.get_field_index(column)
        text = redacted(pl.from_arrow(table.column(index))).to_arrow().cast(table.schema.field(index).type)
        table = table.set_column(index, column, text)
    return table


@dataclass(frozen=True)
class Domain:
    """A column's declared public values in its type: those listed, or a range from `first` to `last`."""

    listed: pa.Array | None = None
    first: pa.Scalar | None = None
    last: pa.Scalar | None = None

    def outside(self, values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
        """Per value, whether it is present and not one of the public values."""
        if self.listed is not None:
            public = pc.is_in(values, value_set=self.listed)
        else:
            public = pc.and_(pc.greater_equal(values, self.first), pc.less_equal(values, self.last))
        return pc.fill_null(pc.and_(pc.is_valid(values), pc.invert(public)), False)


def public_domains(dataset: Dataset) -> dict[str, Domain]:
    """Each column with a declared `domain`, and its public values in the column's type."""
    return {column: domain_of(column, spec) for column, spec in dataset.columns.items() if spec.domain is not None}


def domain_of(column: str, spec: Column) -> Domain:
    """`spec`'s public values read as its column's type (as the files' values are); a moment is within a range
    of days up to the end of its last day."""
    if isinstance(spec.domain, Range):
        first, last = spec.public_range()
        if spec.type == "TIMESTAMP":
            first = datetime.datetime.combine(first, datetime.time())
            last = datetime.datetime.combine(last, datetime.time.max)
        return Domain(first=pa.scalar(first), last=pa.scalar(last))
    public = read(pa.array([str(v) for v in spec.domain], pa.string()), spec.type)
    if public.first_bad is not None:
        raise LoadRefused(f"the catalog's domain of column {column} lists, as its value {public.first_bad + 1}, one "
                          f"that is not {EXPECTED[spec.type]}; correct the domain in the catalog and load again")
    return Domain(listed=public.values)


@dataclass
class Outside:
    """Per column, the values outside its public domain: how many, and how many distinct. The distinct
    values are held (in memory only) to be counted exactly; never shown."""

    count: Counter = field(default_factory=Counter)
    distinct: dict[str, pa.Array] = field(default_factory=dict)

    def add(self, column: str, values: pa.ChunkedArray, domain: Domain) -> None:
        outside = values.filter(domain.outside(values))
        if len(outside):
            self._hold(column, len(outside), pc.unique(outside.combine_chunks()))

    def merge(self, other: "Outside") -> None:
        for column, values in other.distinct.items():
            self._hold(column, other.count[column], values)

    def _hold(self, column: str, count: int, values: pa.Array) -> None:
        self.count[column] += count
        held = self.distinct.get(column)
        self.distinct[column] = values if held is None else pc.unique(pa.concat_arrays([held, values]))

    def problems(self) -> list[str]:
        """The columns holding values outside their domain, and how many: never a value."""
        return [f"column {column}: {self.count[column]:,} value{'s' if self.count[column] > 1 else ''} "
                f"({len(self.distinct[column]):,} distinct) outside its domain" for column in sorted(self.count)]


class Hasher:
    """Replaces each identifier by HMAC-SHA256 under the intake key, in DuckDB (the gateway's own SQL),
    computed once per distinct value of a batch."""

    def __init__(self, dataset: Dataset, key: bytes):
        self.identifiers = dataset.roles("identifier")
        self.parameters = pads(key)
        self.sql = exp.select(DuckDBEngine.pseudonym(exp.column("v")).as_("v")).from_("distinct_values").sql("duckdb")
        self.db = duckdb.connect(config={"enable_external_access": False}) if self.identifiers else None
        self.lock = threading.Lock()

    def __call__(self, table: pa.Table) -> pa.Table:
        for name in self.identifiers:
            encoded = pc.dictionary_encode(table.column(name).combine_chunks())
            hashed = self._hashed(encoded.dictionary)
            table = table.set_column(table.schema.get_field_index(name), name, pc.take(hashed, encoded.indices))
        return table

    def _hashed(self, values: pa.Array) -> pa.Array:
        with self.lock:  # DuckDB makes cursors one at a time
            cursor = self.db.cursor()
        try:
            cursor.register("distinct_values", pa.table({"v": values}))
            return cursor.sql(self.sql, params=self.parameters).to_arrow_table().column("v").combine_chunks()
        finally:
            cursor.close()


class PartitionWriter:
    """New Parquet files of one version, one per month of the dataset's first time column."""

    def __init__(self, location: Path, dataset: Dataset, number: int):
        self.location, self.number = location, number
        self.schema = arrow_schema(dataset)
        times = dataset.roles("time")
        self.by = times[0] if dataset.partitioned_by and times else None
        self.options = writer_options(dataset)
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self.by is None:
            self._writer("all").write_table(table)
            return
        moment = table.column(self.by)
        months = pc.fill_null(pc.add(pc.multiply(pc.year(moment), 100), pc.month(moment)), 0)
        bounds = pc.min_max(months)
        if bounds["min"] != bounds["max"]:  # a file of several months: sort them apart
            order = pc.sort_indices(months)
            table, months = table.take(order), months.take(order)
        runs = pc.run_end_encode(months.combine_chunks())
        start = 0
        for month, end in zip(runs.values.to_pylist(), runs.run_ends.to_pylist()):
            label = f"{month // 100}-{month % 100:02d}" if month else "unknown"
            self._writer(f"month={label}").write_table(table.slice(start, end - start))
            start = end

    def close(self) -> list[str]:
        """Close and sync every file; their names, relative to the dataset's folder."""
        names = []
        for partition, writer in self.writers.items():
            writer.close()
            path = self._path(partition)
            with open(path, "rb") as f:
                os.fsync(f.fileno())
            sync_folder(path.parent)
            names.append(path.relative_to(self.location).as_posix())
        self.writers = {}
        return names

    def discard(self) -> None:
        for partition, writer in self.writers.items():
            try:
                writer.close()
            finally:
                self._path(partition).unlink(missing_ok=True)
        self.writers = {}

    def _writer(self, partition: str) -> pq.ParquetWriter:
        if partition not in self.writers:
            path = self._path(partition)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.writers[partition] = pq.ParquetWriter(path, self.schema, **self.options)
        return self.writers[partition]

    def _path(self, partition: str) -> Path:
        return self.location / partition / file_name(self.number)
