"""``campus.plot``: a result's released values as a figure, each with its 95% error bar.

It draws what the result released and nothing else: a withheld value is not drawn (a bar's
place stays empty and says so, a line has a gap) and the figure's note counts the cells
withheld; a noisy value's error bar is its half-width from `Result.with_errors`. Bars
by a key, or a line along an ordered key (a date or a whole number such as an hour)::

    fig = campus.plot(r, x="district", y="total")
    fig.savefig("spending_by_district.png")      # then campus.export_file(...)

The figure is the caller's (closed in pyplot, so a notebook shows it once, where it is
the cell's value); it is the same for a result from the data service and from
``campus.open()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from extractguard.formatting import plain

from ..errors import CampusError
from ..gateway.result import Result

KINDS = ("bar", "line")
NOTE_SIZE = 8


class CannotPlot(CampusError):
    """The figure cannot be drawn from this result as asked."""

    code = "cannot_plot"
    http_status = 400


@dataclass(frozen=True)
class Series:
    """One line or set of bars: its label (the `by` value, or None) and its rows in order."""

    label: object
    rows: pl.DataFrame

    @property
    def name(self) -> str | None:
        """Its name in the legend (none without `by`)."""
        return None if self.label is None else plain(self.label, grouped=False)


def plot(result: Result, x: str | None = None, y: str | None = None, by: str | None = None,
         kind: str | None = None, title: str | None = None):
    """The released `y` of `result` by `x` (one line or bar colour per value of `by`), with
    error bars; returns the matplotlib Figure. `x` defaults to the first column, `y` to the
    first numeric column after it; `kind` is "bar" or "line" (a line along dates and whole
    numbers, bars otherwise)."""
    table = result.with_errors()
    x = x or table.columns[0]
    y = y or first_measure(table, x)
    check_columns(result.table.column_names, [x, y, by])
    check_numeric(table, y)
    kind = kind or ("line" if ordered(table.schema[x]) else "bar")
    if kind not in KINDS:
        raise CannotPlot(f"kind={kind!r} is not a kind of figure here: use kind='bar' or kind='line'")
    check_one_row_per_point(table, x, by, keys_of(result))
    series = split(table.sort(x) if kind == "line" else table, by)
    fig, ax = new_figure()
    (draw_lines if kind == "line" else draw_bars)(ax, series, x, y)
    label(ax, x, y, by, title)
    fig.supxlabel(note(table[y].null_count(), f"±{y}" in table.columns), fontsize=NOTE_SIZE, color="0.3")
    return fig


# --- what is asked ---------------------------------------------------------------------------------------


def first_measure(table: pl.DataFrame, x: str) -> str:
    """The first numeric column after `x` that is not an error bar."""
    after = table.columns[table.columns.index(x) + 1:] if x in table.columns else table.columns
    numeric = [c for c in after if table.schema[c].is_numeric() and not c.startswith("±")]
    if not numeric:
        raise CannotPlot(f"the result has no numeric column to draw after {x!r} (its columns: "
                         f"{', '.join(table.columns)}): add a count, sum or average to the query, or name one with y=")
    return numeric[0]


def check_columns(columns: list[str], names: list[str | None]) -> None:
    """Each name is a column of the result (an error bar ``±y`` is drawn with ``y``, not on its own)."""
    for name in names:
        if name is not None and name not in columns:
            raise CannotPlot(f"the result has no column {name!r}: use one of {', '.join(columns)} "
                             "(the names the query gave with AS)")


def check_numeric(table: pl.DataFrame, y: str) -> None:
    if not table.schema[y].is_numeric():
        numeric = [c for c in table.columns if table.schema[c].is_numeric() and not c.startswith("±")]
        instead = f"use y= one of {', '.join(numeric)}" if numeric else "add a count, sum or average to the query"
        raise CannotPlot(f"column {y!r} is not numeric ({table.schema[y]}): {instead}")


def ordered(dtype: pl.DataType) -> bool:
    """Whether a key along `x` has an order a line can follow: dates, times and whole numbers."""
    return dtype.is_temporal() or dtype.is_integer()


def keys_of(result: Result) -> list[str]:
    """The result's key columns, as its error bars name them (empty when it has none)."""
    return [c for c in result.report.errors.columns if c not in ("measure", "half_width")]


def check_one_row_per_point(table: pl.DataFrame, x: str, by: str | None, keys: list[str]) -> None:
    """Each point (x, and by if given) must be one row: else the figure would draw cells on top of each other."""
    point = [x] if by is None else [x, by]
    if table.select(point).is_duplicated().any():
        others = [k for k in keys if k not in point] or [c for c in table.columns if c not in point
                                                         and not table.schema[c].is_numeric()]
        hint = f"name the other key with by= (e.g. by={others[0]!r})" if others and by is None else \
            "keep one row per point in the query (group by these keys only, or filter the others)"
        raise CannotPlot(f"several rows share a value of {' and '.join(point)}: {hint}")


def split(table: pl.DataFrame, by: str | None) -> list[Series]:
    if by is None:
        return [Series(None, table)]
    return [Series(value, table.filter(pl.col(by).eq_missing(value)))
            for value in table[by].unique(maintain_order=True).to_list()]


# --- drawing ---------------------------------------------------------------------------------------------


def new_figure():
    """A figure of its own, closed in pyplot (pyplot is imported so that a notebook's inline
    backend shows the figure when it is a cell's value)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    plt.close(fig)
    return fig, ax


def values(rows: pl.DataFrame, column: str):
    """A column as floats for matplotlib, a null (withheld, or no error bar) as NaN."""
    return rows[column].cast(pl.Float64).fill_null(float("nan")).to_numpy()


def half_widths(rows: pl.DataFrame, y: str):
    """The error bars of `y`, or None when the result has none for it."""
    return values(rows, f"±{y}") if f"±{y}" in rows.columns else None


def draw_lines(ax, series: list[Series], x: str, y: str) -> None:
    """A line per series; a withheld value is a gap in it."""
    for one in series:
        ax.errorbar(one.rows[x].to_numpy(), values(one.rows, y), yerr=half_widths(one.rows, y), fmt="-o",
                    markersize=3, capsize=2, label=one.name)


def draw_bars(ax, series: list[Series], x: str, y: str) -> None:
    """Bars side by side per value of `x`; a withheld value's place is empty and marked."""
    categories = list(dict.fromkeys(plain(v, grouped=False) for one in series for v in one.rows[x].to_list()))
    width = 0.8 / len(series)
    for i, one in enumerate(series):
        def places(rows: pl.DataFrame) -> list[float]:  # the series' bars, side by side within each key
            return [categories.index(plain(v, grouped=False)) - 0.4 + width * (i + 0.5) for v in rows[x].to_list()]

        shown, withheld = one.rows.filter(pl.col(y).is_not_null()), one.rows.filter(pl.col(y).is_null())
        ax.bar(places(shown), values(shown, y), width, yerr=half_widths(shown, y), capsize=2, label=one.name)
        for place in places(withheld):
            ax.text(place, 0, "withheld", rotation=90, ha="center", va="bottom", fontsize=NOTE_SIZE, color="0.4")
    slanted = len(categories) > 6 or max(map(len, categories), default=0) > 10
    ax.set_xticks(range(len(categories)), categories, rotation=45 if slanted else 0, ha="right" if slanted else "center")


def label(ax, x: str, y: str, by: str | None, title: str | None) -> None:
    """Axes named by their columns, a title, and a legend for `by`."""
    from matplotlib.ticker import EngFormatter

    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.yaxis.set_major_formatter(EngFormatter(sep=""))  # 160M, 1.2k: read at a glance, no "1e8" corner
    ax.set_title(title or f"{y} by {x}" + (f" and {by}" if by else ""))
    if by is not None:
        ax.legend(title=by, fontsize=NOTE_SIZE)


def note(withheld: int, error_bars: bool) -> str:
    """The figure's note, under it: what is drawn, and how many cells were withheld.

    >>> note(0, True), note(1, False), note(3, True)  # doctest: +NORMALIZE_WHITESPACE
    ('Released values, with their 95% error bars. No value withheld.',
     'Released values. 1 cell withheld: not drawn.',
     'Released values, with their 95% error bars. 3 cells withheld: not drawn.')
    """
    drawn = "Released values, with their 95% error bars." if error_bars else "Released values."
    cells = f"{withheld} cell{'s' if withheld != 1 else ''} withheld: not drawn." if withheld else "No value withheld."
    return f"{drawn} {cells}"
