"""Seeded noise that stops differencing and averaging, with an error bar on every value.

**One protected quantity, one noise.** A released number is a function of protected
numbers only, and each protected quantity is protected once, whatever it is called:

**Counts** carry a *cell key*: a fingerprint of exactly who is in the cell (and how many
records each has). A count is randomly rounded to the rounding base, up or down as the
key, the secret and the count itself decide (unbiased; `released_count`), so asking the
same cell again gives the same count, every statistic counting the same records of a
cell (``count(*)``, ``count(txn_date)``, ``count(hour)`` ...) gives the same rounded
count, and two cells differing by one person are rounded independently.

**Sums** are released by *noise infusion* (as the US Census Bureau's County Business
Patterns are): every entity has one secret factor for all its measures in a dataset,
``1 ± (a + (b - a)·v)``, with the sign and ``v`` in [0, 1) drawn from the entity's id,
the dataset and the noise key (`draw`, `factor`), and a released sum is the sum of its
entities' contributions each times its factor, to a precision its error bar sets
(`precision`). ``a`` and ``b`` are the widest ``noise_at_least`` and ``noise_at_most``
that the dataset's catalog entry, grants or terms ask for, so an entity is never
released under two widths. So:

* the same cell always gets the same sum (averaging repeats gains nothing);
* a difference of any two cells that differ by one person gives that person's value
  times *their* factor, the same in every pair and for every measure (measures that add
  up to each other add up after noise too): averaging any number of pairs, or splitting
  a measure, leaves it at least ``a`` (10%) away from the truth, in a direction nobody
  outside can tell;
* in a cell of many contributors the factors' moves largely cancel: the error's
  standard deviation is ``spread(a, b)·sqrt(sum of squared contributions)``.

Every released value has an **error bar**: the half-width of a 95% interval around it.
For a sum it is ``1.96·spread(a, b)·sqrt(sum of squared contributions)``, the squares
bounded from above by the noisy contributions' (each entity's contribution times its
factor, as in the sum) over ``(1 - b)²``, rounded *up* to a step of 1, 1.5,
2, 3, 5 or 7 times a power of ten (`step_up`), so it never locates the cell's
contributions more closely than a factor of 1.33 (well beyond the p-ratio's 10%); for a
count it is ``base - 1`` (rounding moves it less); for an average (the released sum over
the released count) it follows from those two.

The mechanism and its parameters are public (`factor`, `draw`); only the noise key is
secret, and it never appears in SQL (engines get it as a bound parameter).

The cell key is defined without any engine's own hash, so that every engine gives the
same cell the same key, hence the same noise: each entity's *share* is the first eight
bytes of the MD5 digest of the UTF-8 text ``<entity>:<records>`` (the entity id as text,
its number of records in the cell in decimal; just ``<records>`` for a missing id), read
as a little-endian unsigned 64-bit number, and the cell key is the XOR of its entities'
shares. `share` is that definition in Python; each engine writes it in its own SQL. An
entity's draw is defined the same way from ``<noise key>:<dataset>:<entity>``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import numpy as np

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def share(entity: str | int | None, records: int) -> int:
    """One entity's share of a cell key: MD5 of ``<entity>:<records>``, first 8 bytes, little-endian.

    >>> share("C000123", 4)
    2805254151457483215
    """
    text = f"{records}" if entity is None else f"{entity}:{records}"
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "little")


def cell_key(members: Iterable[tuple[str | int | None, int]]) -> int:
    """The key of a cell holding these (entity, records) pairs: the XOR of their shares.

    >>> cell_key([("a", 1), ("b", 2)]) == share("a", 1) ^ share("b", 2)
    True
    """
    key = 0
    for entity, records in members:
        key ^= share(entity, records)
    return key


def as_unsigned(keys: np.ndarray) -> np.ndarray:
    """Cell keys as unsigned 64-bit numbers, whether an engine gave them signed or not.

    >>> as_unsigned(np.array([-1], dtype=np.int64))
    array([18446744073709551615], dtype=uint64)
    """
    return np.asarray(keys).astype(np.int64 if np.asarray(keys).dtype.kind == "i" else np.uint64).view(np.uint64)


def uniform(cellkey: np.ndarray, secret: int, salt) -> np.ndarray:
    """A number in [0, 1) per cell, fixed by the cell key, the secret and the salt (one
    for all cells, or one per cell).

    >>> u = uniform(np.array([1, 2, 1], dtype=np.uint64), secret=7, salt=0)
    >>> bool(u[0] == u[2]), bool(u[0] != u[1]), bool(((0 <= u) & (u < 1)).all())
    (True, True, True)
    """
    with np.errstate(over="ignore"):
        z = cellkey.astype(np.uint64) ^ np.uint64(secret & 0xFFFFFFFFFFFFFFFF)
        salted = np.asarray(salt).astype(np.int64).astype(np.uint64) + np.uint64(1)
        z = (z + np.uint64(0x9E3779B97F4A7C15) * salted) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def random_round(values: np.ndarray, base: int, u: np.ndarray) -> np.ndarray:
    """Round each value down or up to a multiple of `base`, up with probability frac.

    >>> random_round(np.array([12, 12, 15]), 5, np.array([0.1, 0.9, 0.5]))
    array([15, 10, 15])
    """
    values = np.asarray(values, dtype=np.int64)
    low = (values // base) * base
    frac = (values - low) / base
    return np.where(u < frac, low + base, low)


def released_count(counts: np.ndarray, base: int, cellkey: np.ndarray, secret: int) -> np.ndarray:
    """Counts of cells as released: each randomly rounded to `base` by a draw fixed by
    the cell's key, the secret and the count itself, so one count of a cell is rounded
    once, whatever statistic names it.

    >>> keys, counts = np.array([5, 5, 6], dtype=np.uint64), np.array([37, 37, 37])
    >>> r = released_count(counts, 5, keys, secret=7)
    >>> bool(r[0] == r[1]), set(r.tolist()) <= {35, 40}
    (True, True)
    """
    counts = np.asarray(counts, dtype=np.int64)
    return random_round(counts, base, uniform(cellkey, secret, counts))


def precision(half_width, integral: bool = False):
    """The step a noisy sum is released to: a hundredth of its error bar's power of ten
    (whole numbers for a sum of whole numbers), so a released sum carries no digit finer
    than its noise; 0 (no rounding) where the error bar is 0.

    >>> precision(np.array([50_000.0, 1.5, 0.0, 7.0]), integral=True).tolist()
    [100.0, 1.0, 0.0, 1.0]
    >>> precision(np.array([1.5]), integral=False).tolist()
    [0.01]
    """
    half_width = np.asarray(half_width, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = 10.0 ** (np.floor(np.log10(np.where(half_width > 0, half_width, 1.0))) - 2)
    if integral:
        unit = np.maximum(unit, 1.0)
    return np.where(half_width > 0, unit, 0.0)


def to_precision(values, unit):
    """Each value rounded to its step (`precision`); a step of 0 leaves it as it is.

    >>> to_precision(np.array([123_456.7, 2.345, 9.9]), np.array([100.0, 0.01, 0.0])).tolist()
    [123500.0, 2.35, 9.9]
    """
    values, unit = np.asarray(values, dtype=np.float64), np.asarray(unit, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        stepped = np.round(values / np.where(unit > 0, unit, 1.0)) * unit
    # A step below 1 is a power of ten: round to its decimals, so 2.35 is not 2.3500000000000001.
    decimals = np.clip(-np.floor(np.log10(np.where(unit > 0, unit, 1.0))), 0, 15).astype(int)
    stepped = np.array([round(v, d) for v, d in zip(stepped.tolist(), decimals.tolist())]) if len(stepped) else stepped
    return np.where(unit > 0, stepped, values)


def draw_key(secret: int, purpose: bytes) -> str:
    """The noise key the draws use, derived from the caller's secret and what the key is
    for (`purpose`: keys for different uses of one secret differ); hex, and as secret.

    >>> len(draw_key(7, b"noise")), draw_key(7, b"noise") == draw_key(7, b"noise") != draw_key(8, b"noise")
    (64, True)
    >>> draw_key(7, b"noise") != draw_key(7, b"other")
    True
    """
    return hmac.new(secret.to_bytes(32, "big", signed=True), purpose, hashlib.sha256).hexdigest()


def draw(key: str, dataset: str, entity: str | int | None) -> float:
    """An entity's secret number in [0, 1) in `dataset` (one for all its measures there):
    MD5 of ``<key>:<dataset>:<entity>``, its first 8 bytes little-endian, the top 53 bits
    over 2**53.

    >>> 0 <= draw("k", "card_usage", "C000123") < 1, draw("k", "card_usage", "C1") == draw("k", "card_usage", "C1")
    (True, True)
    """
    text = ":".join(str(p) for p in (key, dataset, entity) if p is not None)
    return (int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "little") >> 11) / float(1 << 53)


def factor(v, at_least: float, at_most: float):
    """The noise factor of an entity with draw `v`: down when v < 1/2, else up, by a share
    of itself between `at_least` and `at_most`.

    >>> factor(np.array([0.0, 0.25, 0.5, 0.75]), 0.1, 0.2).round(3).tolist()
    [0.9, 0.85, 1.1, 1.15]
    """
    v = np.asarray(v, dtype=np.float64)
    up = v >= 0.5
    move = at_least + (at_most - at_least) * np.where(up, 2 * v - 1, 2 * v)
    return np.where(up, 1 + move, 1 - move)


def spread(at_least: float, at_most: float) -> float:
    """The standard deviation of a factor's move, ``sqrt((a² + ab + b²) / 3)``.

    >>> round(spread(0.1, 0.2), 4)
    0.1528
    """
    return float(np.sqrt((at_least**2 + at_least * at_most + at_most**2) / 3))


STEPS = np.array([1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0])  # each at least 1.33 times the one before


def step_up(x):
    """Each value rounded up to a step (1, 1.5, 2, 3, 5 or 7 times a power of ten; 0 stays 0).

    >>> step_up(np.array([0.0, 0.8, 1.0, 1.2, 3.1, 7.5, 42_000.0])).tolist()
    [0.0, 1.0, 1.0, 1.5, 5.0, 10.0, 50000.0]
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        power = 10.0 ** np.floor(np.log10(np.where(x > 0, x, 1.0)))
        mantissa = x / power
        step = STEPS[np.clip(np.searchsorted(STEPS, mantissa * (1 - 1e-12)), 0, len(STEPS) - 1)]
    return np.where(x > 0, step * power, 0.0)


def sum_half_width(squares, at_least: float, at_most: float):
    """The released 95% half-width of a noise-infused sum whose noisy contributions (each
    times its factor) have these squares summed: a function of protected values only.
    A factor is at least ``1 - at_most``, so the squares over its square bound the true
    squares from above, and the error bar is never narrower than the noise's 1.96 sd.

    >>> sum_half_width(np.array([85.0**2 * 400]), 0.1, 0.15).tolist()  # 400 noisy contributions of 85
    [500.0]
    """
    squares = np.maximum(np.asarray(squares, dtype=np.float64), 0) / (1 - at_most) ** 2
    return step_up(1.96 * spread(at_least, at_most) * np.sqrt(squares))
