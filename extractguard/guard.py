"""The guard: from cell statistics to released cells and their report.

``check`` applies the rules in order. The cells are first put in key order, so that
every choice below (which cell secondary suppression picks) is the same however the
engine happened to return them.

1. **Which cells exist.** The cell rules (``min_entities``) fail small cells, and
   secondary suppression fails more wherever a margin would re-derive one. A failed
   cell is *left out*: no row, no key, no position in the released table, and the
   report neither names nor counts it, so nothing above the aggregate can tell it from
   a cell that had no rows.
2. **Which values are shown.** In the cells that exist, the magnitude rules
   (dominance, p-ratio, zeros, all-same) withhold a sum or average, and secondary
   suppression withholds more values so margins cannot re-derive one. A withheld
   value is null, and the report names its cell (whose keys are released anyway), the
   measure and the rule.
3. **Noise.** Released counts are randomly rounded, as each cell's key decides, and sums
   are noise-infused (computed by the engine, each contributor times its factor); every
   released value gets the half-width of its 95% error bar (``noise``, ``Report.errors``).
4. **Completion.** Given a *domain* (every combination of public key values, declared
   by a steward, never read from the data), the released table has one row for each:
   a row with no values is a cell that was left out, or had no rows, and nobody can
   tell which. Without keys the domain is the one empty combination: the single row
   is always there.

``assess`` is steps 1 and 2 alone, for the audit and for stewards' tools: what each
rule decided for every cell. Its answer must never reach the requester.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa

from . import noise
from .cells import Cells, Measure, Stat, population_of
from .report import Measured, Report, errors_frame, withheld_frame
from .rules import CELL_RULES, MAGNITUDE_RULES, SECONDARY, Disclosure, Margins, infusion, secondary


@dataclass(frozen=True)
class Scoped:
    """Stricter terms that bind on the cells holding rows they cover.

    ``column`` names a boolean statistic, true for a cell that may hold covered rows;
    None binds every cell. ``source`` says whose terms they are, for the report
    (``grant gangnam-retail-sales``).
    """

    column: str | None
    disclosure: Disclosure
    source: str


@dataclass
class Assessment:
    """What the rules decided for every cell, in key order."""

    frame: pl.DataFrame
    rules: Disclosure  # per cell where scoped terms bind
    left_out: dict[str, np.ndarray]  # rule -> cells left out by it
    withheld: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # measure -> rule -> values withheld
    fired: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # measure -> rule -> cells failing it

    @property
    def released(self) -> np.ndarray:
        out = np.zeros(self.frame.height, dtype=bool)
        for mask in self.left_out.values():
            out |= mask
        return ~out

    def left_out_by_rule(self) -> dict[str, int]:
        """How many cells each rule left out: for the audit, never for the requester."""
        return {rule: int(mask.sum()) for rule, mask in self.left_out.items() if mask.any()}


LOW_EFFECT = "low_effect"  # left_out's count of cells where a condition of low effect was not applied


@dataclass
class Checked:
    """The guard's answer: the released table, the requester's report, the audit's counts
    (cells left out by each rule, and ``low_effect`` cells answered without a condition)."""

    table: pa.Table
    report: Report
    left_out: dict[str, int]
    cells: list[str] = field(default_factory=list)  # what each released cell shows, as a digest (`showing`)


def assess(stats: pa.Table | pl.DataFrame, cells: Cells, rules: Disclosure, *, scoped=(), deadline=None) -> Assessment:
    """Apply the cell and magnitude rules and secondary suppression to every cell."""
    frame = stats if isinstance(stats, pl.DataFrame) else pl.from_arrow(stats)
    if not isinstance(frame, pl.DataFrame):
        frame = frame.to_frame()
    if cells.keys:
        frame = frame.sort(cells.keys, nulls_last=False)
    covered = [(_covering(frame, s), s.disclosure) for s in scoped]
    rules = rules.per_cell(covered, frame.height) if covered else rules
    entities = frame[Stat.ENTITIES].fill_null(0).to_numpy()
    keys = [frame[k] for k in cells.keys]
    small = {r.name: np.asarray(r.test(*[{"entities": entities}[n] for n in r.reads], rules), dtype=bool)
             for r in CELL_RULES}
    failing = np.logical_or.reduce(list(small.values())) if small else np.zeros(frame.height, dtype=bool)
    margins = Margins(keys, entities) if cells.keys else None
    magnitudes = [_total(frame, c) for c in sorted({m.column for m in cells.measures if m.magnitude})]
    small[SECONDARY.name] = (secondary(failing, margins, deadline, magnitudes, rules.p_ratio)
                             if margins else np.zeros_like(failing))
    assessment = Assessment(frame, rules, small)
    left_out = ~assessment.released
    for measure in cells.measures:
        if deadline is not None:
            deadline()
        failures = _magnitude(frame, measure.column, rules) if measure.magnitude else {}
        assessment.fired[measure.name] = dict(failures)
        primary = left_out.copy()
        for mask in failures.values():
            primary |= mask
        extra = (secondary(primary, margins, deadline, [_total(frame, measure.column)], rules.p_ratio)
                 if margins and failures else np.zeros_like(primary))
        failures[SECONDARY.name] = extra
        assessment.withheld[measure.name] = {rule: mask & ~left_out for rule, mask in failures.items()}
    return assessment


def _total(frame: pl.DataFrame, column: str) -> np.ndarray:
    """Each cell's total of `column`: the value secondary suppression protects."""
    return frame[Stat.sum(column)].cast(pl.Float64).fill_null(0).to_numpy()


def _covering(frame: pl.DataFrame, scoped: Scoped) -> np.ndarray:
    if scoped.column is None:
        return np.ones(frame.height, dtype=bool)
    return frame[scoped.column].fill_null(False).to_numpy().astype(bool)


def check(
    stats: pa.Table, cells: Cells, rules: Disclosure, secret: int, entity: str = "entity", *,
    scoped=(), domain: pa.Table | None = None, deadline=None, noise_bounds: tuple[float, float] | None = None,
) -> Checked:
    """Apply the disclosure rules to a statistics table; return what may be released.

    Each population of the cells is checked on its own (see ``cells``); a cell is shown
    when any population releases it, with no value for the populations that did not.
    `noise_bounds` are the sums' noise bounds as the engine infused them (the widest of
    the dataset's; by default the strictest of `rules` and `scoped`).
    """
    frame = pl.from_arrow(stats)
    if not isinstance(frame, pl.DataFrame):
        frame = frame.to_frame()
    if cells.keys:
        frame = frame.sort(cells.keys, nulls_last=False)
    populations = sorted({m.population for m in cells.measures}) or [0]
    released, columns, withheld_rows, left_out = np.zeros(frame.height, dtype=bool), {}, [], {}
    bounds, errors = noise_bounds or infusion(rules, [s.disclosure for s in scoped]), []
    for population in populations:
        measures = [m for m in cells.measures if m.population == population]
        part = Cells(cells.keys, measures, cells.key_labels, cells.dataset, signature=cells.signature)
        statistics = of_population(frame, population)
        rows = _members(statistics, population)  # a population's cells are those where it has rows
        assessment = assess(statistics.filter(pl.Series(rows)), part, rules, scoped=scoped, deadline=deadline)
        where = np.flatnonzero(rows)
        shown = assessment.released
        released[where[shown]] = True
        cellkey = noise.as_unsigned(assessment.frame[Stat.CELLKEY].fill_null(0).to_numpy())
        for measure in measures:
            values, half_widths = _release(measure, assessment.frame, assessment.rules, cellkey, secret, bounds)
            hidden = np.logical_or.reduce(list(assessment.withheld[measure.name].values())) | ~shown
            columns[measure.name] = _scatter(measure.name, values, hidden, where, frame.height)
            errors.append(error_bars(assessment.frame, cells, measure, half_widths, ~hidden))
            withheld_rows += _named(assessment.frame, part, measure, assessment, shown, entity)
        for rule, count in assessment.left_out_by_rule().items():
            left_out[rule] = left_out.get(rule, 0) + count
    table = pl.DataFrame([frame[k] for k in cells.keys] + [columns[m.name] for m in cells.measures])
    table = table.filter(pl.Series(released)) if table.width else table
    digests = showing(table, cells)
    if Stat.NEUTRALISED in frame.columns and (low := int((frame[Stat.NEUTRALISED].fill_null(0) > 0).sum())):
        left_out[LOW_EFFECT] = low  # for the audit, like the rest of left_out
    if not cells.keys:
        table = _single_row(table, cells)
    elif domain is not None:
        table = complete(table, domain, cells.keys)
    notes = _notes(cells, released, entity, rules, scoped, bounds)
    report = Report(int(released.sum()), withheld_frame(withheld_rows), notes, errors_frame(errors),
                    measured(cells, rounded=True))
    return Checked(table.to_arrow(), report, left_out, digests)


def measured(cells: Cells, rounded: bool) -> dict[str, Measured]:
    """What each measure's output column holds, for reading it; `rounded`: rounding is
    the counts' only protection (the guard's), not noise (differential privacy's)."""
    return {cells.measure_labels.get(m.name, m.label): Measured(m.kind, m.unit, rounded and m.counts)
            for m in cells.measures}


def showing(table: pl.DataFrame, cells: Cells) -> list[str]:
    """What each released cell shows, as a digest of the aggregate's definition
    (`Cells.signature`), its keys and its released values: the ledger charges a cell by
    what the answer shows, never by who is in it, so a cell costs nothing again only when
    it shows what was released before.

    >>> t = pl.DataFrame({"k0": ["a", "b"], "m0": [15, 15]})
    >>> a, b = showing(t, Cells(["k0"], [Measure("m0", "rows", "count(*)")], signature="q"))
    >>> a != b, len(a)
    (True, 64)
    """
    measures = [f"{m.kind}:{m.column}:{m.population}" for m in cells.measures]
    head = [cells.dataset, cells.signature, measures]
    return [hashlib.sha256(json.dumps([head, row], default=str, separators=(",", ":")).encode()).hexdigest()
            for row in table.rows()]


def error_bars(frame: pl.DataFrame, cells: Cells, measure: Measure, half_widths: np.ndarray,
                shown: np.ndarray) -> pl.DataFrame:
    """One row per released value of `measure`: the cell's keys (as the output names them),
    the measure's output name and the half-width of its 95% error bar."""
    keys = [frame[k].alias(cells.key_labels.get(k, k)) for k in cells.keys]
    bars = pl.DataFrame(keys).with_columns(
        measure=pl.lit(cells.measure_labels.get(measure.name, measure.label)),
        half_width=pl.Series(half_widths, dtype=pl.Float64),
    ) if keys else pl.DataFrame({"measure": [cells.measure_labels.get(measure.name, measure.label)] * frame.height,
                                 "half_width": pl.Series(half_widths, dtype=pl.Float64)})
    return bars.filter(pl.Series(shown))


def _members(statistics: pl.DataFrame, population: int) -> np.ndarray:
    """The cells of a population: every cell for all rows, else those where it has rows."""
    if population == 0:
        return np.ones(statistics.height, dtype=bool)
    return statistics[Stat.ENTITIES].fill_null(0).to_numpy() > 0


def _scatter(name: str, values: np.ndarray, hidden: np.ndarray, where: np.ndarray, size: int) -> pl.Series:
    """A population's values put back in the rows of all cells, null where hidden or absent."""
    shown = pl.Series(name, values).set(pl.Series(hidden), None)
    full = pl.Series(name, [None] * size, dtype=shown.dtype)
    return full.scatter(where, shown) if len(where) else full


def of_population(frame: pl.DataFrame, population: int) -> pl.DataFrame:
    """The statistics of one population of the cells, under the plain names."""
    chosen = []
    for column in frame.columns:
        name, belongs = population_of(column)
        if belongs == population or (belongs == 0 and not Stat.named(name)):
            chosen.append(pl.col(column).alias(name))
    return frame.select(chosen)


def _magnitude(frame: pl.DataFrame, column: str, rules: Disclosure) -> dict[str, np.ndarray]:
    """Which cells' sums of `column` fail each magnitude rule, by rule name; each rule is
    handed the statistics it declares it reads (`Rule.reads`)."""
    statistics = {
        "total": lambda: frame[Stat.sum(column)].cast(pl.Float64).fill_null(0).to_numpy(),
        "top": lambda: _top(frame[Stat.top(column)], int(np.max(rules.dominance_n, initial=2))),
        "smallest": lambda: frame[Stat.min(column)].cast(pl.Float64).to_numpy(),
        "largest": lambda: frame[Stat.max(column)].cast(pl.Float64).to_numpy(),
    }
    read: dict[str, np.ndarray] = {}
    failures = {}
    for rule in MAGNITUDE_RULES:
        for name in rule.reads:
            if name not in read:
                read[name] = statistics[name]()
        failures[rule.name] = np.asarray(rule.test(*[read[name] for name in rule.reads], rules), dtype=bool)
    return failures


def _top(column: pl.Series, n: int) -> np.ndarray:
    """The per-cell lists of largest contributions as an n-column array, 0-padded."""
    n = max(n, 2)
    parts = [column.list.get(i, null_on_oob=True).cast(pl.Float64).abs().fill_null(0.0) for i in range(n)]
    return np.column_stack([p.to_numpy() for p in parts]) if len(column) else np.zeros((0, n))


def _release(measure: Measure, frame: pl.DataFrame, rules: Disclosure, cellkey: np.ndarray, secret: int,
             bounds: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The values released for a measure and their 95% half-widths, each a function of
    protected values only: randomly rounded counts (one rounding per count of a cell,
    `noise.released_count`), noise-infused sums (``noisy__c``, computed by the engine) to
    the precision of their error bars, and averages as the released sum over the
    released count."""

    def count(stat: str) -> np.ndarray:
        return noise.released_count(frame[stat].fill_null(0).to_numpy(), rules.rounding_base, cellkey, secret)

    rounding = np.maximum(np.asarray(rules.rounding_base, dtype=np.float64) - 1, 0) * np.ones(frame.height)
    if measure.counts:
        stat = {"rows": Stat.ROWS, "entities": Stat.ENTITIES}.get(measure.kind) or Stat.count(measure.column)
        return count(stat), rounding
    total, total_error = released_sum(frame, measure, bounds)
    if measure.kind == "sum":
        return (total.astype(np.int64) if measure.integral else total), total_error
    counted = count(Stat.count(measure.column)).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        average = np.where(counted > 0, total / counted, np.nan)
        error = noise.step_up(np.where(counted > 0, (total_error + np.abs(average) * rounding) / counted, 0.0))
    return average, np.where(counted > 0, error, np.nan)


def released_sum(frame: pl.DataFrame, measure: Measure, bounds: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A measure's noisy sums as released, to the precision of their error bars, and the
    error bars' half-widths (from the noisy contributions' squares)."""
    total = frame[Stat.noisy(measure.column)].cast(pl.Float64).fill_null(0).to_numpy()
    squares = frame[Stat.squares(measure.column)].cast(pl.Float64).fill_null(0).to_numpy()
    half_width = noise.sum_half_width(squares, *bounds)
    return noise.to_precision(total, noise.precision(half_width, measure.integral)), half_width


def complete(table: pl.DataFrame, domain: pa.Table, keys: list[str]) -> pl.DataFrame:
    """One row for every key combination of the domain, and every released cell besides."""
    combos = pl.from_arrow(domain).select(keys)
    combos = combos.cast({k: table.schema[k] for k in keys}).unique(maintain_order=True)
    missing = combos.join(table.select(keys), on=keys, how="anti", nulls_equal=True)
    return pl.concat([table, missing], how="diagonal").sort(keys, nulls_last=False)


def _single_row(table: pl.DataFrame, cells: Cells) -> pl.DataFrame:
    """An aggregate without keys has one row, whether its cell was released or not."""
    if table.height:
        return table
    return pl.DataFrame({m.name: pl.Series(m.name, [None]) for m in cells.measures})


def _named(frame, cells: Cells, measure: Measure, assessment: Assessment, released, entity) -> list[dict]:
    """The report's rows for values withheld in released cells: their keys are released too."""
    rows = []
    label = " ".join(f"{cells.key_labels.get(k, k)}={{{k}}}" for k in cells.keys) or "(all rows)"
    for rule, mask in assessment.withheld[measure.name].items():
        named = np.flatnonzero(mask & released)
        keys = frame.select(cells.keys)[named].to_dicts() if cells.keys else [{} for _ in named]
        for i, key in zip(named, keys):
            words = _words(assessment.rules, entity, i)
            reason = SECONDARY.reason if rule == SECONDARY.name else _reason(rule).format(**words)
            cell = label.format(**key)
            rows.append({"aggregate": cells.dataset, "cell": cell, "measure": measure.label, "rule": rule, "reason": reason})
    return rows


def _reason(rule: str) -> str:
    return next(r.reason for r in CELL_RULES + MAGNITUDE_RULES if r.name == rule)


def _words(rules: Disclosure, entity: str, i: int | None = None) -> dict:
    def at(value):
        value = np.asarray(value)
        return value.item() if value.ndim == 0 else (value[i].item() if i is not None else value.max().item())

    return {
        "min_entities": at(rules.min_entities), "dominance_n": at(rules.dominance_n),
        "dominance_pct": round(at(rules.dominance_k) * 100), "p_ratio_pct": round(at(rules.p_ratio) * 100),
        "entity": entity,
    }


def _notes(cells: Cells, released: np.ndarray, entity: str, base: Disclosure, scoped,
           bounds: tuple[float, float] = (0.10, 0.15)) -> list[str]:
    """What the requester should know. The notes depend on the query and its terms only,
    never on which cells exist: they read the same whether a small cell existed or not."""
    everywhere = [s.disclosure for s in scoped if s.column is None]
    least = max([base.min_entities] + [d.min_entities for d in everywhere])
    threshold = f"{least} distinct {entity}s"
    stricter = sorted({s.disclosure.min_entities for s in scoped if s.column and s.disclosure.min_entities > least})
    if stricter:
        threshold += f" ({', '.join(map(str, stricter))} where stricter terms bind)"
    notes = []
    if cells.keys:
        notes.append(
            f"cells with fewer than {threshold} are not shown, nor cells that would let totals reveal them; "
            "nothing shows whether such a cell existed"
        )
    else:
        notes.append(f"values are withheld when the cell has fewer than {threshold}, or none")
    everywhere = [s.source for s in scoped if s.column is None]
    somewhere = [s.source for s in scoped if s.column is not None]
    if everywhere:
        notes.append("stricter terms bind every cell, since any cell may hold rows they cover: " + "; ".join(everywhere))
    if somewhere:
        notes.append("stricter terms bind the cells that may hold rows they cover: " + "; ".join(somewhere))
    if cells.keys and not released.any():
        notes.append(
            f"no cell could be shown: the filters match no rows, or every cell has fewer than {threshold}; "
            "widen the groups (fewer keys, coarser periods) or the filters"
        )
    kinds = {m.kind for m in cells.measures}
    if kinds & {"rows", "entities", "values"}:
        bases = sorted({base.rounding_base} | {s.disclosure.rounding_base for s in scoped})
        notes.append(f"counts are rounded to a multiple of {' or '.join(map(str, bases))}")
    if kinds & {"sum", "avg"}:
        low, high = (round(b * 100) for b in bounds)
        notes.append(f"sums carry noise: each {entity}'s part is moved by a secret {low}-{high}% of itself, the "
                     "same in every cell and for every measure, so the error of a sum shrinks as it has more "
                     "contributors; a sum is given to a hundredth of its error bar's leading digit, and an average is "
                     "the sum shown over the count; report.errors gives each value's 95% error bar")
    if cells.conditions:
        least = max([base.min_entities] + [d.min_entities for d in [s.disclosure for s in scoped]])
        notes.append(f"a condition (a filter's, or a measure's CASE, FILTER or IF) that changes a cell by fewer than "
                     f"{least} {entity}s is not applied to that cell, so that nobody's presence shows: such a cell "
                     "answers as the query without it")
    return notes
