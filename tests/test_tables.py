"""Tables that read well: the formatter of released values (`extractguard.formatting`), a
result as a notebook shows it (`campus.gateway.display`) and the command line's tables
(`campus.cli.tables`). The review page's table is tested in ``test_airlock_web.py``.
"""

from __future__ import annotations

import datetime
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extractguard import Report, formatting
from extractguard.formatting import bar, decimals, number, plain, released, shown, step, when

# --- the formatter --------------------------------------------------------------------

values = st.one_of(st.integers(-10**15, 10**15), st.floats(-1e15, 1e15, allow_nan=False))
bars = st.floats(1e-6, 1e12, allow_nan=False)


def printed_decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


@given(values, bars)
def test_a_value_reads_back_within_its_printed_precision(value, half_width):
    at = step(half_width, isinstance(value, int))
    assert abs(number(shown(value, half_width)) - value) <= at / 2 * (1 + 1e-9) + abs(value) * 1e-15


@given(values, bars)
def test_never_more_digits_than_the_bar_supports(value, half_width):
    """No digit finer than the step the bar sets (a hundredth of its power of ten),
    and the bar is written to the value's precision."""
    at = step(half_width, isinstance(value, int))
    text, width = shown(value, half_width), bar(half_width, value)
    assert printed_decimals(text) == printed_decimals(width) == decimals(at)
    assert at <= 10 ** (math.floor(math.log10(half_width)) - 2) * (1 + 1e-9) or at == 1.0
    if isinstance(value, int):
        assert "." not in text, "a whole number stays whole"


@given(values, bars)
def test_a_bar_never_reads_narrower_than_it_is(value, half_width):
    at = step(half_width, isinstance(value, int))
    assert half_width * (1 - 1e-12) <= number(bar(half_width, value)) < half_width + at * (1 + 1e-9)


@given(st.integers(0, 10**12), st.sampled_from([0.0, 4.0, 9.0, 1.96]))
def test_a_count_protected_by_rounding_has_no_bar(count, half_width):
    text = released(count, half_width, rounded=True)
    assert "±" not in text and number(text) == count and text == f"{count:,}"


@given(st.one_of(st.integers(-10**18, 10**18), st.text(), st.booleans()))
def test_plain_values_read_back_exactly(value):
    text = plain(value)
    if isinstance(value, bool):
        assert text in ("true", "false")
    elif isinstance(value, int):
        assert int(text.replace(",", "")) == value
    else:
        assert text == value, "strings as they are: no quotes, nothing cut"


@pytest.mark.parametrize("value, half_width, expected", [
    (52345.678912, 1.5, "52,345.68 ± 1.50"),  # an average: two decimals for a bar of 1.5
    (52345.678912, 3000.0, "52,350 ± 3,000"),  # ... none for a bar in the thousands
    (123_460_000, 7_000_000.0, "123,460,000 ± 7,000,000"),  # a sum in won, not 1.2346e8 ± 7e6
    (0.012346, 0.0015, "0.01235 ± 0.00150"),
    (1235, 14.98, "1,235 ± 15"),  # a count under differential privacy: whole, its bar rounded up
    (-0.001, 1.5, "0.00 ± 1.50"),  # no "-0.00"
    (None, 4.0, "—"),
    (float("nan"), None, "—"),
    (0.30000000000000004, None, "0.3"),  # no bar: six significant digits at most
])
def test_released_values_read_as_a_person_writes_them(value, half_width, expected):
    assert released(value, half_width) == expected


@pytest.mark.parametrize("at, expected", [
    (datetime.datetime(2025, 3, 1), "2025-03-01"),  # a month's first midnight is its day
    (datetime.datetime(2025, 3, 1, 14, 0), "2025-03-01 14:00"),
    (datetime.datetime(2025, 3, 1, 14, 0, 5, 120), "2025-03-01 14:00:05"),
    (datetime.datetime(2026, 12, 7, 20, 36, tzinfo=datetime.UTC), "2026-12-07 20:36 UTC"),
    ("2026-12-07T20:36:30.123456+00:00", "2026-12-07 20:36:30 UTC"),
    ("2026-12-07T20:36:30+09:00", "2026-12-07 20:36:30 UTC+0900"),
    (datetime.date(2025, 3, 1), "2025-03-01"),
])
def test_times_read_as_day_and_time(at, expected):
    assert when(at) == expected == (plain(at) if not isinstance(at, str) else expected)


def test_the_report_counts_in_words():
    assert Report(cells=1).summary() == "1 cell shown, no value withheld"
    assert Report(cells=18).summary() == "18 cells shown, no value withheld"
    assert formatting.plural(1, "released value") == "1 released value"


# --- a result in a notebook -------------------------------------------------------------

MEASURES = ("SELECT district, count(*) AS n, sum(amount) AS total, avg(amount) AS mean FROM card_usage "
            "GROUP BY district ORDER BY district")
# Golf in one district by gender and age band: the public domain completes the cells, and
# most are too small to show.
COMPLETED = ("SELECT gender, age_band, count(DISTINCT card_id) AS cards FROM card_usage "
             "WHERE district = 'Jung-gu' AND category = 'Golf' GROUP BY ALL ORDER BY ALL")


def table_cells(html: str) -> list[list[tuple[str, str]]]:
    """The result table's rows: each cell's (title, text)."""
    table = html.split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    return [[(formatting_unescape(t), formatting_unescape(x)) for t, x in
             re.findall(r"<td[^>]*title='([^']*)'>([^<]*)</td>", row)] for row in rows]


def formatting_unescape(text: str) -> str:
    from html import unescape

    return unescape(text)


def test_a_result_shows_values_with_their_bars_and_counts_without(alice):
    r = alice.sql(MEASURES)
    html, text = r._repr_html_(), repr(r)
    headings = re.findall(r"<th>([^<]*)</th>", html)
    assert headings == ["district", "n", "total (KRW)", "mean (KRW)"], "units from the catalog, in the headings"
    rows = table_cells(html)
    released_rows = r.pl().rows()
    bars = r.with_errors()
    assert len(rows) == len(released_rows) == 25
    for cells, values, (total_bar, mean_bar) in zip(rows, released_rows, bars.select("±total", "±mean").rows()):
        district, n, total, mean = values
        assert cells[0] == (district, district), "text as it is, no quotes"
        assert cells[1] == (str(n), f"{n:,}"), "a count has no ±: its base is named once in the report"
        assert cells[2] == (str(total), f"{shown(total, total_bar)} ± {bar(total_bar, total)}")
        assert cells[3][0] == repr(mean) and cells[3][1] == f"{shown(mean, mean_bar)} ± {bar(mean_bar, mean)}"
        assert "e+" not in cells[2][1] + cells[3][1]
        assert printed_decimals(cells[3][1].split(" ± ")[0]) <= max(0, 2 - math.floor(math.log10(mean_bar)))
    assert any(len(repr(m)) > len(c[3][1].split(" ± ")[0]) for c, (*_, m) in zip(rows, released_rows)), (
        "the digits past what the bar allows are not shown")
    assert "counts are rounded to a multiple of 5" in html and html.count("counts are rounded") == 1
    assert "25 cells shown, no value withheld" in text and "'" not in text.split("\n", 1)[0]
    assert " ± " in text and "(KRW)" in text and "withheld or empty" not in text
    assert r.pl()["mean"].to_list() == [v[3] for v in released_rows], "the raw table keeps the released values"
    assert r.arrow().column_names == ["district", "n", "total", "mean"]


def test_rows_without_values_are_labelled_and_explained_once(alice):
    r = alice.sql(COMPLETED)
    html, text = r._repr_html_(), repr(r)
    empty = [row for row in r.pl().rows() if row[2] is None]
    assert empty, "the completed domain shows rows of cells not shown"
    assert text.count("withheld or empty") == len(empty) + 1, "each such row labelled, then one explanation"
    assert html.count(">withheld or empty</td>") == len(empty)
    assert "so a row without values tells nothing" in html and html.count("tells nothing") == 1
    assert "None" not in text and "null" not in text


def test_one_cell_is_one_cell(alice):
    r = alice.sql("SELECT count(*) AS n FROM card_usage")
    assert r.report.summary() == "1 cell shown, no value withheld"
    assert "95% error bars" not in repr(r), "a count protected by rounding alone has no bar to point to"


def test_a_key_reads_as_written_and_a_count_with_separators(alice):
    r = alice.sql("SELECT year(txn_date) AS y, count(*) AS n FROM card_usage GROUP BY 1")
    (year, n), = r.pl().rows()
    assert table_cells(r._repr_html_()) == [[(str(year), str(year)), (str(n), f"{n:,}")]] and n >= 1000


def test_a_long_result_shows_its_first_rows_and_says_so(alice):
    r = alice.sql("SELECT district, category, count(*) AS n FROM card_usage GROUP BY ALL ORDER BY ALL")
    text = repr(r)
    assert len(r) > 50 and f"the first 50 of {len(r):,} rows; r.pl() has them all" in text


# --- the command line ------------------------------------------------------------------


def first_column(output: str) -> list[str]:
    """A rich table's first column, its folded lines joined back into each value."""
    values, current = [], ""
    for line in output.splitlines():
        if line.startswith("│"):
            current += line.split("│")[1].strip()
        elif line.startswith(("├", "└")) or (line.startswith("┡") and current):
            values.append(current)
            current = ""
    return [v for v in values if v] + ([current] if current else [])


@pytest.mark.parametrize("width", [30, 50, 100])
def test_cli_tables_show_every_value_whole(width, monkeypatch):
    from typer.testing import CliRunner

    from campus.cli import _mount, app, datasets

    _mount()
    monkeypatch.setattr(datasets.out, "width", width)
    listed = CliRunner().invoke(app, ["datasets", "list"])
    assert listed.exit_code == 0 and "…" not in listed.output
    assert "".join(first_column(listed.output)) == "card_usagesales_by_locationair_quality"
    described = CliRunner().invoke(app, ["datasets", "describe", "sales_by_location"])
    assert described.exit_code == 0 and "…" not in described.output
    assert "commercial_area" in "".join(first_column(described.output))
