"""How far the campus's released values are from the truth, query by query, under the
disclosure rules with noise (sdc) and under differential privacy (dp), side by side.

    .venv/bin/python bench/utility.py [--protection {sdc,dp,both}] [--scale 1] [--seed 42] [--data DIR]

Builds the demo data if missing (in the same place as bench/gateway.py), opens a campus
over it with a fresh state directory (so a new noise secret: figures move a little from
run to run), and runs a workload of typical analyst queries as alice (group researchers)
through the gateway, once per protection (`--protection`, default both):

* sdc: the project's own configuration (the shipped grants and terms): the disclosure
  rules with calibrated noise, today's default;
* dp: a campus root of its own in a temporary folder (the shipped catalog and Rego, as
  tests/test_gateway_cache.py builds one) whose grants give alice card_usage and
  sales_by_location with `protection: dp, epsilon: 1.0`, and no budgets, so no query is
  refused for its ε; every answered query spends ε 1, read back from the campus's ledger.
  Queries DP cannot answer (a pivot's `sum(CASE WHEN ...)`) are printed as refused, with
  the gateway's reason.

Each query runs again on raw DuckDB over the same Parquet files: the truth. Released
rows are joined to true rows on the key columns, and for every released measure it prints

* the number of cells in the truth, and the share withheld (absent from the release, or
  released as null);
* the median and 95th percentile of the relative error |released - true| / |true| over
  the released values (true zeros skipped), over all cells and over the cells of at
  least 100 entities (distinct cards, or stores; the catalog's entity column);

then the pooled medians over every count, sum and average measure, whether the goal
(median relative error <= 1% on sums of cells with >= 100 entities) is met, and the share
of released values outside their stated 95% error bars (under dp the Laplace 95%
half-width: about 5% outside is expected); under dp also the ε each query spent and the
workload's total. With both protections it ends with a side-by-side summary: per kind
(count, sum, avg) the median relative error in cells of >= 100 entities and the share
withheld, sdc against dp, the error-bar coverage, and the goal for each.

The workload names its outputs by what they are: ``n_*`` a count, ``total_*`` a sum,
``avg_*`` an average, ``*_pct``, ``*_share``, ``*_per_*`` and ``cumulative_*`` values
derived from checked cells (window functions, ratios); every other column is a key.
``{entities}`` in a query is where the truth adds the cell's entity count (and, for a
pivot column, the entities meeting its condition); the release leaves it out. The truth
bins a measure in a key with the catalog's bottom and top codes, as the gateway does.

Queries the gateway refuses are printed ("refused: <reason>") and left out; a failure
inside the gateway (a bug, not a refusal) is printed with the audit's record of it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

import campus
from campus import catalog
from campus.errors import Denied, GatewayFailure, QueryRejected
from campus.policy.grants import Grant
from campus.settings import PROJECT_ROOT, Settings
from campus.synth.build import build

ENTITIES_AT_LEAST = 100
GOAL = 0.01  # median relative error on sums of cells with >= ENTITIES_AT_LEAST entities
KINDS = ("count", "sum", "avg")  # the kinds the side-by-side summary compares
EPSILON = 1.0  # the ε one query spends under the dp grants
DP_DATASETS = ("card_usage", "sales_by_location")

WORKLOAD = [
    ("spending by district and month",
     "SELECT district, date_trunc('month', txn_date) AS month, {entities} count(*) AS n_txns, "
     "sum(amount) AS total_amount FROM card_usage GROUP BY ALL"),
    ("spending by category and age band",
     "SELECT category, age_band, {entities} sum(amount) AS total_amount, avg(amount) AS avg_amount "
     "FROM card_usage GROUP BY ALL"),
    ("spending by district x category",
     "SELECT district, category, {entities} count(*) AS n_txns, sum(amount) AS total_amount "
     "FROM card_usage GROUP BY ALL"),
    ("cardholders by district",
     "SELECT district, {entities} count(DISTINCT card_id) AS n_cardholders FROM card_usage GROUP BY ALL"),
    ("average transaction by hour",
     "SELECT hour, {entities} count(*) AS n_txns, avg(amount) AS avg_amount FROM card_usage GROUP BY ALL"),
    ("cardholders and mean by gender x age band",
     "SELECT gender, age_band, {entities} count(DISTINCT card_id) AS n_cardholders, avg(amount) AS avg_amount "
     "FROM card_usage GROUP BY ALL"),
    ("spending by dong",
     "SELECT dong, {entities} sum(amount) AS total_amount FROM card_usage GROUP BY ALL"),
    ("month-over-month growth by district (LAG)",
     "WITH monthly AS (SELECT district, date_trunc('month', txn_date) AS month, {entities} "
     "sum(amount) AS total_amount FROM card_usage GROUP BY ALL) "
     "SELECT *, 100.0 * (total_amount / lag(total_amount) OVER (PARTITION BY district ORDER BY month) - 1) "
     "AS growth_pct FROM monthly"),
    ("cumulative daily spending (SUM OVER)",
     "WITH daily AS (SELECT txn_date AS day, {entities} sum(amount) AS total_amount FROM card_usage GROUP BY ALL) "
     "SELECT *, sum(total_amount) OVER (ORDER BY day) AS cumulative_amount FROM daily"),
    ("transactions by amount band (50,000 won bins)",
     "SELECT floor(amount / 50000) * 50000 AS amount_bin, {entities} count(*) AS n_txns, "
     "count(DISTINCT card_id) AS n_cardholders FROM card_usage GROUP BY ALL"),
    ("night spending (hour < 6) outside golf, by district",
     "SELECT district, {entities} count(*) AS n_txns, sum(amount) AS total_amount FROM card_usage "
     "WHERE category <> 'Golf' AND hour < 6 GROUP BY ALL"),
    ("purchases of 100,000 won or more by category",
     "SELECT category, {entities} count(*) AS n_txns, sum(amount) AS total_amount FROM card_usage "
     "WHERE amount >= 100000 GROUP BY ALL"),
    ("pivot: food categories by district",
     "SELECT district, {entities} sum(CASE WHEN category = 'Restaurants' THEN amount END) AS total_restaurants, "
     "sum(CASE WHEN category = 'Cafes and bakeries' THEN amount END) AS total_cafes, "
     "sum(CASE WHEN category = 'Convenience stores' THEN amount END) AS total_convenience "
     "FROM card_usage GROUP BY ALL"),
    ("spending by weekday x category",
     "SELECT isodow(txn_date) AS weekday, category, {entities} sum(amount) AS total_amount, "
     "avg(amount) AS avg_amount FROM card_usage GROUP BY ALL"),
    ("sales by district x industry",
     "SELECT district, industry, {entities} sum(sales_amount) AS total_sales, "
     "sum(sales_count) AS total_sales_count FROM sales_by_location GROUP BY ALL"),
    ("sales by commercial area",
     "SELECT commercial_area, {entities} sum(sales_amount) AS total_sales, avg(sales_amount) AS avg_sales "
     "FROM sales_by_location GROUP BY ALL"),
    ("stores and sales per store by district",
     "SELECT district, {entities} count(DISTINCT store_id) AS n_stores, sum(sales_amount) AS total_sales, "
     "sum(sales_amount) / count(DISTINCT store_id) AS sales_per_store FROM sales_by_location GROUP BY ALL"),
    ("weekend share of sales by district",
     "WITH split AS (SELECT district, {entities} sum(weekend_amount) AS total_weekend, "
     "sum(sales_amount) AS total_sales FROM sales_by_location GROUP BY ALL) "
     "SELECT *, 100.0 * total_weekend / total_sales AS weekend_share_pct FROM split"),
    ("Gangnam-gu sales by industry and month",
     "SELECT industry, month, {entities} sum(sales_amount) AS total_sales FROM sales_by_location "
     "WHERE district = 'Gangnam-gu' GROUP BY ALL"),
    ("month-over-month sales growth by industry (LAG)",
     "WITH monthly AS (SELECT industry, month, {entities} sum(sales_amount) AS total_sales "
     "FROM sales_by_location GROUP BY ALL) "
     "SELECT *, 100.0 * (total_sales / lag(total_sales) OVER (PARTITION BY industry ORDER BY month) - 1) "
     "AS growth_pct FROM monthly"),
    ("store-months by monthly sales band (10M won bins)",
     "SELECT floor(sales_amount / 10000000) * 10000000 AS sales_bin, {entities} count(*) AS n_store_months, "
     "count(DISTINCT store_id) AS n_stores FROM sales_by_location GROUP BY ALL"),
]

PIVOT = re.compile(r"\b(?:sum|avg|count)\(CASE WHEN (.+?) THEN .+? END\) AS (\w+)", re.IGNORECASE)


def kind(column: str) -> str | None:
    """What a workload output column measures, by its name; None for a key."""
    if column.startswith("n_"):
        return "count"
    if column.startswith("total_"):
        return "sum"
    if column.startswith("avg_"):
        return "avg"
    if column.startswith("cumulative_") or column.endswith(("_pct", "_share")) or "_per_" in column:
        return "derived"
    return None


def dataset_of(sql: str, datasets: dict) -> str:
    return next(name for name in datasets if re.search(rf"\bFROM {name}\b", sql))


def released_sql(sql: str) -> str:
    return sql.replace("{entities} ", "").replace("{entities}", "")


def truth_sql(sql: str, dataset) -> str:
    """The query as raw DuckDB runs it for the truth.

    It adds the cell's entity count: `entities`, and for a pivot column `entities__<column>`
    (its cell is the cell of the aggregate filtered by its condition, docs/sql-guide.md).
    A measure binned in a key is coded as the gateway codes it (campus/gateway/cells.py):
    values below the catalog's bottom code share its bin, values at or above the top code
    the top's. The codes are public, so the true table has the same bins.
    """
    entity = dataset.entity
    counts = [f"count(DISTINCT {entity}) AS entities"]
    counts += [f"count(DISTINCT CASE WHEN {cond} THEN {entity} END) AS entities__{column}"
               for cond, column in PIVOT.findall(sql)]
    sql = sql.replace("{entities}", ", ".join(counts) + ",")
    for name, column in dataset.columns.items():
        if column.bins:
            bottom, top = (literal(v) for v in (column.bins.bottom, column.bins.top))
            sql = re.sub(rf"\bfloor\({name} /", f"floor(least(greatest({name}, {bottom}), {top}) /", sql)
    return sql


def literal(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else repr(value)


def raw_duckdb(cx) -> duckdb.DuckDBPyConnection:
    """Unprotected DuckDB over the files the campus reads, one view per dataset."""
    limits = cx.engine.limits  # the same threads and memory as the campus's own DuckDB
    con = duckdb.connect(config={"threads": limits.threads, "memory_limit": limits.memory})
    for dataset in cx.catalog:
        files = "[" + ", ".join(f"'{f}'" for f in cx.files(dataset)) + "]"
        con.execute(f"CREATE VIEW {dataset.name} AS SELECT * FROM read_parquet({files}, hive_partitioning=false)")
    return con


def typed_as(truth: pl.DataFrame, released: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The true table with its keys of the released types (a month may be a date on one side)."""
    return truth.with_columns(pl.col(k).cast(released.schema[k]) for k in keys if released.schema[k] != pl.Null)


def cells(truth: pl.DataFrame, released: pl.DataFrame, keys: list[str], measures: list[str]) -> pl.DataFrame:
    """Every true cell with its released values beside it (`<measure>__released`, null when absent)."""
    truth = typed_as(truth, released, keys)
    released = released.select(*keys, *(pl.col(m).alias(f"{m}__released") for m in measures))
    return truth.join(released, on=keys, how="left", nulls_equal=True)


def unmatched_releases(truth: pl.DataFrame, released: pl.DataFrame, keys: list[str], measures: list[str]) -> int:
    """Released rows with a value whose keys are no true cell: should be none."""
    shown = released.filter(pl.any_horizontal(pl.col(m).is_not_null() for m in measures))
    return shown.join(typed_as(truth, released, keys).select(*keys), on=keys, how="anti", nulls_equal=True).height


def errors_of(joined: pl.DataFrame, measure: str) -> pl.DataFrame:
    """Per true cell of `measure`: its entities, whether it was withheld, and its relative error."""
    entities = f"entities__{measure}" if f"entities__{measure}" in joined.columns else "entities"
    true, shown = pl.col(measure).cast(pl.Float64), pl.col(f"{measure}__released").cast(pl.Float64)
    return joined.filter(pl.col(measure).is_not_null()).select(
        pl.col(entities).alias("entities"),
        shown.is_null().alias("withheld"),
        pl.when(shown.is_not_null() & (true != 0)).then((shown - true).abs() / true.abs()).alias("rel"),
    )


def stats(rel: pl.Series) -> tuple[int, float | None, float | None]:
    rel = rel.drop_nulls()
    if rel.is_empty():
        return 0, None, None
    return rel.len(), rel.median(), rel.quantile(0.95, "linear")


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def outside_error_bars(result, joined: pl.DataFrame, keys: list[str], measures: list[str]):
    """Of the released values with a stated 95% bound, how many miss the truth by more; None without bounds.

    The report does not state error bars yet. When it does, `report.errors` will be a polars
    table with a row per released noisy value: the cell's key columns, `measure` (the output
    column) and `half_width`; this joins it to the cells on the keys and the measure name and
    also says how many of its rows matched no released value, so that a different naming shows.
    Returns (values with a bound, values outside it, rows of report.errors matching none) or None.
    """
    errors = getattr(result.report, "errors", None)
    if not isinstance(errors, pl.DataFrame) or errors.is_empty():
        return None
    long = pl.concat([
        joined.select(*keys, pl.lit(m).alias("measure"), pl.col(m).cast(pl.Float64).alias("true"),
                      pl.col(f"{m}__released").cast(pl.Float64).alias("released"))
        for m in measures
    ]).filter(pl.col("released").is_not_null() & pl.col("true").is_not_null())
    errors = errors.with_columns(pl.col(k).cast(long.schema[k], strict=False) for k in keys if k in errors.columns)
    on = [k for k in keys if k in errors.columns] + ["measure"]
    bounded = long.join(errors, on=on, how="inner", nulls_equal=True)
    outside = bounded.filter((pl.col("released") - pl.col("true")).abs() > pl.col("half_width")).height
    unmatched = errors.join(long, on=on, how="anti", nulls_equal=True).height
    return bounded.height, outside, unmatched


def run_query(cx, session, raw, name: str, sql: str, protected: dict) -> dict | None:
    """Released and true tables of one workload query (and the ε it spent), or None if the
    gateway refused it or failed."""
    dataset = dataset_of(sql, protected)
    spent_before = epsilon_spent(cx)
    started = time.perf_counter()
    try:
        result = session.sql(released_sql(sql))
    except (QueryRejected, Denied) as e:
        print(f"\n{name}\n  refused: {e.reason}")
        return None
    except GatewayFailure as e:
        print(f"\n{name}\n  GATEWAY FAILURE (a bug, not a refusal): {e.reason}\n  audit: {failure_of(cx)}")
        return None
    seconds = time.perf_counter() - started
    released = result.pl()
    truth = raw.sql(truth_sql(sql, protected[dataset])).pl()
    measures = [c for c in released.columns if kind(c)]
    keys = [c for c in released.columns if not kind(c)]
    return dict(name=name, dataset=dataset, result=result, released=released, truth=truth,
                keys=keys, measures=measures, seconds=seconds, epsilon=epsilon_spent(cx) - spent_before,
                neutralised=neutralised_cells(cx))


def neutralised_cells(cx) -> int:
    """Cells of the last query where a condition of low effect was not applied (the audit's count)."""
    (event,) = cx.audit.events(limit=1)
    detail = json.loads(event["detail"]) if isinstance(event["detail"], str) else event["detail"]
    return int((detail.get("left_out") or {}).get("low_effect", 0))


def epsilon_spent(cx) -> float:
    """The ε alice has spent, summed over datasets and periods, as the campus's ledger records it."""
    ledger = cx.gateway.ledger
    return sum(row["epsilon"] or 0.0 for row in ledger.standing() if row["scope"] == "user:alice") if ledger else 0.0


def failure_of(cx) -> str:
    """What the audit recorded of the last gateway failure (the exception, as the gateway saw it)."""
    for event in cx.audit.events(limit=5):
        if event["outcome"] == "gateway_failure":
            detail = event["detail"]
            return (json.loads(detail) if isinstance(detail, str) else detail).get("reason", "")
    return "no gateway failure in the audit's last events"


def report_query(q: dict, pooled: dict) -> tuple[int, int, int] | None:
    """Print one query's lines; add its errors to `pooled` (kind -> list of frames)."""
    joined = cells(q["truth"], q["released"], q["keys"], q["measures"])
    spent = f"; ε {q['epsilon']:g} spent" if q["epsilon"] else ""
    low = f"; a condition of low effect not applied in {q['neutralised']} cells" if q["neutralised"] else ""
    print(f"\n{q['name']}  [{q['dataset']}; keys: {', '.join(q['keys'])}; "
          f"{q['released'].height} rows released in {q['seconds']:.2f} s{spent}{low}]")
    for m in q["measures"]:
        e = errors_of(joined, m)
        pooled.setdefault(kind(m), []).append(e)
        withheld = e["withheld"].mean() if e.height else None
        _, med_all, p95_all = stats(e["rel"])
        big = e.filter(pl.col("entities") >= ENTITIES_AT_LEAST)
        _, med_big, p95_big = stats(big["rel"])
        print(f"  {m:22} {kind(m):8} {e.height:6} {pct(withheld):>8} {pct(med_all):>9} {pct(p95_all):>9} |"
              f" {big.height:6} {pct(big['withheld'].mean() if big.height else None):>8}"
              f" {pct(med_big):>9} {pct(p95_big):>9}")
    stray = unmatched_releases(q["truth"], q["released"], q["keys"], q["measures"])
    if stray:
        print(f"  ! {stray} released rows with values match no true cell")
    bars = outside_error_bars(q["result"], joined, q["keys"], q["measures"])
    if bars is not None:
        bounded, outside, unmatched = bars
        share = pct(outside / bounded if bounded else None)
        print(f"  error bars: {outside} of {bounded} values outside their 95% bound ({share})"
              + (f"; report.errors rows matching no released value: {unmatched}" if unmatched else ""))
    return bars


def header() -> None:
    print(f"\n  {'':22} {'':8} {'all cells':>46} | {f'cells with >= {ENTITIES_AT_LEAST} entities':>46}")
    print(f"  {'measure':22} {'kind':8} {'cells':>6} {'withheld':>8} {'median':>9} {'p95':>9} |"
          f" {'cells':>6} {'withheld':>8} {'median':>9} {'p95':>9}")
    print("  (relative error |released - true| / |true| of the released values; true zeros skipped)")


def overall(pooled: dict, bars: list) -> dict:
    """Print the pooled lines; return them for the side-by-side summary: per kind (median
    relative error and share withheld in cells of >= ENTITIES_AT_LEAST entities, share
    withheld of all cells), the goal's median, and (values bounded, values outside)."""
    print("\noverall (every cell of every measure of the kind, pooled):")
    kinds = {}
    for k in ("count", "sum", "avg", "derived"):
        if k not in pooled:
            continue
        e = pl.concat(pooled[k])
        big = e.filter(pl.col("entities") >= ENTITIES_AT_LEAST)
        n, med, p95 = stats(big["rel"])
        _, med_all, _ = stats(e["rel"])
        withheld_big = big["withheld"].mean() if big.height else None
        kinds[k] = dict(median=med, withheld_big=withheld_big, withheld=e["withheld"].mean())
        print(f"  {k:8} {len(pooled[k]):3} measures: >= {ENTITIES_AT_LEAST} entities: median {pct(med)}, p95 {pct(p95)}"
              f" over {n} values, {pct(withheld_big)} withheld;"
              f" all cells: median {pct(med_all)}, {pct(e['withheld'].mean())} withheld")
    med = kinds.get("sum", {}).get("median")
    print(f"\ngoal: median relative error <= {pct(GOAL)} on sums of cells with >= {ENTITIES_AT_LEAST} entities: "
          f"{pct(med)}, {met(med)}")
    stated = [b for b in bars if b is not None]
    bounded, outside = sum(b[0] for b in stated), sum(b[1] for b in stated)
    if not stated:
        print(f"error bars: no error bars reported (none of the {len(bars)} results has report.errors)")
    else:
        print(f"error bars: {outside} of {bounded} released values outside their stated 95% bound "
              f"({pct(outside / bounded if bounded else None)}; expected about 5%), "
              f"in {len(stated)} of {len(bars)} results")
    return dict(kinds=kinds, goal=med, bars=(bounded, outside) if stated else None)


def met(median: float | None) -> str:
    return "met" if median is not None and median <= GOAL else "NOT met"


def dp_root(folder: Path, settings: Settings) -> Path:
    """A campus root whose grants give alice card_usage and sales_by_location under differential
    privacy, ε EPSILON a query, and no budgets: the shipped catalog and Rego, its own grants and
    users (as tests/test_gateway_cache.py: campus_root builds one)."""
    root = folder / "root"
    (root / "datasets").mkdir(parents=True)
    shutil.copy(settings.catalog_path, root / "datasets" / "catalog.yaml")
    shutil.copytree(PROJECT_ROOT / "policies" / "campus", root / "policies" / "campus")
    grants = [{"name": f"alice-{name.replace('_', '-')}-dp", "users": ["alice"], "dataset": name,
               "mode": "aggregates", "columns": "all", "export": "review", "protection": "dp", "epsilon": EPSILON,
               "purpose": f"Benchmark: the utility of {name} under differential privacy."} for name in DP_DATASETS]
    (root / "policies" / "grants.yaml").write_text(json.dumps({"grants": grants}, indent=2) + "\n")  # JSON is YAML
    (root / "hub").mkdir()
    (root / "hub" / "users.yaml").write_text("users:\n  alice: {groups: [researchers]}\n")
    return root


def open_campus(protection: str, data: Path, settings: Settings, folder: Path):
    """The campus a protection is measured on, with a fresh state directory in `folder`."""
    if protection == "sdc":
        return campus.open(data_dir=data, state_dir=folder / "state")
    return campus.open(dp_root(folder, settings), data_dir=data, state_dir=folder / "state")


def measure(protection: str, data: Path, settings: Settings) -> dict:
    """Run the workload under one protection, print its table and overall lines; return the
    overall figures and the names of the queries it answered."""
    print(f"\n{'=' * 30} protection: {protection} {'=' * 30}")
    folder = Path(tempfile.mkdtemp(prefix=f"campus-utility-{protection}-"))
    cx = open_campus(protection, data, settings, folder)
    if protection == "sdc":
        print("the project's own grants and terms (policies/grants.yaml): disclosure rules with calibrated noise")
    else:
        print(f"alice's grants: {' and '.join(DP_DATASETS)} with protection dp, ε {EPSILON:g} per query "
              f"(δ {Grant.model_fields['delta'].default:g}, the default); no budgets: no query is refused for its ε")
    alice = cx.session("alice", ["researchers"])
    raw = raw_duckdb(cx)
    protected = {d.name: d for d in cx.catalog if d.entity}
    for d in cx.catalog:
        rows = raw.sql(f"SELECT count(*) FROM {d.name}").fetchall()[0][0]
        what = (f"protected, entity {d.entity}" if d.entity else
                f"{d.tier} data with no entity: researchers read its rows, released values are the truth; not measured")
        print(f"{d.name}: {rows:,} rows ({what})")
    print(f"{len(WORKLOAD)} queries as alice (researchers)")

    header()
    pooled, bars, answered, epsilons, low = {}, [], [], [], [0, 0]
    for name, sql in WORKLOAD:
        q = run_query(cx, alice, raw, name, sql, protected)
        if q is not None:
            bars.append(report_query(q, pooled))
            answered.append(name)
            epsilons.append(q["epsilon"])
            low = [low[0] + q["neutralised"], low[1] + q["result"].report.cells]
    figures = overall(pooled, bars)
    if protection == "sdc":
        print(f"conditions of low effect: not applied in {low[0]:,} cells (shown or not), against {low[1]:,} cells "
              f"released ({pct(low[0] / low[1] if low[1] else None)})")
    if protection == "dp":
        each = sorted(set(epsilons))
        print(f"ε: each answered query spent ε {', '.join(f'{e:g}' for e in each)} (grant: ε {EPSILON:g} a query); "
              f"the workload spent ε {epsilon_spent(cx):g} in all ({len(answered)} queries answered, "
              f"{len(WORKLOAD) - len(answered)} refused; basic composition)")
    raw.close()
    cx.close()
    shutil.rmtree(folder, ignore_errors=True)
    return figures | dict(answered=answered)


def side_by_side(sdc: dict, dp: dict) -> None:
    """Per kind, sdc against dp: median relative error and withheld share; then error bars and the goal."""
    print(f"\n{'=' * 30} sdc vs dp {'=' * 30}")
    only = [(n, "sdc") for n in sdc["answered"] if n not in dp["answered"]]
    only += [(n, "dp") for n in dp["answered"] if n not in sdc["answered"]]
    for name, mode in only:
        print(f"answered under {mode} only (pooled there, not in the other): {name}")
    print(f"\n  {'':6} {f'median rel. error, >= {ENTITIES_AT_LEAST} entities':>32}"
          f" {f'withheld, >= {ENTITIES_AT_LEAST} entities':>26} {'withheld, all cells':>22}")
    print(f"  {'kind':6} {'sdc':>15} {'dp':>16} {'sdc':>12} {'dp':>13} {'sdc':>10} {'dp':>11}")
    for k in KINDS:
        a, b = sdc["kinds"].get(k, {}), dp["kinds"].get(k, {})
        print(f"  {k:6} {pct(a.get('median')):>15} {pct(b.get('median')):>16}"
              f" {pct(a.get('withheld_big')):>12} {pct(b.get('withheld_big')):>13}"
              f" {pct(a.get('withheld')):>10} {pct(b.get('withheld')):>11}")
    for mode, figures in (("sdc", sdc), ("dp", dp)):
        bars = figures["bars"]
        share = f"{pct(bars[1] / bars[0] if bars[0] else None)} of {bars[0]} values" if bars else "none stated"
        print(f"  error bars, {mode:3}: outside their 95% bound: {share}")
    print()
    for mode, figures in (("sdc", sdc), ("dp", dp)):
        print(f"goal, {mode:3}: median relative error <= {pct(GOAL)} on sums of cells with >= {ENTITIES_AT_LEAST} "
              f"entities: {pct(figures['goal'])}, {met(figures['goal'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protection", choices=("sdc", "dp", "both"), default="both",
                        help="disclosure rules with noise, differential privacy, or both side by side (default)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=None, help="where to build (default: <state_dir>/bench/sf<scale>)")
    args = parser.parse_args()
    settings = Settings()
    data = args.data or settings.state_dir / "bench" / f"sf{args.scale:g}"
    print(f"data: {data} (SF{args.scale:g}, seed {args.seed}); building if missing ...", flush=True)
    build(catalog.load(settings.catalog_path), data, scale=args.scale, seed=args.seed)

    protections = ("sdc", "dp") if args.protection == "both" else (args.protection,)
    figures = {p: measure(p, data, settings) for p in protections}
    if args.protection == "both":
        side_by_side(figures["sdc"], figures["dp"])


if __name__ == "__main__":
    main()
