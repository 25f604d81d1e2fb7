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

The cell key is defined without any engine's own hash, so that every engine gives the
same cell the same key, hence the same noise: each entity's *share* is the first eight
bytes of the MD5 digest of the UTF-8 text ``<entity>:<records>`` (the entity id as text,
its number of records in the cell in decimal; just ``<records>`` for a missing id), read
as a little-endian unsigned 64-bit number, and the cell key is the XOR of its entities'
shares. `share` is that definition in Python; each engine writes it in its own SQL.
"""

from __future__ import annotations

import hashlib
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
