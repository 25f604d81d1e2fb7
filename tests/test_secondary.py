"""Secondary suppression protects by value, as a property over random tables of cells.

Hypothesis writes tables of one or two keys with random distinct-entity counts and
totals. After the guard, in every margin (along each key, the cells sharing the other
keys), the cells withheld beside a primary (a cell too small to show, or a total failing
dominance) add up to at least the p-ratio's share of its value (tau-ARGUS's protection
level), and a margin never has exactly one withheld cell.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from extractguard import Cells, Disclosure, Measure, assess

RULES = Disclosure()


@st.composite
def tables(draw):
    rows_, columns_ = draw(st.integers(1, 6)), draw(st.integers(2, 7))
    n = rows_ * columns_
    entities = draw(st.lists(st.sampled_from([1, 3, 8, 9, 12, 15, 40, 200]), min_size=n, max_size=n))
    totals = draw(st.lists(st.integers(1, 10**7), min_size=n, max_size=n))
    return pa.table({
        "k0": [f"r{i // columns_}" for i in range(n)], "k1": [f"c{i % columns_}" for i in range(n)],
        "entities": entities, "rows": [e * 3 for e in entities], "cellkey": list(range(n)),
        "sum__amount": [float(t) for t in totals],
        "top__amount": [[float(t) / max(e, 1)] * 2 for t, e in zip(totals, entities)],
        "min__amount": [1.0] * n, "max__amount": [2.0] * n,
    })


@settings(max_examples=300, deadline=None)
@given(tables())
def test_cells_withheld_beside_a_small_one_cover_its_protection_interval(stats):
    cells = Cells(["k0", "k1"], [Measure("m0", "sum", "sum(amount)", "amount")])
    assessment = assess(stats, cells, RULES)
    frame = assessment.frame
    withheld = ~assessment.released
    primary = assessment.left_out["min_entities"]
    value = frame["sum__amount"].to_numpy()
    for key in ("k0", "k1"):
        other = "k1" if key == "k0" else "k0"
        for _, group in pl.DataFrame({"g": frame[other], "i": np.arange(frame.height)}).group_by("g"):
            members = group["i"].to_numpy()
            if len(members) < 2:
                continue
            hidden = members[withheld[members]]
            assert len(hidden) != 1, "a margin never has exactly one withheld cell"
            for i in members[primary[members]]:
                partners = value[hidden].sum() - value[i]
                if withheld[members].all():
                    continue  # nothing left to withhold: the margin is the withheld cells themselves
                assert partners >= RULES.p_ratio * value[i] - 1e-6, (
                    f"cells withheld beside a primary of {value[i]:.0f} add up to {partners:.0f}")


def test_the_protection_picks_the_smallest_cell_that_covers_it():
    """The smallest by entities (the rule before) would have been the cell of 10 won."""
    stats = pa.table({"k0": ["a", "b", "c", "d"], "entities": [3, 40, 20, 60], "rows": [9, 120, 60, 180],
                      "cellkey": [1, 2, 3, 4], "sum__amount": [1000.0, 500.0, 10.0, 300.0],
                      "top__amount": [[1.0, 1.0]] * 4, "min__amount": [1.0] * 4, "max__amount": [2.0] * 4})
    cells = Cells(["k0"], [Measure("m0", "sum", "sum(amount)", "amount")])
    assessment = assess(stats, cells, RULES)
    assert assessment.left_out["secondary"].tolist() == [False, False, False, True], "300 covers 10% of 1000"
