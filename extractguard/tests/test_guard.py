"""extractguard on its own: a hand-made statistics table in, released cells and a report out.

Nothing here imports the campus; `test_the_library_loads_and_checks_with_the_campus_absent`
proves it in a fresh interpreter where ``import campus`` fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import extractguard
from extractguard import Cells, Disclosure, Measure
from extractguard.noise import draw_key

HERE = [100 + 3 * i for i in range(40)]  # a cell no rule stops
RULES = Disclosure(min_entities=10, dominance_n=2, dominance_k=0.9, p_ratio=0.1, rounding_base=5)
CELLS = Cells(keys=["district"], measures=[Measure("people", "entities", "count(DISTINCT person)"),
                                           Measure("spent", "sum", "sum(amount)", "amount", integral=True)])


def statistics(*cells: tuple[str, int, list[int]]) -> pa.Table:
    """The statistics of cells, each (key, people, each person's amount), without noise (factor 1)."""
    rows = []
    for i, (key, people, amounts) in enumerate(cells):
        top = sorted(amounts, key=abs, reverse=True)
        rows.append({"district": key, "entities": people, "rows": people, "cellkey": 1000 + i,
                     "count__amount": len(amounts), "sum__amount": sum(amounts), "top__amount": top[:2],
                     "min__amount": min(amounts), "max__amount": max(amounts), "noisy__amount": float(sum(amounts)),
                     "squares__amount": float(sum(a * a for a in amounts))})
    return pa.Table.from_pylist(rows)


# (case, people in the cell, each person's amount, shown?, the rules that withhold its sum)
CASES = [
    ("many, even", 20, [100] * 19 + [120], True, set()),
    ("too few people", 9, [100] * 9, False, set()),
    ("one dominates", 20, [100_000] + [10] * 19, True, {"dominance", "p_ratio"}),
    ("everyone the same", 20, [500] * 20, True, {"all_same"}),
]


@pytest.mark.parametrize("case, people, amounts, shown, withheld_by", CASES, ids=[c[0] for c in CASES])
def test_each_cell_is_shown_or_withheld_by_the_rule_that_fires(case, people, amounts, shown, withheld_by):
    stats = statistics(("Here", 40, HERE), (case, people, amounts))
    checked = extractguard.check(stats, CELLS, RULES, secret=7, entity="person")
    released = {row["district"]: row for row in checked.table.to_pylist()}
    assert (case in released) == shown
    if shown:
        assert released[case]["people"] % 5 == 0  # counts are rounded to the base
        assert (released[case]["spent"] is None) == bool(withheld_by)
        assessment = extractguard.assess(stats, CELLS, RULES)
        row = assessment.frame["district"].to_list().index(case)
        fired = {rule for rule, mask in assessment.fired["spent"].items() if mask[row]}
        assert fired == withheld_by


def test_a_cell_of_too_few_is_left_out_and_the_report_is_the_librarys_own():
    stats = statistics(("Here", 40, HERE), ("Also", 30, HERE[:30]), ("There", 3, [100, 200, 300]))
    checked = extractguard.check(stats, CELLS, RULES, secret=7, entity="person")
    assert "Here" in checked.table.column("district").to_pylist()
    assert "There" not in checked.table.column("district").to_pylist()
    assert checked.left_out["min_entities"] == 1
    html = checked.report._repr_html_()
    assert "extractguard-report" in html and "campus" not in html.lower()


def test_the_draw_key_depends_on_the_secret_and_the_purpose():
    keys = {draw_key(secret, purpose) for secret in (1, 2) for purpose in (b"noise", b"other")}
    assert len(keys) == 4 and all(len(k) == 64 for k in keys)


def test_the_library_loads_and_checks_with_the_campus_absent():
    root = Path(extractguard.__file__).resolve().parents[1]
    script = (
        "import sys; sys.modules['campus'] = None  # any import of the campus now fails\n"
        "import extractguard.tests.test_guard as t\n"
        "checked = t.extractguard.check(t.statistics(('Here', 40, [100] * 40)), t.CELLS, t.RULES, secret=7)\n"
        "print(checked.table.num_rows, [m for m, v in sys.modules.items() if m.split('.')[0] == 'campus' and v])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "[]"]
