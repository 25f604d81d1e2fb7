"""Differential privacy per grant (`protection: dp`): bounded contributions, OpenDP's
noise, noisy thresholding, error bars from the mechanism, ε and δ in the same ledger."""

from __future__ import annotations

import polars as pl
import pytest

from campus.errors import OverBudget
from extractguard.dp import HALF_WIDTH_95
from test_attacks import average_until_refused
from test_budget import alice_over_http
from test_gateway_cache import campus_of_its_own

pytest_plugins = ["service_fixtures"]

GRANTS = """
roles:
  export_reviewers: {users: [sejin]}
  administrators: {users: [admin]}
grants:
  - {name: alice-private, users: [alice], dataset: card_usage, mode: aggregates, columns: all, protection: dp,
     epsilon: 1.0, purpose: Differential privacy.}
budgets:
  - {name: alice-epsilon, dataset: card_usage, epsilon: 6, each: {users: [alice]}, purpose: Limits averaging.}
"""

BY_DISTRICT = "SELECT district, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY 1"


@pytest.fixture
def cx(demo_data, tmp_path):
    with campus_of_its_own(demo_data, tmp_path, GRANTS) as opened:
        yield opened


def test_a_private_aggregate_is_noisy_bounded_and_carries_the_mechanisms_error_bars(cx, raw):
    alice = cx.session("alice", ["researchers"])
    result = alice.sql(BY_DISTRICT)
    shown = result.pl().filter(pl.col("n").is_not_null())
    truth = pl.from_arrow(raw.sql(
        "SELECT district, count(*) AS n_raw, sum(amount) AS total_raw FROM card_usage GROUP BY 1").to_arrow_table())
    both = shown.join(truth, on="district")
    assert both.height >= 20, "the districts are large: they pass the noisy threshold"
    assert (both["n"] != both["n_raw"]).mean() > 0.5, "counts are noisy"
    # the error bars are the Laplace 95% half-widths of the public bounds and the ε share, never of the data
    bars = result.report.errors
    part = 1.0 / 3  # ε split between the threshold, the records and the sum
    assert set(bars.filter(pl.col("measure") == "n")["half_width"].round(6)) == {round(8 * 30 / part * HALF_WIDTH_95, 6)}
    assert set(bars.filter(pl.col("measure") == "total")["half_width"].round(3)) == {
        round(8 * 3_000_000 / part * HALF_WIDTH_95, 3)}
    # a contribution is bounded: the released count never exceeds what 8 cells x 30 records allow per card
    assert any("differential privacy" in n for n in result.report.notes)
    assert cx.gateway.ledger.used("user:alice", "card_usage") == 0, "dp releases are charged in ε, not cells"


def test_epsilon_adds_up_in_the_ledger_until_the_budget_refuses(cx):
    alice = cx.session("alice", ["researchers"])
    answers = []
    with pytest.raises(OverBudget) as refused:
        for _ in range(10):
            answers.append(alice.sql(BY_DISTRICT))
    assert len(answers) == 6, "ε 1 a query, ε 6 a month: six answers"
    assert "ε 1 of card_usage" in refused.value.reason and "0 is left until" in refused.value.reason
    assert any("ε 6 of 6 spent" in n for n in answers[-1].notes)


def test_the_averaging_attack_under_dp_runs_into_the_budget(cx, raw):
    """Pairs of date ranges differing by one person's purchases on one day, averaged until
    the ε budget refuses: the estimate stays far from the truth."""
    alice = cx.session("alice", ["researchers"])
    error, pairs, refused = average_until_refused(lambda q: alice.sql(q).pl()["t"][0], raw)
    assert refused and pairs <= 3, "ε 1 a query, ε 6 a month: three pairs at most"
    assert error > 0.1, f"recovered within {error:.1%} before the budget refused"


def test_the_averaging_attack_under_dp_over_http_runs_into_the_budget(cx, raw, serve):
    with alice_over_http(cx, serve) as sql:
        error, pairs, refused = average_until_refused(sql, raw)
    assert refused and pairs <= 3 and error > 0.1, (error, pairs)


def test_a_sum_over_a_condition_is_refused_under_dp_with_a_reason(cx):
    alice = cx.session("alice", ["researchers"])
    from campus.errors import Denied, QueryRejected

    with pytest.raises((Denied, QueryRejected)) as refused:
        alice.sql("SELECT district, sum(CASE WHEN category = 'Golf' THEN amount END) AS golf FROM card_usage GROUP BY 1")
    assert "differential privacy" in refused.value.reason


def test_a_grant_may_set_its_own_contribution_bounds(demo_data, tmp_path):
    grants = GRANTS.replace("epsilon: 1.0, purpose", "epsilon: 1.0, privacy: {cells_per_entity: 1, records_per_cell: 2}, "
                                                    "purpose")
    with campus_of_its_own(demo_data, tmp_path, grants) as cx:
        result = cx.session("alice", ["researchers"]).sql(BY_DISTRICT)
    bars = result.report.errors.filter(pl.col("measure") == "n")["half_width"]
    assert set(bars.round(6)) == {round(1 * 2 * 3 / 1.0 * HALF_WIDTH_95, 6)}, "the grant's bounds size the noise"
    assert any("at most 1 cells" in n for n in result.report.notes)
