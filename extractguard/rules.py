"""The disclosure rules, one small function each, applied to whole columns of cells.

Each rule takes the cells' statistics as numpy arrays and returns a boolean mask of
the cells that fail it. ``CELL_RULES`` withhold a whole cell; ``MAGNITUDE_RULES``
withhold a sum or average. Defaults come from the field (ACRO, OpenSAFELY); the
parameters arrive from the policy decision (``Disclosure``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Disclosure:
    """The rules' parameters (the catalog's defaults, tightened by a grant)."""

    min_entities: int = 10
    dominance_n: int = 2
    dominance_k: float = 0.9
    p_ratio: float = 0.10
    rounding_base: int = 5

    @classmethod
    def of(cls, values) -> "Disclosure":
        """From a mapping or any object with the same attributes (a policy decision's terms)."""
        if values is None:
            return cls()
        get = values.get if isinstance(values, dict) else lambda k: getattr(values, k, None)
        return cls(**{k: get(k) for k in cls.__dataclass_fields__ if get(k) is not None})


def min_entities(entities: np.ndarray, p: Disclosure) -> np.ndarray:
    """A cell with fewer than ``min_entities`` distinct entities fails.

    >>> min_entities(np.array([3, 10, 250]), Disclosure())
    array([ True, False, False])
    """
    return entities < p.min_entities


def dominance(top: np.ndarray, total: np.ndarray, p: Disclosure) -> np.ndarray:
    """N-K rule: the N largest contributors hold at least K of the cell's total.

    ``top`` has one row per cell: the largest absolute contributions, largest first.

    >>> dominance(np.array([[95., 2.], [40., 30.]]), np.array([100., 100.]), Disclosure())
    array([ True, False])
    """
    share = top[:, : p.dominance_n].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, share / total >= p.dominance_k, False)


def p_ratio(top: np.ndarray, total: np.ndarray, p: Disclosure) -> np.ndarray:
    """p% rule: the rest of the cell, (total - top1 - top2), is within p of top1.

    The second-largest contributor could then estimate the largest too closely.

    >>> p_ratio(np.array([[80., 15.], [50., 20.]]), np.array([100., 100.]), Disclosure())
    array([ True, False])
    """
    rest = total - top[:, 0] - top[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(top[:, 0] > 0, rest / top[:, 0] < p.p_ratio, False)


def zeros(total: np.ndarray, p: Disclosure) -> np.ndarray:
    """A total of exactly zero tells that every contributor had nothing: review it.

    >>> zeros(np.array([0, 12]), Disclosure())
    array([ True, False])
    """
    return total == 0


def all_same(smallest: np.ndarray, largest: np.ndarray, p: Disclosure) -> np.ndarray:
    """Every entity contributed the same value: the average is each one's value.

    >>> all_same(np.array([5, 1]), np.array([5, 9]), Disclosure())
    array([ True, False])
    """
    return smallest == largest


@dataclass(frozen=True)
class Rule:
    name: str
    test: Callable[..., np.ndarray]
    reason: str


CELL_RULES = [
    Rule("min_entities", min_entities, "fewer than {min_entities} distinct {entity}s"),
]
MAGNITUDE_RULES = [
    Rule("dominance", dominance, "the top {dominance_n} {entity}s hold {dominance_pct}% or more of the total"),
    Rule("p_ratio", p_ratio, "the rest of the cell is within {p_ratio_pct}% of the largest {entity}'s value"),
    Rule("zeros", zeros, "the total is zero"),
    Rule("all_same", all_same, "every {entity} contributed the same value"),
]


def secondary(withheld: np.ndarray, keys: list[np.ndarray], size: np.ndarray) -> np.ndarray:
    """Cells to withhold as well, so a margin cannot re-derive a withheld cell.

    Along every key, within each group of cells that share the other keys, a group
    with exactly one withheld cell has its smallest released cell withheld too; repeat
    until nothing changes. ``size`` (distinct entities) picks the cell that costs least.

    >>> secondary(np.array([True, False, False]), [np.array(["a", "b", "c"])], np.array([3, 40, 20]))
    array([False, False,  True])
    """
    withheld = withheld.copy()
    added = np.zeros_like(withheld)
    if len(withheld) < 2:
        return added
    groups = [_group_ids([k for j, k in enumerate(keys) if j != i], len(withheld)) for i in range(max(len(keys), 1))]
    changed = True
    while changed:
        changed = False
        for group in groups:
            for g in np.unique(group[withheld]):
                members = np.flatnonzero(group == g)
                if withheld[members].sum() == 1 and len(members) > 1:
                    candidates = members[~withheld[members]]
                    pick = candidates[np.argmin(size[candidates])]
                    withheld[pick] = added[pick] = changed = True
    return added


def _group_ids(keys: list[np.ndarray], n: int) -> np.ndarray:
    if not keys:
        return np.zeros(n, dtype=np.int64)
    stacked = np.stack([np.unique(k.astype(str), return_inverse=True)[1] for k in keys], axis=1)
    return np.unique(stacked, axis=0, return_inverse=True)[1].reshape(-1)
