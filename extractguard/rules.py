"""The disclosure rules, one small function each, applied to whole columns of cells.

Each rule takes the cells' statistics as numpy arrays and returns a boolean mask of
the cells that fail it. ``CELL_RULES`` decide whether a cell exists in a released
table at all; ``MAGNITUDE_RULES`` withhold a sum or average of a cell that does.
Defaults come from the field (ACRO, OpenSAFELY); the parameters arrive from the
policy decision (``Disclosure``), one value for every cell or one per cell (where
stricter terms cover some cells' rows, see ``Disclosure.per_cell``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable

import numpy as np

#: How each parameter gets stricter: a grant or scoped term may move it only this way.
TIGHTER = {"min_entities": "higher", "dominance_n": "higher", "dominance_k": "lower", "p_ratio": "higher",
           "rounding_base": "higher", "noise_at_least": "higher", "noise_at_most": "higher", "max_cells": "lower"}


def _parameter(default, description: str, **bounds):
    """A parameter with its description and bounds, which pydantic reads when a catalog or
    a grant holds a `Disclosure` (no pydantic needed here)."""
    return field(default=default, metadata={"description": description, **bounds})


@dataclass(frozen=True)
class Disclosure:
    """The rules' parameters: a dataset's defaults, which grants and terms only tighten.

    This one model is what the catalog declares, what a grant tightens (any subset of
    it, see `loosened_by`) and what the rules read.
    """

    __pydantic_config__ = {"extra": "forbid"}

    min_entities: int = _parameter(10, "Fewest distinct entities a released cell may have.", ge=1)
    dominance_n: int = _parameter(2, "N of the N-K dominance rule: the top N contributors...", ge=1)
    dominance_k: float = _parameter(0.9, "...may not hold this share of a cell's total.", gt=0, le=1)
    p_ratio: float = _parameter(0.10, "A cell fails if (total - top1 - top2) / top1 is below this.", ge=0, le=1)
    rounding_base: int = _parameter(5, "Released counts are rounded to a multiple of this.", ge=1)
    noise_at_least: float = _parameter(
        0.10, "Each contributor's part of a released sum is moved, up or down, by at least this share of itself...",
        ge=0, lt=1)
    noise_at_most: float = _parameter(0.15, "...and at most this share (see extractguard.noise).", gt=0, lt=1)
    max_cells: int = _parameter(
        250_000, "Most cells one aggregate may have; a query with more is refused, saying how to narrow.", ge=1)

    def __post_init__(self):
        if np.ndim(self.noise_at_most) == 0 and self.noise_at_most < self.noise_at_least:
            raise ValueError(f"noise_at_most ({self.noise_at_most}) must be at least noise_at_least "
                             f"({self.noise_at_least})")

    @classmethod
    def of(cls, values) -> "Disclosure":
        """From a mapping or any object with the same attributes (a policy decision's terms)."""
        if values is None:
            return cls()
        get = values.get if isinstance(values, dict) else lambda k: getattr(values, k, None)
        return cls(**{f.name: get(f.name) for f in fields(cls) if get(f.name) is not None})

    def strictest(self, other: "Disclosure") -> "Disclosure":
        """The stricter of the two for every parameter.

        >>> d = Disclosure(min_entities=20).strictest(Disclosure(dominance_k=0.8, noise_at_most=0.3))
        >>> d.min_entities, d.dominance_k, d.noise_at_most
        (20, 0.8, 0.3)
        """
        return Disclosure(**{f.name: _STRICTER[f.name](getattr(self, f.name), getattr(other, f.name))
                             for f in fields(self)})

    def stricter_in(self, other: "Disclosure") -> list[str]:
        """The parameters `other` makes stricter than these, as ``name value``.

        >>> Disclosure().stricter_in(Disclosure(min_entities=20, dominance_k=0.95))
        ['min_entities 20']
        """
        return [f"{f.name} {getattr(other, f.name)}" for f in fields(self)
                if _STRICTER[f.name](getattr(self, f.name), getattr(other, f.name)) != getattr(self, f.name)]

    def loosened_by(self, tightening: dict) -> list[str]:
        """A sentence for each value of `tightening` (some parameters) looser than these.

        >>> Disclosure().loosened_by({"min_entities": 5})
        ["min_entities 5 would loosen the dataset's 10; a grant may only tighten it (10 or higher)"]
        """
        return [
            f"{name} {value} would loosen the dataset's {getattr(self, name)}; "
            f"a grant may only tighten it ({getattr(self, name)} or {TIGHTER[name]})"
            for name, value in tightening.items()
            if value is not None and _STRICTER[name](getattr(self, name), value) != value
        ]

    def per_cell(self, covered: list[tuple[np.ndarray, "Disclosure"]], cells: int) -> "Disclosure":
        """Per-cell parameters: each cell gets the strictest of these and of every scoped
        term whose rows it holds (``covered``: a mask of cells, and the term's parameters).

        >>> d = Disclosure().per_cell([(np.array([True, False]), Disclosure(min_entities=20))], 2)
        >>> d.min_entities.tolist(), d.dominance_k.tolist()
        ([20, 10], [0.9, 0.9])
        """
        values = {f.name: np.full(cells, getattr(self, f.name)) for f in fields(self)}
        for mask, term in covered:
            for name, array in values.items():
                stricter = np.maximum if TIGHTER[name] == "higher" else np.minimum
                values[name] = np.where(mask, stricter(array, getattr(term, name)), array)
        return Disclosure(**values)


_STRICTER = {name: max if direction == "higher" else min for name, direction in TIGHTER.items()}


def infusion(rules: Disclosure, scoped: list[Disclosure] = ()) -> tuple[float, float]:
    """The noise bounds of one aggregate's sums: the strictest of its terms and of every
    scoped term (a contributor's factor is one for all cells, so it cannot vary by cell).

    >>> infusion(Disclosure(), [Disclosure(noise_at_least=0.15, noise_at_most=0.3)])
    (0.15, 0.3)
    """
    return (max([rules.noise_at_least, *[s.noise_at_least for s in scoped]]),
            max([rules.noise_at_most, *[s.noise_at_most for s in scoped]]))


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
    n = np.broadcast_to(np.asarray(p.dominance_n), total.shape)
    share = np.where(np.arange(top.shape[1]) < n[:, None], top, 0.0).sum(axis=1)
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
    """A rule: its name, its test, the statistics the test reads (in order, before the
    parameters), and its reason in a steward's words."""

    name: str
    test: Callable[..., np.ndarray]
    reads: tuple[str, ...]
    reason: str


CELL_RULES = [
    Rule("min_entities", min_entities, ("entities",), "fewer than {min_entities} distinct {entity}s"),
]
MAGNITUDE_RULES = [
    Rule("dominance", dominance, ("top", "total"),
         "the top {dominance_n} {entity}s hold {dominance_pct}% or more of the total"),
    Rule("p_ratio", p_ratio, ("top", "total"), "the rest of the cell is within {p_ratio_pct}% of the largest {entity}'s value"),
    Rule("zeros", zeros, ("total",), "the total is zero"),
    Rule("all_same", all_same, ("smallest", "largest"), "every {entity} contributed the same value"),
]
SECONDARY = Rule("secondary", None, (), "withheld so that totals cannot reveal another withheld cell")


class Margins:
    """A table's margins: along every key, the groups of cells that share all the other keys.

    Built once per table and used by every call of `secondary` on it; ``size``
    (distinct entities) orders each group's cells, the cheapest to withhold first.
    """

    def __init__(self, keys: list, size: np.ndarray):
        self.cells = n = len(size)
        index = np.arange(n)
        self.groupings = []
        for i in range(max(len(keys), 1)):
            group = _group_ids([k for j, k in enumerate(keys) if j != i], n)
            self.groupings.append((group, np.lexsort((index, size, group)), np.bincount(group)))


def secondary(withheld: np.ndarray, margins: Margins, deadline=None, values=(), protection=0.0) -> np.ndarray:
    """Cells to withhold as well, so a margin cannot re-derive a withheld cell, nor bound
    its value closer than the rules ask.

    Along every key, within each group of cells that share the other keys (a margin):

    * a group with exactly one withheld cell has its smallest released cell withheld too
      (the fewest entities, the first in order among equals);
    * by value, as tau-ARGUS's protection levels demand: for each of `values` (one
      number per cell and measure, e.g. a cell's total), the other cells withheld in the
      group must add up to at least `protection` (the p-ratio's share) of each primary's
      value, the primaries being the cells `withheld` names. Where they fall short, the
      released cell of the smallest value that covers the shortfall is withheld too (or
      the largest, when none does, and again).

    Repeat until nothing changes. Each pass is a count, a sum and a selection over all
    cells, so the work grows with cells times passes, never with the square of the
    cells; ``deadline()`` is called between passes (it raises to stop).

    >>> secondary(np.array([True, False, False]), Margins([np.array(["a", "b", "c"])], np.array([3, 40, 20])))
    array([False, False,  True])

    By value: the primary's 1000 is not covered by 10, so the cell of 500 is withheld instead.

    >>> m = Margins([np.array(["a", "b", "c"])], np.array([3, 40, 20]))
    >>> secondary(np.array([True, False, False]), m, values=[np.array([1000.0, 500.0, 10.0])], protection=0.1)
    array([False,  True, False])
    """
    primary = withheld.copy()
    withheld = withheld.copy()
    added = np.zeros_like(withheld)
    if margins.cells < 2:
        return added
    values = [np.abs(np.nan_to_num(np.asarray(v, dtype=np.float64))) for v in values]
    share = np.broadcast_to(np.asarray(protection, dtype=np.float64), withheld.shape)
    changed = True
    while changed:
        changed = False
        for group, order, members in margins.groupings:
            if deadline is not None:
                deadline()
            picks = _short_by_value(withheld, primary, group, values, share, len(members))
            lonely = (np.bincount(group, weights=withheld, minlength=len(members)) == 1) & (members > 1)
            lonely[group[picks]] = False  # a group short by value is covered by its pick
            if lonely.any():
                candidates = order[~withheld[order] & lonely[group[order]]]  # by group, then size, then position
                first = np.r_[True, group[candidates][1:] != group[candidates][:-1]]
                picks = np.concatenate([picks, candidates[first]])
            if len(picks):
                withheld[picks] = added[picks] = True
                changed = True
    return added


def _short_by_value(withheld, primary, group, values, share, groups: int) -> np.ndarray:
    """One released cell to withhold in each group whose withheld cells do not cover a
    primary's protection (`secondary`), judged by the first of `values` that falls short."""
    short = np.zeros(groups, dtype=bool)
    picks = []
    for value in values:
        covered = np.bincount(group, weights=np.where(withheld, value, 0.0), minlength=groups)
        need = np.zeros(groups)
        np.maximum.at(need, group[primary], (1 + share[primary]) * value[primary])
        deficit = need - covered
        lacking = (deficit > 1e-9 * np.maximum(need, 1.0)) & ~short
        candidates = np.flatnonzero(~withheld & lacking[group])
        if not len(candidates):
            continue
        candidates = candidates[np.lexsort((candidates, value[candidates], group[candidates]))]
        owner = group[candidates]
        enough = value[candidates] >= deficit[owner]
        largest = candidates[np.r_[owner[1:] != owner[:-1], True]]  # sorted by value within each group
        covering, at = np.unique(owner[enough], return_index=True)  # the smallest that covers the shortfall
        chosen = dict(zip(group[largest].tolist(), largest.tolist()))
        chosen |= dict(zip(covering.tolist(), candidates[enough][at].tolist()))
        short[list(chosen)] = True
        picks.extend(chosen.values())
    return np.asarray(sorted(picks), dtype=np.int64)


def _group_ids(keys: list, n: int) -> np.ndarray:
    """A dense id per distinct combination of `keys` (nulls are a value like any other)."""
    if not keys:
        return np.zeros(n, dtype=np.int64)
    import polars as pl

    frame = pl.DataFrame({f"k{i}": k if isinstance(k, pl.Series) else pl.Series(k, strict=False)
                          for i, k in enumerate(keys)})
    ids = frame.select(pl.struct(frame.columns).rank("dense")).to_series().to_numpy()
    return ids.astype(np.int64) - 1
