"""Bad lines: the lines of a steward's file that are no row of its table, found all at once.

A line is bad when it has another number of fields than the header, holds bytes that
are not text in the file's encoding, or holds a value that is not of its column's type
(an impossible day in a column of days, a word in a column of numbers).
`campus datasets add --check` lists every one; `--skip-bad-lines` leaves them out of the
load and writes them to a report the steward keeps. A bad line is told by its number and
what is wrong with it, never by a value: a value may be someone's name or phone number.

>>> found = Report("cards.csv", "line")
>>> batch = pa.record_batch([pa.array(["7", "Kim Minjun", "9"])], names=["금액"])
>>> leave_out(found, {"amount": ("금액", "BIGINT")}, batch, pa.array([2, 3, 5]), []).column(0).to_pylist()
['7', '9']
>>> [(b.line, b.kind.label, b.why) for b in found.bad]
[(3, 'not a number', 'column amount should hold a whole number of at most 18 digits')]
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

import pyarrow as pa
import pyarrow.compute as pc

from .convert import EXPECTED, day_shaped, read

SHOWN = 20  # bad lines shown per kind and per column on the terminal; the report lists them all


class Kind(Enum):
    """What makes a line bad, and what to do about it."""

    FIELD_COUNT = ("wrong field count", "a separator missing or extra, or a value holding the separator unquoted")
    UNDECODABLE = ("undecodable bytes", "bytes that are not text in the file's encoding: a damaged line, or one "
                                        "saved in another encoding")
    IMPOSSIBLE_DAY = ("impossible day", "a day or time that does not exist (February 30, 24:10)")
    NOT_A_DAY = ("not a day", "a value not written as a day, year first, in a column of days")
    NOT_A_NUMBER = ("not a number", "a value that is not a number of the column's type, in a column of numbers")
    NOT_TRUE_OR_FALSE = ("not true or false", "a value other than true or false, in a column of them")

    def __init__(self, label: str, meaning: str):
        self.label, self.meaning = label, meaning


@dataclass(frozen=True)
class BadLine:
    """One thing wrong with one line (a CSV line, a Parquet row): never its value."""

    line: int
    kind: Kind
    why: str
    column: str | None = None


@dataclass
class Report:
    """The bad lines of one file, and how many rows were good."""

    file: str
    unit: str  # line (CSV) or row (Parquet)
    rows: int = 0
    bad: list[BadLine] = field(default_factory=list)
    refused: str | None = None  # why the file would be refused whole, even without its bad lines

    def lines(self) -> list[int]:
        """The bad lines' numbers, each once."""
        return sorted({b.line for b in self.bad})

    def by_kind(self) -> dict[Kind, list[int]]:
        return {kind: sorted({b.line for b in self.bad if b.kind is kind}) for kind in Kind
                if any(b.kind is kind for b in self.bad)}

    def by_column(self) -> dict[str, list[int]]:
        """For each column, the lines whose value in it is not of its type: those that would make it text."""
        columns = sorted({b.column for b in self.bad if b.column})
        return {c: sorted({b.line for b in self.bad if b.column == c}) for c in columns}

    def summary(self) -> str:
        """What the terminal shows: counts per kind and per column, the first `SHOWN` lines of each."""
        lines = self.lines()
        said = [f"{self.file}: {self.rows:,} good {self.unit}s, {len(lines):,} bad {self.unit}"
                + ("" if len(lines) == 1 else "s")]
        for kind, numbers in self.by_kind().items():
            said.append(f"  {kind.label}: {len(numbers):,} ({kind.meaning}): {self.unit} {_first(numbers)}")
        for column, numbers in self.by_column().items():
            said.append(f"  column {column}: a value not of its type on {len(numbers):,} {self.unit}"
                        f"{'' if len(numbers) == 1 else 's'}: {self.unit} {_first(numbers)}")
        if self.refused:
            said.append(f"  refused{' even without those lines' if self.bad else ''}: {self.refused}")
        return "\n".join(said)

    def full(self) -> str:
        """The report kept beside the load: counts, then every bad line and why; no value."""
        said = [self.summary().splitlines()[0]]
        said += [f"  {kind.label}: {len(numbers):,}" for kind, numbers in self.by_kind().items()]
        said += [f"{self.unit} {b.line}: {b.kind.label}: {b.why}" for b in sorted(self.bad, key=lambda b: b.line)]
        return "\n".join(said) + "\n"


def _first(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:SHOWN])
    return shown + (f" and {len(numbers) - SHOWN:,} more (all in the report)" if len(numbers) > SHOWN else "")


def leave_out(report: Report, columns: dict[str, tuple[str, str]], batch: pa.RecordBatch, numbers: pa.Array,
              bad: list[BadLine]) -> pa.RecordBatch:
    """The batch (rows of lines `numbers`) without its rows holding a value not of its column's type
    (`columns`: column -> its name in the file, its catalog type); those rows, and the lines already
    found `bad`, go to `report`."""
    report.bad += bad
    left_out = pa.array([False] * batch.num_rows)
    for column, (name, sql_type) in columns.items():
        text = batch.column(batch.schema.get_field_index(name))
        wrong = read(text, sql_type).bad
        if wrong is None:
            continue
        kinds = _kinds(text, sql_type, wrong)
        for index in pc.indices_nonzero(wrong).to_pylist():
            report.bad.append(BadLine(numbers[index].as_py(), kinds[index], f"column {column} should hold "
                                      f"{EXPECTED[sql_type]}", column))
        left_out = pc.or_(left_out, wrong)
    kept = batch.filter(pc.invert(left_out))
    report.rows += kept.num_rows
    return kept


def _kinds(text: pa.Array, sql_type: str, wrong: pa.Array) -> list[Kind]:
    if sql_type in ("DATE", "TIMESTAMP"):
        return [Kind.IMPOSSIBLE_DAY if shaped else Kind.NOT_A_DAY for shaped in day_shaped(text, sql_type).to_pylist()]
    return [Kind.NOT_TRUE_OR_FALSE if sql_type == "BOOLEAN" else Kind.NOT_A_NUMBER] * len(wrong)
