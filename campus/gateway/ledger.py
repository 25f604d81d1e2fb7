"""The disclosure ledger: every released cell, per user and per project, against budgets.

A released cell is charged once per *scope* (a user, or a project), dataset and period,
by what the answer shows: the aggregate's definition, the cell's keys and its released
values. Asking for the same cell again (in a query or an export) costs nothing; anything
else costs, so a cost never depends on data the answer does not itself release (who is
in a cell, whether a condition removed anyone). A budget (the policies' ``budgets:``) caps how many
distinct cells a scope may have released in its period; a charge that would pass any
budget is refused whole, in one transaction, so two queries at once cannot both spend
the last of it (on PostgreSQL a cell two of them release at once may be charged twice:
the error is always toward less spending, never more).

The gateway charges *before* it answers. A crash between the two loses nothing that
matters: the cells are charged, and asking again costs nothing.

Cells are recorded by a fingerprint keyed with the noise secret (`fingerprint`), so the
ledger itself cannot be searched for a released value.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, Float, Integer, String, Table, and_, select, update
from sqlalchemy.engine import Connection, Engine

from ..db import metadata
from ..errors import OverBudget

released_cells = Table(
    "released_cells",
    metadata,
    Column("scope", String(250), primary_key=True),  # "user:alice" or "project:gangnam-retail"
    Column("dataset", String(100), primary_key=True),
    Column("period", String(10), primary_key=True),  # "2026-12", "2026-W49" or "2026-12-07"
    Column("cell", String(32), primary_key=True),  # the cell's keyed fingerprint
    Column("at", DateTime(timezone=True), nullable=False),
)

budget_spent = Table(
    "budget_spent",
    metadata,
    Column("scope", String(250), primary_key=True),
    Column("dataset", String(100), primary_key=True),
    Column("period", String(10), primary_key=True),
    Column("cells", Integer, nullable=False),
    Column("epsilon", Float, nullable=False, server_default="0"),  # differential privacy spent, summed
    Column("delta", Float, nullable=False, server_default="0"),
)

PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class Allowance:
    """One scope a request is charged to, and its budgets there (None: recorded, not capped),
    each budget in its own period: cells per `per`, ε per `epsilon_per`."""

    scope: str
    budget: str | None = None  # the budget's name in the policies
    cells: int | None = None
    per: str = "month"
    epsilon: float | None = None  # the ε budget of differential-privacy queries (basic composition)
    epsilon_per: str | None = None  # the ε budget's period (by default the cells')
    epsilon_budget: str | None = None  # the ε budget's name in the policies (by default `budget`)

    @property
    def privacy_period(self) -> str:
        return self.epsilon_per or self.per


@dataclass(frozen=True)
class Spent:
    """Where a scope stands after a charge: cells used of its budget in the period."""

    scope: str
    dataset: str
    budget: str | None
    used: int
    cells: int | None
    renews: datetime.date
    epsilon_used: float = 0.0
    epsilon: float | None = None
    epsilon_renews: datetime.date | None = None  # the ε budget's period ends (its own, maybe not the cells')
    charged: int = 0  # cells new to the scope in this charge (the rest were released to it before)

    @property
    def left(self) -> int | None:
        return None if self.cells is None else max(self.cells - self.used, 0)

    def __str__(self) -> str:
        """What the charge cost the scope, where its budgets stand, and when they renew.

        >>> print(Spent("user:alice", "card_usage", "monthly", 60, 100, datetime.date(2027, 1, 1), charged=25))
        user:alice: charged 25 cells of budget monthly on card_usage (60 of 100 used, 40 left until 2027-01-01)
        """
        charged = f"charged {self.charged:,} cell" + ("" if self.charged == 1 else "s")
        if self.cells is None and self.epsilon is None:
            return f"{self.scope}: {charged} of {self.dataset} ({self.used:,} released this period, no budget)"
        cells = (f"{charged} of budget {self.budget} on {self.dataset} ({self.used:,} of "
                 f"{self.cells:,} used, {self.left:,} left until {self.renews.isoformat()})" if self.cells is not None
                 else f"{charged} of {self.dataset} (no cells budget)")
        if self.epsilon is None:
            return f"{self.scope}: {cells}"
        renews = self.epsilon_renews or self.renews
        return (f"{self.scope}: {cells}; ε {self.epsilon_used:g} of {self.epsilon:g} spent until "
                f"{renews.isoformat()}")


@dataclass(frozen=True)
class Standing:
    """One budget in force on a scope, and where the scope stands against it this period:
    what it counts (``cells``, or the ``epsilon`` of differential-privacy queries), its
    limit a period, how much is spent, and the day the next period starts."""

    dataset: str
    scope: str
    budget: str
    counts: str
    limit: int | float
    spent: int | float
    per: str
    renews: datetime.date

    @property
    def left(self) -> int | float:
        return max(self.limit - self.spent, 0)

    def as_row(self) -> dict:
        return {"dataset": self.dataset, "scope": self.scope, "budget": self.budget, "counts": self.counts,
                "limit": self.limit, "spent": self.spent, "left": self.left, "per": self.per,
                "renews": self.renews.isoformat()}


def allowances(budgets: list, user: str, groups: list[str], project: str | None) -> list[Allowance]:
    """The scopes a release to this requester is charged to: the user, and the project the
    request names; each with the strictest of the `budgets` (`grants.Budget`) on it."""

    def strictest(scope: str, found: list) -> Allowance:
        counted = [b for b in found if b.cells is not None]
        private = [b for b in found if b.epsilon is not None]
        cells = min(counted, key=lambda b: (b.cells, PERIODS.index(b.per))) if counted else None
        epsilon = min(private, key=lambda b: (b.epsilon, PERIODS.index(b.per))) if private else None
        chosen = cells or epsilon
        if chosen is None:
            return Allowance(scope)
        return Allowance(scope, chosen.name, cells.cells if cells else None, chosen.per,
                         epsilon.epsilon if epsilon else None, epsilon.per if epsilon else None,
                         epsilon.name if epsilon else None)

    mine = [b for b in budgets if b.each is not None and b.each.includes(user, groups)]
    scopes = [strictest(f"user:{user}", mine)]
    if project:
        scopes.append(strictest(f"project:{project}", [b for b in budgets if b.project == project]))
    return scopes


def fingerprint(secret: int, dataset: str, shown: str) -> str:
    """A cell's ledger entry: what it shows (`extractguard.guard.showing`), keyed with the noise
    secret, so the ledger cannot be searched for a released value.

    >>> len(fingerprint(7, "card_usage", "ab12")), fingerprint(7, "a", "1") != fingerprint(8, "a", "1")
    (32, True)
    """
    message = f"{dataset}:{shown}".encode()
    return hmac.new(secret.to_bytes(32, "big", signed=True), message, hashlib.sha256).hexdigest()[:32]


def period_of(per: str, day: datetime.date) -> tuple[str, datetime.date]:
    """The period holding `day` and the day the next one starts.

    >>> period_of("month", datetime.date(2026, 12, 7)), period_of("week", datetime.date(2026, 12, 7))[0]
    (('2026-12', datetime.date(2027, 1, 1)), '2026-W50')
    """
    if per == "day":
        return day.isoformat(), day + datetime.timedelta(days=1)
    if per == "week":
        year, week, weekday = day.isocalendar()
        return f"{year}-W{week:02d}", day + datetime.timedelta(days=8 - weekday)
    if per == "month":
        following = (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        return f"{day.year}-{day.month:02d}", following
    raise ValueError(f"a budget's period is one of {', '.join(PERIODS)}, not {per!r}")


class Ledger:
    """Record released cells and hold them to budgets, in the service database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def charge(self, dataset: str, cells: Iterable[str], allowances: list[Allowance],
               today: datetime.date | None = None, epsilon: float = 0.0, delta: float = 0.0) -> list[Spent]:
        """Charge `cells` (fingerprints) of `dataset`, and the ε and δ of a differentially
        private release, to every allowance, or to none: raise `OverBudget`, saying what is
        left and when it renews, if any budget would pass."""
        return self.charge_all([(dataset, cells, allowances, epsilon, delta)], today)

    def charge_all(self, charges: list[tuple], today: datetime.date | None = None) -> list[Spent]:
        """Several `charge`s, (dataset, cells, allowances, ε, δ) each, in one transaction."""
        today, spent = today or datetime.date.today(), []
        with self.engine.begin() as db:
            for dataset, cells, allowances, epsilon, delta in charges:
                cells = sorted(set(cells))
                for allowance in allowances:
                    period, renews = period_of(allowance.per, today)
                    new = _record(db, allowance.scope, dataset, period, cells)
                    used = _add(db, allowance, dataset, period, new, renews)
                    privacy_period, privacy_renews = period_of(allowance.privacy_period, today)
                    private = _spend(db, allowance, dataset, privacy_period, privacy_renews, epsilon, delta)
                    spent.append(Spent(allowance.scope, dataset, allowance.budget, used, allowance.cells, renews,
                                       private, allowance.epsilon, privacy_renews, new))
        return spent

    def used(self, scope: str, dataset: str, per: str = "month", today: datetime.date | None = None) -> int:
        """Cells of `dataset` charged to `scope` in the period holding `today`."""
        period, _ = period_of(per, today or datetime.date.today())
        with self.engine.connect() as db:
            return _spent(db, scope, dataset, period) or 0

    def standing_of(self, dataset: str, allowance: Allowance, today: datetime.date | None = None) -> list[Standing]:
        """Where `allowance`'s scope stands on `dataset` against each budget it has there (its
        cells budget, its ε budget): none when nothing caps the scope."""
        today, found = today or datetime.date.today(), []
        with self.engine.connect() as db:
            if allowance.cells is not None:
                period, renews = period_of(allowance.per, today)
                found.append(Standing(dataset, allowance.scope, allowance.budget, "cells", allowance.cells,
                                      _spent(db, allowance.scope, dataset, period) or 0, allowance.per, renews))
            if allowance.epsilon is not None:
                period, renews = period_of(allowance.privacy_period, today)
                spent = db.execute(select(budget_spent.c.epsilon).where(
                    budget_spent.c.scope == allowance.scope, budget_spent.c.dataset == dataset,
                    budget_spent.c.period == period)).scalar() or 0.0
                found.append(Standing(dataset, allowance.scope, allowance.epsilon_budget or allowance.budget,
                                      "epsilon", allowance.epsilon, spent, allowance.privacy_period, renews))
        return found

    def reset(self, scope: str, dataset: str, per: str = "month", today: datetime.date | None = None) -> int:
        """Forget what `scope` spent on `dataset` this period (a steward's decision); the cells released."""
        period, _ = period_of(per, today or datetime.date.today())
        where = and_(released_cells.c.scope == scope, released_cells.c.dataset == dataset,
                     released_cells.c.period == period)
        with self.engine.begin() as db:
            gone = db.execute(released_cells.delete().where(where)).rowcount
            db.execute(budget_spent.delete().where(and_(budget_spent.c.scope == scope,
                                                         budget_spent.c.dataset == dataset,
                                                         budget_spent.c.period == period)))
        return gone

    def grant(self, scope: str, dataset: str, cells: int, per: str = "month",
              today: datetime.date | None = None) -> int:
        """Give `scope` `cells` more of `dataset` this period (a steward's decision): its count
        of charged cells goes down by as many; the count after."""
        period, _ = period_of(per, today or datetime.date.today())
        key = and_(budget_spent.c.scope == scope, budget_spent.c.dataset == dataset, budget_spent.c.period == period)
        with self.engine.begin() as db:
            db.execute(_insert_ignoring_duplicates(db, budget_spent),
                       [{"scope": scope, "dataset": dataset, "period": period, "cells": 0}])
            db.execute(update(budget_spent).where(key).values(cells=budget_spent.c.cells - cells))
            return _spent(db, scope, dataset, period)

    def standing(self) -> list[dict]:
        """Every scope's spending, newest period first: for stewards."""
        with self.engine.connect() as db:
            rows = db.execute(select(budget_spent).order_by(budget_spent.c.period.desc(), budget_spent.c.scope,
                                                            budget_spent.c.dataset)).mappings().all()
        return [dict(r) for r in rows]


def _record(db: Connection, scope: str, dataset: str, period: str, cells: list[str]) -> int:
    """Insert the cells not yet recorded for the scope; how many were new."""
    if not cells:
        return 0
    known = set()
    for start in range(0, len(cells), 500):
        chunk = cells[start:start + 500]
        known |= set(db.execute(select(released_cells.c.cell).where(
            released_cells.c.scope == scope, released_cells.c.dataset == dataset,
            released_cells.c.period == period, released_cells.c.cell.in_(chunk))).scalars())
    new = [c for c in cells if c not in known]
    if new:
        now = datetime.datetime.now(datetime.UTC)
        db.execute(_insert_ignoring_duplicates(db, released_cells),
                   [{"scope": scope, "dataset": dataset, "period": period, "cell": c, "at": now} for c in new])
    return len(new)


def _add(db: Connection, allowance: Allowance, dataset: str, period: str, new: int, renews: datetime.date) -> int:
    """Add `new` cells to the scope's spending if its budget allows; the cells used after."""
    key = and_(budget_spent.c.scope == allowance.scope, budget_spent.c.dataset == dataset,
               budget_spent.c.period == period)
    fits = budget_spent.c.cells + new <= allowance.cells if allowance.cells is not None else True
    moved = db.execute(update(budget_spent).where(key, fits).values(cells=budget_spent.c.cells + new)).rowcount
    if not moved and _spent(db, allowance.scope, dataset, period) is None:
        if allowance.cells is None or new <= allowance.cells:
            db.execute(_insert_ignoring_duplicates(db, budget_spent),
                       [{"scope": allowance.scope, "dataset": dataset, "period": period, "cells": new}])
            moved = db.execute(select(budget_spent.c.cells).where(key)).scalar() is not None
    if not moved:
        used = _spent(db, allowance.scope, dataset, period) or 0
        raise OverBudget(  # no count of the query's cells: that would tell, for free, how many pass the rules
            f"this query would release more new cells of {dataset} than {allowance.scope} has left: budget "
            f"{allowance.budget} allows {allowance.cells:,} a {allowance.per} and {max(allowance.cells - used, 0):,} "
            f"are left until {renews.isoformat()}. Reuse the cells you have (re-running a query costs nothing), "
            "ask for fewer or coarser cells, or ask a steward (`campus budget`)"
        )
    return _spent(db, allowance.scope, dataset, period) or 0


def _spend(db: Connection, allowance: Allowance, dataset: str, period: str, renews: datetime.date, epsilon: float,
           delta: float) -> float:
    """Add a private release's ε and δ to the scope's spending in the ε budget's own
    `period` if that budget allows (basic composition: they add up); the ε spent after."""
    key = and_(budget_spent.c.scope == allowance.scope, budget_spent.c.dataset == dataset,
               budget_spent.c.period == period)
    if epsilon or delta:
        db.execute(_insert_ignoring_duplicates(db, budget_spent),
                   [{"scope": allowance.scope, "dataset": dataset, "period": period, "cells": 0}])
        fits = budget_spent.c.epsilon + epsilon <= allowance.epsilon + 1e-9 if allowance.epsilon is not None else True
        moved = db.execute(update(budget_spent).where(key, fits).values(
            epsilon=budget_spent.c.epsilon + epsilon, delta=budget_spent.c.delta + delta)).rowcount
        if not moved:
            spent = db.execute(select(budget_spent.c.epsilon).where(key)).scalar() or 0.0
            raise OverBudget(
                f"this query would spend ε {epsilon:g} of {dataset}; budget "
                f"{allowance.epsilon_budget or allowance.budget} allows "
                f"{allowance.scope} ε {allowance.epsilon:g} a {allowance.privacy_period} and "
                f"{max(allowance.epsilon - spent, 0):g} "
                f"is left until {renews.isoformat()}. Ask fewer, broader questions, or ask a steward (`campus budget`)"
            )
    return db.execute(select(budget_spent.c.epsilon).where(key)).scalar() or 0.0


def _spent(db: Connection, scope: str, dataset: str, period: str) -> int | None:
    return db.execute(select(budget_spent.c.cells).where(
        budget_spent.c.scope == scope, budget_spent.c.dataset == dataset, budget_spent.c.period == period)).scalar()


def _insert_ignoring_duplicates(db: Connection, table: Table):
    if db.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()
