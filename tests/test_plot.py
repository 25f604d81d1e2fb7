"""``campus.plot``: a result's released values drawn with real matplotlib (Agg), over the demo data.

The bars and lines are read back from the figure and compared with the result: heights are the
released values, error bars their half-widths, withheld cells are not drawn and are counted in
the note. The PNG is what the airlock takes; in Chromium, a steward's review page shows it.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.container import BarContainer, ErrorbarContainer

import campus
from campus.airlock.checks import check_file
from campus.airlock.table_rules import OutputRules
from campus.client import CannotPlot, Client
from campus.gateway.result import Result
from extractguard import Report
from test_airlock_browser import browser  # noqa: F401 (a fixture: Chromium)

pytest_plugins = ["service_fixtures"]

matplotlib.use("Agg")  # no display here; in a notebook the kernel's inline backend shows the figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCREENSHOT = Path("/tmp/figures-review-page.png")
BY_CATEGORY = ("SELECT category, count(DISTINCT card_id) AS cards, sum(amount) AS spending FROM card_usage "
               "WHERE district = 'Jongno-gu' GROUP BY 1 ORDER BY 1")
BY_MONTH = ("SELECT district, date_trunc('month', txn_date) AS month, sum(amount) AS spending FROM card_usage "
            "WHERE district IN ('Dobong-gu', 'Gangbuk-gu', 'Gwanak-gu') GROUP BY 1, 2 ORDER BY 1, 2")


@pytest.fixture(scope="module")
def by_category(alice) -> Result:
    return alice.sql(BY_CATEGORY)


@pytest.fixture(scope="module")
def by_month(alice) -> Result:
    return alice.sql(BY_MONTH)


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def bars_of(ax) -> BarContainer:
    [bars] = [c for c in ax.containers if isinstance(c, BarContainer)]
    return bars


def half_heights(errorbar: ErrorbarContainer) -> list[float]:
    """Half of each error bar's vertical segment, as drawn (NaN where none is: a withheld value)."""
    [segments] = [lines.get_segments() for lines in errorbar.lines[2]]
    return [(s[1][1] - s[0][1]) / 2 if len(s) else math.nan for s in segments]


# --- what is drawn is what was released -------------------------------------------------------------------


def test_bars_are_the_released_values_with_their_error_bars(by_category):
    table = by_category.with_errors()
    released = table.filter(pl.col("spending").is_not_null())
    withheld = table["spending"].null_count()
    assert withheld > 0 and released.height > 0, "the query should release some values and withhold others"

    fig = campus.plot(by_category, x="category", y="spending")
    ax = fig.axes[0]
    bars = bars_of(ax)
    assert [b.get_height() for b in bars] == released["spending"].cast(pl.Float64).to_list()
    assert half_heights(bars.errorbar) == pytest.approx(released["±spending"].to_list())
    assert [t.get_text() for t in ax.get_xticklabels()] == table["category"].to_list()  # withheld places kept
    assert texts(fig).count("withheld") == withheld
    assert f"{withheld} cells withheld: not drawn" in " ".join(texts(fig))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("category", "spending")


def test_a_line_follows_dates_with_a_gap_where_a_value_was_withheld(by_month):
    fig = campus.plot(by_month, x="month", y="spending", by="district")
    ax = fig.axes[0]
    table = by_month.with_errors()
    lines = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [line.get_label() for line in lines] == table["district"].unique(maintain_order=True).to_list()
    for line, (_, rows) in zip(lines, table.group_by("district", maintain_order=True)):
        drawn = line.lines[0].get_ydata()
        expected = rows["spending"].cast(pl.Float64).fill_null(math.nan).to_numpy()
        np.testing.assert_array_equal(drawn, expected)  # NaN where withheld: a gap in the line
        shown = ~np.isnan(expected)
        assert np.array(half_heights(line))[shown] == pytest.approx(rows["±spending"].to_numpy()[shown])
    withheld = table["spending"].null_count()
    assert withheld > 0 and f"{withheld} cells withheld" in " ".join(texts(fig))
    assert not [c for c in ax.containers if isinstance(c, BarContainer)], "dates are drawn as a line"


def test_bars_by_a_second_key_stand_side_by_side(by_month):
    fig = campus.plot(by_month, x="district", y="spending", by="month", kind="bar")
    ax, table = fig.axes[0], by_month.pl()
    groups = [c for c in ax.containers if isinstance(c, BarContainer)]
    months = table["month"].unique(maintain_order=True)
    assert len(groups) == months.len() and sum(len(g) for g in groups) == table["spending"].drop_nulls().len()
    assert texts(fig).count("withheld") == table["spending"].null_count() > 0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [m.date().isoformat() for m in months]
    assert [t.get_text() for t in ax.get_xticklabels()] == table["district"].unique(maintain_order=True).to_list()


def test_the_defaults_are_the_first_key_and_the_first_numeric_column(by_category):
    ax = campus.plot(by_category).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("category", "cards")
    assert len(bars_of(ax)) == by_category.pl()["cards"].drop_nulls().len()


def test_a_figure_with_nothing_withheld_says_so(alice):
    ax = campus.plot(alice.sql("SELECT hour, count(DISTINCT card_id) AS cards FROM card_usage GROUP BY 1")).axes[0]
    [line] = ax.containers  # hours: one line, no bars
    assert isinstance(line, ErrorbarContainer) and "No value withheld." in " ".join(texts(ax.figure))
    assert list(line.lines[0].get_xdata()) == list(range(24))  # in order, whatever order the rows came in


CANNOT = [  # (what is asked, what the error says to do)
    (dict(x="dong"), "no column 'dong': use one of category, cards, spending"),
    (dict(y="±spending"), "no column '±spending'"),  # an error bar is drawn with its value, not alone
    (dict(y="category"), "column 'category' is not numeric (String): use y= one of cards, spending"),
    (dict(kind="pie"), "use kind='bar' or kind='line'"),
]


@pytest.mark.parametrize(("asked", "says"), CANNOT, ids=[str(a) for a, _ in CANNOT])
def test_what_cannot_be_drawn_says_what_to_do(by_category, asked, says):
    with pytest.raises(CannotPlot) as raised:
        campus.plot(by_category, **asked)
    assert says in raised.value.reason


def test_a_result_with_no_numeric_column_or_repeated_points_says_what_to_do(by_month):
    keys_only = Result(pa.table({"district": ["Jongno-gu", "Jung-gu"]}))
    with pytest.raises(CannotPlot) as raised:
        campus.plot(keys_only)
    assert "no numeric column" in raised.value.reason and "add a count, sum or average" in raised.value.reason
    with pytest.raises(CannotPlot) as raised:
        campus.plot(by_month, x="month", y="spending")
    assert "several rows share a value of month" in raised.value.reason and "by='district'" in raised.value.reason


# --- the file that leaves ------------------------------------------------------------------------------


def png_of(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def test_the_figure_saves_as_a_png_the_airlock_takes(by_category):
    content = png_of(campus.plot(by_category, x="category", y="spending"))
    assert content.startswith(PNG_MAGIC) and len(content) > 10_000
    report = check_file("spending_by_category.png", content, OutputRules())
    assert report.kind.name == "PNG" and report.outcome == "flag"  # a figure always waits for a reviewer
    assert report.document()["checked"] == "none"


def test_plotnine_draws_a_result_too(by_category):
    """The lock's grammar of graphics (plotnine on pandas, scipy and statsmodels) works on a result."""
    from plotnine import aes, geom_col, geom_errorbar, ggplot

    table = by_category.with_errors().drop_nulls("spending").with_columns(
        low=pl.col("spending") - pl.col("±spending"), high=pl.col("spending") + pl.col("±spending"))
    figure = (ggplot(table.to_pandas(), aes("category", "spending")) + geom_col()
              + geom_errorbar(aes(ymin="low", ymax="high"))).draw()
    assert png_of(figure).startswith(PNG_MAGIC)


def png_width(content: bytes) -> int:
    return int.from_bytes(content[16:20], "big")  # the IHDR chunk's width, right after the signature


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_reviewer_sees_the_figure_from_a_notebook_on_the_review_page(service, browser, tmp_path):  # noqa: F811
    """A result from the data service (as in a notebook), drawn, saved and sent; sejin, a steward,
    signs in with her token in Chromium and the review page shows the PNG itself."""
    alice = Client(service.url, service.token("alice"))
    try:
        result = alice.sql(BY_CATEGORY)
        fig = campus.plot(result, x="category", y="spending", title="Card spending in Jongno-gu by category")
        assert [b.get_height() for b in bars_of(fig.axes[0])] == result.pl()["spending"].drop_nulls().to_list()
        path = tmp_path / "spending_by_category.png"
        fig.savefig(path)
        request = alice.export_file(path, "Figure 1: card spending in Jongno-gu by category")
    finally:
        alice.close()
    assert request.status == "needs_review"

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{service.url}sign-in?next=/airlock/{request.id}")
    page.fill("input[name=token]", service.token("sejin"))
    page.click("button[type=submit]")
    page.wait_for_url(f"**/airlock/{request.id}")
    image = page.locator("img.preview")
    image.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('img.preview').complete")
    assert image.evaluate("img => img.naturalWidth") == png_width(path.read_bytes()) > 0
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    context.close()


# --- for every result ----------------------------------------------------------------------------------

cells = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 10**9)), st.floats(0, 10**6)), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(cells=cells)
def test_a_result_with_k_released_values_draws_exactly_k_bars(cells):
    keys = [f"cell {i}" for i in range(len(cells))]
    values = [v for v, _ in cells]
    errors = pl.DataFrame({"key": [k for k, (v, _) in zip(keys, cells) if v is not None],
                           "measure": "n", "half_width": [h for v, h in cells if v is not None]},
                          schema={"key": pl.String, "measure": pl.String, "half_width": pl.Float64})
    result = Result(pa.table({"key": keys, "n": pa.array(values, pa.int64())}), Report(cells=len(keys), errors=errors))
    fig = campus.plot(result)
    bars = bars_of(fig.axes[0])
    released = [v for v in values if v is not None]
    assert [b.get_height() for b in bars] == released
    drawn = half_heights(bars.errorbar) if bars.errorbar else []  # none when every value was withheld
    largest = max((abs(v) for v in released), default=1)  # segments are drawn in floats around their value
    assert drawn == pytest.approx([h for v, h in cells if v is not None], rel=1e-9, abs=1e-12 * max(largest, 1))
    assert texts(fig).count("withheld") == len(values) - len(released)
