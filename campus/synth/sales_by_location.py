"""sales_by_location: one row per store per month, with its card sales and their splits.

At scale factor 1 there are 40,000 stores (linear in the scale) in the few hundred
commercial areas of `seoul.commercial_areas`, more in the business districts and in
the famous areas. Each store has a service industry and a size: log-normal around the
industry's median times a Pareto factor, so a department store or a general hospital
can hold nearly all of its cell's sales. A store's month varies around its size with
the season; about one store in twelve opens during the year and as many close, and
an opening or closing month counts only the days the store was open.

The splits are exact: weekday + weekend = sales_amount, and the six time bands add up
to sales_amount (amounts are in 10-won steps, cut at rounded cumulative shares).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import seoul
from .partition import CHUNK_ROWS, MONTHS, YEAR_STREAM, Month, random_stream  # noqa: F401 (MONTHS: doctests)
from .schema import table
from .text import labels, numbered

DATASET = 2  # this dataset's place in the seed: never renumber

STORES_PER_SCALE = 40_000
OPENING_SHARE = 0.08  # stores that open during the year
CLOSING_SHARE = 0.08  # stores that close during the year
SIZE_CAP = 50.0  # the largest store of an industry sells at most about this many times its median
SEASON = (0.96, 0.88, 1.00, 1.00, 1.04, 1.00, 1.01, 1.00, 0.99, 1.02, 1.00, 1.12)
MONTH_NOISE = 0.12  # log-sd of a store's month around its size
SPLIT_NOISE = 0.25  # log-sd of a store-month's band shares around its trade's

INDUSTRIES = seoul.SERVICE_INDUSTRIES
WEEK_SPLIT = np.array([[1 - seoul.TRADES[i.trade].weekend, seoul.TRADES[i.trade].weekend] for i in INDUSTRIES])
BAND_SPLIT = np.array([seoul.TRADES[i.trade].bands for i in INDUSTRIES])
AREAS = tuple((d, area) for d, gu in enumerate(seoul.DISTRICTS) for area in seoul.commercial_areas(gu.name))
AREA_NAMES = tuple(area for _, area in AREAS)
AREA_DISTRICT = np.array([d for d, _ in AREAS])


@dataclass(frozen=True)
class Stores:
    """Every store of the year, sorted by commercial area."""

    seed: int
    number: np.ndarray  # shown as the store id
    area: np.ndarray  # index into AREAS
    industry: np.ndarray  # index into INDUSTRIES
    size: np.ndarray  # usual monthly sales, KRW
    ticket: np.ndarray  # usual sale, KRW
    opens: np.ndarray  # fractional month (0 = open before the year starts)
    closes: np.ndarray  # fractional month (12 = still open at the end)


def population(seed: int, scale: float) -> Stores:
    """The year's stores for `seed` and `scale`."""
    rng = random_stream(seed, DATASET, YEAR_STREAM, 0)
    n = max(100, round(STORES_PER_SCALE * scale))
    area = np.sort(rng.choice(len(AREAS), n, p=_normalized(_area_weights())))
    industry = rng.choice(len(INDUSTRIES), n, p=_normalized([i.share for i in INDUSTRIES]))
    return Stores(
        seed=seed,
        number=rng.permutation(n),
        area=area.astype(np.int16),
        industry=industry.astype(np.int8),
        size=_sizes(rng, industry),
        ticket=np.array([i.ticket for i in INDUSTRIES])[industry] * rng.lognormal(0.0, 0.25, n),
        opens=np.where(rng.random(n) < OPENING_SHARE, rng.uniform(0, 12, n), 0.0),
        closes=np.where(rng.random(n) < CLOSING_SHARE, rng.uniform(0, 12, n), 12.0),
    )


def partition(schema: pa.Schema, stores: Stores, month: Month) -> Iterator[pa.Table]:
    """The month's row of every store open in it, `CHUNK_ROWS` stores at a time."""
    for chunk, start in enumerate(range(0, max(len(stores.number), 1), CHUNK_ROWS), start=1):
        rng = random_stream(stores.seed, DATASET, month.number, chunk)
        yield table(schema, _sales(rng, stores, month, slice(start, start + CHUNK_ROWS)))


def _area_weights() -> np.ndarray:
    """How many stores each commercial area draws: its district's pull, more for the famous ones."""
    residents = np.array(list(seoul.POPULATION_WEIGHT.values()))
    business = np.array(list(seoul.BUSINESS_WEIGHT.values()))
    pull = 0.4 * residents / residents.sum() + 0.6 * business / business.sum()
    per_area = np.bincount(AREA_DISTRICT)
    famous = np.array([area in seoul.DISTRICTS[d].landmarks for d, area in AREAS])
    return pull[AREA_DISTRICT] / per_area[AREA_DISTRICT] * np.where(famous, 2.5, 1.0)


def _sizes(rng: np.random.Generator, industry: np.ndarray) -> np.ndarray:
    """Usual monthly sales: the industry's median times a log-normal and a Pareto factor.

    The factor is capped softly (tanh) at `SIZE_CAP`, so no store is absurd and no two
    share the cap.
    """
    median = np.array([i.median for i in INDUSTRIES], dtype=np.float64)[industry]
    sigma = np.array([i.sigma for i in INDUSTRIES])[industry]
    tail = np.array([i.tail for i in INDUSTRIES])[industry]
    pareto = (1.0 - rng.random(len(industry))) ** (-1.0 / tail) / 2 ** (1.0 / tail)  # median 1
    factor = np.exp(sigma * rng.standard_normal(len(industry))) * pareto
    return median * SIZE_CAP * np.tanh(factor / SIZE_CAP)


def _sales(rng: np.random.Generator, stores: Stores, month: Month, rows: slice) -> dict:
    """The month's sales of the stores in `rows` that were open in it, as catalog columns."""
    open_from = np.maximum(stores.opens[rows], month.number - 1)
    open_days = np.clip(np.minimum(stores.closes[rows], month.number) - open_from, 0, 1)  # share of the month
    store = np.arange(*rows.indices(len(stores.number)))[open_days > 0]
    n = len(store)
    amount = stores.size[store] * SEASON[month.number - 1] * month.days / 30.4 * open_days[open_days > 0]
    amount = np.maximum(10_000, np.round(amount * rng.lognormal(0.0, MONTH_NOISE, n) / 10) * 10).astype(np.int64)
    count = np.clip(np.round(amount / (stores.ticket[store] * rng.lognormal(0.0, 0.08, n))), 1, 2**31 - 1)
    industry = stores.industry[store]
    weekend = _cut(amount, WEEK_SPLIT[industry] * _calendar(month) * rng.lognormal(0.0, 0.15, (n, 2)))
    bands = _cut(amount, BAND_SPLIT[industry] * rng.lognormal(0.0, SPLIT_NOISE, (n, 6)))
    columns = {
        "store_id": numbered("S", stores.number[store], width=8),
        "month": np.full(n, month.first),
        "district": labels(seoul.DISTRICT_NAMES, AREA_DISTRICT[stores.area[store]]),
        "commercial_area": labels(AREA_NAMES, stores.area[store]),
        "industry": labels([i.name for i in INDUSTRIES], industry),
        "sales_amount": amount,
        "sales_count": count.astype(np.int32),
        "weekday_amount": weekend[:, 0],
        "weekend_amount": weekend[:, 1],
    }
    columns.update({f"amount_{band}": bands[:, b] for b, band in enumerate(seoul.TIME_BANDS)})
    return columns


def _calendar(month: Month) -> np.ndarray:
    """How much more (or less) of the usual weekday and weekend days the month has.

    >>> _calendar(MONTHS[1]).tolist()  # February 2025: exactly four weeks
    [1.0, 1.0]
    """
    weekend_days = int(np.sum(month.weekdays() >= 5))
    return np.array([(month.days - weekend_days) / (month.days * 5 / 7), weekend_days / (month.days * 2 / 7)])


def _cut(amount: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Split each amount into parts proportional to `shares`, in 10-won steps, adding up exactly.

    >>> _cut(np.array([1000]), np.array([[1.0, 1.0, 1.0]])).tolist()
    [[330, 340, 330]]
    """
    cumulative = np.cumsum(shares, axis=1) / shares.sum(axis=1, keepdims=True)
    cuts = np.round(amount[:, None] * cumulative / 10).astype(np.int64) * 10
    cuts[:, -1] = amount
    return np.diff(cuts, axis=1, prepend=0)


def _normalized(weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    return weights / weights.sum()
