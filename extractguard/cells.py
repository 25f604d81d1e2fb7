"""What the guard is handed: a table of cells and, beside each, its safety statistics.

The statistics table has one row per cell and these columns:

* the cell's keys, by the names in ``Cells.keys``;
* ``entities``: distinct protected entities (people, firms) in the cell;
* ``rows``: records in the cell;
* ``cellkey``: a 64-bit fingerprint of who is in the cell (drives the noise);
* for each measured column ``c``: ``count__c`` (non-null values), ``sum__c``, ``top__c``
  (the largest per-entity contributions, in absolute value, largest first), ``min__c``
  and ``max__c`` (the smallest and largest per-entity contribution).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["rows", "entities", "values", "sum", "avg"]


@dataclass(frozen=True)
class Measure:
    """One released aggregate: its column in the checked table and how it is computed."""

    name: str
    kind: Kind
    label: str
    column: str | None = None  # the measured column, for values, sum and avg
    integral: bool = False  # a sum of whole numbers is released as a whole number

    @property
    def magnitude(self) -> bool:
        """Sums and averages: the dominance rules apply to them."""
        return self.kind in ("sum", "avg")


@dataclass(frozen=True)
class Cells:
    """The shape of a statistics table: its keys and the measures to release."""

    keys: list[str]
    measures: list[Measure]
    key_labels: dict[str, str] = field(default_factory=dict)
    dataset: str = ""
