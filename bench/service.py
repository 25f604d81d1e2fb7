"""The data service's cost: a small aggregate over HTTP against the same query in-process.

    .venv/bin/python bench/service.py [--scale 0.1 | --data DIR] [--repeat 200] [--clients 32] [--seconds 10]
                                      [--workers 1] [--sql "SELECT ..."] [--cold-sql "{sql} LIMIT {n}"]

Starts ``campus serve`` as a process of its own (SQLite in a temporary state
directory, a campus API token), then prints

* p50 and p99 latency of the query through `campus.client.Client` (HTTP, token check,
  Arrow IPC both ways) and through `Session.sql` in-process, and their ratio
  (goal: HTTP p50 <= 25 ms on a small aggregate), each twice:

  - **warm**: the same text every time, as when a researcher re-runs a notebook cell:
    the gateway remembers its analysis and rewrite (campus/gateway/cache.py);
  - **cold**: a text never seen before every time (`--cold-sql`, by default the query
    with ``LIMIT <a new number>``, which changes the text but not the answer), so
    every step runs;

* the bare cost of a request (``GET /api/me``: HTTP and the token check);
* throughput with `--clients` concurrent clients for `--seconds` (goal: zero errors),
  served by `--workers` processes; they all send the same text (warm).
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import campus
from campus import catalog
from campus.client import Client
from campus.gateway.ledger import Allowance
from campus.service.tokens import TokenStore
from campus.settings import Settings
from campus.synth.build import build

SMALL_AGGREGATE = "SELECT gender, count(*) AS n FROM card_usage WHERE district = 'Jung-gu' GROUP BY gender"


def latencies(runs: list, repeat: int, warm: int = 5) -> list[list[float]]:
    """Seconds per call of each of `runs`, interleaved so that each sees the same machine load."""
    for _ in range(warm):
        for run in runs:
            run()
    times = [[] for _ in runs]
    for _ in range(repeat):
        for run, took in zip(runs, times):
            started = time.perf_counter()
            run()
            took.append(time.perf_counter() - started)
    return times


def p(times: list[float], q: float) -> float:
    """The q-quantile in milliseconds."""
    return statistics.quantiles(times, n=100, method="inclusive")[int(q * 100) - 1] * 1000 if q < 1 else max(times)


# The throughput run sends every client as one user: lift the per-user limits for it (bench/fairness.py
# measures them).
ONE_USER_AT_FULL_LOAD = {"CAMPUS_USER_CONCURRENT": "1000", "CAMPUS_USER_REQUESTS_PER_SECOND": "100000",
                         "CAMPUS_USER_REQUEST_BURST": "100000"}


def start_service(data: Path, state: Path, database: str, workers: int,
                  limits: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAMPUS_", "JUPYTERHUB_"))}
    env |= {"CAMPUS_DATA_DIR": str(data), "CAMPUS_STATE_DIR": str(state), "CAMPUS_DB_URL": database}
    env |= limits or {}
    campus_bin = Path(sys.executable).with_name("campus")
    process = subprocess.Popen([str(campus_bin), "serve", "--port", str(port), "--log-level", "warning",
                                "--workers", str(workers)], env=env)
    url = f"http://127.0.0.1:{port}/"
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the service exited with {process.returncode}")
        try:
            if httpx.get(url + "api/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the service did not start in 120 s")


def throughput(url: str, token: str, sql: str, clients: int, seconds: float) -> tuple[int, int, list[float]]:
    """(answered, errors, latencies) of `clients` clients querying for `seconds`."""
    answered, errors, times, lock = [0], [0], [], threading.Lock()
    connections = [Client(url, token, progress=False) for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    until = [0.0]

    def work(client: Client):
        start.wait()
        while time.monotonic() < until[0]:
            began = time.perf_counter()
            try:
                client.sql(sql)
                with lock:
                    answered[0] += 1
                    times.append(time.perf_counter() - began)
            except Exception as e:
                with lock:
                    errors[0] += 1
                print(f"error: {type(e).__name__}: {e}", file=sys.stderr)

    threads = [threading.Thread(target=work, args=(c,)) for c in connections]
    for t in threads:
        t.start()
    until[0] = time.monotonic() + seconds
    start.wait()
    for t in threads:
        t.join()
    for c in connections:
        c.close()
    return answered[0], errors[0], times


def ledger_costs(cx, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds to charge 25 cells already in the ledger, and 25 new ones, to a budget."""
    ledger, numbers = cx.gateway.ledger, itertools.count()
    allowance = [Allowance("user:bench", "bench", 10**9, "month")]
    known = [f"{n:032x}" for n in range(25)]

    def charge(cells):
        started = time.perf_counter()
        ledger.charge("card_usage", cells, allowance)
        return time.perf_counter() - started

    charge(known)
    seen = [charge(known) for _ in range(repeat)]
    fresh = [charge([f"{next(numbers) + 10**6:032x}" for _ in range(25)]) for _ in range(repeat)]
    return seen, fresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=None,
                        help="demo data already built, used as it is (default: <state_dir>/bench/sf<scale>, built "
                             "if missing)")
    parser.add_argument("--sql", default=SMALL_AGGREGATE)
    parser.add_argument("--cold-sql", default="{sql} LIMIT {n}",
                        help="the cold texts: {sql} is --sql, {n} a number never used before (from 1,000,000)")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="service processes (campus serve --workers)")
    args = parser.parse_args()
    settings = Settings()
    if args.data is not None:  # never rebuilt here: --scale would overwrite it at another scale
        data = args.data
        if not (data / "_build.json").exists():
            raise SystemExit(f"no demo data in {data}: build it with `campus datasets build --out {data}`")
    else:
        data = settings.state_dir / "bench" / f"sf{args.scale:g}"
        print(f"data: {data}; building if missing ...", flush=True)
        build(catalog.load(settings.catalog_path), data, scale=args.scale, seed=args.seed)
    state = Path(tempfile.mkdtemp(prefix="campus-bench-service-"))
    database = f"sqlite:///{state / 'campus.db'}"

    cx = campus.open(data_dir=data, state_dir=state, db_url=database)
    token = TokenStore(cx.audit.engine).issue("alice", audit=cx.audit, by="bench").token
    process, url = start_service(data, state, database, args.workers, ONE_USER_AT_FULL_LOAD)
    numbers = itertools.count(1_000_000)

    def cold() -> str:
        return args.cold_sql.format(sql=args.sql, n=next(numbers))

    try:
        client = Client(url, token, progress=False)
        session = cx.session("alice", ["researchers"])
        if cold() == cold():
            raise SystemExit("--cold-sql must change with {n}")
        memory, load = cx.memory, os.getloadavg()[0]
        in_warm, in_cold, http_warm, http_cold, bare = latencies(
            [lambda: session.sql(args.sql), lambda: session.sql(cold()),
             lambda: client.sql(args.sql), lambda: client.sql(cold()), client.me], args.repeat)
        client.close()
        seen, fresh = ledger_costs(cx, args.repeat)
        answered, errors, loaded = throughput(url, token, args.sql, args.clients, args.seconds)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        cx.close()

    print(f"\nquery (warm): {args.sql}\nquery (cold): {args.cold_sql.format(sql=args.sql, n='<n>')}")
    print(f"{args.repeat} runs each, interleaved; milliseconds; load average before {load:.1f}, after "
          f"{os.getloadavg()[0]:.1f} (with the throughput run) on {os.cpu_count()} cores\n")
    print(f"{'':28} {'warm p50':>9} {'p99':>7} {'cold p50':>9} {'p99':>7} {'cold/warm':>10}")
    for name, warm, cold_ in (("in-process Session.sql", in_warm, in_cold), ("over HTTP campus.client", http_warm,
                                                                             http_cold)):
        print(f"{name:28} {p(warm, .5):9.1f} {p(warm, .99):7.1f} {p(cold_, .5):9.1f} {p(cold_, .99):7.1f} "
              f"{p(cold_, .5) / p(warm, .5):10.2f}")
    print(f"{'bare request GET /api/me':28} {p(bare, .5):9.1f} {p(bare, .99):7.1f}")
    for name, http, local in (("warm", http_warm, in_warm), ("cold", http_cold, in_cold)):
        verdict = "met" if p(http, .5) <= 25 else "NOT met"
        print(f"\n{name}: HTTP / in-process (p50) {p(http, .5) / p(local, .5):.2f}; added per query "
              f"{p(http, .5) - p(local, .5):.1f} ms; goal HTTP p50 <= 25 ms: {verdict}")
    print(f"ledger (inside every query above): charging 25 cells already released p50 {p(seen, .5):.1f} ms, "
          f"p99 {p(seen, .99):.1f}; 25 new cells p50 {p(fresh, .5):.1f} ms, p99 {p(fresh, .99):.1f}")
    analyses, rewrites = memory.analyses, memory.rewrites
    print(f"in-process memory: analyses {analyses.hits} hits / {analyses.misses} misses, "
          f"rewrites {rewrites.hits} hits / {rewrites.misses} misses")
    rate = answered / args.seconds
    print(f"\n{args.clients} concurrent clients (warm) for {args.seconds:g} s, {args.workers} service process(es): "
          f"{answered} answered ({rate:.0f}/s), {errors} errors (goal: 0); "
          f"latency under load p50 {p(loaded, .5):.0f} ms, p99 {p(loaded, .99):.0f} ms")


if __name__ == "__main__":
    main()
