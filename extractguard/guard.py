"""The guard: from cell statistics to released cells and their report.

``check`` applies the rules in order:

The cells are first put in key order, so that ties (which cell secondary suppression
picks) are broken the same way however DuckDB happened to return them.

1. cell rules (``min_entities``) withhold a whole cell;
2. magnitude rules (dominance, p-ratio, zeros, all-same) withhold a sum or average;
3. secondary suppression withholds more cells so margins cannot re-derive one;
4. released counts are randomly rounded and sums perturbed, driven by the cell key.

Withheld values come back as null; the report says which rule withheld each and why.
"""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl
import pyarrow as pa

from . import noise
from .cells import Cells, Measure
from .report import WITHHELD_SCHEMA, Report
from .rules import CELL_RULES, MAGNITUDE_RULES, Disclosure, secondary


def check(stats: pa.Table, cells: Cells, rules: Disclosure, secret: int, entity: str = "entity") -> tuple[pa.Table, Report]:
    """Apply the disclosure rules to a statistics table; return the checked cells and report."""
    frame = pl.from_arrow(stats)
    if not isinstance(frame, pl.DataFrame):
        frame = frame.to_frame()
    if cells.keys:  # the same cells in the same order every time, so every choice below is repeatable
        frame = frame.sort(cells.keys, nulls_last=False)
    words = _words(rules, entity)
    cell_failures = _failures(CELL_RULES, frame, None, rules)
    cellkey = frame["cellkey"].cast(pl.UInt64).fill_null(0).to_numpy()
    keys = [frame[k].to_numpy() for k in cells.keys]
    entities = frame["entities"].fill_null(0).to_numpy()
    released, withheld_rows = {}, []
    for measure in cells.measures:
        failures = dict(cell_failures)
        if measure.magnitude:
            failures.update(_failures(MAGNITUDE_RULES, frame, measure.column, rules))
        primary = np.zeros(frame.height, dtype=bool)
        for mask in failures.values():
            primary |= mask
        extra = secondary(primary, keys, entities) if cells.keys else np.zeros_like(primary)
        values = _release(measure, frame, rules, cellkey, secret)
        released[measure.name] = pl.Series(measure.name, values).set(pl.Series(primary | extra), None)
        withheld_rows += _withheld(frame, cells, measure, failures, extra, words)
    checked = pl.DataFrame([frame[k] for k in cells.keys] + list(released.values()))
    if not cells.measures:  # keys only: a withheld cell is left out, or its existence would show
        failing = np.zeros(frame.height, dtype=bool)
        for mask in cell_failures.values():
            failing |= mask
        checked = checked.filter(pl.Series(~failing))
        withheld_rows += _withheld(frame, cells, Measure("", "rows", "(the cell itself)"), cell_failures,
                                   np.zeros_like(failing), words)
    return checked.to_arrow(), Report(frame.height, _frame(withheld_rows), _notes(frame, cells, rules, withheld_rows))


def _failures(rule_list, frame: pl.DataFrame, column: str | None, rules: Disclosure) -> dict[str, np.ndarray]:
    """Which cells fail each rule, by rule name."""
    if column is None:
        return {r.name: r.test(frame["entities"].fill_null(0).to_numpy(), rules) for r in rule_list}
    total = frame[f"sum__{column}"].cast(pl.Float64).fill_null(0).to_numpy()
    top = _top(frame[f"top__{column}"], max(rules.dominance_n, 2))
    args = {
        "dominance": (top, total, rules),
        "p_ratio": (top, total, rules),
        "zeros": (total, rules),
        "all_same": (frame[f"min__{column}"].to_numpy(), frame[f"max__{column}"].to_numpy(), rules),
    }
    return {r.name: np.asarray(r.test(*args[r.name]), dtype=bool) for r in rule_list}


def _top(column: pl.Series, n: int) -> np.ndarray:
    """The per-cell lists of largest contributions as an n-column array, 0-padded."""
    out = np.zeros((column.len(), n))
    for i, values in enumerate(column.to_list()):
        values = [abs(float(v)) for v in (values or []) if v is not None][:n]
        out[i, : len(values)] = values
    return out


def _release(measure: Measure, frame: pl.DataFrame, rules: Disclosure, cellkey: np.ndarray, secret: int) -> np.ndarray:
    """The value released for a measure: rounded counts, perturbed sums."""

    def u(stat: str) -> np.ndarray:
        return noise.uniform(cellkey, secret, zlib.crc32(stat.encode()))

    def count(stat: str) -> np.ndarray:
        return noise.random_round(frame[stat].fill_null(0).to_numpy(), rules.rounding_base, u(stat))

    def total(column: str) -> np.ndarray:
        stat = f"sum__{column}"
        largest = _top(frame[f"top__{column}"], 1)[:, 0]
        return noise.perturb(frame[stat].cast(pl.Float64).fill_null(0).to_numpy(), largest, u(stat))

    if measure.kind == "rows":
        return count("rows")
    if measure.kind == "entities":
        return count("entities")
    if measure.kind == "values":
        return count(f"count__{measure.column}")
    if measure.kind == "sum":
        rounded = np.round(total(measure.column))
        return rounded.astype(np.int64) if measure.integral else rounded
    counted = count(f"count__{measure.column}").astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counted > 0, total(measure.column) / counted, np.nan)


def _withheld(frame, cells: Cells, measure: Measure, failures, extra, words) -> list[dict]:
    rows = []
    label = " ".join(f"{cells.key_labels.get(k, k)}={{{k}}}" for k in cells.keys) or "(all rows)"
    keys = {k: frame[k].to_list() for k in cells.keys}
    for rule, mask in list(failures.items()) + [("secondary", extra)]:
        reason = "withheld so that totals cannot reveal another withheld cell" if rule == "secondary" else _reason(rule, words)
        for i in np.flatnonzero(mask):
            cell = label.format(**{k: values[i] for k, values in keys.items()})
            rows.append({"aggregate": cells.dataset, "cell": cell, "measure": measure.label, "rule": rule, "reason": reason})
    return rows


def _reason(rule: str, words: dict) -> str:
    template = next(r.reason for r in CELL_RULES + MAGNITUDE_RULES if r.name == rule)
    return template.format(**words)


def _words(rules: Disclosure, entity: str) -> dict:
    return {
        "min_entities": rules.min_entities, "dominance_n": rules.dominance_n,
        "dominance_pct": round(rules.dominance_k * 100), "p_ratio_pct": round(rules.p_ratio * 100), "entity": entity,
    }


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=WITHHELD_SCHEMA)


def _notes(frame: pl.DataFrame, cells: Cells, rules: Disclosure, withheld: list[dict]) -> list[str]:
    notes = []
    if frame.height == 0:
        notes.append(f"the aggregate over {cells.dataset} has no cells: its filters matched no rows")
    kinds = {m.kind for m in cells.measures}
    if kinds & {"rows", "entities", "values"}:
        notes.append(f"counts are rounded to a multiple of {rules.rounding_base}")
    if kinds & {"sum", "avg"}:
        notes.append("sums and averages carry noise of up to the largest single contribution in the cell")
    if frame.height and withheld and len({r["cell"] for r in withheld}) == frame.height:
        notes.append("every cell was withheld: widen the groups (fewer keys, coarser periods) or the filters")
    return notes
