"""The disclosure ledger on SQLite and PostgreSQL: cells charged once, budgets held, and
two charges at once never both spending the last of a budget."""

from __future__ import annotations

import datetime
import threading

import pytest

from campus.db import connect, ensure_schema
from campus.gateway.ledger import Allowance, Ledger, OverBudget
from databases import DATABASES, fresh_database

TODAY = datetime.date(2026, 12, 7)


@pytest.fixture(params=DATABASES)
def ledger(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        engine = connect(url)
        ensure_schema(engine)
        yield Ledger(engine)
        engine.dispose()


def cells(*numbers: int) -> list[str]:
    return [f"{n:032x}" for n in numbers]


ALICE = Allowance("user:alice", "researchers-monthly", 10, "month")


def test_a_cell_is_charged_once_and_asking_again_costs_nothing(ledger):
    (spent,) = ledger.charge("card_usage", cells(1, 2, 3), [ALICE], TODAY)
    assert (spent.used, spent.left, spent.renews) == (3, 7, datetime.date(2027, 1, 1))
    (spent,) = ledger.charge("card_usage", cells(2, 3, 4), [ALICE], TODAY)
    assert spent.used == 4, "only cell 4 was new"
    assert ledger.used("user:alice", "card_usage", today=TODAY) == 4
    assert ledger.used("user:alice", "sales_by_location", today=TODAY) == 0


def test_passing_a_budget_is_refused_whole_saying_what_is_left_and_when_it_renews(ledger):
    ledger.charge("card_usage", cells(*range(8)), [ALICE], TODAY)
    with pytest.raises(OverBudget) as refused:
        ledger.charge("card_usage", cells(*range(5, 12)), [ALICE], TODAY)
    reason = refused.value.reason
    assert "2 are left until 2027-01-01" in reason and "4" not in reason.split("budget")[0], (
        "the refusal says what is left, not how many cells the query has")
    assert "researchers-monthly" in reason
    assert ledger.used("user:alice", "card_usage", today=TODAY) == 8, "nothing of a refused charge is kept"
    ledger.charge("card_usage", cells(*range(10)), [ALICE], TODAY)  # exactly the budget
    assert ledger.used("user:alice", "card_usage", today=TODAY) == 10


def test_every_scope_is_charged_or_none(ledger):
    project = Allowance("project:gangnam-retail", "gangnam", 3, "month")
    with pytest.raises(OverBudget):
        ledger.charge("card_usage", cells(1, 2, 3, 4), [ALICE, project], TODAY)
    assert ledger.used("user:alice", "card_usage", today=TODAY) == 0, "the user's charge rolled back with the project's"
    ledger.charge("card_usage", cells(1, 2, 3), [ALICE, project], TODAY)
    assert ledger.used("project:gangnam-retail", "card_usage", today=TODAY) == 3


def test_a_new_period_starts_afresh_and_uncapped_scopes_are_recorded(ledger):
    ledger.charge("card_usage", cells(*range(10)), [ALICE], TODAY)
    (spent,) = ledger.charge("card_usage", cells(1), [ALICE], datetime.date(2027, 1, 1))
    assert spent.used == 1
    (spent,) = ledger.charge("card_usage", cells(1, 2), [Allowance("user:bob")], TODAY)
    assert (spent.used, spent.left) == (2, None)


def test_a_steward_resets_a_scope(ledger):
    ledger.charge("card_usage", cells(*range(10)), [ALICE], TODAY)
    assert ledger.reset("user:alice", "card_usage", today=TODAY) == 10
    (spent,) = ledger.charge("card_usage", cells(1), [ALICE], TODAY)
    assert spent.used == 1
    assert [(r["scope"], r["cells"]) for r in ledger.standing()] == [("user:alice", 1)]


def test_two_charges_at_once_cannot_both_spend_the_last_of_a_budget(ledger):
    ledger.charge("card_usage", cells(*range(6)), [ALICE], TODAY)
    outcomes, start = [], threading.Barrier(2)

    def charge(first: int):
        start.wait()
        try:
            ledger.charge("card_usage", cells(*range(first, first + 3)), [ALICE], TODAY)
            outcomes.append("charged")
        except OverBudget:
            outcomes.append("refused")

    threads = [threading.Thread(target=charge, args=(100 + 10 * i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["charged", "refused"]
    assert ledger.used("user:alice", "card_usage", today=TODAY) == 9


def test_each_budget_keeps_its_own_period(ledger):
    """A monthly ε budget beside a daily cells budget: the cells renew each day, the ε only
    with the month (it was kept per day, so a month's ε could be spent every day)."""
    from types import SimpleNamespace

    from campus.gateway.ledger import allowances

    who = SimpleNamespace(includes=lambda user, groups: True)
    budgets = [SimpleNamespace(name="daily-cells", cells=5, epsilon=None, per="day", each=who, project=None),
               SimpleNamespace(name="monthly-epsilon", cells=None, epsilon=2.0, per="month", each=who, project=None)]
    (mine,) = allowances(budgets, "alice", ["researchers"], None)
    assert (mine.per, mine.privacy_period) == ("day", "month")
    (spent,) = ledger.charge("card_usage", cells(1, 2, 3), [mine], TODAY, epsilon=1.5)
    assert (spent.used, spent.epsilon_used, spent.epsilon_renews) == (3, 1.5, datetime.date(2027, 1, 1))
    assert "until 2026-12-08" in str(spent) and "ε 1.5 of 2 spent until 2027-01-01" in str(spent)
    tomorrow = TODAY + datetime.timedelta(days=1)
    (spent,) = ledger.charge("card_usage", cells(1, 2, 3, 4, 5), [mine], tomorrow)
    assert (spent.used, spent.epsilon_used) == (5, 1.5), "a new day's cells, the month's ε"
    with pytest.raises(OverBudget) as refused:
        ledger.charge("card_usage", [], [mine], tomorrow, epsilon=1.0)
    assert "ε 2 a month" in refused.value.reason and "0.5 is left until 2027-01-01" in refused.value.reason
    (spent,) = ledger.charge("card_usage", [], [mine], datetime.date(2027, 1, 2), epsilon=1.0)
    assert spent.epsilon_used == 1.0, "the ε renews with the month"
