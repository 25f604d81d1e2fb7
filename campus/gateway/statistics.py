"""The statistics query: every cell of a protected aggregate with its safety statistics.

One pass over the dataset's masked rows, in four steps (each a sub-select):

1. **parts** — the rows summed per cell, entity and the conditions each row fails: its
   records, values and sums, for all the cell's rows and for each population (the rows
   of a measure's condition, ``sum(CASE WHEN ... THEN amount END)``);
2. **low-effect conditions** (after Open Diffix Elm's low-effect detection) — for every
   condition that narrows the aggregate, a filter's conjunct or a population's
   condition, the number of distinct entities of the cell it affects (entities with a
   row it alone excludes) is counted in the same pass. Where that is fewer than the
   threshold (the strictest that may bind the aggregate's cells), the cell is answered
   exactly as if the condition were absent, so that "no one" and "a few" look the same
   in every value, noise, error bar, report line and ledger cost. A condition affecting
   the threshold or more is applied;
3. **per entity** — each entity's contribution to the cell and its noise factor, one for
   all its measures in the dataset (`extractguard.noise`);
4. **cells** — distinct entities, records, the cell key, and per measured column its
   count, sum, noisy sum, the squares of the noisy contributions, the largest
   contributions and the smallest and largest (the statistics `extractguard.cells` names).

A condition is judged given all the query's other conditions, and a cell is computed over
the rows that pass every condition applied to it, so a row failing only conditions of
low effect counts, however many it fails: each decision reads only what stays the same
when a condition of low effect is added, so no edge of the threshold tells one person
from none. A condition on a column the cells are keyed by selects cells (it holds for all
of a cell's rows or none) and is always applied.
"""

from __future__ import annotations

from sqlglot import exp

from extractguard import Disclosure
from extractguard.cells import Stat, statistic
from extractguard.rules import infusion

from ..vocabulary.casts import cast
from .cells import ENTITY, ProtectedAggregate
from .rewrite import as_, as_subquery, pinned

PPM = 1_000_000  # factors are applied in whole millionths, so every engine adds exact decimals
FACTOR = "__factor"


def statistics_sql(aggregate: ProtectedAggregate, rows: exp.Select, top_n: int, max_cells: int,
                   covered: list[exp.Expression], engine, noise: tuple[float, float] | None = None,
                   threshold: int = Disclosure().min_entities) -> str:
    """The query computing every cell with its safety statistics (see the module's steps).

    Conditions affecting fewer than `threshold` entities of a cell are not applied to it;
    ``covered_i`` is the i-th of `covered`, a condition on the cell's keys (see
    ``rewrite.covering``). At most ``max_cells + 1`` cells come back: one more than the
    limit says the aggregate is too fine, without computing the rest. Each entity's noise
    factor (`extractguard.noise.factor` within the bounds `noise`) is drawn from the noise
    key, a bound parameter (``$noise_key``), never a literal in the SQL.

    Only the keys and conditions come from the query (copied); every other node is built
    here and used once, so no builder copies (``copy=False``) and the SQL is generated
    from the tree itself.
    """
    noise = noise or infusion(Disclosure())
    plan = Parts(aggregate)
    per_entity = low_effect_filters(aggregate, rows, plan, engine, threshold)
    per_entity = low_effect_populations(aggregate, per_entity, plan, threshold)
    per_entity = with_factor(aggregate, per_entity, plan, engine, noise)
    cell = [statistic_ for population in plan.populations for statistic_ in cell_statistics(plan, population, top_n,
                                                                                           engine)]
    cell.append(as_(neutralised(plan, threshold), Stat.NEUTRALISED))
    cell += [as_(condition.copy(), f"covered_{i}") for i, condition in enumerate(covered)]
    outer = exp.select(*keys_of(aggregate), *cell, copy=False).from_(as_subquery(per_entity, "__per_entity"), copy=False)
    if aggregate.keys:
        outer = outer.group_by(*keys_of(aggregate), copy=False)
        outer = outer.limit(max_cells + 1, copy=False)
    return outer.sql(engine.dialect, copy=False)  # the tree's last use: the generator may change it


class Parts:
    """The per-entity parts the cells are made of, by name: for all the cell's rows
    (population 0) the records, and the values and sum of every measured column of any
    population; for each population p its own."""

    def __init__(self, aggregate: ProtectedAggregate):
        self.populations = sorted({m.population for m in aggregate.measures} | {0})
        self.conditions = list(aggregate.conditions)
        self.counted = {p: sorted({m.column for m in aggregate.measures if m.population == p
                                   and m.kind in ("values", "avg")}) for p in self.populations}
        self.summed = {p: sorted({m.column for m in aggregate.measures if m.population == p
                                  and m.kind in ("sum", "avg")}) for p in self.populations}
        self.counted[0] = sorted(set().union(*self.counted.values()))
        self.summed[0] = sorted(set().union(*self.summed.values()))
        keyed = {k.computed.name for k in aggregate.keys if isinstance(k.computed, exp.Column)}
        self.selectors = [f for f in aggregate.filters if selects(f, keyed)]
        self.judged = [f for f in aggregate.filters if not selects(f, keyed)]
        self.filters = len(self.judged)
        self.widened = [p for p in self.populations if p and not selects(self.conditions[p - 1], keyed)]

    def of(self, population: int) -> list[tuple[str, str, str | None]]:
        """(part name, kind, column) of a population: ``rows``, ``count`` or ``sum``."""
        parts = [("rows", None)] + [("count", c) for c in self.counted[population]]
        parts += [("sum", c) for c in self.summed[population]]
        return [(part_of(kind, column, population), kind, column) for kind, column in parts]

    def all(self) -> list[tuple[str, str, str | None, int]]:
        return [(name, kind, column, p) for p in self.populations for name, kind, column in self.of(p)]


def selects(condition: exp.Expression, keyed: set[str]) -> bool:
    """Whether `condition` tests a column the cells are keyed by, as it is: then it holds for
    all of a cell's rows or none, so it selects cells and never narrows one.

    >>> selects(exp.condition("district = 'Jung-gu'"), {"district"}), selects(exp.condition("hour < 6"), {"district"})
    (True, False)
    """
    return {c.name for c in condition.find_all(exp.Column)} <= keyed


def part(name: str, population: int) -> str:
    """A per-entity part's column: ``__rows``, ``__sum__amount__p1``."""
    return f"__{statistic(name, population)}"


def part_of(kind: str, column: str | None, population: int) -> str:
    """The part of a kind (``rows``, ``count``, ``sum``) of a column in a population."""
    name = {"rows": lambda: "rows", "count": lambda: Stat.count(column), "sum": lambda: Stat.sum(column)}[kind]()
    return part(name, population)


def keys_of(aggregate: ProtectedAggregate) -> list[exp.Column]:
    return [exp.column(k.name) for k in aggregate.keys]


def fails(i: int) -> str:
    return f"__fails_{i}"


def effect(name: str) -> str:
    return f"__effect_{name}"


def low_effect_filters(aggregate: ProtectedAggregate, rows: exp.Select, plan: Parts, engine,
                       threshold: int) -> exp.Select:
    """Steps 1 and 2 for the filters: the parts per cell and entity, computed over the rows
    that pass every filter condition of at least `threshold` entities' effect in the cell.
    A condition on a column the cells are keyed by (`selects`) selects cells and is always
    applied, before anything else.

    Without filters, the parts are summed per cell and entity at once. With them, each row
    also says which conditions it fails (``__fails_i``); a condition's effect in a cell is
    the number of entities with a row failing it alone (counted over the parts, which hold
    one row per cell, entity and failures); the parts are then summed again over the rows
    that fail no condition applied to their cell.
    """
    keys = [pinned(k.computed, aggregate.dataset, engine).as_(k.name, copy=False) for k in aggregate.keys]
    measured = [as_(row_part(kind, column, plan.conditions[p - 1] if p else None, aggregate.alias), name)
                for name, kind, column, p in plan.all()]
    failing = [as_(exp.Not(this=exp.Coalesce(this=exp.Paren(this=f.copy()), expressions=[exp.false()])), fails(i))
               for i, f in enumerate(plan.judged)]
    entity = as_(exp.column(ENTITY, table=aggregate.alias), ENTITY)
    grouped = [*keys_of(aggregate), exp.column(ENTITY), *[exp.column(fails(i)) for i in range(plan.filters)]]
    first = exp.select(*keys, entity, *failing, *measured, copy=False).from_(as_subquery(rows, aggregate.alias),
                                                                            copy=False)
    for selector in plan.selectors:
        first = first.where(selector.copy(), copy=False)
    first = first.group_by(*grouped, copy=False)
    if not plan.filters:
        return first
    alone = [exp.and_(*[exp.column(fails(j)) if j == i else exp.Not(this=exp.column(fails(j)))
                        for j in range(plan.filters)]) for i in range(plan.filters)]
    effects = [as_(per_cell_count(condition, aggregate), effect(str(i))) for i, condition in enumerate(alone)]
    judged = exp.select(exp.Star(), *effects, copy=False).from_(as_subquery(first, "__parts"), copy=False)
    applied = [exp.Not(this=exp.Paren(this=exp.and_(exp.column(fails(i)), at_least(exp.column(effect(str(i))),
                                                                                  threshold))))
               for i in range(plan.filters)]
    summed = [as_(exp.Sum(this=exp.column(name)), name) for name, _, _, _ in plan.all()]
    effects_kept = [as_(exp.Max(this=exp.column(effect(str(i)))), effect(str(i))) for i in range(plan.filters)]
    second = exp.select(*keys_of(aggregate), exp.column(ENTITY), *summed, *effects_kept, copy=False)
    second = second.from_(as_subquery(judged, "__judged"), copy=False).where(exp.and_(*applied), copy=False)
    return second.group_by(*keys_of(aggregate), exp.column(ENTITY), copy=False)


def row_part(kind: str, column: str | None, condition: exp.Expression | None, alias: str) -> exp.Expression:
    """One part summed over the rows of a cell and entity (where `condition` holds)."""
    if kind == "rows":
        made = exp.Count(this=exp.Star())
    elif kind == "count":
        made = exp.Count(this=exp.column(column, table=alias))
    else:
        made = exp.Sum(this=exp.column(column, table=alias))
    return made if condition is None else exp.Filter(this=made, expression=exp.Where(this=condition.copy()))


def per_cell_count(condition: exp.Expression, aggregate: ProtectedAggregate) -> exp.Expression:
    """The number of rows of the cell where `condition` holds, beside each row (a window
    over the cell's keys); over rows of one cell and entity each, a count of entities."""
    ones = exp.Case(ifs=[exp.If(this=condition, true=exp.Literal.number(1))], default=exp.Literal.number(0))
    return cast(exp.Window(this=exp.Sum(this=ones), partition_by=keys_of(aggregate) or None, over="OVER"), "BIGINT")


def at_least(value: exp.Expression, threshold: int) -> exp.Expression:
    return exp.GTE(this=value, expression=exp.Literal.number(threshold))


def low_effect_populations(aggregate: ProtectedAggregate, per_entity: exp.Select, plan: Parts,
                           threshold: int) -> exp.Select:
    """Step 2 for the populations, as for a filter (the same cells as the query filtered by
    the condition): where the condition affects fewer than `threshold` entities of a cell
    (entities with a row of the cell outside it), the population is the whole cell, so its
    parts are the cell's own. A condition that selects cells (`selects`) is always applied."""
    conditioned = plan.widened
    if not conditioned:
        return per_entity
    outside = {p: exp.GT(this=exp.column(part("rows", 0)), expression=exp.column(part("rows", p)))
               for p in conditioned}
    effects = [as_(per_cell_count(outside[p], aggregate), effect(f"p{p}")) for p in conditioned]
    judged = exp.select(exp.Star(), *effects, copy=False).from_(as_subquery(per_entity, "__populations"), copy=False)
    chosen = [exp.column(ENTITY), *[exp.column(effect(str(i))) for i in range(plan.filters)],
              *[exp.column(effect(f"p{p}")) for p in conditioned]]
    for name, kind, column, p in plan.all():
        if p not in conditioned:
            chosen.append(exp.column(name))
            continue
        low = exp.LT(this=exp.column(effect(f"p{p}")), expression=exp.Literal.number(threshold))
        whole = exp.column(part_of(kind, column, 0))
        chosen.append(as_(exp.Case(ifs=[exp.If(this=low, true=whole)], default=exp.column(name)), name))
    return exp.select(*keys_of(aggregate), *chosen, copy=False).from_(as_subquery(judged, "__judged_populations"),
                                                                      copy=False)


def with_factor(aggregate: ProtectedAggregate, per_entity: exp.Select, plan: Parts, engine,
                noise: tuple[float, float]) -> exp.Select:
    """Step 3: each entity's parts and its noise factor in millionths, one for all its
    measures in the dataset (drawn once per entity and dataset)."""
    if not plan.summed[0]:
        return per_entity
    draw = engine.draw(exp.column(ENTITY), aggregate.dataset.name)
    return exp.select(exp.Star(), as_(factor_ppm(draw, *noise), FACTOR), copy=False).from_(
        as_subquery(per_entity, "__parts_of_entities"), copy=False)


def cell_statistics(plan: Parts, population: int, top_n: int, engine) -> list[exp.Expression]:
    """Step 4 for one population (every row of the cell when 0)."""

    def stat(name: str) -> str:
        return statistic(name, population)

    def only(node: exp.Expression) -> exp.Expression:
        if not population:
            return node
        present = exp.GT(this=exp.column(part("rows", population)), expression=exp.Literal.number(0))
        return exp.Filter(this=node, expression=exp.Where(this=present))

    rows = part("rows", population)
    cell = [
        as_(only(exp.Count(this=exp.Star())), stat(Stat.ENTITIES)),
        as_(cast(exp.Sum(this=exp.column(rows)), "BIGINT"), stat(Stat.ROWS)),
        as_(only(exp.func("bit_xor", engine.cell_key(exp.column(ENTITY), exp.column(rows)), copy=False)),
            stat(Stat.CELLKEY)),
    ]
    for name in sorted(set(plan.counted[population]) | set(plan.summed[population])):
        if name in plan.counted[population]:
            cell.append(as_(cast(exp.Sum(this=exp.column(part(Stat.count(name), population))), "BIGINT"),
                            stat(Stat.count(name))))
        if name in plan.summed[population]:
            s = part(Stat.sum(name), population)
            cell += [
                as_(cast(exp.Sum(this=exp.column(s)), "DOUBLE"), stat(Stat.sum(name))),
                as_(exp.Div(this=cast(exp.Sum(this=infused(s)), "DOUBLE"), expression=exp.Literal.number(PPM)),
                    stat(Stat.noisy(name))),
                as_(exp.Sum(this=exp.Mul(this=noisy_double(s), expression=noisy_double(s))), stat(Stat.squares(name))),
                as_(engine.top(exp.Abs(this=exp.column(s)), top_n, None if not population else
                               exp.GT(this=exp.column(rows), expression=exp.Literal.number(0))), stat(Stat.top(name))),
                as_(only(exp.Min(this=exp.column(s))), stat(Stat.min(name))),
                as_(only(exp.Max(this=exp.column(s))), stat(Stat.max(name))),
            ]
    return cell


def infused(s: str) -> exp.Expression:
    """An entity's contribution times its factor, in millionths: exact decimals on every engine."""
    return exp.Mul(this=exp.cast(exp.column(s), exp.DataType.build("DECIMAL(38, 6)"), copy=False),
                   expression=exp.column(FACTOR))


def noisy_double(s: str) -> exp.Expression:
    """An entity's noisy contribution as a DOUBLE: for the squares that size its error bar."""
    return exp.Div(this=exp.Mul(this=cast(exp.column(s), "DOUBLE"), expression=cast(exp.column(FACTOR), "DOUBLE")),
                   expression=exp.Literal.number(PPM))


def neutralised(plan: Parts, threshold: int) -> exp.Expression:
    """How many conditions affected at least one and fewer than `threshold` entities of the
    cell, so were not applied to it: for the audit and the benchmarks, never the requester."""
    names = [effect(str(i)) for i in range(plan.filters)] + [effect(f"p{p}") for p in plan.widened]
    if not names:
        return exp.Literal.number(0)
    counted = [exp.Max(this=exp.Case(ifs=[exp.If(this=exp.Between(
        this=exp.column(n), low=exp.Literal.number(1), high=exp.Literal.number(threshold - 1)),
        true=exp.Literal.number(1))], default=exp.Literal.number(0))) for n in names]
    total = counted[0]
    for more in counted[1:]:
        total = exp.Add(this=total, expression=more)
    return cast(total, "BIGINT")


def factor_ppm(draw: exp.Expression, at_least: float, at_most: float) -> exp.Expression:
    """An entity's noise factor in millionths, from its draw (`extractguard.noise.factor`):
    ``floor(factor * 1e6 + 0.5)``, down when the draw is below 1/2, else up.

    >>> factor_ppm(exp.column("d"), 0.1, 0.2).sql("duckdb")
    'CAST(FLOOR(CASE WHEN d < 0.5 THEN 1 - (0.1 + 0.1 * (2 * d)) ELSE 1 + (0.1 + 0.1 * (2 * d - 1)) END * 1000000 + 0.5) AS BIGINT)'
    """
    width = at_most - at_least
    down = exp.maybe_parse(f"1 - ({at_least!r} + {width!r} * (2 * d))")
    up = exp.maybe_parse(f"1 + ({at_least!r} + {width!r} * (2 * d - 1))")
    for side in (down, up):
        for d in side.find_all(exp.Column):
            d.replace(draw.copy())
    chosen = exp.Case(ifs=[exp.If(this=exp.LT(this=draw, expression=exp.Literal.number(0.5)), true=down)],
                      default=up)
    return cast(exp.Floor(this=exp.Add(this=exp.Mul(this=chosen, expression=exp.Literal.number(PPM)),
                                       expression=exp.Literal.number(0.5))), "BIGINT")
