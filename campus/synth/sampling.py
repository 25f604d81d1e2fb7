"""Vectorized draws: for each row, an item chosen from the distribution of the row's group.

Items are laid out group after group; `cumulative` turns their weights into one sorted
array (group number + cumulative share within the group) so a single ``searchsorted``
draws for every row at once, whatever group it is in.

>>> cum = cumulative(np.array([1.0, 3.0, 0.0, 2.0]), np.array([0, 0, 1, 1]))
>>> cum.tolist()
[0.25, 1.0, 1.0, 2.0]
>>> rng = np.random.default_rng(0)
>>> sorted(set(draw(rng, cum, np.ones(100, dtype=np.int64)).tolist()))  # group 1 never draws its weight-0 item
[3]
"""

from __future__ import annotations

import numpy as np

BIG_TABLE = 1 << 14  # above this many items, sorting the lookups first is faster (same result)


def cumulative(weights: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """For items sorted by group (0, 1, 2, ... none empty): group + cumulative share in the group."""
    if np.any(np.diff(groups) < 0):
        raise ValueError("items must be sorted by group")
    running = np.cumsum(np.asarray(weights, dtype=np.float64))
    ends = np.r_[np.flatnonzero(np.diff(groups)), len(groups) - 1]  # each group's last item
    sizes = np.diff(np.r_[-1, ends])
    before = np.repeat(np.r_[0.0, running[ends[:-1]]], sizes)
    total = np.repeat(running[ends], sizes) - before
    if np.any(total <= 0):
        raise ValueError("every group needs an item with a positive weight")
    cum = groups + (running - before) / total
    cum[ends] = groups[ends] + 1.0  # exactly, so a draw never spills into the next group
    return cum


def draw(rng: np.random.Generator, cum: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """For each row, the index of an item of the row's group, chosen by the items' weights."""
    values = groups + rng.random(len(groups))
    if len(cum) < BIG_TABLE:
        return np.searchsorted(cum, values, side="right")
    order = np.argsort(values)  # looked up in order, a big table is walked, not jumped around in
    picked = np.empty(len(values), dtype=np.intp)
    picked[order] = np.searchsorted(cum, values[order], side="right")
    return picked


def table(weights: np.ndarray) -> np.ndarray:
    """`cumulative` for a matrix whose row g holds the weights of group g's items."""
    rows, items = weights.shape
    return cumulative(weights.ravel(), np.repeat(np.arange(rows), items))


def draw_from_table(rng: np.random.Generator, cum: np.ndarray, groups: np.ndarray, items: int) -> np.ndarray:
    """For each row, the column of the table `cum` drawn from the row's group (row)."""
    return draw(rng, cum, groups) - groups * items
