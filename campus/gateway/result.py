"""A query's result: the table as Arrow, polars or pandas, with its disclosure report."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from extractguard import Report


@dataclass
class Result:
    table: pa.Table
    report: Report = field(default_factory=Report)
    notes: list[str] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)  # per dataset: grant, export rule, reasons

    @property
    def export_rule(self) -> str:
        """How an export of this result is released: the strictest rule of its grants."""
        rules = [d.get("export") or "never" for d in self.decisions] or ["review"]
        return next(rule for rule in ("never", "review", "auto") if rule in rules)

    def arrow(self) -> pa.Table:
        return self.table

    def pl(self):
        import polars as pl

        return pl.from_arrow(self.table)

    def df(self):
        """pandas, with nullable integer types: a withheld count is <NA>, and the other counts
        stay integers (NumPy types would turn the whole column into floats)."""
        import pandas as pd

        nullable = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                    pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype()}
        return self.table.to_pandas(types_mapper=nullable.get)

    def with_errors(self):
        """The table (polars) with each released value's error bar beside it: after every
        measure with error bars, a column ``±<measure>`` holding the half-width of its 95%
        interval (`report.errors`). Rows the bars do not match keep a null there."""
        import polars as pl

        table, bars = self.pl(), self.report.errors
        keys = [c for c in bars.columns if c not in ("measure", "half_width")]
        if not bars.height or not set(keys) <= set(table.columns):
            return table
        order = list(table.columns)
        for measure in bars["measure"].unique(maintain_order=True).to_list():
            if measure not in table.columns or f"±{measure}" in table.columns:
                continue
            bar = bars.filter(pl.col("measure") == measure).select(*keys, pl.col("half_width").alias(f"±{measure}"))
            bar = bar.unique(subset=keys, keep="first", maintain_order=True) if keys else bar.head(1)
            table = (table.join(bar, on=keys, how="left", nulls_equal=True, maintain_order="left") if keys
                     else table.with_columns(pl.lit(bar[f"±{measure}"][0]).alias(f"±{measure}")))
            order.insert(order.index(measure) + 1, f"±{measure}")
        return table.select(order)

    def __len__(self) -> int:
        return self.table.num_rows

    def __repr__(self) -> str:
        """The table as it reads (`display`), its report and notes."""
        from . import display

        return display.text(self)

    def _repr_html_(self) -> str:
        from . import display

        return display.html(self)
