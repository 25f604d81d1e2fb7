"""A partition: one month of one dataset, drawn from its own random stream.

Every partition's numbers come from ``SeedSequence([seed, dataset, month, chunk])``, so
any month can be generated alone, in any order, and comes out the same. Month 0 is the
stream of what lasts the whole year (the cards, merchants and stores); chunk numbers
tell apart the streams inside a month.

>>> MONTHS[1].label, MONTHS[1].days, str(MONTHS[1].first)
('2025-02', 28, '2025-02-01')
>>> float(random_stream(42, 1, 1, 0).random()) == float(random_stream(42, 1, 1, 0).random())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

YEAR = 2025
YEAR_STREAM = 0  # the `month` of the streams that draw the year's population
CHUNK_ROWS = 1 << 20  # the most rows generated and written at once
ROW_GROUP_ROWS = 1 << 18  # Parquet row-group size; CHUNK_ROWS is a multiple of it


@dataclass(frozen=True)
class Month:
    """A month of the year the data covers; `number` (1-12) is also its place in the seed."""

    number: int

    @property
    def label(self) -> str:
        return f"{YEAR}-{self.number:02d}"

    @property
    def first(self) -> np.datetime64:
        return np.datetime64(self.label, "D")

    @property
    def days(self) -> int:
        return int(((np.datetime64(self.label, "M") + 1).astype("datetime64[D]") - self.first).astype(int))

    def dates(self) -> np.ndarray:
        """Every day of the month, as datetime64[D]."""
        return self.first + np.arange(self.days)

    def weekdays(self) -> np.ndarray:
        """The weekday of every day of the month: 0 is Monday, 6 Sunday."""
        return (self.dates().astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday


MONTHS = tuple(Month(number) for number in range(1, 13))


def random_stream(seed: int, dataset: int, month: int, chunk: int) -> np.random.Generator:
    """The random numbers of one chunk of one month of one dataset."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, dataset, month, chunk])))


def chunks(rows: int) -> list[tuple[int, int]]:
    """The (start, stop) row ranges a partition of `rows` rows is generated in.

    A partition without rows still has one (empty) chunk, so every month has its file.
    """
    return [(start, min(start + CHUNK_ROWS, rows)) for start in range(0, rows, CHUNK_ROWS)] or [(0, 0)]
