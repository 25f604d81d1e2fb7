"""card_usage: one row per card transaction at a Seoul merchant.

The story the numbers tell, at scale factor 1 (cards, merchants and transactions all
grow linearly with the scale):

- 100,000 cards. Each has an age band (more 40s and 50s than 70s), a gender and a home
  district (by population), and an activity: log-normal, so a few cards are used very
  often. One card in a thousand is a *whale* that spends large amounts in luxury
  categories, so the dominance rules have something to catch.
- 20,000 merchants, each in a district, a dong and a category, with a popularity.
  Destination trades (department stores, luxury goods, hotels) cluster in the business
  districts; everyday trades follow the residents. Rare categories have few merchants,
  so some category x dong cells see only a handful of cards in a month.
- About 1,000,000 transactions a year. A day's count follows the weekly rhythm (Friday
  and Saturday busiest, holidays like Sundays) and the season (December high). A
  cardholder's category depends on age, gender and whether it is a day off; the hour
  on the category; the district is near home for everyday trades, else mostly a
  business district; the amount is log-normal per category, rounded to 10 won.

Rows of a month are in time order within each chunk of `CHUNK_ROWS`; chunks follow the
days, so row groups prune well on `txn_date`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import sampling, seoul
from .partition import MONTHS, YEAR_STREAM, Month, chunks, random_stream
from .schema import table
from .text import hexed, labels, numbered, scrambled

DATASET = 1  # this dataset's place in the seed: never renumber

CARDS_PER_SCALE = 100_000
MERCHANTS_PER_SCALE = 20_000
TRANSACTIONS_PER_SCALE = 1_000_000
WHALE_SHARE = 0.001
WHALE_ACTIVITY = 8.0  # a whale's card is used like the busiest few percent (the median card's is 1)
WHALE_LUXURY_SHARE = 0.5  # of a whale's transactions, the part in luxury categories
WHALE_MULTIPLIER = (np.log(15.0), 0.7)  # log-normal factor on a whale's luxury amounts
BUSINESS_TRIP = 0.7  # away from home: how often in a business district rather than anywhere

WEEKDAY_RHYTHM = (0.92, 0.95, 0.97, 1.00, 1.15, 1.18, 0.93)  # Monday .. Sunday
SEASON = (0.98, 0.90, 0.99, 1.00, 1.04, 0.99, 1.02, 1.01, 1.00, 1.01, 1.00, 1.08)

CATEGORIES = seoul.MERCHANT_CATEGORIES
DONG_NAMES = tuple(dong for d in seoul.DISTRICTS for dong in d.dongs)
DONG_DISTRICT = np.array([i for i, d in enumerate(seoul.DISTRICTS) for _ in d.dongs])

# streams of the year (month YEAR_STREAM)
CARD_STREAM, MERCHANT_STREAM, PSEUDONYM_STREAM = 0, 1, 2
# in each month: stream 0 plans the days, chunks use 1, 2, ...
PLAN_STREAM = 0


@dataclass(frozen=True)
class Cards:
    """The cardholders, one entry per card."""

    key: np.ndarray  # uint64, shown as the pseudonymous card number
    age: np.ndarray  # index into AGE_BANDS
    gender: np.ndarray  # index into GENDERS
    home: np.ndarray  # index into DISTRICTS
    whale: np.ndarray  # bool
    activity: np.ndarray  # `sampling.cumulative` of how often each card is used


@dataclass(frozen=True)
class Merchants:
    """The merchants, sorted by (district, category) block."""

    number: np.ndarray  # shown as the merchant id
    district: np.ndarray
    dong: np.ndarray  # index into DONG_NAMES
    category: np.ndarray
    popularity: np.ndarray  # `sampling.cumulative` of popularity within each block


@dataclass(frozen=True)
class Population:
    """What lasts the whole year: the cards and the merchants."""

    seed: int
    scale: float
    cards: Cards
    merchants: Merchants


def population(seed: int, scale: float) -> Population:
    """The year's cards and merchants for `seed` and `scale`."""
    cards = _cards(random_stream(seed, DATASET, YEAR_STREAM, CARD_STREAM), seed, scale)
    merchants = _merchants(random_stream(seed, DATASET, YEAR_STREAM, MERCHANT_STREAM), scale)
    return Population(seed, scale, cards, merchants)


def partition(schema: pa.Schema, population: Population, month: Month) -> Iterator[pa.Table]:
    """The month's transactions, a chunk at a time, in time order within each chunk."""
    per_day = _transactions_per_day(population, month)
    ends = np.cumsum(per_day)
    for chunk, (start, stop) in enumerate(chunks(int(ends[-1])), start=1):
        rng = random_stream(population.seed, DATASET, month.number, chunk)
        day = np.searchsorted(ends, np.arange(start, stop), side="right")
        yield table(schema, _transactions(rng, population, month, day, start))


def _cards(rng: np.random.Generator, seed: int, scale: float) -> Cards:
    """The cardholders; card numbers are a keyed scramble of 0, 1, 2, ... (distinct, not sequential)."""
    n = max(100, round(CARDS_PER_SCALE * scale))
    age = rng.choice(len(seoul.AGE_BANDS), n, p=_normalized(seoul.CARDHOLDER_AGE_SHARE)).astype(np.int8)
    gender = (rng.random(n) < 0.49).astype(np.int8)  # 0 F, 1 M
    home = rng.choice(len(seoul.DISTRICTS), n, p=_normalized(list(seoul.POPULATION_WEIGHT.values())))
    whale = np.zeros(n, dtype=bool)
    whale[rng.choice(n, max(1, round(n * WHALE_SHARE)), replace=False)] = True
    activity = np.where(whale, WHALE_ACTIVITY, rng.lognormal(0.0, 1.0, n)) * np.asarray(seoul.SPENDING_BY_AGE)[age]
    key = np.random.SeedSequence([seed, DATASET, YEAR_STREAM, PSEUDONYM_STREAM]).generate_state(1, np.uint64)[0]
    return Cards(
        key=scrambled(np.arange(n), int(key)),
        age=age,
        gender=gender,
        home=home.astype(np.int8),
        whale=whale,
        activity=sampling.cumulative(activity, np.zeros(n, dtype=np.int64)),
    )


def _merchants(rng: np.random.Generator, scale: float) -> Merchants:
    """Merchants per (district, category) block: at least one in each, so every draw finds one."""
    share = np.array([c.share for c in CATEGORIES]) ** 0.7  # rare trades: few merchants, each little used
    expected = MERCHANTS_PER_SCALE * scale * _normalized(share) * _merchant_places()
    per_block = np.maximum(1, rng.poisson(expected)).ravel()
    block = np.repeat(np.arange(per_block.size), per_block)
    district, category = np.divmod(block, len(CATEGORIES))
    dong_weights = rng.lognormal(0.0, 0.7, len(DONG_NAMES))
    dong = sampling.draw(rng, sampling.cumulative(dong_weights, DONG_DISTRICT), district)
    return Merchants(
        number=rng.permutation(block.size),
        district=district.astype(np.int8),
        dong=dong.astype(np.int16),
        category=category.astype(np.int8),
        popularity=sampling.cumulative(rng.lognormal(0.0, 1.0, block.size), block),
    )


def _merchant_places() -> np.ndarray:
    """(district, category): where each category's merchants are, each column summing to 1.

    Everyday trades follow the residents, destination trades the business districts.
    """
    residents = _normalized(list(seoul.POPULATION_WEIGHT.values()))
    business = _normalized(list(seoul.BUSINESS_WEIGHT.values()))
    local = np.array([c.local for c in CATEGORIES])
    return residents[:, None] * local + business[:, None] * (1 - local)


def _transactions_per_day(population: Population, month: Month) -> np.ndarray:
    """How many transactions each day of the month has (Poisson around the rhythm)."""
    year = np.concatenate([_day_weights(m) for m in MONTHS])
    rate = TRANSACTIONS_PER_SCALE * population.scale * _day_weights(month) / year.sum()
    return random_stream(population.seed, DATASET, month.number, PLAN_STREAM).poisson(rate)


def _day_weights(month: Month) -> np.ndarray:
    """Each day's share of spending: its weekday's rhythm (a holiday's is Sunday's) and the season."""
    weights = np.asarray(WEEKDAY_RHYTHM)[month.weekdays()] * SEASON[month.number - 1]
    return np.where(_holidays(month), WEEKDAY_RHYTHM[6] * SEASON[month.number - 1], weights)


def _days_off(month: Month) -> np.ndarray:
    return (month.weekdays() >= 5) | _holidays(month)


def _holidays(month: Month) -> np.ndarray:
    return np.isin(month.dates(), np.array(sorted(seoul.HOLIDAYS), dtype="datetime64[D]"))


def _transactions(rng: np.random.Generator, population: Population, month: Month, day: np.ndarray, first: int) -> dict:
    """One chunk of transactions, as catalog columns; `first` numbers the chunk's first row."""
    cards, merchants = population.cards, population.merchants
    card = sampling.draw(rng, cards.activity, np.zeros(len(day), dtype=np.int64))
    day_off = _days_off(month)[day]
    category = _categories(rng, cards, card, day_off)
    second = day * 86_400 + _hours(rng, category, day_off) * 3_600 + rng.integers(0, 3_600, len(day))
    block = _districts(rng, cards, card, category) * len(CATEGORIES) + category
    merchant = sampling.draw(rng, merchants.popularity, block)
    amount = _amounts(rng, category, cards.whale[card])

    order = np.argsort(second, kind="stable")
    card, category, second, merchant, amount = (a[order] for a in (card, category, second, merchant, amount))
    return {
        "txn_id": numbered(f"T{month.label[2:4]}{month.number:02d}", first + np.arange(len(day)), width=10),
        "card_id": hexed("C", cards.key[card]),
        "txn_time": month.first.astype("datetime64[s]") + second,
        "txn_date": (month.first + second // 86_400).astype("datetime64[D]"),
        "hour": (second // 3_600 % 24).astype(np.int8),
        "district": labels(seoul.DISTRICT_NAMES, merchants.district[merchant]),
        "dong": labels(DONG_NAMES, merchants.dong[merchant]),
        "category": labels([c.name for c in CATEGORIES], category),
        "merchant_id": numbered("M", merchants.number[merchant], width=8),
        "amount": amount,
        "age_band": labels(seoul.AGE_BANDS, cards.age[card]),
        "gender": labels(seoul.GENDERS, cards.gender[card]),
        "home_district": labels(seoul.DISTRICT_NAMES, cards.home[card]),
    }


def _categories(rng: np.random.Generator, cards: Cards, card: np.ndarray, day_off: np.ndarray) -> np.ndarray:
    """What each transaction buys: by the cardholder's age and gender and the kind of day.

    A whale buys luxury half the time.
    """
    group = (cards.age[card].astype(np.int64) * 2 + cards.gender[card]) * 2 + day_off
    category = sampling.draw_from_table(rng, _category_table(), group, len(CATEGORIES))
    luxury = np.flatnonzero([c.luxury for c in CATEGORIES])
    splurge = cards.whale[card] & (rng.random(len(card)) < WHALE_LUXURY_SHARE)
    category[splurge] = rng.choice(luxury, int(splurge.sum()))
    return category


def _category_table() -> np.ndarray:
    """`sampling.table` of category weights for each (age, gender, day off) group."""
    share = np.array([c.share for c in CATEGORIES])
    older = np.array([c.older for c in CATEGORIES])
    female = np.array([c.female for c in CATEGORIES])
    day_off_tilt = np.array([c.day_off for c in CATEGORIES])
    rows = []
    for age in range(len(seoul.AGE_BANDS)):
        age_z = (age - 2.5) / 2.5
        for gender_sign in (0.5, -0.5):  # F, M
            weekday = share * np.exp(older * age_z + female * gender_sign)
            rows += [weekday, weekday * day_off_tilt]
    return sampling.table(np.array(rows))


def _hours(rng: np.random.Generator, category: np.ndarray, day_off: np.ndarray) -> np.ndarray:
    """The hour of each transaction, from its category's profile for the kind of day."""
    profiles = np.array([c.hours for c in CATEGORIES])
    day_off_profiles = profiles * np.asarray(seoul.DAY_OFF_HOURS)
    both = np.stack([profiles, day_off_profiles], axis=1).reshape(-1, 24)
    return sampling.draw_from_table(rng, sampling.table(both), category * 2 + day_off, 24)


def _districts(rng: np.random.Generator, cards: Cards, card: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Where each transaction happens: near home for everyday trades, else mostly downtown."""
    n = len(card)
    near_home = rng.random(n) < np.array([c.local for c in CATEGORIES])[category]
    downtown = rng.random(n) < BUSINESS_TRIP
    business = rng.choice(len(seoul.DISTRICTS), n, p=_normalized(list(seoul.BUSINESS_WEIGHT.values())))
    anywhere = rng.choice(len(seoul.DISTRICTS), n, p=_normalized(list(seoul.POPULATION_WEIGHT.values())))
    return np.where(near_home, cards.home[card], np.where(downtown, business, anywhere)).astype(np.int64)


def _amounts(rng: np.random.Generator, category: np.ndarray, whale: np.ndarray) -> np.ndarray:
    """Log-normal per category, a whale's luxury buys some 15 times larger; 10-won steps, at least 100."""
    median = np.log([c.median for c in CATEGORIES])[category]
    sigma = np.array([c.sigma for c in CATEGORIES])[category]
    amount = np.exp(median + sigma * rng.standard_normal(len(category)))
    luxury = whale & np.array([c.luxury for c in CATEGORIES])[category]
    amount[luxury] *= rng.lognormal(*WHALE_MULTIPLIER, int(luxury.sum()))
    return np.maximum(100, np.round(amount / 10) * 10).astype(np.int64)


def _normalized(weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    return weights / weights.sum()
