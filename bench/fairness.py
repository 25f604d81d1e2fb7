"""One researcher's flood, and another's latency, through the data service with its limits.

    .venv/bin/python bench/fairness.py [--scale 0.1] [--flood 16] [--repeat 60]

Starts ``campus serve`` with its default per-user limits (4 requests in progress, 20 a
second), then prints alice's latency for a small aggregate (p50, p99) alone, and while
bob sends a heavy query from `--flood` clients at once, without pause; the ratio of the
two p50s (goal: at most 2), and how bob's requests were answered (200, 429, 504).
Measured in one run, so both see the same machine.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import threading
import time
from pathlib import Path

import httpx

import campus
from campus import catalog
from campus.service.tokens import TokenStore
from campus.settings import Settings
from campus.synth.build import build
from service import SMALL_AGGREGATE, p, start_service

HEAVY = ("SELECT dong, category, hour, count(*) AS n, sum(amount) AS s FROM card_usage "
         "WHERE txn_date >= DATE '2025-01-01' GROUP BY ALL")


def timed(http: httpx.Client, sql: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = http.post("sql", json={"sql": sql})
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--flood", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--polite", action="store_true", help="bob waits as Retry-After says before trying again")
    args = parser.parse_args()
    settings = Settings()
    data = settings.state_dir / "bench" / f"sf{args.scale:g}"
    build(catalog.load(settings.catalog_path), data, scale=args.scale, seed=42)
    state = Path(tempfile.mkdtemp(prefix="campus-bench-fairness-"))
    database = f"sqlite:///{state / 'campus.db'}"
    cx = campus.open(data_dir=data, state_dir=state, db_url=database)
    tokens = TokenStore(cx.audit.engine)
    alice, bob = (tokens.issue(user, audit=cx.audit, by="bench").token for user in ("alice", "bob"))
    process, url = start_service(data, state, database, workers=1)
    outcomes, stop = collections.Counter(), threading.Event()

    def flood():
        with httpx.Client(base_url=url + "api/", headers={"Authorization": f"token {bob}"}, timeout=300) as http:
            while not stop.is_set():
                answer = http.post("sql", json={"sql": HEAVY})
                outcomes[answer.status_code] += 1
                if answer.status_code == 429 and args.polite:
                    time.sleep(float(answer.headers.get("retry-after", 1)))

    try:
        with httpx.Client(base_url=url + "api/", headers={"Authorization": f"token {alice}"}, timeout=300) as http:
            timed(http, SMALL_AGGREGATE, 5)
            alone = timed(http, SMALL_AGGREGATE, args.repeat)
            flooders = [threading.Thread(target=flood) for _ in range(args.flood)]
            for t in flooders:
                t.start()
            time.sleep(1)
            flooded = timed(http, SMALL_AGGREGATE, args.repeat)
            stop.set()
            for t in flooders:
                t.join()
    finally:
        process.terminate()
        process.wait(timeout=60)
        cx.close()
    ratio = p(flooded, .5) / p(alone, .5)
    print(f"alice's small aggregate, {args.repeat} runs, milliseconds: alone p50 {p(alone, .5):.1f} p99 "
          f"{p(alone, .99):.1f}; while bob floods from {args.flood} clients p50 {p(flooded, .5):.1f} "
          f"p99 {p(flooded, .99):.1f}")
    print(f"flooded / alone (p50): {ratio:.2f} (goal <= 2: {'met' if ratio <= 2 else 'NOT met'}); "
          f"bob's answers: {dict(sorted(outcomes.items()))}")


if __name__ == "__main__":
    main()
