"""What a query may cost, what it did cost, and where your budgets stand.

A query is charged for every cell its protected aggregates release (ledger.py), whether
the answer shows that cell as a row or was only computed from it: a correlation over an
inner GROUP BY of 9,125 cells is one number, and 9,125 cells.

`Cost` bounds that charge *before* the query runs, from its shape alone: for each key,
the values its column's public domain allows (the catalog's, through the grant's masks
and row filter and the filters that select cells), or a binned measure's bins, and null;
their product; and the cell limit, past which the query is refused rather than charged.
Never the data: the estimate tells nothing of the rows, so two datasets with one catalog
and different rows cost the same. A key without a public domain or bins (dong) bounds
nothing, and its aggregate may charge up to the cell limit. Cells released to you before cost nothing
again, so a query may charge less than its bound, never more.

`Budgets` lists the budgets that apply to you (yours and your project's), one row each.
"""

from __future__ import annotations

from math import prod

from typing import Literal

from pydantic import BaseModel, Field


class KeyBound(BaseModel):
    key: str = Field(description="The key as the query names it.")
    values: int | None = Field(description="The values it can take (public ones or a measure's bins, and null); "
                                           "null: no public domain or bins.")

    def words(self) -> str:
        if self.values is None:
            return f"{self.key} (no public domain or bins)"
        return f"{self.key} ({self.values:,} values, null among them)"


class AggregateBound(BaseModel):
    """One protected aggregate: the most cells it can release, and why."""

    dataset: str
    cells: int = Field(description="The most cells it can release: its keys' values multiplied, at most the limit.")
    keys: list[KeyBound]
    max_cells: int = Field(description="The cell limit: an aggregate with more cells is refused, not charged.")

    @classmethod
    def of(cls, dataset: str, keys: list[KeyBound], max_cells: int) -> "AggregateBound":
        """
        >>> AggregateBound.of("card_usage", [KeyBound(key="district", values=26), KeyBound(key="hour", values=25)],
        ...                   250_000).cells
        650
        """
        if any(k.values is None for k in keys):
            return cls(dataset=dataset, cells=max_cells, keys=keys, max_cells=max_cells)
        return cls(dataset=dataset, cells=min(prod(k.values for k in keys), max_cells), keys=keys, max_cells=max_cells)

    def words(self) -> str:
        if not self.keys:
            return "one cell (no keys)"
        keys = " × ".join(k.words() for k in self.keys)
        limit = ", the cell limit" if self.cells == self.max_cells else ""
        return f"by {keys}: at most {cells(self.cells)}{limit}"


class DatasetCost(BaseModel):
    dataset: str
    cells: int = Field(description="The most cells of the dataset the query can charge.")
    aggregates: list[AggregateBound]
    left: int | None = Field(description="Cells left of your budget on it (the fewest of yours and your project's); "
                                         "null: no cells budget caps you there.")
    budget: str | None = Field(description="The budget with the fewest cells left.")
    renews: str | None = Field(description="The day that budget's next period starts (ISO).")

    def sentence(self) -> str:
        if self.left is None:
            return f"this query may charge up to {cells(self.cells)} of {self.dataset}; no cells budget caps you there"
        said = (f"this query may charge up to {cells(self.cells)} of your {self.left:,} left on {self.dataset} "
                f"(budget {self.budget}, renews {self.renews})")
        if self.cells > self.left:
            said += (": more than you have left, so it may be refused; narrow it (fewer keys, keys with public "
                     "values, filters on its keys) or reuse cells you have had")
        return said


class Cost(BaseModel):
    """The most cells a query can charge, per dataset, with the budget it would be charged to."""

    cells: int = Field(description="The most cells the query can charge, every dataset together.")
    datasets: list[DatasetCost]
    sentence: str = Field(description="The same, in words.")

    @classmethod
    def of(cls, bounds: list[AggregateBound], standing: list) -> "Cost":
        """The cost of these aggregates' bounds, against where your budgets stand (`ledger.Standing`)."""
        datasets = []
        for dataset in sorted({b.dataset for b in bounds}):
            mine = [b for b in bounds if b.dataset == dataset]
            budgets = sorted((s for s in standing if s.dataset == dataset and s.counts == "cells"), key=lambda s: s.left)
            tightest = budgets[0] if budgets else None
            datasets.append(DatasetCost(
                dataset=dataset, cells=sum(b.cells for b in mine), aggregates=mine,
                left=tightest.left if tightest else None, budget=tightest.budget if tightest else None,
                renews=tightest.renews.isoformat() if tightest else None))
        if not datasets:
            said = "this query charges nothing: it reads no dataset under the disclosure rules"
        else:
            said = "; ".join(d.sentence() for d in datasets) + (
                ". Cells released to you before cost nothing again, so it may charge less")
        return cls(cells=sum(d.cells for d in datasets), datasets=datasets, sentence=said)

    def __str__(self) -> str:
        lines = [self.sentence]
        for dataset in self.datasets:
            lines += [f"  {dataset.dataset}: {a.words()}" for a in dataset.aggregates]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        from html import escape

        parts = "".join(f"<li>{escape(d.dataset)}: {escape(a.words())}</li>" for d in self.datasets
                        for a in d.aggregates)
        return f"<p>{escape(self.sentence)}</p>" + (f"<ul>{parts}</ul>" if parts else "")


def cells(n: int) -> str:
    """
    >>> cells(1), cells(9125)
    ('1 cell', '9,125 cells')
    """
    return f"{n:,} cell" + ("" if n == 1 else "s")


def computed_from(dataset: str, released: int, inside: list[str], rows: int) -> str:
    """Why a query was charged for cells its answer does not show: they were computed inside it.

    >>> computed_from("card_usage", 9125, ["dong, hour"], 1)
    'card_usage: charged for the 9,125 cells the answer was computed from (the aggregate by dong, hour inside the query), though it shows 1 row: every cell an aggregate releases counts, shown or not'
    """
    what = "; ".join(f"the aggregate by {keys}" if keys else "an aggregate without keys" for keys in inside)
    return (f"{dataset}: charged for the {cells(released)} the answer was computed from ({what} inside the query), "
            f"though it shows {rows:,} row{'' if rows == 1 else 's'}: every cell an aggregate releases counts, "
            "shown or not")


class BudgetLine(BaseModel):
    """One budget that applies to you, and where you stand against it this period."""

    dataset: str
    scope: str = Field(description="Whose: user:<name> or project:<name>.")
    budget: str = Field(description="The budget's name in the policies.")
    counts: Literal["cells", "epsilon"] = Field(description="What it caps: distinct cells released, or the ε of "
                                                            "differential-privacy queries.")
    limit: int | float = Field(description="How many a period.")
    spent: int | float = Field(description="How many spent this period.")
    left: int | float
    per: Literal["day", "week", "month"]
    renews: str = Field(description="The day the next period starts (ISO).")


class Budgets(BaseModel):
    """The budgets that apply to you, one row each; none when nothing caps you."""

    rows: list[BudgetLine]

    @property
    def message(self) -> str:
        if not self.rows:
            return ("no disclosure budget applies to you: the cells released to you are recorded, not capped "
                    "(campus.explain(dataset) names the grant; stewards set budgets in policies/grants.yaml)")
        return "; ".join(f"{r.scope}: {_amount(r.spent)} of {_amount(r.limit)} {_unit(r)} of {r.dataset} spent "
                         f"(budget {r.budget}), {_amount(r.left)} left until {r.renews}" for r in self.rows)

    def pl(self):
        """The rows as a polars table (the limits as whole numbers when every budget counts cells)."""
        import polars as pl

        number = pl.Int64 if all(r.counts == "cells" for r in self.rows) else pl.Float64
        schema = {"dataset": pl.String, "scope": pl.String, "budget": pl.String, "counts": pl.String,
                  "limit": number, "spent": number, "left": number, "per": pl.String, "renews": pl.String}
        return pl.DataFrame([r.model_dump() for r in self.rows], schema=schema)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return str(self.pl()) if self.rows else self.message

    def _repr_html_(self) -> str:
        from html import escape

        return self.pl()._repr_html_() if self.rows else f"<p>{escape(self.message)}</p>"


def _amount(value: int | float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _unit(line: BudgetLine) -> str:
    return "cells" if line.counts == "cells" else "ε"
