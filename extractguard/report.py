"""The disclosure report: what the guard withheld or changed, and why.

The report is the requester's to read, so it says nothing about cells that were left
out (see ``guard``): it counts the cells shown, names each *value* withheld in a
shown cell with the rule that withheld it, and notes how released values were
protected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import polars as pl

from .formatting import plural

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


#: The rules as the summary names them.
RULE_WORDS = {"p_ratio": "p-ratio", "all_same": "all-same values", "secondary": "secondary suppression"}


@dataclass(frozen=True)
class Measured:
    """What a released column measures, for reading it: its kind (`cells.Kind`), its unit
    (KRW) and whether rounding is its only protection (a count's, whose ± is not shown:
    the report's note names the base once)."""

    kind: str
    unit: str | None = None
    rounded: bool = False

    @classmethod
    def of(cls, data: dict) -> "Measured":
        return cls(str(data["kind"]), data.get("unit"), bool(data.get("rounded")))


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
    ``measures`` says what each released measure's column holds (`Measured`), by its name.
    """

    cells: int = 0
    withheld: pl.DataFrame = field(default_factory=lambda: withheld_frame([]))
    notes: list[str] = field(default_factory=list)
    errors: pl.DataFrame = field(default_factory=lambda: errors_frame([]))
    measures: dict[str, Measured] = field(default_factory=dict)

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
                      errors_frame([self.errors, other.errors]), self.measures | other.measures)

    def measures_json(self) -> dict[str, dict]:
        """`measures` as JSON-able data (`Measured.of` reads each back)."""
        return {name: asdict(m) for name, m in self.measures.items()}

    def summary(self) -> str:
        """The report in one line.

        >>> Report(cells=1).summary(), Report(cells=18).summary()
        ('1 cell shown, no value withheld', '18 cells shown, no value withheld')
        """
        if not self.cells and not self.notes:
            return "no aggregate cells were checked"
        rules = ", ".join(f"{n:,} by {RULE_WORDS.get(r, r)}" for r, n in self.rules.items())
        withheld = f"{plural(self.suppressed, 'value')} withheld ({rules})" if self.suppressed else "no value withheld"
        return f"{plural(self.cells, 'cell')} shown, {withheld}"

    def __repr__(self) -> str:
        return self.text()

    def text(self, error_line: bool = True) -> str:
        """The report as plain text; without the error bars' line where the table shows them."""
        lines = [self.summary()] + [f"- {n}" for n in self.notes]
        for row in self.withheld.head(20).iter_rows(named=True):
            lines.append(f"  {row['cell']} {row['measure']}: {row['rule']} ({row['reason']})")
        if self.suppressed > 20:
            lines.append(f"  ... and {self.suppressed - 20} more (report.withheld has them all)")
        if self.errors.height and error_line:
            lines.append(self.error_line())
        return "\n".join(lines)

    def error_line(self) -> str:
        return (f"95% error bars: {plural(self.errors.height, 'released value')}, each within its half-width of the truth "
                "in 95 of 100 cells (report.errors; result.with_errors() shows them beside the values)")

    def _repr_html_(self) -> str:
        return self.html()

    def html(self, error_line: bool = True) -> str:
        """The report as HTML; without the error bars' line where the table shows them."""
        from html import escape

        notes = "".join(f"<li>{escape(n)}</li>" for n in self.notes)
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(str(row[c]))}</td>" for c in ("cell", "measure", "rule", "reason")) + "</tr>"
            for row in self.withheld.head(50).iter_rows(named=True)
        )
        table = (
            f"<table><tr><th>cell</th><th>measure</th><th>rule</th><th>reason</th></tr>{rows}</table>" if rows else ""
        )
        errors = f"<p>{escape(self.error_line())}</p>" if self.errors.height and error_line else ""
        return f"<div class='extractguard-report'><b>{escape(self.summary())}</b><ul>{notes}</ul>{table}{errors}</div>"
