"""A result as a person reads it in a notebook: the table formatted, each value with its
error bar (``value ± half-width``), rows without values labelled, the report in words.

Only the display changes (`extractguard.formatting`): ``r.pl()``, ``r.df()`` and
``r.arrow()`` hold the values exactly as released. A count whose only protection is
rounding has no ``±`` (the report's note names the base); a column's unit, from the
catalog, is in its heading; a key (a year, an hour) has no thousands separator.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

import polars as pl

from extractguard.formatting import exact, missing, plain, plural, released

if TYPE_CHECKING:
    from .result import Result

ROWS = 50  # rows a notebook shows; r.pl() has them all
EMPTY = "withheld or empty"
WITHHELD = "withheld"
EMPTY_NOTE = (f"{EMPTY}: a row is shown for every combination of the keys' public values (and the one row of an "
              "aggregate without keys) whether its cell had rows or not, so a row without values tells nothing: "
              "its cell had none, or too few to show")
BARS_NOTE = ("value ± half-width of its 95% error bar, each value to the precision its bar allows "
             "(r.pl() holds the values as released; r.report.errors the bars)")


@dataclass(frozen=True)
class Cell:
    text: str
    exact: str  # the value as released, for a hover
    number: bool
    missing: bool  # no value: withheld, or the row's cell is withheld or empty


@dataclass
class Shown:
    """The first rows of a result as they read."""

    headings: list[str]
    rows: list[list[Cell]]
    total: int  # rows in the result
    empty: int  # rows shown without any value
    bars: bool  # some value is shown with its error bar

    def text(self) -> str:
        """The rows as aligned plain text, numbers to the right."""
        widths = [max([len(h)] + [len(r[i].text) for r in self.rows]) for i, h in enumerate(self.headings)]
        right = [any(r[i].number for r in self.rows) for i in range(len(widths))]

        def line(texts):
            return "  ".join(t.rjust(w) if r else t.ljust(w) for t, w, r in zip(texts, widths, right)).rstrip()

        lines = [line(self.headings), line(["-" * w for w in widths])]
        return "\n".join(lines + [line([c.text for c in row]) for row in self.rows])

    def html(self) -> str:
        """The rows as an HTML table, each value's exact form on hover."""
        head = "".join(f"<th>{escape(h)}</th>" for h in self.headings)
        body = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in self.rows)
        return f"<table class='campus-result'><tr>{head}</tr>{body}</table>"

    @property
    def footnotes(self) -> list[str]:
        notes = []
        if self.total > len(self.rows):
            notes.append(f"the first {len(self.rows):,} of {plural(self.total, 'row')}; r.pl() has them all")
        if self.empty:
            notes.append(EMPTY_NOTE)
        if self.bars:
            notes.append(BARS_NOTE)
        return notes


def shown(result: Result, limit: int = ROWS) -> Shown:
    """The result's first `limit` rows as they read."""
    table, measures = result.pl(), result.report.measures
    wide = result.with_errors() if result.report.errors.height else table
    values = [c for c in table.columns if c in measures or f"±{c}" in wide.columns]
    rows, empty, bars = [], 0, False
    for row in wide.head(limit).iter_rows(named=True):
        blank = bool(values) and all(missing(row[c]) for c in values)
        empty += blank
        cells = []
        for column in table.columns:
            value, half_width = row[column], row.get(f"±{column}")
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if column in values and missing(value):
                text = (EMPTY if column == values[0] else "") if blank else WITHHELD
                cells.append(Cell(text, "no value", False, True))
                continue
            rounded = column in measures and measures[column].rounded
            text = released(value, half_width, rounded=rounded) if column in values else plain(value, grouped=False)
            bars |= " ± " in text and column in values
            cells.append(Cell(text, exact(value), number, False))
        rows.append(cells)
    headings = [_heading(c, measures[c].unit if c in measures else None) for c in table.columns]
    return Shown(headings, rows, table.height, empty, bars)


def text(result: Result) -> str:
    """The result as plain text: the table, its footnotes, the report and notes."""
    table = shown(result)
    lines = [table.text()] + [f"* {n}" for n in table.footnotes]
    if result.report.cells or result.report.notes:
        lines.append(result.report.text(error_line=_points_to_bars(result, table)))
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def html(result: Result) -> str:
    """The result as HTML: the table (each value's exact form on hover), its footnotes,
    the report and notes."""
    table = shown(result)
    footnotes = "".join(f"<p><small>{escape(n)}</small></p>" for n in table.footnotes)
    report = (result.report.html(error_line=_points_to_bars(result, table))
              if result.report.cells or result.report.notes else "")
    notes = "".join(f"<p><i>{escape(n)}</i></p>" for n in result.notes)
    return table.html() + footnotes + report + notes


def frame(table: pl.DataFrame) -> Shown:
    """Any table (a dataset's columns, a list) with every value read plainly, all its rows."""
    rows = [[Cell(plain(v), exact(v), isinstance(v, (int, float)) and not isinstance(v, bool), missing(v))
             for v in row] for row in table.iter_rows()]
    return Shown(list(table.columns), rows, table.height, 0, False)


def _points_to_bars(result: Result, table: Shown) -> bool:
    """Whether the report should point to error bars the table does not show (a count
    whose only protection is rounding has none to show: the report names the base)."""
    measures, errors = result.report.measures, result.report.errors
    named = errors["measure"].unique().to_list() if errors.height else []
    return not table.bars and any(not (m in measures and measures[m].rounded) for m in named)


def _td(cell: Cell) -> str:
    style = ("text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums" if cell.number and not cell.missing
             else "text-align:left")
    if cell.missing:
        style += ";color:#888;font-style:italic"
    return f"<td style='{style}' title='{escape(cell.exact, quote=True)}'>{escape(cell.text)}</td>"


def _heading(column: str, unit: str | None) -> str:
    return f"{column} ({unit})" if unit else column

