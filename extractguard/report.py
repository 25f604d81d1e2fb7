"""The disclosure report: what the guard withheld or changed, and why.

The report is the requester's to read, so it says nothing about cells that were left
out (see ``guard``): it counts the cells shown, names each *value* withheld in a
shown cell with the rule that withheld it, and notes how released values were
protected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

WITHHELD_SCHEMA = {"aggregate": pl.String, "cell": pl.String, "measure": pl.String, "rule": pl.String, "reason": pl.String}


def withheld_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=WITHHELD_SCHEMA)


def errors_frame(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The error bars of every aggregate as one table: key columns (null where an aggregate
    has no such key), then ``measure`` and ``half_width``."""
    parts = [p for p in parts if p.height]
    if not parts:
        return pl.DataFrame(schema={"measure": pl.String, "half_width": pl.Float64})
    table = pl.concat(parts, how="diagonal_relaxed")
    keys = [c for c in table.columns if c not in ("measure", "half_width")]
    return table.select(*keys, "measure", "half_width")


@dataclass
class Report:
    """Per-cell disclosure report of one result.

    ``cells`` is the number of cells shown. ``withheld`` has a row per value withheld in
    a shown cell: which aggregate and cell, which measure, the rule (``dominance``,
    ``p_ratio``, ``zeros``, ``all_same``, ``secondary``) and the reason in words.
    ``notes`` say which cells are not shown, how released values were protected
    (rounding, noise), and anything else the researcher should know. ``errors`` has a
    row per released value: its cell's keys, the measure (its output column) and
    ``half_width``, the half-width of the value's 95% error bar (see ``noise``).
    """

    cells: int = 0
    withheld: pl.DataFrame = field(default_factory=lambda: withheld_frame([]))
    notes: list[str] = field(default_factory=list)
    errors: pl.DataFrame = field(default_factory=lambda: errors_frame([]))

    @property
    def suppressed(self) -> int:
        """How many values of shown cells were withheld."""
        return self.withheld.height

    @property
    def rules(self) -> dict[str, int]:
        """Withheld values per rule."""
        counts = self.withheld.group_by("rule").len().sort("rule")
        return dict(zip(counts["rule"].to_list(), counts["len"].to_list()))

    def merge(self, other: "Report") -> "Report":
        notes = self.notes + [n for n in other.notes if n not in self.notes]
        return Report(self.cells + other.cells, pl.concat([self.withheld, other.withheld]), notes,
                      errors_frame([self.errors, other.errors]))

    def summary(self) -> str:
        if not self.cells and not self.notes:
            return "no aggregate cells were checked"
        rules = ", ".join(f"{n} by {r}" for r, n in self.rules.items())
        withheld = f"{self.suppressed} values withheld ({rules})" if self.suppressed else "no value withheld"
        return f"{self.cells} cells shown, {withheld}"

    def __repr__(self) -> str:
        lines = [self.summary()] + [f"- {n}" for n in self.notes]
        for row in self.withheld.head(20).iter_rows(named=True):
            lines.append(f"  {row['cell']} {row['measure']}: {row['rule']} ({row['reason']})")
        if self.suppressed > 20:
            lines.append(f"  ... and {self.suppressed - 20} more (report.withheld has them all)")
        if self.errors.height:
            lines.append(self.error_line())
        return "\n".join(lines)

    def error_line(self) -> str:
        return (f"95% error bars: {self.errors.height} released values, each within its half-width of the truth "
                "in 95 of 100 cells (report.errors; result.with_errors() shows them beside the values)")

    def _repr_html_(self) -> str:
        from html import escape

        notes = "".join(f"<li>{escape(n)}</li>" for n in self.notes)
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(str(row[c]))}</td>" for c in ("cell", "measure", "rule", "reason")) + "</tr>"
            for row in self.withheld.head(50).iter_rows(named=True)
        )
        table = (
            f"<table><tr><th>cell</th><th>measure</th><th>rule</th><th>reason</th></tr>{rows}</table>" if rows else ""
        )
        errors = f"<p>{escape(self.error_line())}</p>" if self.errors.height else ""
        return f"<div class='campus-report'><b>{escape(self.summary())}</b><ul>{notes}</ul>{table}{errors}</div>"
