"""What the guard is handed: a table of cells and, beside each, its safety statistics.

The statistics table has one row per cell and these columns:

* the cell's keys, by the names in ``Cells.keys``;
* ``entities``: distinct protected entities (people, firms) in the cell;
* ``rows``: records in the cell;
* ``cellkey``: a 64-bit fingerprint of who is in the cell (drives the noise);
* ``neutralised`` (optional): how many of the query's conditions affected too few
  entities of the cell to be applied to it (for the audit, never the requester);
* for each measured column ``c``: ``count__c`` (non-null values), ``sum__c``, ``top__c``
  (the largest per-entity contributions, in absolute value, largest first), ``min__c``
  and ``max__c`` (the smallest and largest per-entity contribution); for a summed
  column also ``noisy__c``, the sum with each entity's contribution times its noise
  factor (`noise.factor`), and ``squares__c``, the sum of the squared noisy
  contributions (which sizes the released error bar).

A measure may count only the rows of a *population* of the cell (``sum(CASE WHEN
category = 'Golf' THEN amount END)``: population 1, the rows where the condition
holds). Each population's statistics carry its suffix (``entities__p1``,
``sum__amount__p1``; see ``statistic``) and are checked as cells of their own: the
same cells, with the same cell keys and noise, as a query filtered to the population.
"""

from __future__ import annotations

import re
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
    population: int = 0  # 0: every row of the cell; p: the rows of the cell's p-th population
    unit: str | None = None  # the measured column's unit (KRW), for sums and averages

    @property
    def counts(self) -> bool:
        """Counts of rows, entities or values: released rounded, in no unit."""
        return self.kind in ("rows", "entities", "values")

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
    measure_labels: dict[str, str] = field(default_factory=dict)  # measure name -> the output column showing it
    signature: str = ""  # what defines the cells (filters, keys, conditions): with their values, what a cell shows
    conditions: int = 0  # filter conditions and measures' conditions, each not applied where its effect is low


class Stat:
    """The statistics columns, named here once for whoever computes them and for the guard.

    >>> Stat.ENTITIES, Stat.sum("amount"), Stat.top("amount")
    ('entities', 'sum__amount', 'top__amount')
    """

    ENTITIES, ROWS, CELLKEY = "entities", "rows", "cellkey"
    NEUTRALISED = "neutralised"  # conditions of low effect not applied to the cell (for the audit only)
    PER_COLUMN = ("count", "sum", "top", "min", "max", "noisy", "squares")

    @staticmethod
    def count(column: str) -> str:
        return f"count__{column}"

    @staticmethod
    def sum(column: str) -> str:
        return f"sum__{column}"

    @staticmethod
    def noisy(column: str) -> str:
        return f"noisy__{column}"

    @staticmethod
    def squares(column: str) -> str:
        return f"squares__{column}"

    @staticmethod
    def top(column: str) -> str:
        return f"top__{column}"

    @staticmethod
    def min(column: str) -> str:
        return f"min__{column}"

    @staticmethod
    def max(column: str) -> str:
        return f"max__{column}"

    @classmethod
    def named(cls, name: str) -> bool:
        """Whether `name` is a statistic (else a key or another column)."""
        return name in (cls.ENTITIES, cls.ROWS, cls.CELLKEY, cls.NEUTRALISED) or name.split("__", 1)[0] in cls.PER_COLUMN


def statistic(name: str, population: int = 0) -> str:
    """The column of a statistic for a population of the cells.

    >>> statistic("entities"), statistic("sum__amount", 2)
    ('entities', 'sum__amount__p2')
    """
    return name if population == 0 else f"{name}__p{population}"


def population_of(column: str) -> tuple[str, int]:
    """The statistic and population a statistics column holds (`statistic` backwards).

    >>> population_of("sum__amount__p2"), population_of("rows")
    (('sum__amount', 2), ('rows', 0))
    """
    found = re.fullmatch(r"(.+)__p(\d+)", column)
    return (found.group(1), int(found.group(2))) if found else (column, 0)
