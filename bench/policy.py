"""How long one policy decision takes, against a no-op policy on the same call path.

    .venv/bin/python bench/policy.py [--decisions 20000] [--cold 2000]

Both policies go through `campus.policy.load_policy(...).decide(...)` with the embedded
engine (regopy): the shipped policy (policies/campus/*.rego over policies/grants.yaml),
and a trivial one-line policy with the same catalog and files. Two runs each:

* cold: every decision evaluated by the engine (the decision memory switched off);
* warm: a realistic mix, 64 distinct requests (users x datasets x column sets x shapes)
  in random order: the first ask of each is evaluated, the rest remembered (the policy
  decides by the day, so a decision holds until the next reload or midnight UTC).

Prints p50/p99 latency per decision in milliseconds, and the ratio to the no-op.
"""

from __future__ import annotations

import argparse
import datetime
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from campus.policy import Policy, PolicyPaths, PolicyStore, RegoEngine
from campus.settings import PROJECT_ROOT, Settings

NOOP = """\
package campus.decision

result := {"allow": false, "reasons": ["the no-op policy decides nothing"], "grant": null}
"""
NOW = datetime.datetime(2026, 11, 23, 6, 0, tzinfo=datetime.UTC)
USERS = [("alice", ["researchers"]), ("bob", ["researchers"]), ("sejin", ["stewards"]), ("mallory", [])]
ASKS = [
    ("card_usage", ["district", "amount"]), ("card_usage", ["home_district", "amount"]),
    ("card_usage", ["card_id"]), ("card_usage", ["category", "age_band", "amount"]),
    ("sales_by_location", ["district", "sales_amount"]), ("sales_by_location", ["industry", "sales_count"]),
    ("air_quality", ["district", "pm10"]), ("air_quality", ["station", "measured_at", "pm25"]),
]


def noop_root(into: Path) -> Path:
    """A campus like the shipped one whose Rego is one line."""
    for part in ("datasets", "hub", "policies"):
        shutil.copytree(PROJECT_ROOT / part, into / part)
    shutil.rmtree(into / "policies" / "campus")
    (into / "policies" / "campus").mkdir()
    (into / "policies" / "campus" / "decision.rego").write_text(NOOP)
    return into


def policy_at(root: Path, remember: int) -> Policy:
    return Policy(PolicyStore(PolicyPaths.of(Settings(root=root)), RegoEngine(), interval=3600, remember=remember))


def requests() -> list[dict]:
    return [
        {"user": user, "groups": groups, "project": None, "dataset": dataset, "columns": columns,
         "shape": shape, "action": "query", "now": NOW}
        for user, groups in USERS for dataset, columns in ASKS for shape in ("aggregates", "rows")
    ]


def timed(policy: Policy, workload: list[dict]) -> list[float]:
    times = []
    for request in workload:
        start = time.perf_counter()
        policy.decide(**request)
        times.append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ms = sorted(t * 1000 for t in times)
    return statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000, help="warm decisions per policy")
    parser.add_argument("--cold", type=int, default=2_000, help="cold (engine-evaluated) decisions per policy")
    args = parser.parse_args()
    rng = random.Random(7)
    distinct = requests()
    warm_load = [rng.choice(distinct) for _ in range(args.decisions)]
    cold_load = [rng.choice(distinct) for _ in range(args.cold)]
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"campus policy": PROJECT_ROOT, "no-op policy": noop_root(Path(tmp))}
        print(f"{'run':<6} {'policy':<14} {'decisions':>9} {'p50 ms':>8} {'p99 ms':>8}")
        results = {}
        for run, workload, remember in (("cold", cold_load, 0), ("warm", warm_load, 4096)):
            for name, root in roots.items():
                policy = policy_at(root, remember)
                assert policy.last_error is None, policy.last_error
                timed(policy, distinct[:1])  # warm up: the thread's interpreter
                p50, p99 = results[run, name] = summary(timed(policy, workload))
                print(f"{run:<6} {name:<14} {len(workload):>9} {p50:>8.3f} {p99:>8.3f}")
        for run in ("cold", "warm"):
            (p50, p99), (b50, b99) = results[run, "campus policy"], results[run, "no-op policy"]
            print(f"{run}: the campus policy takes {p50 / b50:.1f}x the no-op at p50, {p99 / b99:.1f}x at p99")
        print(f"goal: p50 <= 0.300 ms; warm p50 {results['warm', 'campus policy'][0]:.3f} ms, "
              f"cold p50 {results['cold', 'campus policy'][0]:.3f} ms")


if __name__ == "__main__":
    main()
