"""The benchmarks (the gateway's cost, utility, sessions, rewriting, personal data, ACRO)
run, at their smallest size, so they cannot rot unseen: each on the shipped configuration,
over data it builds itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bench") / "sf0.01"


def bench(script: str, *arguments: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *arguments], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_gateway_benchmark_prints_each_querys_ratios(data):
    out = bench("gateway.py", "--scale", "0.01", "--repeat", "1", "--data", str(data))
    number = r"\s+(\d+\.\d+)"
    for query in ("spending by district and month", "spending by category in one district",
                  "spending by age band, night, not golf"):
        line = re.search(re.escape(query) + number * 5, out)
        assert line, f"no figures for {query}:\n{out}"
        guarded, hand, _, ratio, _ = map(float, line.groups())
        assert ratio == pytest.approx(guarded / hand, rel=0.2)  # the times are printed to the millisecond


def test_the_utility_benchmark_prints_its_goal_and_the_conditions_of_low_effect(data):
    out = bench("utility.py", "--protection", "sdc", "--scale", "0.01", "--data", str(data))
    assert "GATEWAY FAILURE" not in out
    assert re.search(r"goal: median relative error <= 1\.00% on sums of cells with >= 100 entities: [\d.]+%", out)
    assert re.search(r"conditions of low effect: not applied in [\d,]+ cells \(shown or not\), against [\d,]+ cells", out)


def test_the_sessions_benchmark_prints_the_relays_throughput_against_plain_loopback():
    if os.geteuid() != 0:
        pytest.skip("bench/sessions.py makes a network namespace: it needs root")
    out = bench("sessions.py", "--megabytes", "8", "--round-trips", "50")
    plain = re.search(r"plain loopback\s+(\d+)\s+(\d+)", out)
    relayed = re.search(r"sealed session, through the relay\s+(\d+)\s+(\d+)", out)
    ratio = re.search(r"relay / plain: throughput (\d+\.\d+)x", out)
    assert plain and relayed and ratio, out
    assert float(ratio[1]) == pytest.approx(int(relayed[1]) / int(plain[1]), abs=0.02)


def test_the_rewrite_benchmark_prints_megabytes_a_second_for_tables_and_images():
    out = bench("rewrite.py", "--megabytes", "0.05", "--repeat", "1")
    for name in ("table.csv", "table.parquet", "figure.png"):
        line = re.search(re.escape(name) + r"\s+(\d+\.\d+)" * 5, out)
        assert line, f"no figures for {name}:\n{out}"
        size, seconds, rate = map(float, line.groups()[:3])
        assert size > 0 and seconds > 0 and rate > 0


def test_the_personal_data_benchmark_prints_recall_per_kind_and_the_clean_false_positive_rate():
    out = bench("personal.py", "--forms-per-kind", "1", "--clean-columns", "5")
    for kind in ("name", "phone", "rrn", "email", "card", "address", "quasi"):
        line = re.search(rf"^{kind}\s+(\d+)\s+(\d+)\s+(\d+)%", out, re.MULTILINE)
        assert line, f"no figures for {kind}:\n{out}"
        caught, forms, recall = map(int, line.groups())
        assert forms == 1 and recall == round(100 * caught / forms)
    assert re.search(r"clean columns: \d+ of 5 taken for personal data \(\d+\.\d%; goal <= 1%\)", out), out


def acro_bench():
    """``bench/acro.py`` as a module (bench/ is no package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_acro", ROOT / "bench" / "acro.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_acro_benchmarks_extractguard_side_checks_the_gateways_statistics(tmp_path):
    """Its own half, without ACRO: the people table, the gateway's statistics query, the guard."""
    import pyarrow.parquet as pq

    acro = acro_bench()
    table, planted = acro.people(20_000, seed=1)
    pq.write_table(table, tmp_path / "people.parquet")
    _, stats, checked, assessment = acro.extractguard_run(tmp_path / "people.parquet", threads=1)
    assert stats.num_rows > 0 and checked.left_out["min_entities"] > 0
    rules = acro.extractguard_rules(assessment)
    fired = {(r["district"], r["category"]): set(r["eg_rules"]) for r in rules.iter_rows(named=True)}
    assert all("zeros" in fired[cell] for cell in planted["all zero"])
    assert all("dominance" in fired[cell] for cell in planted["NK exactly 0.9"])
    assert not any("dominance" in fired[cell] for cell in planted["NK just under 0.9"])


def test_the_acro_benchmark_prints_the_rules_of_both_sides_and_the_speed_ratio():
    venv = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "campus-bench" / "acro-venv"
    if not (venv / "bin" / "python").exists():
        pytest.skip(f"no ACRO venv at {venv}: run bench/acro.py once to make it (pip install acro, from PyPI)")
    out = bench("acro.py", "--rows", "20000", "--repeat", "1", "--acro-venv", str(venv))
    assert re.search(r"same withhold decision on them:\s+(\d+) of \1\b", out), out
    for rule in ("min_entities", "dominance", "p_ratio", "zeros"):
        assert re.search(rf"^  {rule}\s+\d+\s+\d+", out, re.MULTILINE), f"no counts for {rule}:\n{out}"
    assert re.search(r"speed ratio ACRO / extractguard: [\d.]+x", out), out
