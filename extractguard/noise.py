"""Seeded noise that stops differencing and averaging.

Every cell carries a *cell key*: a fingerprint of exactly who is in it (and how many
records each has). The noise of a released value is drawn from that key and the
campus's secret, so

* asking the same question again gives the same answer (averaging repeats gains
  nothing), and
* two cells that differ by one person get unrelated noise, so subtracting them does
  not reveal that person's value (differencing).

Counts are randomly rounded to the rounding base (unbiased, decided by the key); sums
move by up to the largest single contribution in the cell, so no one contributor's
value can be read off a difference of two cells.
"""

from __future__ import annotations

import numpy as np

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def uniform(cellkey: np.ndarray, secret: int, salt: int) -> np.ndarray:
    """A number in [0, 1) per cell, fixed by the cell key, the secret and the salt.

    >>> u = uniform(np.array([1, 2, 1], dtype=np.uint64), secret=7, salt=0)
    >>> bool(u[0] == u[2]), bool(u[0] != u[1]), bool(((0 <= u) & (u < 1)).all())
    (True, True, True)
    """
    with np.errstate(over="ignore"):
        z = cellkey.astype(np.uint64) ^ np.uint64(secret & 0xFFFFFFFFFFFFFFFF)
        z = (z + np.uint64(0x9E3779B97F4A7C15) * np.uint64(salt + 1)) & _MASK
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


def perturb(total: np.ndarray, largest: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Move each total by up to its largest single contribution, up or down.

    >>> perturb(np.array([1000.0]), np.array([50.0]), np.array([0.75]))
    array([1025.])
    """
    return total + (2.0 * u - 1.0) * largest
