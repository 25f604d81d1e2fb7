"""A researcher's session: the path of one query, one step per line.

analyse → decide → rewrite → (pseudonym keys) → execute (cells) → guard → execute (rest) → record

The analysis and the rewrite are pure, so the campus remembers them (cache.py); the
policy, the guard and the audit run for every query.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

import extractguard
from extractguard import Disclosure, Report, Scoped
from extractguard import dp
from extractguard.dp import Privacy
from extractguard.noise import draw_key
from extractguard.rules import infusion

from ..catalog import Dataset
from ..errors import CampusError, Denied, GatewayFailure, QueryRejected
from ..policy.decision import PolicyRequest
from ..vocabulary import pseudonyms
from ..vocabulary.dialect import CAMPUS_SQL
from ..text import MAX_SQL
from .analyse import DatasetUse, Query, analyse
from .cache import Memory
from .cells import ProtectedAggregate, entity_word, split
from .cost import AggregateBound, Budgets, Cost, KeyBound, computed_from
from .domain import domain_sql, key_values_sql
from .ledger import Standing, allowances, fingerprint
from .result import Result
from .rewrite import MASK_ORDER, Coverage, Grant, as_subquery, covering, private_statistics_sql, source
from .statistics import statistics_sql
from ..engines import Deadline

if TYPE_CHECKING:
    from ..policy.decision import Decision
    from .gateway import Gateway

NOISE_KEY = b"campus: noise factors"  # what the noise secret's draw key is for (`extractguard.noise.draw_key`)


@dataclass(frozen=True)
class Guarded:
    """One protected aggregate as the guard computes and checks it."""

    aggregate: ProtectedAggregate
    statistics: str  # SQL: the cells with their safety statistics (at most max_cells + 1 of them)
    disclosure: Disclosure
    max_cells: int
    domain: str | None = None  # SQL over constants: every public key combination, when each key has one
    scoped: tuple[Scoped, ...] = ()  # stricter terms binding on the cells that hold rows they cover
    privacy: Privacy | None = None  # under differential privacy: its ε, δ and contribution bounds
    noise: tuple[float, float] | None = None  # the sums' noise bounds: the widest the dataset's terms ask for
    key_values: tuple[str | None, ...] = ()  # SQL over constants per key: the values it can take (None: unbounded)
    inside: bool = False  # the aggregate feeds the rest of the query: the answer is computed from its cells


@dataclass(frozen=True)
class Decided:
    """One dataset use and what the policy decided about it."""

    use: DatasetUse
    decision: Decision

    def recorded(self) -> dict:
        """The decision as the audit records it and the result returns it."""
        d = self.decision
        return {"dataset": self.use.dataset.name, "allow": d.allow, "reasons": d.reasons, "grant": d.grant,
                "export": d.export}


@dataclass
class Plan:
    """The rewritten query: protected aggregates to compute and check, then the rest."""

    query: Query  # as analysed; shared with the memory, so never changed (the rewrite works on a copy)
    action: str = "query"
    uses: list[Decided] = field(default_factory=list)  # every use with its decision, in the query's order
    refused: dict | None = None  # the decision that refused the query, as recorded
    aggregates: list[Guarded] = field(default_factory=list)
    row_cap: int | None = None
    rewritten: str | None = None  # the SQL over checked cells and masked rows, once rewritten
    engine: str | None = None  # the engine holding the query's datasets, which runs the rewritten SQL
    pseudonyms: bool = False  # the rewritten SQL shows identifiers as pseudonyms: it needs the project's key

    @property
    def decisions(self) -> list[dict]:
        """The decisions as recorded and returned (a refusal's last)."""
        return [u.recorded() for u in self.uses] + ([self.refused] if self.refused else [])

    @property
    def sql(self) -> str:
        return self.rewritten if self.rewritten is not None else self.query.tree.sql(CAMPUS_SQL)


@dataclass(frozen=True)
class Rewritten:
    """What `rewrite` made of a query under some decisions; shared between sessions, never changed."""

    aggregates: tuple[Guarded, ...]
    sql: str
    row_cap: int | None
    engine: str
    pseudonyms: bool


@dataclass
class Session:
    gateway: "Gateway"
    user: str
    groups: list[str] = field(default_factory=list)
    project: str | None = None

    def sql(self, text: str, *, action: str = "query") -> Result:
        """Run one query under the policy; raise Denied or QueryRejected with a reason.

        ``action="export"`` runs it as an export is checked: the policy is asked about
        exports, and every dataset is aggregated under the disclosure rules whatever
        the grant's mode, so rows never leave.
        """
        started, plan, result, left_out = time.monotonic(), None, None, {}
        deadline = Deadline(self.gateway.engine.limits.seconds)
        try:
            query = self.analyse(text)
            plan = self.decide(query, action)
            self.rewrite(plan)
            keys = self.pseudonym_keys(plan)
            with self.gateway.engines[plan.engine].cursor(deadline) as cursor:
                report, left_out, released, private = guard(plan, cursor, self.gateway.secret, deadline,
                                                            self.memory.domains)
                spent = self.charge(released, private)  # before the answer: refused whole if it passes a budget
                result = execute(plan, cursor, report, keys)
            result.notes += charge_notes(plan, spent, released, len(result))
            return result
        except CampusError as e:
            self.record(text, plan, e.code, time.monotonic() - started, reason=e.reason, action=action)
            raise
        except Exception as e:  # fail closed: a bug refuses the query, it never answers it
            failure = GatewayFailure(
                "the campus could not check this query, so it was refused; tell the campus admins "
                f"(audit event {self.record(text, plan, 'gateway_failure', time.monotonic() - started, reason=repr(e))})"
            )
            raise failure from None
        finally:
            if result is not None:
                self.record(text, plan, "allowed", time.monotonic() - started, result=result, action=action,
                            left_out=left_out)

    @property
    def memory(self) -> Memory:
        return self.gateway.memory

    @property
    def requester(self) -> tuple:
        """Who asks: each requester has their own memories, so that how fast a query
        answers never tells whether someone else ran the same text."""
        return self.user, tuple(sorted(self.groups)), self.project

    def charge(self, released: dict[str, set[int]], private: list | None = None) -> list:
        """Charge the released cells, and the ε and δ of aggregates under differential
        privacy, to the requester's scopes in the ledger (a cell seen before costs nothing),
        in one transaction; `OverBudget`, and nothing answered, if a budget would pass."""
        ledger = self.gateway.ledger
        if ledger is None:
            return []
        charges = []
        for dataset in sorted(set(released) | {d for d, _ in private or []}):
            scopes = allowances(self.gateway.policy.budgets(dataset), self.user, self.groups, self.member_project)
            cells = [fingerprint(self.gateway.secret, dataset, key) for key in released.get(dataset, ())]
            epsilon = sum(s.epsilon for d, s in private or [] if d == dataset)
            delta = sum(s.delta for d, s in private or [] if d == dataset)
            charges.append((dataset, cells, scopes, epsilon, delta))
        return ledger.charge_all(charges)

    @property
    def member_project(self) -> str | None:
        """The project named, if the requester is one of its members: only they spend, or see, its budget."""
        return self.project if self.project and self.gateway.policy.member_of(self.user, self.project) else None

    def budget(self) -> Budgets:
        """The budgets that apply to the requester, one row each (`ledger.Standing`): their
        own and their project's, what each counts, its limit a period, spent, left, and when
        it renews. A scope no budget caps has no row: its cells are recorded, not capped."""
        return Budgets(rows=[s.as_row() for s in self.standing()])

    def standing(self) -> list[Standing]:
        """Where the requester stands against every budget that applies to them, per dataset."""
        ledger = self.gateway.ledger
        if ledger is None:
            return []  # nothing is charged, so no budget applies
        return [standing for dataset in self.gateway.catalog
                for scope in allowances(self.gateway.policy.budgets(dataset.name), self.user, self.groups,
                                        self.member_project)
                for standing in ledger.standing_of(dataset.name, scope)]

    def cost(self, text: str, *, action: str = "query") -> Cost:
        """The most cells `text` can charge, from its shape alone (cost.py): analysed, decided
        and rewritten as `sql` would (so a query the policy refuses is refused the same way),
        each key's values counted over constants; no row of any dataset is read."""
        started, plan = time.monotonic(), None
        try:
            plan = self.decide(self.analyse(text), action)
            self.rewrite(plan)
            self.pseudonym_keys(plan)
            with self.gateway.engines[plan.engine].cursor(Deadline(self.gateway.engine.limits.seconds)) as cursor:
                bounds = [bound(guarded, cursor, self.memory.domains) for guarded in plan.aggregates]
            cost = Cost.of(bounds, self.standing())
        except CampusError as e:
            self.record(text, plan, e.code, time.monotonic() - started, reason=e.reason, action="cost")
            raise
        except Exception as e:  # fail closed
            raise GatewayFailure(
                "the campus could not estimate this query's cost; tell the campus admins (audit event "
                f"{self.record(text, plan, 'gateway_failure', time.monotonic() - started, reason=repr(e))})"
            ) from None
        self.record(text, plan, "allowed", time.monotonic() - started, action="cost", cost=cost.cells)
        return cost

    def analyse(self, text: str) -> Query:
        """The query's analysis: remembered per text (and catalog), or made now. A remembered
        query is shared: nothing changes it (the rewrite works on a `fresh` copy)."""
        key = (self.memory.current(self.gateway.catalog, self.gateway.policy), self.requester, text)
        remembered = self.memory.analyses.get(key)
        if remembered is not None:
            return remembered
        query = analyse(text, self.gateway.catalog, self.memory.schema(self.gateway.catalog))
        self.memory.analyses.put(key, query)
        return query

    def decide(self, query: Query, action: str = "query") -> Plan:
        """Ask the policy about every dataset use; any denial denies the query."""
        plan = Plan(query, action)
        for use in query.uses:
            if action == "export" and use.shape != "aggregates":
                raise Denied(f"exports must aggregate {use.dataset.name}: rows never leave the campus")
            decision = self.gateway.policy.ask(PolicyRequest(
                user=self.user, groups=self.groups, project=self.project, dataset=use.dataset.name,
                columns=use.columns, shape=use.shape, action=action, sealed=self.gateway.sealed,
            ))
            if not decision.allow:
                plan.refused = Decided(use, decision).recorded()
                raise Denied("; ".join(decision.reasons))
            plan.uses.append(Decided(use, decision))
        return plan

    def rewrite(self, plan: Plan) -> None:
        """Rewrite the plan, or take the rewrite remembered for its text and decisions."""
        memory, files = self.memory, self.gateway.files
        key = self.requester, rewrite_key(plan, files, memory.current(self.gateway.catalog, self.gateway.policy))
        remembered = memory.rewrites.get(key)
        if remembered is None:
            engine = self.gateway.engine_for([u.dataset for u in plan.query.uses])
            rewrite(plan, plan.query.fresh(self.gateway.catalog), files, engine, self.gateway.policy.noise)
            plan.engine = engine.name
            memory.rewrites.put(key, Rewritten(tuple(plan.aggregates), plan.sql, plan.row_cap, plan.engine,
                                               plan.pseudonyms))
        else:
            plan.aggregates, plan.rewritten = list(remembered.aggregates), remembered.sql
            plan.row_cap, plan.engine, plan.pseudonyms = remembered.row_cap, remembered.engine, remembered.pseudonyms

    def pseudonym_keys(self, plan: Plan) -> dict[str, str] | None:
        """The bound parameters that show identifiers as the project's pseudonyms, if the
        plan shows any (`campus.vocabulary.pseudonyms`). Rows of people are seen only within a project (their
        grant names one), under that project's key; none named, or no secret: refused."""
        if not plan.pseudonyms:
            return None
        identifying = ", ".join(sorted({u.use.dataset.name for u in plan.uses if u.decision.mode == "rows"
                                        and u.use.dataset.roles("identifier")}))
        if self.project is None:
            raise Denied(f"rows of {identifying} carry identifiers, which are shown only as a project's pseudonyms: "
                         "work in the project whose grant gives you these rows (project=... in campus.sql)")
        if self.gateway.pseudonym_secret is None:
            raise Denied(f"rows of {identifying} carry identifiers, and this data service holds no pseudonym secret "
                         "to show them with; tell the campus admins")
        return pseudonyms.parameters(self.gateway.pseudonym_secret, self.project)

    def record(self, text: str, plan: Plan | None, outcome: str, seconds: float, *, reason: str = "", result=None,
               action: str = "query", left_out: dict | None = None, **more):
        """Audit one query. The steward's record says how many cells each rule left out;
        the requester's report never does."""
        detail = {
            "sql": text if len(text) <= MAX_SQL else text[:1000] + f"… ({len(text):,} characters)",
            "reason": reason, "duration_ms": round(seconds * 1000, 1),
            "decisions": plan.decisions if plan else [],
            "datasets": sorted({u.dataset.name for u in plan.query.uses}) if plan else [],
            "engine": plan.engine if plan else None,
        } | more
        if result is not None:
            detail |= {"rows": len(result), "cells": result.report.cells, "suppressed": result.report.suppressed,
                       "left_out": left_out or {}}
        return self.gateway.audit.record(self.user, action, outcome, project=self.project, groups=self.groups, **detail)


def rewrite_key(plan: Plan, files_of: Callable[[Dataset], list[Path]], generation: int) -> tuple:
    """Everything `rewrite` reads: the text, the action, each use with its decision's full
    content and its files, and the generation (the catalog and the policy in force)."""
    uses = tuple(
        (d.use.dataset.name, tuple(d.use.columns), d.use.shape, d.decision.model_dump_json(),
         tuple(str(f) for f in files_of(d.use.dataset)))
        for d in plan.uses
    )
    return generation, plan.query.sql, plan.action, uses


def bound(guarded: Guarded, cursor, remembered=None) -> AggregateBound:
    """The most cells one protected aggregate can release: its keys' values counted over
    constants (`domain.key_values_sql`, remembered by their SQL), never its rows."""
    aggregate = guarded.aggregate
    keys = [KeyBound(key=aggregate.labels.get(k.name, k.name),
                     values=None if sql is None else public_keys(sql, cursor, remembered).column(0)[0].as_py())
            for k, sql in zip(aggregate.keys, guarded.key_values, strict=True)]
    return AggregateBound.of(aggregate.dataset.name, keys, guarded.max_cells)


def charge_notes(plan: Plan, spent: list, released: dict[str, set[str]], rows: int) -> list[str]:
    """What the query was charged, to each budget that caps the requester, and, where the
    answer was computed from cells it does not show, that those cells were charged."""
    capped = [s for s in spent if s.cells is not None or s.epsilon is not None]
    notes = [str(s) for s in capped]
    for dataset in sorted({s.dataset for s in capped}):
        inside = [", ".join(g.aggregate.labels.get(k.name, k.name) for k in g.aggregate.keys)
                  for g in plan.aggregates if g.inside and g.aggregate.dataset.name == dataset]
        if inside:
            notes.append(computed_from(dataset, len(released.get(dataset, ())), inside, rows))
    return notes


def rewrite(plan: Plan, query: Query, files_of: Callable[[Dataset], list[Path]], engine,
            noise_of: Callable[[str], tuple[float, float]] | None = None) -> None:
    """Replace every dataset use of `query` (the plan's, or a fresh copy of it) by its masked
    source; split protected aggregates. The tree is rewritten in place and generated once
    at the end (``plan.sql``), in the `engine`'s SQL. `noise_of` gives a dataset's noise
    bounds (the widest any of its terms ask for: one width per entity, whatever binds);
    without it, the strictest of the terms that bind this query."""
    tree = query.tree
    for use, decision in zip(query.uses, [d.decision for d in plan.uses], strict=True):
        grant, disclosure = terms_of(decision)
        files = files_of(use.dataset)
        checked = decision.mode == "aggregates" or (plan.action == "export" and use.dataset.entity is not None)
        if checked:
            if use.shape != "aggregates":
                raise Denied(f"{use.dataset.name} is available to you only as aggregates: add GROUP BY and aggregates")
            aggregate = split(use, f"__checked_{len(plan.aggregates)}")
            rows = source(use.dataset, grant, engine.scan(files), reads=use.columns, entity=True, engine=engine)
            max_cells = min([decision.disclosure.max_cells] + [b.disclosure.max_cells for b in decision.stricter()])
            domain = domain_sql(aggregate, grant, max_cells, engine)
            shape = {"key_values": key_values_sql(aggregate, grant, engine),
                     "inside": use.select is not query.tree and not isinstance(use.select.parent, exp.SetOperation)}
            if decision.protection == "dp":
                bounds = private_bounds(use.dataset, aggregate, decision.privacy)
                privacy = Privacy(decision.epsilon, decision.delta, bounds)
                statistics = private_statistics_sql(aggregate, rows, privacy.bounds, max_cells, engine)
                plan.aggregates.append(Guarded(aggregate, statistics, disclosure, max_cells, domain, (), privacy,
                                               **shape))
            else:
                scoped, covered = bind(aggregate, grant)
                top_n = max([disclosure.dominance_n, 2] + [s.disclosure.dominance_n for s in scoped])
                terms = [disclosure] + [s.disclosure for s in scoped]
                noise = noise_of(use.dataset.name) if noise_of else infusion(disclosure, terms[1:])
                threshold = max(t.min_entities for t in terms)  # conditions of lower effect are not applied
                statistics = statistics_sql(aggregate, rows, top_n, max_cells, covered, engine, noise, threshold)
                plan.aggregates.append(Guarded(aggregate, statistics, disclosure, max_cells, domain, tuple(scoped),
                                               noise=noise, **shape))
            if use.select is tree:
                tree = aggregate.rest
            else:
                use.select.replace(aggregate.rest)
        else:
            rows = source(use.dataset, grant, engine.scan(files), reads=use.columns, entity=False, engine=engine)
            use.table.replace(as_subquery(rows, use.alias))
            cap = decision.row_cap
            plan.row_cap = cap if plan.row_cap is None else min(plan.row_cap, cap)
    # The tree's parameters are the campus's own: analyse refuses a query that writes one.
    plan.pseudonyms = any(p.name == pseudonyms.INNER for p in tree.find_all(exp.Placeholder))
    plan.rewritten = tree.sql(engine.dialect, copy=False)  # the tree's last use: the generator may change it


def private_bounds(dataset: Dataset, aggregate: ProtectedAggregate, granted=None) -> dp.Bounds:
    """The contribution bounds for differential privacy: the grant's (`granted`) or else the
    catalog's, with the catalog's clamp per measure; a refusal naming what is missing."""
    missing = [m.column for m in aggregate.measures if m.column and dataset.columns[m.column].contribution is None]
    privacy = granted or dataset.privacy
    if privacy is None or missing:
        what = f"contribution bounds for {', '.join(sorted(set(missing)))}" if missing else "contribution bounds"
        raise Denied(f"{dataset.name} is granted to you under differential privacy, but its catalog entry has no "
                     f"{what}; ask its steward ({dataset.steward}) to declare them")
    clamp = {m.column: (dataset.columns[m.column].contribution.lower, dataset.columns[m.column].contribution.upper)
             for m in aggregate.measures if m.column}
    return dp.Bounds(privacy.cells_per_entity, privacy.records_per_cell, clamp)


def terms_of(decision: Decision) -> tuple[Grant, Disclosure]:
    """The grant's terms with the stricter terms binding its rows (policies/campus/binding.rego):
    those covering every row tighten the whole grant; those covering some rows are the
    grant's coverages, which mask those rows and bind the cells that may hold them."""
    masks = dict(decision.masks or {})
    disclosure, covered = Disclosure.of(decision.disclosure), []
    for binding in decision.stricter():
        if binding.rows:
            covered.append(Coverage(dict(binding.rows), dict(binding.masks), Disclosure.of(binding.disclosure),
                                    binding.source))
            continue
        disclosure = disclosure.strictest(Disclosure.of(binding.disclosure))
        masks |= {c: m for c, m in binding.masks.items() if MASK_ORDER[m] > MASK_ORDER[masks.get(c)]}
    grant = Grant(decision.mode, list(decision.columns), masks, dict(decision.row_filter or {}), covered)
    return grant, disclosure


def bind(aggregate: ProtectedAggregate, grant: Grant) -> tuple[list[Scoped], list[exp.Expression]]:
    """Which stricter terms bind which cells of this aggregate, decided from the query alone
    (``covering``): terms no cell may hold are dropped, terms any cell may hold bind every
    cell, and the rest bind the cells whose keys say so (the statistic ``covered_i``, for
    the i-th of the conditions returned)."""
    scoped, conditions = [], []
    for coverage in grant.covered:
        condition = covering(aggregate, coverage, grant)
        if condition == exp.false():
            continue
        column = None if condition == exp.true() else f"covered_{len(conditions)}"
        scoped.append(Scoped(column, coverage.disclosure, coverage.source))
        if column is not None:
            conditions.append(condition)
    return scoped, conditions


def guard(plan: Plan, cursor, secret: int, deadline: Deadline | None = None,
          domains=None) -> tuple[Report, dict[str, int], dict[str, set[str]], list]:
    """Compute each protected aggregate's cells, apply the disclosure rules (or differential
    privacy), register the released cells; return the requester's report, for the audit
    the cells left out by rule (and the cells where a condition of low effect was not
    applied, `extractguard.guard.check`), for the ledger what each released cell shows (`extractguard.guard.showing`)
    by dataset, and the (dataset, ε and δ spent) of aggregates under differential privacy."""
    report, left_out, released, spent = Report(), {}, {}, []
    for guarded in plan.aggregates:
        aggregate = guarded.aggregate
        draws = guarded.privacy is not None or any(m.kind in ("sum", "avg") for m in aggregate.measures)
        stats = cursor.arrow(guarded.statistics, quiet=True, small=True,
                             parameters={"noise_key": draw_key(secret, NOISE_KEY)} if draws else None)
        if stats.num_rows > guarded.max_cells:
            raise QueryRejected(too_many_cells(aggregate, guarded.max_cells))
        domain = public_keys(guarded.domain, cursor, domains) if guarded.domain else None
        if domain is not None and domain.num_rows > guarded.max_cells:
            domain = None  # too many combinations to show them all: left-out cells stay out
        if guarded.privacy is not None:
            checked, spend = dp.check(stats, aggregate.cells, guarded.privacy, entity_word(aggregate.dataset), domain)
            spent.append((aggregate.dataset.name, spend))
        else:
            checked = extractguard.check(
                stats, aggregate.cells, guarded.disclosure, secret, entity_word(aggregate.dataset),
                scoped=guarded.scoped, domain=domain, deadline=deadline, noise_bounds=guarded.noise,
            )
        cursor.register(aggregate.checked_name, checked.table)
        released.setdefault(aggregate.dataset.name, set()).update(checked.cells)
        report = report.merge(checked.report)
        for rule, cells in checked.left_out.items():
            left_out[rule] = left_out.get(rule, 0) + cells
    return report, left_out, released, spent


def public_keys(sql: str, cursor, remembered=None):
    """The key combinations a public domain lists: computed from constants only, so the same
    SQL always lists the same, and they are remembered (`remembered`, an LRU) by it."""
    found = remembered.get(sql) if remembered is not None else None
    if found is None:
        found = cursor.arrow(sql, quiet=True, small=True)
        if remembered is not None:
            remembered.put(sql, found)
    return found


def too_many_cells(aggregate: ProtectedAggregate, max_cells: int) -> str:
    keys = ", ".join(aggregate.labels.get(k.name, k.name) for k in aggregate.keys)
    return (
        f"the aggregate over {aggregate.dataset.name} has more than {max_cells:,} cells (keys: {keys}), the most one "
        "query may check; narrow it: fewer keys, coarser periods or bins, or filters"
    )


def execute(plan: Plan, cursor, report: Report, parameters: dict[str, str] | None = None) -> Result:
    """Run the rewritten query over checked cells and masked rows, with its bound
    `parameters` (the project's pseudonym keys); apply the row cap."""
    sql = plan.sql
    if plan.row_cap is not None:
        sql = f"SELECT * FROM ({sql}) AS capped LIMIT {plan.row_cap + 1}"
    table: pa.Table = cursor.arrow(sql, parameters=parameters)
    names = plan.query.output_names(table.column_names)
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise QueryRejected(
            f"the result has more than one column named {', '.join(twice)}; give each output column its own name "
            "(... AS cards, ... AS spending)"
        )
    table = table.rename_columns(names)
    notes = []
    if plan.row_cap is not None and table.num_rows > plan.row_cap:
        table = table.slice(0, plan.row_cap)
        notes.append(
            f"only the first {plan.row_cap} rows are returned (the row cap of your grant); aggregate or filter "
            "to see the rest"
        )
    if table.num_rows == 0:
        notes.append("the result is empty")
    return Result(table, report, notes, decisions=plan.decisions)
