"""Disclosure budgets through the gateway: released cells are charged to the requester,
once each, queries and exports alike; passing a budget is a refusal that answers nothing."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from campus.client import Client
from campus.errors import OverBudget
from campus.service.auth import TokenAuthenticator
from campus.service.server import app_for
from campus.service.tokens import TokenStore
from test_attacks import average_until_refused
from test_gateway_cache import campus_of_its_own

pytest_plugins = ["service_fixtures"]

GRANTS = """
roles:
  export_reviewers: {users: [sejin]}
  administrators: {users: [admin]}
grants:
  - {name: alice-cards, users: [alice], dataset: card_usage, mode: aggregates, columns: all, purpose: Plain.}
  - {name: bob-cards, users: [bob], dataset: card_usage, mode: aggregates, columns: all, purpose: No budget.}
budgets:
  - {name: alice-monthly, dataset: card_usage, cells: 60, each: {users: [alice]}, purpose: Limits averaging.}
"""

BY_DISTRICT = "SELECT district, count(*) AS n FROM card_usage GROUP BY 1"
BY_CATEGORY = "SELECT district, category, sum(amount) AS total FROM card_usage GROUP BY ALL"


@pytest.fixture
def cx(demo_data, tmp_path):
    with campus_of_its_own(demo_data, tmp_path, GRANTS) as opened:
        yield opened


def used(cx, user="alice") -> int:
    return cx.gateway.ledger.used(f"user:{user}", "card_usage")


def test_released_cells_are_charged_once_and_the_result_says_what_is_left(cx):
    alice = cx.session("alice", ["researchers"])
    first = alice.sql(BY_DISTRICT)
    assert used(cx) == len(first) == 25
    assert any(n.startswith("user:alice: charged 25 cells of budget alice-monthly on card_usage (25 of 60 used, 35 left")
               for n in first.notes)
    again = alice.sql(BY_DISTRICT + " ORDER BY 1")
    assert used(cx) == 25, "the same cells, asked again and phrased otherwise, cost nothing"
    assert again.pl().sort("district").equals(first.pl().sort("district"))
    alice.sql(BY_DISTRICT, action="export")
    assert used(cx) == 25, "an export of cells already released costs nothing either"


def test_passing_the_budget_is_refused_and_answers_nothing(cx):
    alice = cx.session("alice", ["researchers"])
    alice.sql(BY_DISTRICT)
    with pytest.raises(OverBudget) as refused:
        alice.sql(BY_CATEGORY)  # up to 600 new cells: past the 35 left
    assert refused.value.code == "over_budget" and "are left until" in refused.value.reason
    assert used(cx) == 25, "a refused query charges nothing"
    event = cx.audit.events(limit=1)[0]
    assert event["outcome"] == "over_budget"
    bob = cx.session("bob", ["researchers"])
    bob.sql(BY_CATEGORY)
    assert used(cx, "bob") > 0, "bob has no budget: his cells are recorded, not capped"


def test_averaging_pairs_runs_into_the_budget_and_never_recovers_the_person(cx, raw):
    """The averaging attack with a budget, until it refuses: the estimate stays 10-15% off."""
    alice = cx.session("alice", ["researchers"])
    error, pairs, refused = average_until_refused(lambda q: alice.sql(q).pl()["t"][0], raw)
    assert refused, f"the budget ends the attack ({used(cx)} cells used, {pairs} pairs)"
    assert used(cx) <= 60 and error >= 0.099, f"recovered within {error:.1%} before the budget refused"


@contextmanager
def alice_over_http(cx, serve):
    """Alice's queries through the data service and the notebook client: text -> first value."""
    tokens = TokenStore(cx.audit.engine)
    with serve(app_for(cx, TokenAuthenticator(tokens, cx.policy))) as url:
        client = Client(url, tokens.issue("alice", audit=cx.audit, by="tests").token, progress=False)
        try:
            yield lambda sql: client.sql(sql).pl()[0, 0]
        finally:
            client.close()


def test_averaging_over_http_runs_into_the_budget_too(cx, raw, serve):
    """The same attack through the service: the refusal crosses HTTP as OverBudget."""
    with alice_over_http(cx, serve) as sql:
        error, pairs, refused = average_until_refused(sql, raw)
    assert refused and used(cx) <= 60 and error >= 0.099, (error, pairs)


def test_a_steward_shows_grants_and_resets_budgets_from_the_command_line(cx, monkeypatch):
    from typer.testing import CliRunner

    from campus.cli import _mount, app

    _mount()
    monkeypatch.setenv("CAMPUS_DB_URL", cx.settings.database)
    monkeypatch.setenv("CAMPUS_STATE_DIR", str(cx.settings.state_dir))
    alice = cx.session("alice", ["researchers"])
    alice.sql(BY_DISTRICT)
    run = CliRunner().invoke
    shown = run(app, ["budget", "show"])
    assert shown.exit_code == 0 and "user:alice" in shown.output and "25" in shown.output
    with pytest.raises(OverBudget):
        alice.sql(BY_CATEGORY)
    granted = run(app, ["budget", "grant", "--scope", "user:alice", "--dataset", "card_usage", "--cells", "1000",
                        "--by", "sejin"])
    assert granted.exit_code == 0, granted.output
    assert len(alice.sql(BY_CATEGORY)) > 35, "the extra cells let the finer table out"
    assert run(app, ["budget", "reset", "--scope", "user:alice", "--dataset", "card_usage"]).exit_code == 0
    assert used(cx) == 0
    actions = [e["action"] for e in cx.audit.events(limit=10)]
    assert "budget_grant" in actions and "budget_reset" in actions
    assert run(app, ["budget", "grant", "--scope", "alice", "--dataset", "card_usage", "--cells", "5"]).exit_code != 0


def test_policy_explain_names_the_budget_a_request_is_charged_to(cx, monkeypatch):
    from typer.testing import CliRunner

    from campus.cli import _mount, app

    _mount()
    monkeypatch.setenv("CAMPUS_ROOT", str(cx.settings.root))
    shown = CliRunner().invoke(app, ["policy", "explain", "--user", "alice", "--dataset", "card_usage"])
    assert shown.exit_code == 0, shown.output
    assert "budget user:alice: 60 cells a month (budget alice-monthly)" in shown.output
    shown = CliRunner().invoke(app, ["policy", "explain", "--user", "bob", "--dataset", "card_usage"])
    assert "budget user:bob: recorded, no budget" in shown.output


SLOW = ("WITH c AS (SELECT district, count(*) AS n FROM card_usage GROUP BY 1) "
        "SELECT sum(a.n + b.n + d.n + e.n + f.n + g.n + h.n) AS t FROM c a, c b, c d, c e, c f, c g, c h")


def test_a_crash_after_charging_loses_no_budget_and_answers_nothing(cx, tmp_path):
    """SIGKILL between the charge and the answer: nothing was answered, the cells stay
    charged, and asking for them again costs nothing (so nothing of the budget is lost)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    settings = cx.settings
    script = (
        "import campus, sys\n"
        f"cx = campus.open({str(settings.root)!r}, data_dir={str(settings.data)!r}, state_dir={str(settings.state_dir)!r})\n"
        f"print(cx.session('alice', ['researchers']).sql({SLOW!r}).pl(), flush=True)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while used(cx) == 0 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        assert used(cx) == 25, "the 25 district cells were charged before the answer"
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL and out == b"", "killed before it answered: nothing released"
    again = cx.session("alice", ["researchers"]).sql(BY_DISTRICT)
    assert len(again) == 25 and used(cx) == 25, "the charged cells are the user's: asking again costs nothing"


def test_a_refusal_for_the_budget_reads_the_same_whatever_the_query_would_release(cx):
    """Refused, a query answers nothing: its refusal must not say how many of its cells
    pass the rules either, or an exhausted budget would still answer that for free."""
    alice = cx.session("alice", ["researchers"])
    alice.sql(BY_DISTRICT)
    reasons = set()
    for sql in (BY_CATEGORY, "SELECT category, gender, count(*) AS n FROM card_usage GROUP BY ALL",
                "SELECT hour, district, count(*) AS n FROM card_usage GROUP BY ALL"):
        with pytest.raises(OverBudget) as refused:
            alice.sql(sql)
        reasons.add(refused.value.reason)
    assert len(reasons) == 1, reasons


# --- what a query may cost, before it runs ------------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from campus import Denied, QueryRejected  # noqa: E402

KEYS = ["district", "category", "hour", "age_band", "gender", "home_district", "dong",
        "date_trunc('month', txn_date)", "dayname(txn_date)", "upper(district)", "floor(amount / 100000) * 100000",
        "amount >= 50000", "floor(amount / 10000) * 10000"]
FILTERS = [None, "district = 'Jung-gu'", "hour < 6", "gender <> 'F'", "category IN ('Golf', 'Cafes and bakeries')",
           "age_band = '20s'"]


def shaped(keys: list[str], condition: str | None, inside: bool) -> str:
    """A query of these keys and filter; `inside`: one number computed from its cells."""
    where = f" WHERE {condition}" if condition else ""
    shown = ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))
    if not keys:
        return f"SELECT count(*) AS n FROM card_usage{where}"
    cells = f"SELECT {shown}, count(*) AS n, sum(amount) AS total FROM card_usage{where} GROUP BY ALL"
    return f"SELECT corr(n, total) AS c FROM ({cells})" if inside else cells


@pytest.fixture(scope="module")
def priced(demo_data, tmp_path_factory):
    with campus_of_its_own(demo_data, tmp_path_factory.mktemp("priced"), GRANTS) as opened:
        yield opened


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(st.sampled_from(KEYS), max_size=3, unique=True), condition=st.sampled_from(FILTERS),
       inside=st.booleans())
def test_a_query_never_charges_more_than_its_cost_said(priced, keys, condition, inside):
    bob = priced.session("bob", ["researchers"])  # no budget: every charge recorded, none refused
    sql = shaped(keys, condition, inside)
    cost = bob.cost(sql)
    before = used(priced, "bob")
    result = bob.sql(sql)
    charged = used(priced, "bob") - before
    assert cost.cells >= result.report.cells >= charged, (sql, cost.cells, result.report.cells, charged)
    assert (cost.cells == 250_000) == ("dong" in keys), "only a key without public values or bins bounds nothing"


def other_data(demo_data, folder, how: str):
    """The demo catalog over other rows: another draw of the generator, or files that are no Parquet at all."""
    from campus import catalog
    from campus.settings import Settings
    from campus.synth.build import build

    if how == "another draw":
        build(catalog.load(Settings().catalog_path), folder, scale=0.03, seed=99)
        return folder
    import shutil

    shutil.copytree(demo_data, folder)
    for file in folder.rglob("*.parquet"):
        file.write_bytes(b"not the rows")
    return folder


COSTED = [shaped(k, c, i) for k, c, i in [
    (["district"], None, False), (["district", "category", "hour"], None, False), (["dong", "hour"], None, True),
    (["date_trunc('month', txn_date)", "upper(district)"], "district = 'Jung-gu'", False), ([], "hour < 6", False),
    (["home_district", "gender"], "gender <> 'F'", True), (["floor(amount / 10000) * 10000", "age_band"], None, False)]]


@pytest.mark.parametrize("how", ["another draw", "no rows at all"])
def test_a_cost_tells_nothing_of_the_data(demo_data, tmp_path, how):
    """Two datasets with one catalog and different rows give identical costs; a cost is
    given even when the files hold no rows to read, so it reads none."""
    rows = other_data(demo_data, tmp_path / "data", how)
    with campus_of_its_own(demo_data, tmp_path / "demo", GRANTS) as demo, \
            campus_of_its_own(rows, tmp_path / "other", GRANTS) as other:
        for sql in COSTED:
            mine, theirs = demo.session("alice").cost(sql), other.session("alice").cost(sql)
            assert mine == theirs, sql
            assert mine.sentence.startswith("this query may charge up to")
        if how == "no rows at all":
            with pytest.raises(Exception):
                other.session("alice").sql(COSTED[0])


def test_a_cost_says_what_is_left_and_is_refused_as_running_would_be(cx):
    alice = cx.session("alice", ["researchers"])
    alice.sql(BY_DISTRICT)
    cost = alice.cost(BY_CATEGORY)
    (card,) = cost.datasets
    assert (card.cells, card.left, card.budget) == (26 * 25, 35, "alice-monthly")
    assert cost.sentence.startswith("this query may charge up to 650 cells of your 35 left on card_usage "
                                    "(budget alice-monthly, renews ")
    assert "more than you have left, so it may be refused" in cost.sentence
    assert "district (26 values, null among them) × category (25 values, null among them)" in str(cost)
    assert alice.cost(BY_DISTRICT + " HAVING n > 5").cells == 26
    assert alice.cost("SELECT floor(amount / 100000) * 100000 AS b, count(*) AS n FROM card_usage GROUP BY 1").cells \
        == 12, "a binned measure: its 11 bins from 0 to the top code, and null"
    assert alice.cost("SELECT count(*) AS n FROM card_usage WHERE district = 'Jung-gu' GROUP BY district").cells == 1
    assert used(cx) == 25, "a cost charges nothing"
    for sql, error in [("SELECT card_id, count(*) AS n FROM card_usage GROUP BY 1", Denied),
                       ("SELECT district FROM card_usage", Denied), ("SELECT nope FROM card_usage", QueryRejected),
                       ("SELECT 1; SELECT 2", QueryRejected)]:
        with pytest.raises(error) as costing:
            alice.cost(sql)
        with pytest.raises(error) as running:
            alice.sql(sql)
        assert costing.value.reason == running.value.reason, sql
    assert [e["action"] for e in cx.audit.events(limit=2)] == ["query", "cost"], "costs are audited too"


def test_a_result_says_what_it_charged_and_why_cells_inside_count(cx):
    alice = cx.session("alice", ["researchers"])
    inner = "SELECT corr(n, total) AS c FROM (SELECT gender, age_band, count(*) AS n, sum(amount) AS total " \
            "FROM card_usage GROUP BY ALL)"
    result = alice.sql(inner)
    charged = used(cx)
    assert len(result) == 1 and 0 < charged == result.report.cells <= 12
    assert f"user:alice: charged {charged} cells of budget alice-monthly on card_usage ({charged} of 60 used, " \
           f"{60 - charged} left until" in result.notes[-2]
    assert result.notes[-1] == (
        f"card_usage: charged for the {charged} cells the answer was computed from (the aggregate by gender, age_band "
        "inside the query), though it shows 1 row: every cell an aggregate releases counts, shown or not")
    again = alice.sql(inner)
    assert "charged 0 cells of budget alice-monthly" in again.notes[-2], "asked again: nothing new charged"
    assert "note: user:alice: charged" in repr(again)


BUDGETS = GRANTS + """\
  - {name: alice-epsilon, dataset: card_usage, epsilon: 2, per: week, each: {users: [alice]}, purpose: DP.}
  - {name: stores-daily, dataset: card_usage, cells: 500, per: day, project: stores, purpose: The project's.}
"""


def test_budget_rows_are_the_budgets_that_apply_and_hold_no_nulls(demo_data, tmp_path):
    with campus_of_its_own(demo_data, tmp_path, BUDGETS) as cx:
        cx.session("bob", ["researchers"]).sql(BY_DISTRICT)
        cx.session("alice", ["researchers"], "stores").sql(BY_DISTRICT)
        bob = cx.session("bob", ["researchers"]).budget()
        assert len(bob) == 0 and bob.rows == [], "bob's cells are recorded, but no budget caps him: no row"
        assert bob.message.startswith("no disclosure budget applies to you") and repr(bob) == bob.message
        rows = cx.session("alice", ["researchers"], "stores").budget()
        table = rows.pl()
        assert table.null_count().sum_horizontal()[0] == 0 and table.height == 3
        assert sorted(zip(table["scope"], table["budget"], table["counts"], table["spent"], table["per"])) == [
            ("project:stores", "stores-daily", "cells", 25, "day"),
            ("user:alice", "alice-epsilon", "epsilon", 0, "week"),
            ("user:alice", "alice-monthly", "cells", 25, "month")]
        assert table.filter(table["budget"] == "alice-monthly")["left"][0] == 35
        alone = cx.session("alice", ["researchers"]).budget()
        assert [r.budget for r in alone.rows] == ["alice-monthly", "alice-epsilon"], "the project's only within it"
        assert "25 of 60 cells of card_usage spent (budget alice-monthly), 35 left until" in alone.message
