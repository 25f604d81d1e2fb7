"""Differential privacy for a table of cells: OpenDP's mechanisms, never hand-written samplers.

The statistics handed here are already *bounded* per entity (the engine did it; see
`Bounds`): each entity counts in at most ``cells`` cells, with at most ``records``
records and a per-cell sum clamped to ``[lower, upper]`` in each. One entity can then
move the whole table by at most (L1): ``cells`` entity counts, ``cells·records`` records,
``cells·max(|lower|, |upper|)`` of a sum.

A query's ε is split evenly between choosing which cells exist (noisy thresholding of the
entity counts: `make_laplace_threshold`, which also costs the δ) and each measure
(`make_laplace` over the released cells). Composition is basic: the ε and δ of every
aggregate of a query add up, and so do those of every query (the ledger sums them).

Every released value's error bar is the Laplace 95% half-width, ``scale·ln(20)``: it
depends only on the public bounds and ε, never on the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HALF_WIDTH_95 = math.log(20)  # P(|Laplace(b)| > b·ln 20) = 5%


@dataclass(frozen=True)
class Bounds:
    """How much one entity may contribute: to how many cells, with how many records in
    each, and each measured column's per-cell sum clamped to [lower, upper]."""

    cells: int
    records: int
    clamp: dict[str, tuple[float, float]]

    def sensitivity(self, kind: str, column: str | None = None) -> float:
        """How far one entity can move a whole table of this measure (L1).

        >>> b = Bounds(cells=4, records=10, clamp={"amount": (0, 500)})
        >>> b.sensitivity("entities"), b.sensitivity("rows"), b.sensitivity("sum", "amount")
        (4, 40, 2000)
        """
        if kind == "entities":
            return self.cells
        if kind in ("rows", "values"):
            return self.cells * self.records
        lower, upper = self.clamp[column]
        return self.cells * max(abs(lower), abs(upper))


@dataclass(frozen=True)
class Spend:
    """What a release cost: ε and δ, and how they were split."""

    epsilon: float
    delta: float


def _opendp():
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


def threshold_cells(entities: np.ndarray, cells_per_entity: int, epsilon: float, delta: float
                    ) -> tuple[np.ndarray, np.ndarray, float]:
    """Which cells exist, by noisy thresholding of their entity counts (OpenDP's
    `make_laplace_threshold`): a boolean mask, the noisy counts (valid where released),
    and the noise scale. The threshold is the smallest that keeps the δ of one entity,
    present in up to `cells_per_entity` cells, within `delta`."""
    dp = _opendp()
    domain = dp.map_domain(dp.atom_domain(T=int), dp.atom_domain(T=int))
    metric = dp.l01inf_distance(dp.absolute_distance(T=int))
    scale = cells_per_entity / epsilon
    d_in = (cells_per_entity, cells_per_entity, 1)

    def measurement(threshold: int):
        return dp.m.make_laplace_threshold(domain, metric, scale=scale, threshold=threshold)

    low, high = 1, 2
    while measurement(high).map(d_in)[1] > delta:
        low, high = high, high * 2
    while low < high:  # the smallest threshold whose δ is within `delta`
        middle = (low + high) // 2
        low, high = (middle + 1, high) if measurement(middle).map(d_in)[1] > delta else (low, middle)
    released = measurement(high)({i: int(n) for i, n in enumerate(entities)})
    mask = np.zeros(len(entities), dtype=bool)
    noisy = np.zeros(len(entities), dtype=np.int64)
    for i, n in released.items():
        mask[i], noisy[i] = True, n
    return mask, noisy, scale


def laplace(values: np.ndarray, sensitivity: float, epsilon: float) -> tuple[np.ndarray, float]:
    """The values with Laplace noise of scale ``sensitivity / epsilon`` (OpenDP's
    `make_laplace` over the vector, whose L1 sensitivity this is), and the 95% half-width.

    >>> noisy, half = laplace(np.array([1000.0, 2000.0]), sensitivity=10, epsilon=1.0)
    >>> noisy.shape, round(half, 2)
    ((2,), 29.96)
    """
    dp = _opendp()
    scale = sensitivity / epsilon
    if not len(values):
        return np.zeros(0), scale * HALF_WIDTH_95
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float)
    mechanism = dp.m.make_laplace(*space, scale=scale)
    return np.asarray(mechanism([float(v) for v in values]), dtype=np.float64), scale * HALF_WIDTH_95


@dataclass(frozen=True)
class Privacy:
    """One aggregate's differential privacy: the ε and δ a query spends, and the bounds."""

    epsilon: float
    delta: float
    bounds: Bounds


def statistics_of(cells) -> list[tuple[str, str, str | None]]:
    """The noisy statistics the measures need, each once: (statistic column, kind, column).
    Distinct-entity counts come free with the released cells (the threshold's counts)."""
    from .cells import Stat

    needed: dict[str, tuple[str, str, str | None]] = {}
    for m in cells.measures:
        if m.kind == "rows":
            needed[Stat.ROWS] = (Stat.ROWS, "rows", None)
        if m.kind in ("values", "avg"):
            needed[Stat.count(m.column)] = (Stat.count(m.column), "values", m.column)
        if m.kind in ("sum", "avg"):
            needed[Stat.sum(m.column)] = (Stat.sum(m.column), "sum", m.column)
    return sorted(needed.values())


def check(stats, cells, privacy: Privacy, entity: str = "entity", domain=None):
    """Release a table of bounded cell statistics under differential privacy: which cells
    exist by noisy thresholding, every value with Laplace noise, each with its error bar.
    Returns an `extractguard.Checked` and the `Spend`."""
    import polars as pl

    from .cells import Stat
    from .guard import Checked, complete, error_bars, measured
    from .report import Report, errors_frame, withheld_frame

    frame = pl.from_arrow(stats)
    if cells.keys:
        frame = frame.sort(cells.keys, nulls_last=False)
    needed = statistics_of(cells)
    part = privacy.epsilon / (1 + len(needed))
    entities = frame[Stat.ENTITIES].fill_null(0).to_numpy()
    shown, noisy_entities, scale = threshold_cells(entities, privacy.bounds.cells, part, privacy.delta)
    released = frame.filter(pl.Series(shown))
    values: dict[str, np.ndarray] = {Stat.ENTITIES: noisy_entities[shown].astype(np.float64)}
    bars: dict[str, float] = {Stat.ENTITIES: scale * HALF_WIDTH_95}
    for stat, kind, column in needed:
        values[stat], bars[stat] = laplace(released[stat].cast(pl.Float64).fill_null(0).to_numpy(),
                                           privacy.bounds.sensitivity(kind, column), part)
    columns, errors = [released[k] for k in cells.keys], []
    for m in cells.measures:
        value, bar = _measure(m, values, bars)
        columns.append(pl.Series(m.name, value))
        errors.append(error_bars(released, cells, m, bar, np.ones(released.height, dtype=bool)))
    table = pl.DataFrame(columns)
    if not cells.keys and not table.height:
        table = pl.DataFrame({m.name: pl.Series(m.name, [None], dtype=pl.Float64) for m in cells.measures})
    elif cells.keys and domain is not None:
        table = complete(table, domain, cells.keys)
    notes = [
        f"differential privacy: this aggregate spent ε {privacy.epsilon:g} and δ {privacy.delta:g}; each {entity} "
        f"counts in at most {privacy.bounds.cells} cells (its busiest) with at most {privacy.bounds.records} records "
        "each, sums clamped per the catalog, so values fall short where some pass those bounds; a cell is shown only "
        "when its noisy count passes a threshold; report.errors gives each value's 95% error bar for the noise",
    ]
    report = Report(released.height, withheld_frame([]), notes, errors_frame(errors), measured(cells, rounded=False))
    checked = Checked(table.to_arrow(), report, {})
    return checked, Spend(privacy.epsilon, privacy.delta)


def _measure(m, values: dict[str, np.ndarray], bars: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """A measure's released values (post-processing of the noisy statistics) and half-widths."""
    from .cells import Stat

    if m.counts:
        stat = {"rows": Stat.ROWS, "entities": Stat.ENTITIES}.get(m.kind) or Stat.count(m.column)
        counts = np.maximum(np.round(values[stat]), 0).astype(np.int64)
        return counts, np.full(len(counts), bars[stat])
    total = np.round(values[Stat.sum(m.column)])
    if m.kind == "sum":
        return (total.astype(np.int64) if m.integral else total), np.full(len(total), bars[Stat.sum(m.column)])
    count = np.maximum(np.round(values[Stat.count(m.column)]), 0)  # the released sum over the released count
    with np.errstate(divide="ignore", invalid="ignore"):
        average = np.where(count > 0, total / count, np.nan)
        error = (bars[Stat.sum(m.column)] + np.abs(average) * bars[Stat.count(m.column)]) / count
    return average, np.where(count > 0, error, np.nan)
